/**
 * Privilege at CPL 3: privileged instructions fault with #GP(0); the
 * sensitive-but-unprivileged ones (SGDT, SIDT, SLDT, STR, SMSW, PUSHF, POPF,
 * LAR, LSL, VERR, VERW) run without trapping and show the real state — the
 * Popek-Goldberg gap; POPF silently keeps IF and IOPL; I/O goes through the
 * TSS permission bitmap; data segment loads check DPL/RPL.
 */
import { describe, expect, it } from 'vitest';
import { hex, runPm } from './pmodeRun.ts';

describe('privileged instructions at CPL 3', () => {
  it('CLI, HLT, MOV CR0, LGDT, INVLPG, WRMSR, CLTS fault with #GP(0) at CPL 3 (IOPL 0)', () => {
    const faults = ['cli', 'hlt', 'mov cr0, eax', 'lgdt [PM_SCRATCH]', 'invlpg [0]', 'wrmsr', 'clts', 'mov eax, dr7', 'lmsw ax', 'ltr ax', 'lldt ax', 'in al, 0x80 - 0x80 + 0x80'];
    const body = faults.map((insn, k) => `
        RESUME_AT c${k}
        TO_RING3 u${k}, 0x0002
u${k}:  ${insn}
c${k}:`).join('') + '\n        PM_DONE\n';
    // The IN is allowed by the all-zero bitmap and does not fault; execution goes on at
    // CPL 3 into PM_DONE, whose CLI is the last #GP(0) (then the handler resumes at CPL 0 and halts).
    const run = runPm(`test_main:\n${body}`);
    expect(run.stop).toBe('halt');
    const v = run.values;
    expect(v.length).toBe(4 * faults.length);
    for (let k = 0; k < faults.length; k++) {
      expect(hex([v[4 * k], v[4 * k + 1], v[4 * k + 3]])).toEqual(hex([13, 0, 0x23]));
    }
  });

  it('sensitive but unprivileged instructions run at CPL 3 and reveal the real state', () => {
    const run = runPm(`
test_main:
        TO_RING3 ring3, 0x0202                        ; IF = 1, IOPL = 0
ring3:  mov ax, SEL_DATA3
        mov ds, ax
        sgdt [PM_SCRATCH]
        movzx eax, word [PM_SCRATCH]
        out 0xF0, eax
        mov eax, [PM_SCRATCH + 2]
        out 0xF0, eax
        sidt [PM_SCRATCH]
        mov eax, [PM_SCRATCH + 2]
        out 0xF0, eax
        str eax
        out 0xF0, eax
        sldt eax
        out 0xF0, eax
        smsw eax
        out 0xF0, eax
        pushfd
        pop eax
        and eax, 0x3200
        out 0xF0, eax                                 ; real IF and IOPL
        push dword 0x3002                             ; try IF = 0, IOPL = 3
        popfd
        pushfd
        pop eax
        and eax, 0x3200
        out 0xF0, eax                                 ; unchanged, no fault
        mov ax, SEL_CODE0
        lar eax, ax
        setz al
        movzx eax, al
        out 0xF0, eax                                 ; DPL 0 code is invisible at CPL 3
        mov bx, SEL_DATA3
        lsl eax, bx
        out 0xF0, eax
        verr bx
        setz al
        verw bx
        setz ah
        movzx eax, ax
        out 0xF0, eax
        mov bx, SEL_CODE3
        verr bx
        setz al
        verw bx
        setz ah
        movzx eax, ax
        out 0xF0, eax
        RESUME_AT 0
        cli
`);
    expect(hex(run.values)).toEqual(hex([
      0x7ff, 0x1000, 0x2000, 0x30, 0, 0x6000_0011,
      0x0200, 0x0200, 0, 0xffff_ffff, 0x0101, 0x0001,
      13, 0, run.values[14], 0x23, // the final CLI at IOPL 0: #GP(0)
    ]));
  });

  it('I/O at CPL > IOPL follows the TSS bitmap, every byte of the access', () => {
    const run = runPm(`
test_main:
        or byte [TSS_BASE + 0x68 + (0x81 >> 3)], 1 << (0x81 & 7)   ; deny port 0x81
        RESUME_AT c1
        TO_RING3 r1, 0x0002
r1:     in al, 0x80                                   ; allowed
        REPORT 0x80
        in ax, 0x80                                   ; covers 0x81 -> #GP(0)
c1:     RESUME_AT c2
        TO_RING3 r2, 0x1002                           ; IOPL 1: still CPL > IOPL
r2:     in al, 0x81
c2:     RESUME_AT 0
        TO_RING3 r3, 0x3002                           ; IOPL 3: no bitmap check
r3:     in al, 0x81
        REPORT 0x81
        cli                                           ; allowed at IOPL 3
        hlt                                           ; #GP(0): ends the test
`);
    const v = run.values;
    expect(v[0]).toBe(0x80);
    expect(hex([v[1], v[2], v[4]])).toEqual(hex([13, 0, 0x23]));
    expect(hex([v[5], v[6], v[8]])).toEqual(hex([13, 0, 0x23]));
    expect(v[9]).toBe(0x81);
    expect(hex([v[10], v[11], v[13]])).toEqual(hex([13, 0, 0x23]));
    expect(v.length).toBe(14);
  });

  it('data segment loads check DPL against CPL and RPL', () => {
    const run = runPm(`
test_main:
        RESUME_AT c1
        mov ax, SEL_DATA0 | 3                         ; RPL 3 > DPL 0
        mov ds, ax
c1:     RESUME_AT c2
        mov ax, SEL_DATA3                             ; SS must have DPL = CPL
        mov ss, ax
c2:     RESUME_AT c3
        mov ax, 0x48                                  ; beyond... a null descriptor in the GDT
        mov es, ax
c3:     RESUME_AT c4
        SET_DESC 0x50, 0, 0xFFFF, 0x12, 0             ; data, not present
        mov ax, 0x50
        mov fs, ax                                    ; #NP(0x50)
c4:     RESUME_AT 0
        xor ax, ax
        mov gs, ax                                    ; null: fine
        mov ss, ax                                    ; null SS: #GP(0)
`);
    const v = run.values;
    const codes = v.filter((_, k) => k % 4 < 2);
    expect(hex(codes)).toEqual(hex([13, 0x10, 13, 0x28, 13, 0x48, 11, 0x50, 13, 0]));
  });
});
