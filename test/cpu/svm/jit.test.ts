/**
 * SVM guest mode under the block compiler: compiled guest code goes through
 * the same seam, so intercepts, #NPF and exception intercepts unwind and
 * exit exactly as in the interpreter. The same ROM (a guest looping over
 * IOIO, CPUID, MSR and #PF-intercepted accesses, and #NPF on fresh pages;
 * a host that fixes each up and resumes) runs with the compiler off and
 * with every block compiled on its first run; the exit streams are equal.
 */
import { describe, expect, it } from 'vitest';
import { exitRecords, runSvm } from './svmRun.ts';
import * as B from '../../../core/cpu/svm/vmcb.ts';

const ROM = `
svm_main:
        NPT_IDENTITY
        mov edi, NPT_PT + 0x300 * 4
        xor eax, eax
        mov ecx, 16
        rep stosd                                       ; guest-physical 300000h-30FFFFh: not present
        VMCB_W VMCB_INTERCEPT_MISC1, INTERCEPT_HLT | INTERCEPT_CPUID | INTERCEPT_IOIO_PROT | INTERCEPT_MSR_PROT
        VMCB_W VMCB_INTERCEPT_EXCEPTIONS, 1 << 6
        or byte [IOPM + (0x80 >> 3)], 1 << (0x80 & 7)
        mov byte [MSRPM + (0x10 * 2) / 8], 1                ; RDMSR 10h
        VMCB_W VMCB_RIP, guest
.loop:  SVM_RUN
        REPORT_VMCB VMCB_EXITCODE
        REPORT_VMCB VMCB_EXITINFO1
        REPORT_VMCB VMCB_EXITINFO2
        REPORT_VMCB VMCB_RIP
        REPORT_VMCB VMCB_NRIP
        mov eax, [VMCB + VMCB_EXITCODE]
        cmp eax, VMEXIT_HLT
        je .done
        cmp eax, VMEXIT_NPF
        jne .skip
        mov eax, [VMCB + VMCB_EXITINFO2]               ; map the page and retry
        shr eax, 12
        mov ebx, eax
        shl eax, 12
        or eax, 7
        mov [NPT_PT + ebx * 4], eax
        jmp .loop
.skip:  mov eax, [VMCB + VMCB_NRIP]
        test eax, eax
        jnz .go
        mov eax, [VMCB + VMCB_RIP]
        add eax, 2                                      ; past the UD2
.go:    mov [VMCB + VMCB_RIP], eax
        jmp .loop
.done:  PM_DONE
guest:
        xor esi, esi
.next:  in al, 0x80
        mov eax, esi
        cpuid
        mov ecx, 0x10
        rdmsr
        mov edi, esi
        shl edi, 12
        mov eax, [0x300000 + edi]                       ; #NPF on the first touch of each page
        ud2
        inc esi
        cmp esi, 16
        jb .next
        GUEST_HLT
`;

describe('SVM: guest mode under the block compiler', () => {
  it('the exit stream is the same with every block compiled', () => {
    const interpreted = runSvm(ROM);
    const compiled = runSvm(ROM, { setup: (_bus, cpu) => cpu.jit.configure({ enabled: true, hotThreshold: 1 }) });
    const exits = exitRecords(interpreted.values);
    expect(exits.length).toBe(16 * 5 + 1);
    expect(exits.slice(0, 5).map((e) => e.code)).toEqual([B.VMEXIT_IOIO, B.VMEXIT_CPUID, B.VMEXIT_MSR, B.VMEXIT_NPF, B.VMEXIT_EXCP_BASE + 6]);
    expect(compiled.values).toEqual(interpreted.values);
    expect(compiled.cpu.jit.blocksCompiled).toBeGreaterThan(0);
  });
});
