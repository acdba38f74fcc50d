/**
 * VM-entry checks (SDM Vol. 3C ch. 26): controls (VMfailValid 7), host
 * state (VMfailValid 8), guest state (a VM exit with reason 33 and bit 31
 * set, qualification 0 or 4 for the VMCS link pointer), MSR loading (reason
 * 34, qualification = the failing entry's number), launch state (4, 5).
 * The VMX tests of the SDM decide the expected values; each case restores
 * the field it broke.
 *
 * Oracle: Bochs 2.7 (cpu model corei7_sandy_bridge_2600k, through
 * bochsCheck.ts) reports the same 28 values for this ROM.
 */
import { describe, expect, it } from 'vitest';
import { runVmx, hex } from './vmxRun.ts';
import * as F from '../../../core/cpu/vmx/vmcsFields.ts';

const FAIL_VALID = 2;
const FAILED_ENTRY = 0x8000_0000;

describe('VM-entry checks', () => {
  it('reports control, host-state, guest-state, MSR-loading and launch-state failures as the SDM numbers them', () => {
    const r = runVmx(`
%macro TRY_LAUNCH 0
        VMLAUNCH_TO %%exited
        REPORT_VMRESULT
        REPORT_FIELD VM_INSTRUCTION_ERROR
        jmp %%next
%%exited:
        REPORT_FIELD VM_EXIT_REASON
        REPORT_FIELD EXIT_QUALIFICATION
%%next:
%endmacro
vmx_main:
        SET_CONTROLS CPU_BASED_VM_EXEC_CONTROL, 0x48e, CPU_BASED_HLT_EXITING | CPU_BASED_ACTIVATE_SECONDARY_CONTROLS
        VMW SECONDARY_VM_EXEC_CONTROL, 0
        VMW GUEST_RIP, guest
        ; 1. a pin-based default-1 bit cleared: 7
        VMW PIN_BASED_VM_EXEC_CONTROL, 0
        TRY_LAUNCH
        SET_CONTROLS PIN_BASED_VM_EXEC_CONTROL, 0x48d, 0
        ; 2. unrestricted guest without EPT: 7
        VMW SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_UNRESTRICTED_GUEST
        TRY_LAUNCH
        VMW SECONDARY_VM_EXEC_CONTROL, 0
        ; 3. injecting an event of reserved type 1: 7
        VMW VM_ENTRY_INTR_INFO_FIELD, INTR_INFO_VALID | (1 << 8) | 0x20
        TRY_LAUNCH
        ; 4. injecting #GP without "deliver error code": 7
        VMW VM_ENTRY_INTR_INFO_FIELD, INTR_INFO_VALID | (3 << 8) | 13
        TRY_LAUNCH
        VMW VM_ENTRY_INTR_INFO_FIELD, 0
        ; 5. host CS selector 0: 8
        VMW HOST_CS_SELECTOR, 0
        TRY_LAUNCH
        VMW HOST_CS_SELECTOR, SEL_FLAT32
        ; 6. host CR4 without VMXE: 8
        mov ebx, cr4
        and ebx, ~0x2000
        VMW HOST_CR4, ebx
        TRY_LAUNCH
        mov ebx, cr4
        VMW HOST_CR4, ebx
        ; 7. guest RFLAGS bit 1 clear: exit 33 | bit 31, qualification 0
        VMW GUEST_RFLAGS, 0
        TRY_LAUNCH
        VMW GUEST_RFLAGS, 2
        ; 8. guest CR0.PG = 0 without unrestricted guest: 33
        mov ebx, cr0
        and ebx, 0x7fffffff
        VMW GUEST_CR0, ebx
        TRY_LAUNCH
        mov ebx, cr0
        VMW GUEST_CR0, ebx
        ; 9. guest SS.RPL different from CS.RPL: 33
        VMW GUEST_SS_SELECTOR, SEL_DATA0 | 3
        TRY_LAUNCH
        VMW GUEST_SS_SELECTOR, SEL_DATA0
        ; 10. VMCS link pointer naming a page without the revision identifier: 33, qualification 4
        mov dword [0x30000], 0
        VMW VMCS_LINK_POINTER, 0x30000
        VMW VMCS_LINK_POINTER_HIGH, 0
        TRY_LAUNCH
        VMW VMCS_LINK_POINTER, 0xFFFFFFFF
        VMW VMCS_LINK_POINTER_HIGH, 0xFFFFFFFF
        ; 11. VM-entry MSR loading: entry 1 loads the TSC, entry 2 writes the locked IA32_FEATURE_CONTROL: 34, qualification 2
        mov dword [0x31000], 0x10
        mov dword [0x31004], 0
        mov dword [0x31008], 0
        mov dword [0x3100c], 0
        mov dword [0x31010], 0x3a
        mov dword [0x31014], 0
        mov dword [0x31018], 5
        mov dword [0x3101c], 0
        VMW VM_ENTRY_MSR_LOAD_ADDR, 0x31000
        VMW VM_ENTRY_MSR_LOAD_COUNT, 2
        TRY_LAUNCH
        VMW VM_ENTRY_MSR_LOAD_COUNT, 0
        ; 12. a good entry: the guest's HLT exits
        TRY_LAUNCH
        ; 13. VMLAUNCH of a launched VMCS: 4
        TRY_LAUNCH
        ; 14. VMRESUME after VMCLEAR (launch state clear): 5
        mov dword [PTR_SCRATCH], VMCS_REGION
        mov dword [PTR_SCRATCH + 4], 0
        vmclear [PTR_SCRATCH]
        vmptrld [PTR_SCRATCH]
        VMRESUME_TO .resumed
        REPORT_VMRESULT
        REPORT_FIELD VM_INSTRUCTION_ERROR
.resumed:
        PM_DONE
guest:
        GUEST_HLT
`);
    expect(hex(r.values)).toEqual(hex([
      FAIL_VALID, F.VMERR_ENTRY_INVALID_CONTROL_FIELD,
      FAIL_VALID, F.VMERR_ENTRY_INVALID_CONTROL_FIELD,
      FAIL_VALID, F.VMERR_ENTRY_INVALID_CONTROL_FIELD,
      FAIL_VALID, F.VMERR_ENTRY_INVALID_CONTROL_FIELD,
      FAIL_VALID, F.VMERR_ENTRY_INVALID_HOST_STATE_FIELD,
      FAIL_VALID, F.VMERR_ENTRY_INVALID_HOST_STATE_FIELD,
      FAILED_ENTRY | F.EXIT_REASON_INVALID_GUEST_STATE, F.ENTRY_FAIL_DEFAULT,
      FAILED_ENTRY | F.EXIT_REASON_INVALID_GUEST_STATE, F.ENTRY_FAIL_DEFAULT,
      FAILED_ENTRY | F.EXIT_REASON_INVALID_GUEST_STATE, F.ENTRY_FAIL_DEFAULT,
      FAILED_ENTRY | F.EXIT_REASON_INVALID_GUEST_STATE, F.ENTRY_FAIL_VMCS_LINK_PTR,
      FAILED_ENTRY | F.EXIT_REASON_MSR_LOAD_FAIL, 2,
      F.EXIT_REASON_HLT, 0,
      FAIL_VALID, F.VMERR_VMLAUNCH_NONCLEAR_VMCS,
      FAIL_VALID, F.VMERR_VMRESUME_NONLAUNCHED_VMCS,
    ]));
  });

  it('VM-exit MSR areas: the store list receives the MSRs, the load list loads the host TSC, a failing load is a VMX abort', () => {
    const body = (exitLoad: string) => `
vmx_main:
        SET_CONTROLS CPU_BASED_VM_EXEC_CONTROL, 0x48e, CPU_BASED_HLT_EXITING
        mov edi, 0x31000
        xor eax, eax
        mov ecx, 64
        rep stosd
        mov dword [0x31000], 0x3a           ; IA32_FEATURE_CONTROL
        mov dword [0x31010], 0x480          ; IA32_VMX_BASIC
        VMW VM_EXIT_MSR_STORE_ADDR, 0x31000
        VMW VM_EXIT_MSR_STORE_COUNT, 2
        mov dword [0x31080], ${exitLoad}
        mov dword [0x31088], 0x100000       ; value 0x100000
        VMW VM_EXIT_MSR_LOAD_ADDR, 0x31080
        VMW VM_EXIT_MSR_LOAD_COUNT, 1
        VMW GUEST_RIP, guest
        VMLAUNCH_TO .exit
        PM_DONE
.exit:  rdtsc
        sub eax, 0x100000
        cmp eax, 10000
        setb al
        movzx eax, al
        out 0xF0, eax                       ; the TSC was loaded with 0x100000 by the exit
        mov eax, [0x31008]
        out 0xF0, eax
        mov eax, [0x31018]
        out 0xF0, eax
        mov eax, [0x3101c]
        out 0xF0, eax
        PM_DONE
guest:  GUEST_HLT
`;
    const r = runVmx(body('0x10'));
    expect(hex(r.values)).toEqual(hex([1, 5, 1, 0x00991000]));
    const abort = runVmx(body('0x3a')); // loading the locked IA32_FEATURE_CONTROL fails
    expect(abort.stop).toBe('shutdown');
    expect(abort.shutdownDetail).toBe('VMX abort 4');
    expect(abort.bus.read32(0xb000 + 4)).toBe(4); // the VMX-abort indicator in the VMCS region
  });
});
