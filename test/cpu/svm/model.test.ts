/**
 * The processor model (processorModel.ts): the AMD part's CPUID (vendor,
 * signature, 8000_0001h ECX.SVM, the Athlon 64 3500+'s brand string and
 * caches, 8000_000Ah: SVM revision 1, 64 ASIDs, NP and NRIPS), its MSRs (EFER with SVME only, VM_CR with SVMDIS/LOCK,
 * VM_HSAVE_PA) and the SVM instructions' exceptions (#UD without SVME or
 * for SKINIT and VMMCALL in host mode, #GP(0) at CPL 3 or for a misaligned
 * VMCB); no VMX on the AMD part, no SVM on the Intel part, whose answers
 * stay as before.
 */
import { describe, expect, it } from 'vitest';
import { hex, runSvm } from './svmRun.ts';
import { runAsm } from '../harness.ts';
import { CPUID_EBX_CLFLUSH_LINE, CPUID_EDX as INTEL_CPUID_EDX, CPUID_EDX_LEAF1_ONLY } from '../../../core/cpu/system.ts';
import { CPUID_EDX_PAE } from '../../../core/cpu/svm/cpuid.ts';

const CPUID_EDX = INTEL_CPUID_EDX & ~CPUID_EDX_PAE;
import { AMD_SVM_MODEL, INTEL_VMX_MODEL } from '../../../core/cpu/processorModel.ts';

/** #UD and #GP handlers that report (vector, error code or -1) and continue at [PM_SCRATCH]; TRY runs one instruction. */
const FAULT_FRAME = `
%macro TRY 1+
        mov dword [PM_SCRATCH], CODE_BASE + %%next
        %1
        mov eax, 0xAA           ; no fault
        out 0xF0, eax
%%next:
%endmacro
%macro REPORT_MSR 1
        mov ecx, %1
        rdmsr
        out 0xF0, eax
        mov eax, edx
        out 0xF0, eax
%endmacro
install_fault_handlers:
        IDT_GATE 6, SEL_FLAT32, CODE_BASE + on_ud, 0x8E
        IDT_GATE 13, SEL_FLAT32, CODE_BASE + on_gp, 0x8E
        ret
on_ud:  mov eax, 6
        out 0xF0, eax
        mov eax, -1
        out 0xF0, eax
        jmp on_fault_done
on_gp:  mov eax, 13
        out 0xF0, eax
        pop eax
        out 0xF0, eax
on_fault_done:
        mov ax, SEL_DATA0
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov esp, PM_STACK0
        jmp dword [PM_SCRATCH]
`;

const str = (...dwords: number[]): string =>
  dwords.map((d) => String.fromCharCode(d & 0xff, (d >>> 8) & 0xff, (d >>> 16) & 0xff, d >>> 24)).join('');

describe('SVM: the AMD processor model', () => {
  it('CPUID answers as an AMD part with SVM and nothing it does not implement', () => {
    const r = runSvm(`
svm_main:
%macro REPORT_CPUID 1
        mov eax, %1
        xor ecx, ecx
        cpuid
        out 0xF0, eax
        mov eax, ebx
        out 0xF0, eax
        mov eax, ecx
        out 0xF0, eax
        mov eax, edx
        out 0xF0, eax
%endmacro
        REPORT_CPUID 0
        REPORT_CPUID 1
        REPORT_CPUID 0x80000000
        REPORT_CPUID 0x80000001
        REPORT_CPUID 0x80000008
        REPORT_CPUID 0x8000000A
        REPORT_CPUID 0x8000000B
        REPORT_CPUID 0x80000019
        REPORT_CPUID 0x80000002
        REPORT_CPUID 0x80000003
        REPORT_CPUID 0x80000004
        REPORT_CPUID 0x80000005
        REPORT_CPUID 0x80000006
        REPORT_CPUID 0x80000007
        PM_DONE
`);
    const v = r.values;
    expect(str(v[1], v[3], v[2])).toBe('AuthenticAMD');
    expect(hex(v.slice(4, 32))).toEqual(hex([
      AMD_SVM_MODEL.signature, CPUID_EBX_CLFLUSH_LINE, 0, CPUID_EDX, // leaf 1: the Intel part's features but PAE, no VMX in ECX
      0x8000_0018, v[1], v[2], v[3],                          // 8000_0000h: maximum extended leaf, vendor again
      AMD_SVM_MODEL.signature, 0, 1 << 2, CPUID_EDX & ~CPUID_EDX_LEAF1_ONLY, // 8000_0001h: ECX.SVM; EDX mirrors leaf 1 but CLFSH, SSE, SSE2
      0x2020, 0, 0, 0,                                        // 8000_0008h: 32-bit physical and linear addresses
      1, 64, 0, (1 << 0) | (1 << 3),                          // 8000_000Ah: revision 1, 64 ASIDs, NP and NRIPS
      0, 0, 0, 0,                                             // 8000_000Bh: not defined by the part: zeros
      0, 0, 0, 0,                                             // beyond the maximum: zeros
    ]));
    expect(str(...v.slice(32, 44))).toBe('AMD Athlon(tm) 64 Processor 3500+'.padEnd(48, '\0'));
    expect(hex(v.slice(44))).toEqual(hex([
      0xff08ff08, 0xff20ff20, 0x40020140, 0x40020140,         // 8000_0005h: L1 TLBs, 64 KiB 2-way L1 data and instruction caches
      0, 0x42004200, 0x02008140, 0,                           // 8000_0006h: L2 TLBs, 512 KiB 16-way L2
      0, 0, 0, 0,                                             // 8000_0007h: no power management features
    ]));
  });

  it('EFER, VM_CR and VM_HSAVE_PA; the SVM instructions\' #UD and #GP; no VMX', () => {
    const r = runSvm(`${FAULT_FRAME}
%macro wrmsr_efer 2
        mov ecx, MSR_EFER
        mov eax, %1
        mov edx, %2
        wrmsr
%endmacro
%macro wrmsr_msr 3
        mov ecx, %1
        mov eax, %2
        mov edx, %3
        wrmsr
%endmacro
%macro mov_cr4_vmxe 0
        mov eax, cr4
        or eax, 1 << 13
        mov cr4, eax
%endmacro
%macro rdmsr_at 1
        mov ecx, %1
        rdmsr
%endmacro
svm_main:
        call install_fault_handlers
        REPORT_MSR MSR_EFER                                      ; SVME set by the frame
        REPORT_MSR MSR_VM_HSAVE_PA
        TRY wrmsr_efer EFER_SVME | 1, 0                          ; SCE: reserved
        TRY wrmsr_efer EFER_SVME, 1                              ; EFER[63:32]
        TRY wrmsr_msr MSR_VM_HSAVE_PA, 0xA001, 0                 ; not 4 KiB aligned
        TRY wrmsr_msr MSR_VM_HSAVE_PA, 0xA000, 1                 ; beyond 32-bit physical addresses
        TRY wrmsr_msr MSR_VM_CR, VM_CR_SVMDIS, 0                 ; SVMDIS while EFER.SVME = 1
        TRY wrmsr_msr MSR_VM_CR, 1 << 5, 0                       ; reserved VM_CR bit
        TRY mov eax, VMCB + 8
        TRY vmrun                                                ; misaligned VMCB: #GP(0)
        TRY vmmcall                                              ; host mode: #UD
        TRY db 0x0F, 0x01, 0xDE                                  ; SKINIT: not advertised, #UD
        TRY mov_cr4_vmxe                                         ; no VMX on this part: #GP(0)
        TRY rdmsr_at 0x3A                                        ; IA32_FEATURE_CONTROL: #GP(0)
        TRY rdmsr_at 0x480                                       ; IA32_VMX_BASIC: #GP(0)
        ; SVME off: the SVM instructions are #UD; VM_CR.SVMDIS then makes SVME must-be-zero; LOCK freezes both.
        TRY wrmsr_efer 0, 0
        TRY stgi
        TRY vmload
        TRY wrmsr_msr MSR_VM_CR, VM_CR_SVMDIS, 0
        TRY wrmsr_efer EFER_SVME, 0                              ; #GP: SVMDIS
        TRY wrmsr_msr MSR_VM_CR, VM_CR_SVMDIS | VM_CR_LOCK, 0
        TRY wrmsr_msr MSR_VM_CR, VM_CR_DPD, 0                    ; LOCK and SVMDIS stay
        REPORT_MSR MSR_VM_CR
        PM_DONE
`);
    const GP0 = [13, 0], UD = [6, 0xffff_ffff], OK = [0xaa];
    expect(hex(r.values)).toEqual(hex([
      0x1000, 0, 0xa000, 0,
      ...GP0, ...GP0, ...GP0, ...GP0, ...GP0, ...GP0,
      ...OK, ...GP0, ...UD, ...UD, ...GP0, ...GP0, ...GP0,
      ...OK, ...UD, ...UD, ...OK, ...GP0, ...OK, ...OK,
      0x19, 0,
    ]));
  });

  it('VMRUN at CPL 3 is #GP(0)', () => {
    const r = runSvm(`${FAULT_FRAME}
svm_main:
        call install_fault_handlers
        mov dword [PM_SCRATCH], CODE_BASE + done
        TO_RING3 ring3, 0x0002
done:   PM_DONE
ring3:  mov eax, VMCB
        vmrun
        db 0xF4
`);
    expect(hex(r.values)).toEqual(hex([13, 0]));
  });

  it('the Intel part keeps its CPUID, its EFER has NXE only (no SVME), and it has no SVM instructions', () => {
    const r = runAsm(`
%include "rom.inc"
%include "pmode.inc"
        bits 32
test_main:
        mov dword [PM_RESUME], after_rdmsr
        mov eax, 0x80000000
        cpuid
        out 0xF0, eax                   ; the highest extended leaf (8000_0008h, cpuidExtended.ts)
        mov eax, 0
        cpuid
        out 0xF0, eax
        mov ecx, 0xC0000080
        rdmsr                           ; EFER reads 0 (NXE clear, paeControl.ts)
        out 0xF0, eax
        mov eax, 1 << 12
        xor edx, edx
        wrmsr                           ; SVME: #GP(0) (reported by pmode.inc's handler)
after_rdmsr:
        mov dword [PM_RESUME], after_vmrun
        vmrun                           ; #UD
after_vmrun:
        PM_DONE
        bits 16
        ROM_END
`);
    // Vector, error code, EIP, CS from pmode.inc's default handler.
    expect(r.values.slice(0, 5)).toEqual([0x8000_0008, 0xa, 0, 13, 0]);
    expect(r.values[7]).toBe(6);
    expect(r.values[8]).toBe(0xffff_ffff);
  });
});
