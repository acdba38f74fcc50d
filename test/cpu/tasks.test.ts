/**
 * Hardware task switches (SDM Vol. 3 chapter 7): CALL to a TSS (back link,
 * NT, both busy), IRET with NT (the caller's task resumes, the callee's busy
 * bit cleared, its state saved in its TSS), JMP through a task gate (old task
 * not busy, no NT), busy-TSS and type errors, CR0.TS, and an interrupt
 * through an IDT task gate.
 */
import { describe, expect, it } from 'vitest';
import { hex, runPm } from './pmodeRun.ts';

// A second task's TSS at 0x10000, described by GDT entry 0x50.
const TASK2 = `
TSS2 equ 0x10000
        SET_DESC 0x50, TSS2, 0x67, 0x89, 0
        mov dword [TSS2 + 0x1C], 0                   ; CR3
        mov dword [TSS2 + 0x20], task2               ; EIP
        mov dword [TSS2 + 0x24], 0x0002              ; EFLAGS
        mov dword [TSS2 + 0x28], 0xAAAA0001          ; EAX
        mov dword [TSS2 + 0x38], 0x9000              ; ESP
        mov dword [TSS2 + 0x48], SEL_DATA0           ; ES
        mov dword [TSS2 + 0x4C], SEL_CODE0           ; CS
        mov dword [TSS2 + 0x50], SEL_DATA0           ; SS
        mov dword [TSS2 + 0x54], SEL_DATA0           ; DS
        mov dword [TSS2 + 0x58], 0                   ; FS
        mov dword [TSS2 + 0x5C], 0                   ; GS
        mov dword [TSS2 + 0x60], 0                   ; LDT
`;
/** Reports a GDT entry's type nibble (busy = 0xB, available = 0x9). */
const TYPE = (sel: number): string => `
        movzx eax, byte [GDT_BASE + ${sel} + 5]
        and eax, 0xF
        out 0xF0, eax`;

describe('task switching', () => {
  it('CALL to a TSS nests the task; IRET with NT returns', () => {
    const run = runPm(`
test_main:
${TASK2}
        mov eax, 0x11111111
        clts
        call 0x50:0
back:   out 0xF0, eax                                 ; task 1's EAX restored
        str eax
        out 0xF0, eax
        pushfd
        pop eax
        and eax, 0x4000
        out 0xF0, eax                                 ; NT clear in task 1
        ${TYPE(0x30)}
        ${TYPE(0x50)}
        mov eax, [TSS2 + 0x20]
        out 0xF0, eax                                 ; task 2 saved EIP: after its IRET
        REPORT t2next
        mov eax, cr0
        and eax, 8
        out 0xF0, eax                                 ; CR0.TS set by the switch
        PM_DONE
task2:  out 0xF0, eax                                 ; EAX from TSS2
        str eax
        out 0xF0, eax
        pushfd
        pop eax
        and eax, 0x4000
        out 0xF0, eax                                 ; NT set
        movzx eax, word [TSS2]
        out 0xF0, eax                                 ; back link
        ${TYPE(0x30)}
        ${TYPE(0x50)}
        mov eax, esp
        out 0xF0, eax
        mov eax, [TSS_BASE + 0x20]
        out 0xF0, eax                                 ; task 1's saved EIP
        REPORT back
        iretd
t2next: jmp t2next
`);
    expect(run.stop).toBe('halt');
    const v = run.values;
    expect(hex(v.slice(0, 7))).toEqual(hex([0xaaaa0001, 0x50, 0x4000, 0x30, 0xb, 0xb, 0x9000]));
    expect(v[7]).toBe(v[8]);
    expect(hex(v.slice(9, 14))).toEqual(hex([0x11111111, 0x30, 0, 0xb, 0x9]));
    expect(v[14]).toBe(v[15]);
    expect(v[16]).toBe(8);
  });

  it('JMP through a task gate: the old task becomes available, no NT, no back link', () => {
    const run = runPm(`
test_main:
${TASK2}
        mov dword [TSS2], 0x1234                      ; back link left alone by JMP
        SET_GATE GDT_BASE, 11, 0x50, 0, 0xE5, 0       ; 0x58: task gate DPL3
        jmp 0x58:0
task2:  str eax
        out 0xF0, eax
        pushfd
        pop eax
        and eax, 0x4000
        out 0xF0, eax
        movzx eax, word [TSS2]
        out 0xF0, eax
        ${TYPE(0x30)}
        ${TYPE(0x50)}
        RESUME_AT c1
        jmp 0x50:0                                    ; itself: busy -> #GP(0x50)
c1:     RESUME_AT 0
        mov byte [GDT_BASE + 0x30 + 5], 0x82          ; make 0x30 an LDT descriptor
        call 0x30:0                                   ; not a TSS -> #GP(0x30)
`);
    const v = run.values;
    expect(hex(v.slice(0, 5))).toEqual(hex([0x50, 0, 0x1234, 0x9, 0xb]));
    expect(hex([v[5], v[6]])).toEqual(hex([13, 0x50]));
    expect(hex([v[9], v[10]])).toEqual(hex([13, 0x30]));
  });

  it('an interrupt through an IDT task gate runs the handler task, and IRET resumes the interrupted one', () => {
    const run = runPm(`
test_main:
${TASK2}
        IDT_GATE 0x50, 0x50, 0, 0xE5                  ; task gate for INT 0x50
        mov ebx, 0x5555
        int 0x50
        mov eax, ebx
        out 0xF0, eax
        REPORT 0xD0E
        PM_DONE
task2:  movzx eax, word [TSS2]
        out 0xF0, eax
        mov ebx, 0x7777                               ; task 2's EBX only
        iretd
`);
    expect(run.stop).toBe('halt');
    expect(hex(run.values)).toEqual(hex([0x30, 0x5555, 0xd0e]));
  });
});

describe('16-bit TSS', () => {
  it('CALL to a 16-bit TSS loads IP, FLAGS, the 16-bit registers and selectors; IRET returns', () => {
    const run = runPm(`
test_main:
TSS3 equ 0x11000
        SET_DESC 0x50, TSS3, 0x2B, 0x81, 0            ; 16-bit TSS, available
        SET_DESC 0x58, CODE_BASE, 0xFFFF, 0x9A, 0     ; 16-bit code
        mov word [TSS3 + 0x0E], t16                   ; IP
        mov word [TSS3 + 0x10], 0x0002                ; FLAGS
        mov word [TSS3 + 0x12], 0x1234                ; AX
        mov word [TSS3 + 0x1A], 0x9000                ; SP
        mov word [TSS3 + 0x22], SEL_DATA0             ; ES
        mov word [TSS3 + 0x24], 0x58                  ; CS
        mov word [TSS3 + 0x26], SEL_DATA0             ; SS
        mov word [TSS3 + 0x28], SEL_DATA0             ; DS
        mov eax, 0xABCD0000
        call 0x50:0
        out 0xF0, eax                                 ; task 1's EAX back
        movzx eax, byte [GDT_BASE + 0x50 + 5]
        out 0xF0, eax                                 ; available again (0x81)
        PM_DONE
        bits 16
t16:    out 0xF0, eax                                 ; AX from the TSS, upper half kept
        mov ax, [dword TSS3]                          ; 32-bit address in 16-bit code
        movzx eax, ax
        out 0xF0, eax                                 ; back link
        movzx eax, byte [GDT_BASE + 0x50 + 5]
        out 0xF0, eax                                 ; busy 16-bit TSS (0x83)
        iret
        bits 32
`);
    expect(hex(run.values)).toEqual(hex([0xabcd1234, 0x30, 0x83, 0xabcd0000, 0x81]));
  });
});

describe('task return errors', () => {
  it('IRET with NT to a back link that is not a busy TSS is #TS(link)', () => {
    const run = runPm(`
test_main:
${TASK2}
        mov word [TSS_BASE], 0x50                     ; back link -> an available TSS
        RESUME_AT c1
        pushfd
        or dword [esp], 0x4000                        ; NT
        popfd
        iretd
c1:     RESUME_AT 0
        mov word [TSS_BASE], 0x10                     ; back link -> a data segment
        pushfd
        or dword [esp], 0x4000
        popfd
        iretd
task2:  PM_DONE                                       ; never reached
`);
    const codes = run.values.filter((_, k) => k % 4 < 2);
    expect(hex(codes)).toEqual(hex([10, 0x50, 10, 0x10]));
  });
});
