/**
 * EPT (SDM Vol. 3C §28.2, §27.2.1 Table 27-7): every guest-physical access
 * goes through the EPT tables, the guest's own page walk included; missing
 * permissions exit with reason 48 and the qualification's access and
 * permission bits, GUEST_PHYSICAL_ADDRESS and GUEST_LINEAR_ADDRESS;
 * misconfigured entries exit with reason 49. The host fixes the entry,
 * invalidates with INVEPT and re-enters: the instruction runs again.
 *
 * Oracle: Bochs 2.7 (corei7_sandy_bridge_2600k, bochsCheck.ts) reports the
 * same values for the first ROM; for the page-walk ROM it differs only in
 * the guest-linear address (its rom.inc moves the code) and for the
 * real-mode ROM only in the values the guest reports from 16-bit code (its
 * rom.inc reports from 32-bit code only); the exits agree.
 */
import { describe, expect, it } from 'vitest';
import { runVmx, hex } from './vmxRun.ts';
import * as F from '../../../core/cpu/vmx/vmcsFields.ts';

/** Host exit loop: reports reason, (48 only) qualification, guest-physical and (48 only) guest-linear address; fixes the page's EPT entry. */
const EPT_LOOP = `
ept_loop:
        REPORT_FIELD VM_EXIT_REASON
        VMR VM_EXIT_REASON
        cmp eax, EXIT_REASON_HLT
        je .done
        cmp eax, EXIT_REASON_EPT_MISCONFIG
        je .gpa
        REPORT_FIELD EXIT_QUALIFICATION
        REPORT_FIELD GUEST_LINEAR_ADDRESS
.gpa:   REPORT_FIELD GUEST_PHYSICAL_ADDRESS
        VMR GUEST_PHYSICAL_ADDRESS
        shr eax, 12
        mov ebx, eax
        shl ebx, 12
        or ebx, (6 << 3) | 7
        mov [EPT_PT + eax * 8], ebx
        mov dword [PTR_SCRATCH], EPT_PML4 | (3 << 3) | 6
        mov dword [PTR_SCRATCH + 4], 0
        mov ecx, INVEPT_SINGLE_CONTEXT
        invept ecx, [PTR_SCRATCH]
        VMRESUME_TO ept_loop
        REPORT_VMRESULT
.done:  PM_DONE
`;

const QUAL = { R: 1, W: 2, X: 4, CAN_R: 8, CAN_W: 16, CAN_X: 32, LINEAR: 0x80, FINAL: 0x100 };

describe('EPT', () => {
  it('violations (write to read-only, fetch from non-executable, not present), misconfigurations, 2 MiB pages', () => {
    const r = runVmx(`${EPT_LOOP}
vmx_main:
        EPT_IDENTITY
        mov dword [EPT_PT + 0x50 * 8], 0x50000 | (6 << 3) | 1   ; read-only
        mov dword [EPT_PT + 0x60 * 8], 0x60000 | (6 << 3) | 3   ; read/write, not executable
        mov dword [EPT_PT + 0x70 * 8], 0                        ; not present
        mov dword [EPT_PT + 0x80 * 8], 0x80000 | (6 << 3) | 2   ; write without read: misconfigured
        mov dword [EPT_PT + 0x81 * 8], 0x81000 | (2 << 3) | 7   ; memory type 2 (reserved): misconfigured
        mov byte [0x60000], 0xCB                                ; RETF
        mov dword [0x300000], 0x2222
        SET_CONTROLS CPU_BASED_VM_EXEC_CONTROL, 0x48e, CPU_BASED_HLT_EXITING | CPU_BASED_ACTIVATE_SECONDARY_CONTROLS
        VMW SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_ENABLE_EPT
        VMW GUEST_RIP, guest
        VMLAUNCH_TO ept_loop
        REPORT_VMRESULT
        REPORT_FIELD VM_INSTRUCTION_ERROR
        PM_DONE
guest:
        mov byte [0x50010], 1
        call SEL_FLAT32:0x60000 ; the fetch at the target exits; after the fix RETF comes back
        mov eax, [0x70004]
        mov eax, [0x80000]
        mov eax, [0x81000]
        mov eax, [0x300000]     ; in the 2 MiB page
        out 0xF0, eax
        GUEST_HLT
`);
    expect(hex(r.values)).toEqual(hex([
      F.EXIT_REASON_EPT_VIOLATION, QUAL.W | QUAL.CAN_R | QUAL.LINEAR | QUAL.FINAL, 0x50010, 0x50010,
      F.EXIT_REASON_EPT_VIOLATION, QUAL.X | QUAL.CAN_R | QUAL.CAN_W | QUAL.LINEAR | QUAL.FINAL, 0x60000, 0x60000,
      F.EXIT_REASON_EPT_VIOLATION, QUAL.R | QUAL.LINEAR | QUAL.FINAL, 0x70004, 0x70004,
      F.EXIT_REASON_EPT_MISCONFIG, 0x80000,
      F.EXIT_REASON_EPT_MISCONFIG, 0x81000,
      0x2222,
      F.EXIT_REASON_HLT,
    ]));
  });

  it("the guest's own page walk goes through EPT: a violation on its page directory is not the final translation", () => {
    const r = runVmx(`${EPT_LOOP}
vmx_main:
        EPT_IDENTITY
        mov dword [EPT_PT + (PAGE_DIR >> 12) * 8], 0            ; the guest's page directory is not mapped
        SET_CONTROLS CPU_BASED_VM_EXEC_CONTROL, 0x48e, CPU_BASED_HLT_EXITING | CPU_BASED_ACTIVATE_SECONDARY_CONTROLS
        VMW SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_ENABLE_EPT
        VMW GUEST_RIP, guest
        VMLAUNCH_TO ept_loop
        REPORT_VMRESULT
        PM_DONE
guest:
        GUEST_HLT
`);
    const guestLinear = r.values[2];
    expect(hex(r.values)).toEqual(hex([
      F.EXIT_REASON_EPT_VIOLATION, QUAL.R | QUAL.LINEAR, guestLinear, 0x9000, // the PDE read at CR3 + 0
      F.EXIT_REASON_HLT,
    ]));
    expect(guestLinear >>> 16).toBe(0xf); // the guest's code, in the ROM at 0xF0000
  });

  it('unrestricted guest: real-mode code (segment loads, an IVT interrupt and IRET) under EPT, and an EPT violation from real mode', () => {
    const r = runVmx(`${EPT_LOOP}
vmx_main:
        EPT_IDENTITY
        mov dword [EPT_PT + 0x70 * 8], 0
        mov word [0x42 * 4], rm_handler
        mov word [0x42 * 4 + 2], 0xF000
        SET_CONTROLS CPU_BASED_VM_EXEC_CONTROL, 0x48e, CPU_BASED_HLT_EXITING | CPU_BASED_ACTIVATE_SECONDARY_CONTROLS
        VMW SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_UNRESTRICTED_GUEST
        VMW GUEST_CR0, 0x30                     ; NE, ET: PE = PG = 0
        VMW GUEST_CR3, 0
        VMW GUEST_CR4, 0x2000                   ; VMXE (CR4 fixed-0)
        VMW GUEST_CS_SELECTOR, 0xF000
        VMW GUEST_CS_BASE, 0xF0000
        VMW GUEST_CS_LIMIT, 0xFFFF
        VMW GUEST_CS_AR_BYTES, 0x9B
%assign seg 0
%rep 6
%if seg != 1
        VMW GUEST_ES_SELECTOR + seg * 2, 0
        VMW GUEST_ES_BASE + seg * 2, 0
        VMW GUEST_ES_LIMIT + seg * 2, 0xFFFF
        VMW GUEST_ES_AR_BYTES + seg * 2, 0x93
%endif
%assign seg seg + 1
%endrep
        VMW GUEST_TR_SELECTOR, 0
        VMW GUEST_TR_BASE, 0
        VMW GUEST_TR_LIMIT, 0xFFFF
        VMW GUEST_TR_AR_BYTES, 0x8B
        VMW GUEST_GDTR_BASE, 0
        VMW GUEST_GDTR_LIMIT, 0xFFFF
        VMW GUEST_IDTR_BASE, 0
        VMW GUEST_IDTR_LIMIT, 0x3FF
        VMW GUEST_RSP, 0x7000
        VMW GUEST_RIP, rm_guest
        VMLAUNCH_TO ept_loop
        REPORT_VMRESULT
        REPORT_FIELD VM_INSTRUCTION_ERROR
        PM_DONE
        bits 16
rm_guest:
        mov eax, cr0
        out 0xF0, eax
        mov ax, 0x1234
        mov bx, 0x10
        mul bx
        out 0xF0, eax
        mov ax, dx
        out 0xF0, eax
        mov ax, 0x3000
        mov ds, ax
        mov word [0x10], 0xBEEF
        xor ax, ax
        mov ds, ax
        mov eax, [0x10]
        mov ax, 0x3001
        mov ds, ax
        mov eax, [0]            ; linear 0x30010: the word written through DS = 0x3000
        out 0xF0, eax
        int 0x42
        mov ax, 0x7000
        mov ds, ax
        mov al, [4]             ; guest-physical 0x70004: EPT violation from real mode
        GUEST_HLT
rm_handler:
        mov eax, 0x4242
        out 0xF0, eax
        iret
        bits 32
`);
    expect(hex(r.values)).toEqual(hex([
      0x30, // CR0 as the guest reads it
      0x2340, 0x0001, // MUL BX: DX:AX = 0x12340
      0xbeef,
      0x4242, // the IVT handler ran and IRET returned
      F.EXIT_REASON_EPT_VIOLATION, QUAL.R | QUAL.LINEAR | QUAL.FINAL, 0x70004, 0x70004,
      F.EXIT_REASON_HLT,
    ]));
  });

  it('unrestricted guest: protected mode without paging, guest-physical = linear through EPT', () => {
    const r = runVmx(`${EPT_LOOP}
vmx_main:
        EPT_IDENTITY
        mov dword [EPT_PT + 0x70 * 8], 0
        SET_CONTROLS CPU_BASED_VM_EXEC_CONTROL, 0x48e, CPU_BASED_HLT_EXITING | CPU_BASED_ACTIVATE_SECONDARY_CONTROLS
        VMW SECONDARY_VM_EXEC_CONTROL, SECONDARY_EXEC_ENABLE_EPT | SECONDARY_EXEC_UNRESTRICTED_GUEST
        VMW GUEST_CR0, 0x31                     ; PE, ET, NE: paging off
        VMW GUEST_CR3, 0
        VMW GUEST_CR4, 0x2000
        VMW GUEST_RIP, guest
        VMLAUNCH_TO ept_loop
        REPORT_VMRESULT
        REPORT_FIELD VM_INSTRUCTION_ERROR
        PM_DONE
guest:
        mov eax, cr0
        out 0xF0, eax
        mov dword [0x30000], 0x5a5a
        mov eax, [0x30000]
        out 0xF0, eax
        mov eax, [0x70008]                      ; not mapped in EPT
        GUEST_HLT
`);
    expect(hex(r.values)).toEqual(hex([
      0x31, 0x5a5a,
      F.EXIT_REASON_EPT_VIOLATION, QUAL.R | QUAL.LINEAR | QUAL.FINAL, 0x70008, 0x70008,
      F.EXIT_REASON_HLT,
    ]));
  });
});
