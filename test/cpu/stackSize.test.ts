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

describe('interrupts and IRET with stacks of the other size (audit: already right)', () => {
  it('a 32-bit gate on a 16-bit stack pushes dwords and moves only SP; a 16-bit gate on a 32-bit stack pushes words', () => {
    const run = runPm(`
test_main:
${STACKS}
        IDT_GATE 0x30, SEL_CODE0, h32, 0x8E           ; 32-bit interrupt gate
        SET_DESC 0x58, CODE_BASE, 0xFFFF, 0x9A, 0     ; 16-bit code DPL 0 for the 16-bit gate's handler
        SET_GATE IDT_BASE, 0x31, 0x58, h16, 0x86, 0   ; 16-bit interrupt gate
        ; 32-bit gate, 16-bit stack: SP moves, the upper half of ESP stays. (A frame that wraps
        ; below SP 0 is left out: Bochs 2.7 rejects it with #SS where SP arithmetic wraps.)
        mov ax, 0x48
        mov ss, ax
        mov esp, 0x12340108
        int 0x30
        mov ebx, esp                                  ; after IRETD: SP back at 0x0108
        mov ax, SEL_DATA0
        mov ss, ax
        mov esp, PM_STACK0
        mov eax, [PM_SCRATCH]
        out 0xF0, eax                                 ; ESP in the handler
        mov eax, ebx
        out 0xF0, eax
        ; 16-bit gate, 32-bit stack: three words
        mov ax, 0x50
        mov ss, ax
        mov esp, 0x00018000
        int 0x31
        mov ebx, esp
        mov ax, SEL_DATA0
        mov ss, ax
        mov esp, PM_STACK0
        mov eax, [PM_SCRATCH]
        out 0xF0, eax
        mov eax, ebx
        out 0xF0, eax
        PM_DONE
h32:    mov [PM_SCRATCH], esp
        iretd
        bits 16
h16:    o32 mov [PM_SCRATCH], esp
        iret
        bits 32
`);
    expect(run.stop).toBe('halt');
    expect(hex(run.values)).toEqual(hex([0x123400fc, 0x12340108, 0x00017ffa, 0x00018000]));
  });

  it('IRET to ring 3 with a 16-bit stack loads only SP: ESP keeps the upper half of the ring-0 ESP (the quirk Linux\'s espfix hides)', () => {
    const run = runPm(`
test_main:
        SET_DESC 0x48, 0, 0xFFFF, 0xF2, 0x0           ; ring-3 16-bit stack segment (DPL 3, B = 0)
        RESUME_AT done
        mov esp, 0x00128000
        push dword 0x4B
        push dword 0xABCD5000
        push dword 0x0002
        push dword SEL_CODE3
        push dword ring3
        iretd
ring3:  mov eax, esp
        out 0xF0, eax
        hlt                                           ; #GP(0) at CPL 3: back to ring 0
done:   PM_DONE
`);
    expect(run.stop).toBe('halt');
    // (On Bochs the report ends with the ESP value: its HLT stand-in writes the shutdown port first.)
    expect(hex(run.values.slice(0, 2))).toEqual(hex([0x00125000, 13]));
  });
});

