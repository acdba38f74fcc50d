/**
 * Stack size (the B bit of SS) against operand size: which one decides each
 * update of SP/ESP (SDM Vol. 2 POP, ENTER pseudo-code). Every expected value
 * here is also what Bochs 2.7 reports for the same ROM
 * (POPEK_DUMP_ROMS=<dir> npx vitest run test/cpu/stackSize.test.ts, then
 * node --import tsx test/cpu/tools/crossCheck.ts <dir> bochs32).
 *
 * Descriptors used: 0x48 a 16-bit stack segment (B = 0, limit 0xFFFF), 0x50 a
 * 32-bit one (B = 1, limit 1 MiB), both with base 0, so DS (flat) sees the
 * same bytes at the same offsets.
 */
import { describe, expect, it } from 'vitest';
import { hex, runPm } from './pmodeRun.ts';

const STACKS = `
        SET_DESC 0x48, 0, 0xFFFF, 0x92, 0x0           ; 16-bit stack segment (B = 0)
        SET_DESC 0x50, 0, 0xFFFFF, 0x92, 0x4          ; 32-bit stack segment (B = 1)
`;

/** Reports ESP and SS after `code`, then goes back to the flat stack. */
const reportStack = `
        mov ebx, esp
        mov cx, ss
        mov ax, SEL_DATA0
        mov ss, ax
        mov esp, PM_STACK0
        mov eax, ebx
        out 0xF0, eax
        movzx eax, cx
        out 0xF0, eax
`;

describe('POP SS: the old stack size moves the stack pointer', () => {
  it('POP SS / POP DS pop with the B bit of SS as it was before the load', () => {
    const run = runPm(`
test_main:
${STACKS}
        ; A: 32-bit POP SS on a 16-bit stack that loads a 32-bit stack: only SP moves, by 4 (wraps to 0)
        mov dword [0xFFFC], 0x50
        mov ax, 0x48
        mov ss, ax
        mov esp, 0x1234FFFC
        pop ss
${reportStack}
        ; B: 32-bit POP SS on a 32-bit stack that loads a 16-bit stack: all of ESP moves
        mov dword [0xFFFC], 0x48
        mov ax, 0x50
        mov ss, ax
        mov esp, 0x0000FFFC
        pop ss
${reportStack}
        ; C: 16-bit POP SS on a 16-bit stack that loads a 32-bit stack: only SP moves, by 2
        mov word [0xFFFE], 0x50
        mov ax, 0x48
        mov ss, ax
        mov esp, 0x1234FFFE
        o16 pop ss
${reportStack}
        ; D: 32-bit POP DS on a 16-bit stack (SS does not change): only SP moves
        mov dword [0xFFFC], SEL_DATA0
        mov ax, 0x48
        mov ss, ax
        mov esp, 0x1234FFFC
        pop ds
${reportStack}
        PM_DONE
`);
    expect(run.stop).toBe('halt');
    expect(hex(run.values)).toEqual(hex([
      0x12340000, 0x50, // A (before the fix: 0x12350000, the new B bit moved all of ESP)
      0x00010000, 0x48, // B (before the fix: 0x00000000, only SP moved)
      0x12340000, 0x50, // C
      0x12340000, 0x48, // D
    ]));
  });
});

describe('ENTER with a 16-bit stack', () => {
  it('a 32-bit ENTER takes all of ESP as the frame pointer, only SP moves (SDM FrameTemp := ESP; Bochs ENTER32_IwIb)', () => {
    const run = runPm(`
test_main:
${STACKS}
        ; E: ENTER 8, 0
        mov ax, 0x48
        mov ss, ax
        mov esp, 0x12348000
        mov ebp, 0x56789000
        enter 8, 0
        mov edx, ebp
        mov esi, [0x7FFC]                             ; read before reporting (Bochs' report routine uses the stack)
${reportStack}
        mov eax, edx
        out 0xF0, eax                                 ; EBP
        mov eax, esi
        out 0xF0, eax                                 ; the old EBP, pushed
        ; F: ENTER 4, 2 copies one frame pointer through SS:BP and pushes the new one (all 32 bits)
        mov dword [0x6FFC], 0x11112222
        mov ax, 0x48
        mov ss, ax
        mov esp, 0x12348000
        mov ebp, 0x9ABC7000
        enter 4, 2
        mov edx, ebp
        mov esi, [0x7FFC]
        mov edi, [0x7FF8]
        mov ebp, [0x7FF4]
${reportStack}
        mov eax, edx
        out 0xF0, eax
        mov eax, esi
        out 0xF0, eax
        mov eax, edi
        out 0xF0, eax
        mov eax, ebp
        out 0xF0, eax
        PM_DONE
`);
    expect(run.stop).toBe('halt');
    expect(hex(run.values)).toEqual(hex([
      0x12347ff4, 0x48, 0x12347ffc, 0x56789000, // E (before the fix EBP was 0x00007ffc)
      0x12347ff0, 0x48, 0x12347ffc, 0x9abc7000, 0x11112222, 0x12347ffc, // F (before: 0x7ffc in EBP and in the frame)
    ]));
  });

  it('ENTER checks the final stack pointer for a write of the operand size (#SS(0), nothing changes)', () => {
    const run = runPm(`
test_main:
${STACKS}
        RESUME_AT after
        mov ax, 0x48
        mov ss, ax
        mov esp, 0x30
        mov ebp, 0xAAAA
        REPORT enter_insn
enter_insn:
        enter 0x2E, 0                                 ; EBP pushed at 0x2C; the new SP 0xFFFE: a dword there passes the limit
        PM_DONE
after:  mov eax, ebp
        out 0xF0, eax
        PM_DONE
`);
    expect(run.stop).toBe('halt');
    const v = run.values;
    // #SS(0) at ENTER (Bochs: tickle_write_virtual_32 of 4 bytes at the final SP), EBP unchanged.
    expect(hex(v.slice(1))).toEqual(hex([12, 0, v[0], 0x08, 0xaaaa]));
  });
});
