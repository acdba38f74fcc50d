/**
 * Debug registers across hardware task switches (SDM Vol. 3B 17.2.4 and
 * 17.3.1.5): the switch clears DR7's local enables (L0-L3, LE) and keeps the
 * global ones; a new 32-bit TSS with its T bit set gives a #DB with DR6.BT
 * before the new task's first instruction, after the error code of an
 * exception delivered through a task gate. Bochs 2.7 reports the same values
 * (POPEK_DUMP_ROMS=<dir> npx vitest run test/cpu/taskSwitchDebug.test.ts;
 * node --import tsx test/cpu/tools/crossCheck.ts <dir> bochs32).
 */
import { describe, expect, it } from 'vitest';
import { hex, runPm } from './pmodeRun.ts';

// A second task's TSS at 0x10000 (GDT entry 0x50), starting at `task2` on its own stack.
const TASK2 = `
TSS2 equ 0x10000
        SET_DESC 0x50, TSS2, 0x67, 0x89, 0
        mov dword [TSS2 + 0x1C], 0                   ; CR3
        mov dword [TSS2 + 0x20], task2               ; EIP
        mov dword [TSS2 + 0x24], 0x0002              ; EFLAGS
        mov dword [TSS2 + 0x38], 0x9000              ; ESP
        mov dword [TSS2 + 0x48], SEL_DATA0           ; ES
        mov dword [TSS2 + 0x4C], SEL_CODE0           ; CS
        mov dword [TSS2 + 0x50], SEL_DATA0           ; SS
        mov dword [TSS2 + 0x54], SEL_DATA0           ; DS
        mov dword [TSS2 + 0x58], 0                   ; FS
        mov dword [TSS2 + 0x5C], 0                   ; GS
        mov dword [TSS2 + 0x60], 0                   ; LDT
`;

describe('debug registers and task switches', () => {
  it('a switch clears DR7 L0-L3 and LE, keeps G0-G3', () => {
    const run = runPm(`
test_main:
${TASK2}
        mov eax, 0x00100000
        mov dr0, eax
        mov dr1, eax
        mov eax, (1 << 0) | (1 << 3) | (1 << 8) | (1 << 9)  ; L0, G1, LE, GE (execute breakpoints far away)
        mov dr7, eax
        jmp 0x50:0
task2:  mov eax, dr7
        and eax, 0x3FF
        out 0xF0, eax
        xor eax, eax
        mov dr7, eax
        PM_DONE
`);
    expect(run.stop).toBe('halt');
    expect(hex(run.values)).toEqual(hex([(1 << 3) | (1 << 9)])); // before the fix: 0x309 (nothing cleared)
  });

  it('the T bit of the new TSS raises #DB with DR6.BT before its first instruction, after a task gate\'s error code', () => {
    const run = runPm(`
test_main:
${TASK2}
        IDT_GATE 1, SEL_CODE0, db_handler, 0x8E
        REPORT task2
        mov word [TSS2 + 0x64], 1                     ; T
        jmp 0x50:0
task2:  out 0xF0, eax                                 ; (EAX = 0x77 from the #DB handler: it ran first)
        ; again through an IDT task gate for #GP, whose error code comes before the #DB
        mov dword [IDT_BASE + 13 * 8], 0x00300000    ; task gate -> the boot TSS (0x30), now free
        mov dword [IDT_BASE + 13 * 8 + 4], 0x00008500
        mov word [TSS_BASE + 0x64], 1
        mov dword [TSS_BASE + 0x20], task1            ; the boot task resumes at task1
        mov dword [TSS_BASE + 0x38], 0x7F00           ; on its own stack
        mov dword [TSS_BASE + 0x24], 0x0002
        mov ax, SEL_TSS
        mov ds, ax                                    ; #GP(0x30) -> task switch, error code pushed, then #DB
task1:  pop eax
        out 0xF0, eax                                 ; the #GP error code, on top of the stack after the #DB returned
        mov eax, esp
        out 0xF0, eax
        PM_DONE
db_handler:
        mov eax, [esp]
        out 0xF0, eax
        mov eax, dr6
        and eax, 0xE00F
        out 0xF0, eax
        xor eax, eax
        mov dr6, eax
        mov eax, 0x77
        iretd
`);
    expect(run.stop).toBe('halt');
    const [task2] = run.values;
    const task1 = run.values[4];
    // #DB at task2 with BT; task2 runs; #DB at task1 with BT; the error code 0x30 under it; ESP back at 0x7F00.
    expect(hex(run.values)).toEqual(hex([task2, task2, 0x8000, 0x77, task1, 0x8000, 0x30, 0x7f00]));
  });
});
