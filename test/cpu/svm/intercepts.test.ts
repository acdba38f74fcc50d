/**
 * SVM instruction intercepts (AMD64 APM Vol. 2 §15.7-15.13, EXITCODEs of
 * Appendix C): each intercepted instruction exits with its EXITCODE before
 * it executes (RIP names it, nRIP the next instruction); EXITINFO1 as the
 * APM defines it for that intercept (IOIO: the port, size, direction,
 * string/REP and address size; MSR: 0 read, 1 write; the others 0 without
 * decode assists) and EXITINFO2 (IOIO: the next RIP).
 */
import { describe, expect, it } from 'vitest';
import { exitRecords, runSvm, type ExitRecord } from './svmRun.ts';
import * as B from '../../../core/cpu/svm/vmcb.ts';

/** Exit code, EXITINFO1, EXITINFO2 and the intercepted instruction's length. */
const summary = (e: ExitRecord) => [e.code, e.info1 >>> 0, e.info2 >>> 0, e.nrip === 0 ? 0 : e.nrip - e.rip];

describe('SVM: instruction intercepts', () => {
  it('CPUID, RDTSC, INVLPG, CR/DR reads and writes, VMMCALL, IOIO, MSR, SVM instructions, descriptor-table writes, HLT', () => {
    const r = runSvm(`
svm_main:
        VMCB_W VMCB_INTERCEPT_CR, (1 << 0) | (1 << 4) | (1 << (16 + 3))
        VMCB_W VMCB_INTERCEPT_DR, (1 << 6) | (1 << (16 + 7))
        VMCB_W VMCB_INTERCEPT_MISC1, INTERCEPT_CPUID | INTERCEPT_RDTSC | INTERCEPT_INVLPG | INTERCEPT_INVLPGA | INTERCEPT_IOIO_PROT | INTERCEPT_MSR_PROT | INTERCEPT_HLT | INTERCEPT_GDTR_WRITE | INTERCEPT_IDTR_WRITE | INTERCEPT_LDTR_WRITE | INTERCEPT_TR_WRITE
        VMCB_W VMCB_INTERCEPT_MISC2, INTERCEPT_VMRUN | INTERCEPT_VMMCALL | INTERCEPT_VMLOAD | INTERCEPT_VMSAVE | INTERCEPT_STGI | INTERCEPT_CLGI
        or byte [IOPM + (0x71 >> 3)], 1 << (0x71 & 7)
        or byte [IOPM + (0x3f8 >> 3)], 1 << (0x3f8 & 7)
        or byte [IOPM + (0x80 >> 3)], 1 << (0x80 & 7)
        mov byte [MSRPM + (0x10 * 2) / 8], 3        ; MSR 10h: read and write
        VMCB_W VMCB_RIP, guest
        jmp exit_loop
guest:
        cpuid                   ; 0F A2
        rdtsc                   ; 0F 31
        invlpg [0x1234]         ; 0F 01 3D imm32
        mov eax, cr0            ; 0F 20 C0
        mov cr3, ebx            ; 0F 22 DB
        mov eax, cr4            ; 0F 20 E0
        mov eax, cr3            ; not intercepted
        mov dr7, eax            ; 0F 23 F8
        mov ebx, dr6            ; 0F 21 F3
        mov dr0, eax            ; not intercepted
        vmmcall                 ; 0F 01 D9
        in al, 0x71             ; E4 71
        mov dx, 0x3f8
        out dx, ax              ; 66 EF
        mov esi, 0x5000
        mov ecx, 3
        mov dx, 0x80
        rep outsb               ; F3 6E
        in eax, dx              ; ED
        a16 in al, dx           ; 67 EC
        in al, 0x70             ; not intercepted
        mov ecx, 0x10
        rdmsr                   ; 0F 32
        wrmsr                   ; 0F 30
        mov eax, VMCB2
        vmrun                   ; 0F 01 D8
        vmload                  ; 0F 01 DA
        vmsave                  ; 0F 01 DB
        stgi                    ; 0F 01 DC
        clgi                    ; 0F 01 DD
        invlpga                 ; 0F 01 DF
        lgdt [0x5000]           ; 0F 01 15 imm32
        lidt [0x5000]           ; 0F 01 1D imm32
        lldt ax                 ; 0F 00 D0
        ltr ax                  ; 0F 00 D8
        GUEST_HLT               ; F4
`);
    const exits = exitRecords(r.values);
    expect(exits.map(summary)).toEqual([
      [B.VMEXIT_CPUID, 0, 0, 2],
      [B.VMEXIT_RDTSC, 0, 0, 2],
      [B.VMEXIT_INVLPG, 0, 0, 7],
      [B.VMEXIT_CR0_READ + 0, 0, 0, 3],
      [B.VMEXIT_CR0_WRITE + 3, 0, 0, 3],
      [B.VMEXIT_CR0_READ + 4, 0, 0, 3],
      [B.VMEXIT_DR0_WRITE + 7, 0, 0, 3],
      [B.VMEXIT_DR0_READ + 6, 0, 0, 3],
      [B.VMEXIT_VMMCALL, 0, 0, 3],
      [B.VMEXIT_IOIO, B.IOIO_TYPE_IN | B.IOIO_SZ8 | B.IOIO_A32 | (0x71 << 16), exits[9].nrip, 2],
      [B.VMEXIT_IOIO, (B.IOIO_SZ8 << 1) | B.IOIO_A32 | (0x3f8 << 16), exits[10].nrip, 2],
      [B.VMEXIT_IOIO, B.IOIO_STR | B.IOIO_REP | B.IOIO_SZ8 | B.IOIO_A32 | (0x80 << 16), exits[11].nrip, 2],
      [B.VMEXIT_IOIO, B.IOIO_TYPE_IN | (B.IOIO_SZ8 << 2) | B.IOIO_A32 | (0x80 << 16), exits[12].nrip, 1],
      [B.VMEXIT_IOIO, B.IOIO_TYPE_IN | B.IOIO_SZ8 | B.IOIO_A16 | (0x80 << 16), exits[13].nrip, 2],
      [B.VMEXIT_MSR, 0, 0, 2],
      [B.VMEXIT_MSR, 1, 0, 2],
      [B.VMEXIT_VMRUN, 0, 0, 3],
      [B.VMEXIT_VMLOAD, 0, 0, 3],
      [B.VMEXIT_VMSAVE, 0, 0, 3],
      [B.VMEXIT_STGI, 0, 0, 3],
      [B.VMEXIT_CLGI, 0, 0, 3],
      [B.VMEXIT_INVLPGA, 0, 0, 3],
      [B.VMEXIT_GDTR_WRITE, 0, 0, 7],
      [B.VMEXIT_IDTR_WRITE, 0, 0, 7],
      [B.VMEXIT_LDTR_WRITE, 0, 0, 3],
      [B.VMEXIT_TR_WRITE, 0, 0, 3],
      [B.VMEXIT_HLT, 0, 0, 1],
    ]);
    // EXITINFO2 of an IOIO intercept is the next RIP, and the first exit's RIP is the guest's first instruction.
    expect(exits[9].info2).toBe(exits[9].rip + 2);
  });

  it('SGDT, SIDT, SLDT, STR (read), RDPMC, INVD, WBINVD and IRET intercepts', () => {
    const r = runSvm(`
svm_main:
        VMCB_W VMCB_INTERCEPT_MISC1, INTERCEPT_HLT | INTERCEPT_GDTR_READ | INTERCEPT_IDTR_READ | INTERCEPT_LDTR_READ | INTERCEPT_TR_READ | INTERCEPT_RDPMC | INTERCEPT_INVD | INTERCEPT_IRET
        VMCB_W VMCB_INTERCEPT_MISC2, INTERCEPT_VMRUN | INTERCEPT_WBINVD
        VMCB_W VMCB_RIP, guest
        jmp exit_loop
guest:
        sgdt [0x5000]           ; 0F 01 05 imm32
        sidt [0x5000]           ; 0F 01 0D imm32
        sldt ax                 ; 66 0F 00 C0
        str eax                 ; 0F 00 C8
        xor ecx, ecx
        rdpmc                   ; 0F 33
        invd                    ; 0F 08
        wbinvd                  ; 0F 09
        iretd                   ; CF (the stack holds nothing sensible: intercepted first)
        GUEST_HLT
`);
    expect(exitRecords(r.values).map(summary)).toEqual([
      [B.VMEXIT_GDTR_READ, 0, 0, 7], [B.VMEXIT_IDTR_READ, 0, 0, 7], [B.VMEXIT_LDTR_READ, 0, 0, 4],
      [B.VMEXIT_TR_READ, 0, 0, 3], [B.VMEXIT_RDPMC, 0, 0, 2], [B.VMEXIT_INVD, 0, 0, 2], [B.VMEXIT_WBINVD, 0, 0, 2],
      [B.VMEXIT_IRET, 0, 0, 1], [B.VMEXIT_HLT, 0, 0, 1],
    ]);
  });

  it('INT n and ICEBP intercepts exit before delivering: RIP the instruction, nRIP the next', () => {
    const r = runSvm(`
svm_main:
        VMCB_W VMCB_INTERCEPT_MISC1, INTERCEPT_HLT | INTERCEPT_INTN
        VMCB_W VMCB_INTERCEPT_MISC2, INTERCEPT_VMRUN | INTERCEPT_ICEBP
        VMCB_W VMCB_RIP, guest
        jmp exit_loop
guest:
        int 0x41                ; CD 41 (its gate is not even present: nothing is delivered)
        int1                    ; F1
        GUEST_HLT
`);
    const exits = exitRecords(r.values);
    expect(exits.map(summary)).toEqual([[B.VMEXIT_SWINT, 0, 0, 2], [B.VMEXIT_ICEBP, 0, 0, 1], [B.VMEXIT_HLT, 0, 0, 1]]);
    expect([exits[1].rip, exits[2].rip]).toEqual([exits[0].rip + 2, exits[0].rip + 3]);
  });
});
