/**
 * Debug-register breakpoints (SDM Vol. 3 §17.2-17.3): instruction breakpoints
 * fault before the instruction and are suppressed by EFLAGS.RF; data write
 * breakpoints and I/O breakpoints (CR4.DE) trap after it; DR6 says which.
 */
import { describe, expect, it } from 'vitest';
import { runPm } from './pmodeRun.ts';

const hex = (v: number[]) => v.map((x) => (x >>> 0).toString(16));

describe('hardware breakpoints', () => {
  it('reports instruction, data-write and I/O breakpoints with DR6 and the right EIP', () => {
    const run = runPm(`
test_main:
        IDT_GATE 1, SEL_CODE0, db_handler, 0x8E
        ; 1) instruction breakpoint (DR0, R/W 00, LEN 00): a fault before INC executes
        mov eax, CODE_BASE + target1
        mov dr0, eax
        mov eax, 1 << 0                               ; L0
        mov dr7, eax
        xor ecx, ecx
target1:
        inc ecx                                       ; runs exactly once: the handler resumes with RF
        out 0xF0, eax                                 ; (eax still the DR7 value: a marker)
        mov eax, ecx
        out 0xF0, eax
        ; 2) data write breakpoint on a dword (DR1, R/W 01, LEN 11): a trap after the write
        mov eax, PM_SCRATCH + 8
        mov dr1, eax
        mov eax, (1 << 2) | (1 << 20) | (3 << 22)     ; L1, RW1 = write, LEN1 = 4 bytes
        mov dr7, eax
        mov ebx, [PM_SCRATCH + 8]                     ; a read: no trap
        mov byte [PM_SCRATCH + 10], 0x55              ; a write inside the dword: trap
after_write:
        ; 3) I/O breakpoint (DR2, R/W 10) needs CR4.DE
        mov eax, cr4
        or eax, 1 << 3
        mov cr4, eax
        mov eax, 0x80
        mov dr2, eax
        mov eax, (1 << 4) | (2 << 24)                 ; L2, RW2 = I/O, LEN2 = 1 byte
        mov dr7, eax
        mov al, 0x42
        out 0x81, al                                  ; another port: no trap
        out 0x80, al
after_out:
        xor eax, eax
        mov dr7, eax
        mov eax, target1                              ; the three instruction boundaries, for the checks
        out 0xF0, eax
        mov eax, after_write
        out 0xF0, eax
        mov eax, after_out
        out 0xF0, eax
        PM_DONE

db_handler:
        mov eax, dr6
        out 0xF0, eax
        mov eax, [esp]                                ; saved EIP
        out 0xF0, eax
        xor eax, eax
        mov dr6, eax
        or dword [esp + 8], 1 << 16                   ; resume with RF (matters for the fault)
        mov eax, 1 << 0
        iretd
`);
    expect(run.stop).toBe('halt');
    const v = run.values;
    expect(v).toHaveLength(11);
    const [target1, afterWrite, afterOut] = v.slice(8);
    // Instruction breakpoint: DR6.B0, saved EIP at target1 (a fault); then INC ran exactly once.
    expect(hex(v.slice(0, 4))).toEqual(hex([0xffff0ff1, target1, 1, 1]));
    // Data write: DR6.B1, saved EIP after the writing instruction (the read before it did not trap).
    expect(hex(v.slice(4, 6))).toEqual(hex([0xffff0ff2, afterWrite]));
    // I/O: DR6.B2, saved EIP after OUT 0x80 (OUT 0x81 did not trap).
    expect(hex(v.slice(6, 8))).toEqual(hex([0xffff0ff4, afterOut]));
  });
});
