/**
 * A PAE guest under VMX (core/cpu/vmx/pdptes.ts, SDM Vol. 3C 26.3.1.6,
 * 26.3.2.4, 27.3.4): with EPT, VM entry loads the PDPTE registers from the
 * GUEST_PDPTEn fields (not from the guest's CR3), a guest MOV to CR3
 * reloads them from guest-physical memory through EPT, and VM exit stores
 * them back; without EPT, entry loads them from the memory at GUEST_CR3. An
 * invalid PDPTE fails the entry as invalid guest state, qualification 2.
 *
 * The guest's tables: PDPT at 0x30000 -> PD_A, whose PDE 2 maps linear
 * 0x400000 to physical 0x200000; PD_B maps the same linear 2 MiB to
 * physical 0. Both map the first 2 MiB (the guest's code, stack and tables)
 * identically. Linear 0x450010 thus reads 0xAAAA through PD_A and 0xBBBB
 * through PD_B.
 */
import { describe, expect, it } from 'vitest';
import { hex, runVmx } from './vmx/vmxRun.ts';
import * as F from '../../core/cpu/vmx/vmcsFields.ts';

const GUEST_PAE = (ept: boolean): string => `
PDPT_G  equ 0x30000
PD_A    equ 0x31000
PD_B    equ 0x32000
        ${ept ? 'EPT_IDENTITY' : ''}
        mov edi, PDPT_G
        xor eax, eax
        mov ecx, 3 * 4096 / 4
        rep stosd
        mov dword [PDPT_G], PD_A | 1
        mov dword [PD_A], 0x83
        mov dword [PD_A + 16], 0x200000 | 0x83
        mov dword [PD_B], 0x83
        mov dword [PD_B + 16], 0x000000 | 0x83
        mov dword [0x250010], 0xAAAA
        mov dword [0x050010], 0xBBBB
        SET_CONTROLS CPU_BASED_VM_EXEC_CONTROL, 0x48e, CPU_BASED_HLT_EXITING | CPU_BASED_ACTIVATE_SECONDARY_CONTROLS
        VMW SECONDARY_VM_EXEC_CONTROL, ${ept ? 'SECONDARY_EXEC_ENABLE_EPT' : '0'}
        VMR GUEST_CR4
        or eax, 1 << 5
        mov ebx, eax
        VMW GUEST_CR4, ebx
        VMW GUEST_CR3, PDPT_G
        VMW GUEST_PDPTE0, PD_B | 1
        VMW GUEST_PDPTE0_HIGH, 0
        VMW GUEST_PDPTE1, 0
        VMW GUEST_PDPTE2, 0
        VMW GUEST_PDPTE3, 0
        VMW GUEST_RIP, guest
`;

const GUEST = `
guest:
        mov eax, [0x450010]
        out 0xF0, eax
        mov eax, cr3
        mov cr3, eax
        mov eax, [0x450010]
        out 0xF0, eax
        GUEST_HLT
`;

describe('PAE guests under VMX', () => {
  it('with EPT: PDPTEs from the VMCS fields on entry, reloaded by the guest through EPT, stored on exit; an invalid field fails the entry', () => {
    const r = runVmx(`
vmx_main:
${GUEST_PAE(true)}
        VMLAUNCH_TO after1
        REPORT_VMRESULT
        PM_DONE
after1:
        REPORT_FIELD VM_EXIT_REASON
        REPORT_FIELD GUEST_PDPTE0
        REPORT_FIELD GUEST_PDPTE0_HIGH
        VMW GUEST_PDPTE3, PD_A | 0x101                ; bit 8 is reserved
        VMRESUME_TO after2
        REPORT_VMRESULT
        PM_DONE
after2:
        REPORT_FIELD VM_EXIT_REASON
        REPORT_FIELD EXIT_QUALIFICATION
        PM_DONE
${GUEST}
`);
    expect(hex(r.values)).toEqual(hex([
      0xbbbb, // PD_B: the PDPTE field, not the memory at CR3
      0xaaaa, // after the guest's MOV CR3: the memory (PD_A)
      F.EXIT_REASON_HLT,
      0x31001, 0, // GUEST_PDPTE0 stored on exit: PD_A | P
      (F.EXIT_REASON_INVALID_GUEST_STATE | F.EXIT_REASON_FAILED_VMENTRY) >>> 0, F.ENTRY_FAIL_PDPTE,
    ]));
  });

  it("with EPT: the guest's MOV CR3 loads the PDPTEs through EPT; a violation there has no guest-linear address", () => {
    const r = runVmx(`
vmx_main:
${GUEST_PAE(true)}
        mov dword [EPT_PT + (PDPT_G >> 12) * 8], 0    ; the guest's PDPT is not mapped
        VMLAUNCH_TO after1
        REPORT_VMRESULT
        PM_DONE
after1:
        REPORT_FIELD VM_EXIT_REASON
        REPORT_FIELD EXIT_QUALIFICATION
        REPORT_FIELD GUEST_PHYSICAL_ADDRESS
        PM_DONE
${GUEST}
`);
    expect(hex(r.values)).toEqual(hex([0xbbbb, F.EXIT_REASON_EPT_VIOLATION, F.EPT_VIOLATION_READ, 0x30000]));
  });

  it('without EPT: PDPTEs from the memory at GUEST_CR3 (the fields are ignored); an invalid one fails the entry', () => {
    const r = runVmx(`
vmx_main:
${GUEST_PAE(false)}
        VMLAUNCH_TO after1
        REPORT_VMRESULT
        PM_DONE
after1:
        REPORT_FIELD VM_EXIT_REASON
        mov dword [PDPT_G + 8], PD_A | 0x21           ; PDPTE1: present, bit 5 is reserved
        VMRESUME_TO after2
        REPORT_VMRESULT
        PM_DONE
after2:
        REPORT_FIELD VM_EXIT_REASON
        REPORT_FIELD EXIT_QUALIFICATION
        PM_DONE
${GUEST}
`);
    expect(hex(r.values)).toEqual(hex([
      0xaaaa, 0xaaaa,
      F.EXIT_REASON_HLT,
      (F.EXIT_REASON_INVALID_GUEST_STATE | F.EXIT_REASON_FAILED_VMENTRY) >>> 0, F.ENTRY_FAIL_PDPTE,
    ]));
  });
});
