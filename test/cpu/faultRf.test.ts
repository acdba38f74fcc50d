/**
 * EFLAGS.RF in the image an event handler gets (SDM Vol. 3B 17.3.1.1):
 * - RF = 1 for every fault-class exception except a #DB for an instruction
 *   breakpoint, so the handler's IRET restarts the instruction without
 *   hitting a breakpoint on it again;
 * - RF = 1 for an interrupt, or a trap, after an iteration of a REP string
 *   instruction other than the last;
 * - otherwise the value RF has then: 0 for INT n / INT3 and for traps after
 *   an instruction, since the processor clears RF as each instruction starts
 *   (after the instruction-breakpoint check), and keeps it only across the
 *   IRET or task switch that loaded it.
 * Bochs 2.7 gives the same images for the ROMs without the interrupt source
 * (POPEK_DUMP_ROMS=<dir> npx vitest run test/cpu/faultRf.test.ts; node
 * --import tsx test/cpu/tools/crossCheck.ts <dir> bochs32) except after a
 * REP iteration, where 2.7 pushes RF = 0; Bochs since its commit a5c6bcfd1
 * ("correct EFLAGS.RF management", 2023) sets RF there as the SDM says, and
 * the SDM decides.
 */
import { describe, expect, it } from 'vitest';
import type { MemoryBus } from '../../core/memory/bus.ts';
import type { Cpu } from '../../core/cpu/cpu.ts';
import { REP_BUDGET } from '../../core/cpu/ops/string.ts';
import { hex, runPm } from './pmodeRun.ts';

const RF = 0x10000;
const NEXT = 'PM_SCRATCH + 16'; // where a fault handler resumes

/**
 * A handler that reports `tag`, the saved EIP and the RF bit of the saved
 * EFLAGS; with `resume`, it continues at [NEXT] (fault handlers).
 */
function handler(name: string, tag: number, errorCode: boolean, resume: boolean): string {
  const e = errorCode ? 4 : 0;
  return `
${name}:
        push eax
        mov eax, ${tag}
        out 0xF0, eax
        mov eax, [ss:esp + 4 + ${e}]
        out 0xF0, eax
        mov eax, [ss:esp + 12 + ${e}]
        and eax, ${RF}
        out 0xF0, eax
${resume ? `        mov eax, [${NEXT}]
        mov [ss:esp + 4 + ${e}], eax` : ''}
        pop eax
${errorCode ? '        add esp, 4' : ''}
        iretd
`;
}

describe('RF in the EFLAGS image of faults, traps and software interrupts', () => {
  it('faults push RF = 1; INT3, INT n and an external-free trap push the RF of the moment', () => {
    const run = runPm(`
test_main:
        IDT_GATE 0, SEL_CODE0, h_de, 0x8E
        IDT_GATE 3, SEL_CODE0, h_bp, 0x8E
        IDT_GATE 6, SEL_CODE0, h_ud, 0x8E
        IDT_GATE 13, SEL_CODE0, h_gp, 0x8E
        IDT_GATE 0x30, SEL_CODE0, h_int, 0x8E
        REPORT f0
        REPORT f1
        REPORT f2
        REPORT f3
        REPORT f4
        mov dword [${NEXT}], n1
        xor ecx, ecx
f0:     div ecx                                       ; #DE
n1:     mov dword [${NEXT}], n2
f1:     ud2                                           ; #UD
n2:     mov dword [${NEXT}], f3
        mov ax, SEL_TSS
f2:     mov ds, ax                                    ; #GP(0x30): a system segment
f3:     int3
f4:     int 0x30
        PM_DONE
${handler('h_de', 0, false, true)}
${handler('h_ud', 6, false, true)}
${handler('h_gp', 13, true, true)}
${handler('h_bp', 3, false, false)}
${handler('h_int', 0x30, false, false)}
`);
    expect(run.stop).toBe('halt');
    const [f0, f1, f2, f3, f4] = run.values.slice(0, 5);
    expect(hex(run.values.slice(5))).toEqual(hex([
      0, f0, RF, // before the fix: RF = 0 in every image
      6, f1, RF,
      13, f2, RF,
      3, f4, 0,
      0x30, f4 + 2, 0,
    ]));
    expect(f3).toBe(f2 + 2);
  });

  it('RF loaded by IRET lasts one instruction: an INT n after it pushes RF = 0', () => {
    const run = runPm(`
test_main:
        IDT_GATE 0x30, SEL_CODE0, h_int, 0x8E
        REPORT after
        push dword ${RF | 2}
        push dword SEL_CODE0
        push dword resume
        iretd                                         ; RF = 1 for the next instruction only
resume: nop
        int 0x30
after:  PM_DONE
${handler('h_int', 0x30, false, false)}
`);
    expect(run.stop).toBe('halt');
    // Before the fix RF stayed set without breakpoints or single step armed.
    expect(hex(run.values.slice(1))).toEqual(hex([0x30, run.values[0], 0]));
  });
});

describe('RF and the general-detect #DB', () => {
  it('a MOV DR with DR7.GD set faults with #DB, DR6.BD and RF = 1 in the image (a fault, not an instruction breakpoint)', () => {
    const run = runPm(`
test_main:
        IDT_GATE 1, SEL_CODE0, h_db, 0x8E
        REPORT gd
        mov eax, 1 << 13
        mov dr7, eax                                  ; GD
gd:     mov eax, dr0                                  ; #DB (fault); the handler returns to it with GD clear
        mov eax, dr7
        and eax, 1 << 13
        out 0xF0, eax
        PM_DONE
h_db:   push eax
        mov eax, [esp + 4]
        out 0xF0, eax
        mov eax, [esp + 12]
        and eax, ${RF}
        out 0xF0, eax
        mov eax, dr6
        and eax, 0xE00F
        out 0xF0, eax
        pop eax
        iretd
`);
    expect(run.stop).toBe('halt');
    // Before the fix RF was 0 (SDM 17.3.1.1; Bochs 2.7 also pushes 0 for every #DB, the SDM decides).
    expect(hex(run.values)).toEqual(hex([run.values[0], run.values[0], RF, 0x2000, 0]));
  });
});

describe('RF and REP string instructions', () => {
  it('single step through REP MOVSB: RF = 1 after each iteration but the last', () => {
    const run = runPm(`
test_main:
        IDT_GATE 1, SEL_CODE0, h_db, 0x8E
        REPORT r1
        REPORT r2
        mov esi, PM_SCRATCH
        mov edi, PM_SCRATCH + 8
        mov ecx, 3
        cld
        pushfd
        or dword [esp], 0x100
        popfd
        nop
r1:     rep movsb
r2:     and dword [esp - 4], 0                        ; (a store that touches nothing we read)
        pushfd
        and dword [esp], ~0x100
        popfd
        PM_DONE
${handler('h_db', 1, false, false)}
`);
    expect(run.stop).toBe('halt');
    const [r1, r2] = run.values.slice(0, 2);
    const steps = run.values.slice(2);
    expect(hex(steps.slice(0, 12))).toEqual(hex([
      1, r1, 0, // after the NOP
      1, r1, RF, // after iteration 1 (before the fix RF = 0)
      1, r1, RF, // after iteration 2
      1, r2, 0, // after the last
    ]));
  });

  it('an instruction breakpoint on a REP instruction fires once, not again at each iteration', () => {
    const run = runPm(`
test_main:
        IDT_GATE 1, SEL_CODE0, h_db, 0x8E
        REPORT r1
        mov esi, PM_SCRATCH
        mov edi, PM_SCRATCH + 8
        mov ecx, 4
        cld
        mov eax, CODE_BASE + r1
        mov dr0, eax
        mov eax, 1
        mov dr7, eax
r1:     rep movsb
        xor eax, eax
        mov dr7, eax
        mov eax, ecx
        out 0xF0, eax
        PM_DONE
h_db:   push eax
        mov eax, [esp + 4]
        out 0xF0, eax
        mov eax, [esp + 12]
        and eax, ${RF}
        out 0xF0, eax
        or dword [esp + 12], ${RF}                    ; a debugger resumes with RF
        pop eax
        iretd
`);
    expect(run.stop).toBe('halt');
    const r1 = run.values[0];
    // One #DB (RF = 0 in its image: an instruction breakpoint), then all four iterations; ECX = 0.
    // Before the fix the breakpoint fired again before iterations 2, 3 and 4.
    expect(hex(run.values.slice(1))).toEqual(hex([r1, 0, 0]));
  });

  it('an interrupt taken between REP iterations pushes RF = 1 and the REP instruction\'s EIP', () => {
    const count = REP_BUDGET + 100;
    let intr = false;
    const setup = (bus: MemoryBus, cpu: Cpu): void => {
      // Reading this MMIO page raises INTR: the REP LODSB below is interrupted on its first pass.
      bus.addMmio(0xfe00_0000, 0x2000, { read: () => { intr = true; return 0; }, write: () => {} }, 'interrupt source');
      cpu.interruptController = { hasInterrupt: () => intr, acknowledge: () => { intr = false; return 0x40; } };
    };
    const run = runPm(`
test_main:
        IDT_GATE 0x40, SEL_CODE0, h_irq, 0x8E
        REPORT r1
        REPORT r2
        mov esi, 0xFE000000
        mov ecx, ${count}
        cld
        sti
r1:     rep lodsb
r2:     cli
        PM_DONE
${handler('h_irq', 0x40, false, false)}
`, { setup });
    expect(run.stop).toBe('halt');
    const [r1, r2] = run.values.slice(0, 2);
    // The REP stops between iterations after a bounded amount of work (REP_BUDGET elements): the
    // INTR raised by its first read is taken there, with RF = 1 and the REP's EIP. It then runs its
    // last 100 iterations, the last read raises INTR again, and that one comes after the instruction
    // (RF = 0, the next EIP). Before the fix the first image had RF = 0.
    expect(hex(run.values.slice(2))).toEqual(hex([0x40, r1, RF, 0x40, r2, 0]));
  });
});
