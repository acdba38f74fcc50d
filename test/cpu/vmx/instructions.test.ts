/**
 * The VMX instructions in root operation (SDM Vol. 3C ch. 31): the
 * capability MSRs software reads first, VMfailInvalid / VMfailValid with the
 * VM-instruction error numbers of §31.4, VMREAD/VMWRITE widths and the
 * high halves of 64-bit fields, VMPTRST, VMCLEAR, VMXOFF.
 * Each check reports (CF | ZF << 1) and, for VMfailValid, the error number.
 *
 * Oracle: Bochs 2.7 (corei7_sandy_bridge_2600k, bochsCheck.ts) agrees on the
 * error-number ROM except where the processors differ by design: Bochs
 * panics on VMCALL in root operation (its dual-monitor path is not
 * implemented; the SDM decides: VMfailValid(1)), and accepts a VMCLEAR
 * pointer above 4 GiB (its physical-address width is wider; this part sets
 * IA32_VMX_BASIC bit 48). The capability MSRs describe another processor.
 */
import { describe, expect, it } from 'vitest';
import { runVmx, hex } from './vmxRun.ts';
import * as C from '../../../core/cpu/vmx/capabilities.ts';
import * as F from '../../../core/cpu/vmx/vmcsFields.ts';

const SUCCEED = 0, FAIL_INVALID = 1, FAIL_VALID = 2;

describe('VMX instructions in root operation', () => {
  it('CPUID.1:ECX.VMX and the capability MSRs tell what is implemented', () => {
    const r = runVmx(`
vmx_main:
        mov eax, 1
        cpuid
        and ecx, 1 << 5
        mov eax, ecx
        out 0xF0, eax
%assign msr 0x480
%rep 17
        mov ecx, msr
        rdmsr
        out 0xF0, eax
        mov eax, edx
        out 0xF0, eax
%assign msr msr + 1
%endrep
        PM_DONE
`);
    const caps = [
      [C.VMX_BASIC_LO, C.VMX_BASIC_HI],
      [0x16, C.PIN_ALLOWED1], [0x0401e172, C.PROC_ALLOWED1], [0x36dff, C.EXIT_ALLOWED1], [0x11ff, C.ENTRY_ALLOWED1],
      [C.VMX_MISC_LO, 0], [C.CR0_FIXED0, 0], [C.CR0_FIXED1, 0], [C.CR4_FIXED0, 0], [C.CR4_FIXED1, 0],
      [C.VMCS_ENUM_LO, 0], [0, C.PROC2_ALLOWED1], [C.EPT_VPID_CAP_LO, C.EPT_VPID_CAP_HI],
      [0x16, C.PIN_ALLOWED1], [0x0401e172 & ~0x18000, C.PROC_ALLOWED1], [0x36dff & ~4, C.EXIT_ALLOWED1], [0x11ff & ~4, C.ENTRY_ALLOWED1],
    ];
    expect(hex(r.values)).toEqual(hex([1 << 5, ...caps.flat()]));
    // Spot checks against the SDM's encodings, independent of capabilities.ts.
    expect(C.VMX_BASIC_HI).toBe(0x00991000); // 4 KiB regions, 32-bit addresses (bit 48), WB (bits 53:50 = 6), TRUE MSRs (bit 55)
    expect(C.PIN_ALLOWED1).toBe(0x16 | 1 | 8 | 0x20 | 0x40); // external-interrupt exiting, NMI exiting, virtual NMIs, preemption timer
    expect(C.PROC2_ALLOWED1).toBe(0x2 | 0x4 | 0x20 | 0x80); // EPT, descriptor-table exiting, VPID, unrestricted guest
    expect(C.VMCS_ENUM_LO).toBe(0x17 << 1); // highest index: VMX_PREEMPTION_TIMER_VALUE (0x482E)
  });

  it('VMfailValid error numbers, VMREAD/VMWRITE widths, VMPTRST, VMCLEAR and VMXOFF', () => {
    const r = runVmx(`
%macro PTR 1
        mov dword [PTR_SCRATCH], %1
        mov dword [PTR_SCRATCH + 4], 0
%endmacro
vmx_main:
        vmcall                              ; root operation: VMfailValid(1)
        REPORT_VMRESULT
        REPORT_FIELD VM_INSTRUCTION_ERROR
        PTR VMCS_REGION + 8
        vmptrld [PTR_SCRATCH]               ; not 4 KiB aligned: 9
        REPORT_VMRESULT
        REPORT_FIELD VM_INSTRUCTION_ERROR
        PTR VMXON_REGION
        vmptrld [PTR_SCRATCH]               ; the VMXON pointer: 10
        REPORT_VMRESULT
        REPORT_FIELD VM_INSTRUCTION_ERROR
        mov dword [0x30000], 0x12345
        PTR 0x30000
        vmptrld [PTR_SCRATCH]               ; wrong revision identifier: 11
        REPORT_VMRESULT
        REPORT_FIELD VM_INSTRUCTION_ERROR
        mov dword [PTR_SCRATCH + 4], 1
        vmclear [PTR_SCRATCH]               ; beyond the 32-bit physical-address width: 2
        REPORT_VMRESULT
        REPORT_FIELD VM_INSTRUCTION_ERROR
        PTR VMXON_REGION
        vmclear [PTR_SCRATCH]               ; the VMXON pointer: 3
        REPORT_VMRESULT
        REPORT_FIELD VM_INSTRUCTION_ERROR
        mov eax, 0x1234
        vmread ebx, eax                     ; no such field: 12
        REPORT_VMRESULT
        REPORT_FIELD VM_INSTRUCTION_ERROR
        mov eax, GUEST_CS_SELECTOR | 1      ; high access type on a 16-bit field: 12
        vmread ebx, eax
        REPORT_VMRESULT
        REPORT_FIELD VM_INSTRUCTION_ERROR
        mov eax, VM_EXIT_REASON
        vmwrite eax, ebx                    ; read-only field: 13
        REPORT_VMRESULT
        REPORT_FIELD VM_INSTRUCTION_ERROR
        PTR VMXON_REGION
        vmxon [PTR_SCRATCH]                 ; already in VMX root operation: 15
        REPORT_VMRESULT
        REPORT_FIELD VM_INSTRUCTION_ERROR
        mov ecx, 0
        invept ecx, [PTR_SCRATCH]           ; INVEPT type 0 does not exist: 28
        REPORT_VMRESULT
        REPORT_FIELD VM_INSTRUCTION_ERROR
        mov dword [PTR_SCRATCH], 0          ; VPID 0
        mov ecx, 1
        invvpid ecx, [PTR_SCRATCH]          ; single-context with VPID 0: 28
        REPORT_VMRESULT
        REPORT_FIELD VM_INSTRUCTION_ERROR
        mov ecx, 2
        invept ecx, [PTR_SCRATCH]           ; all-context: succeeds
        REPORT_VMRESULT
        ; widths: a 16-bit field keeps 16 bits; a 64-bit field's high half by its own encoding
        VMW GUEST_CS_SELECTOR, 0xFFFF0008
        REPORT_FIELD GUEST_CS_SELECTOR
        VMW TSC_OFFSET_HIGH, 0x12345678
        VMW TSC_OFFSET, 0x9abcdef0          ; a full-width write from 32-bit code clears the high half
        REPORT_FIELD TSC_OFFSET
        REPORT_FIELD TSC_OFFSET_HIGH
        VMW TSC_OFFSET_HIGH, 0x12345678
        REPORT_FIELD TSC_OFFSET
        REPORT_FIELD TSC_OFFSET_HIGH
        vmptrst [PTR_SCRATCH]
        REPORT_VMRESULT
        mov eax, [PTR_SCRATCH]
        out 0xF0, eax
        mov eax, [PTR_SCRATCH + 4]
        out 0xF0, eax
        ; VMCLEAR of the current VMCS: no current VMCS afterwards
        PTR VMCS_REGION
        vmclear [PTR_SCRATCH]
        REPORT_VMRESULT
        mov eax, GUEST_CS_SELECTOR
        vmread ebx, eax                     ; no current VMCS: VMfailInvalid
        REPORT_VMRESULT
        vmptrst [PTR_SCRATCH]
        mov eax, [PTR_SCRATCH]
        out 0xF0, eax
        ; the data survived in the region: load it again and read it back
        PTR VMCS_REGION
        vmptrld [PTR_SCRATCH]
        REPORT_VMRESULT
        REPORT_FIELD TSC_OFFSET_HIGH
        vmxoff
        REPORT_VMRESULT
        RESUME_AT .after_ud
        mov eax, GUEST_CS_SELECTOR
        vmread ebx, eax                     ; outside VMX operation: #UD
.after_ud:
        PM_DONE
`);
    expect(hex(r.values)).toEqual(hex([
      FAIL_VALID, F.VMERR_VMCALL_IN_ROOT,
      FAIL_VALID, F.VMERR_VMPTRLD_INVALID_ADDRESS,
      FAIL_VALID, F.VMERR_VMPTRLD_VMXON_POINTER,
      FAIL_VALID, F.VMERR_VMPTRLD_INCORRECT_REVISION_ID,
      FAIL_VALID, F.VMERR_VMCLEAR_INVALID_ADDRESS,
      FAIL_VALID, F.VMERR_VMCLEAR_VMXON_POINTER,
      FAIL_VALID, F.VMERR_UNSUPPORTED_VMCS_COMPONENT,
      FAIL_VALID, F.VMERR_UNSUPPORTED_VMCS_COMPONENT,
      FAIL_VALID, F.VMERR_VMWRITE_READ_ONLY_COMPONENT,
      FAIL_VALID, F.VMERR_VMXON_IN_VMX_ROOT,
      FAIL_VALID, F.VMERR_INVALID_INVEPT_INVVPID_OPERAND,
      FAIL_VALID, F.VMERR_INVALID_INVEPT_INVVPID_OPERAND,
      SUCCEED,
      0x0008,
      0x9abcdef0, 0,
      0x9abcdef0, 0x12345678,
      SUCCEED, 0xb000, 0,
      SUCCEED,
      FAIL_INVALID,
      0xffffffff,
      SUCCEED, 0x12345678,
      SUCCEED,
      6, 0xffffffff, // #UD reported by pmode.inc's handler: vector, no error code, EIP, CS
      r.values[r.values.length - 2], 0x48,
    ]));
    expect(r.values[r.values.length - 2]).toBeGreaterThan(0xf0000); // the flat host CS: EIP is CODE_BASE + offset
  });
});
