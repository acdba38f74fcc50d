/**
 * The MOV SS / POP SS shadow against STI's (SDM Vol. 3A 6.8.3): after an
 * instruction that loads SS, interrupts, NMIs, debug exceptions and
 * single-step traps wait until the boundary after the next instruction; the
 * debug traps held there are then delivered as one #DB with the next
 * instruction's own. STI holds only maskable interrupts: single step traps
 * right after it.
 *
 * The expected traces follow kvm-unit-tests x86/debug.c, which runs on real
 * Intel processors ("Single-step #DB w/ MOVSS blocking", "... w/ STI
 * blocking", "Single-Step + ICEBP #DB w/ MOVSS blocking", "MOV SS +
 * watchpoint + INT3"), and Bochs 2.7 agrees on the single-step and data
 * breakpoint ROMs (POPEK_DUMP_ROMS=<dir> npx vitest run
 * test/cpu/interruptShadow.test.ts; node --import tsx
 * test/cpu/tools/crossCheck.ts <dir> bochs32).
 */
import { describe, expect, it } from 'vitest';
import { MemoryBus } from '../../core/memory/bus.ts';
import { PhysicalMemory } from '../../core/memory/physicalMemory.ts';
import { GuestClock } from '../../core/cpu/clock.ts';
import { Cpu, STOP_HALT, type CpuState } from '../../core/cpu/cpu.ts';
import { mapRomImage } from '../../core/machine/firmware/romImage.ts';
import { assemble } from './harness.ts';
import { hex, runPm } from './pmodeRun.ts';

const BS = 0x4000;

/** #DB handler: reports the saved EIP and DR6's B0-B3 and BS, then clears DR6. */
const DB_HANDLER = `
db_handler:
        push eax
        mov eax, [ss:esp + 4]
        out 0xF0, eax
        mov eax, dr6
        and eax, 0x400F
        out 0xF0, eax
        xor eax, eax
        mov dr6, eax
        pop eax
        iretd
`;

describe('single step and the SS-load shadow', () => {
  it('MOV SS and POP SS hold the single-step trap until after the next instruction; STI does not', () => {
    const run = runPm(`
test_main:
        IDT_GATE 1, SEL_CODE0, db_handler, 0x8E
        REPORT a2
        REPORT a4
        REPORT a5
        REPORT a7
        REPORT a8
        REPORT a9
        REPORT a10
        REPORT a11
        mov ax, SEL_DATA0
        pushfd
        or dword [esp], 0x100
        popfd                                         ; TF: the first trap comes after the next instruction
a1:     nop
a2:     mov ss, ax                                    ; no trap after this one
a3:     nop                                           ; one trap after this one
a4:     push dword SEL_DATA0
a5:     pop ss                                        ; no trap after this one
a6:     nop
a7:     sti                                           ; STI's shadow does not hold single step
a8:     pushfd
a9:     and dword [esp], ~0x100
a10:    popfd                                         ; TF was set as it started: it traps too
a11:    PM_DONE
${DB_HANDLER}
`);
    expect(run.stop).toBe('halt');
    const labels = run.values.slice(0, 8);
    const [a2, a4, a5, a7, a8, a9, a10, a11] = labels;
    // Before the fix there were traps after MOV SS (EIP a3) and after POP SS (EIP a6).
    expect(hex(run.values.slice(8))).toEqual(hex([a2, BS, a4, BS, a5, BS, a7, BS, a8, BS, a9, BS, a10, BS, a11, BS]));
  });

  it('ICEBP in the shadow: its own #DB takes the held single step with it (kvm-unit-tests, Intel)', () => {
    const run = runPm(`
test_main:
        IDT_GATE 1, SEL_CODE0, db_handler, 0x8E
        REPORT c1
        REPORT c2
        REPORT c3
        REPORT c4
        REPORT c5
        mov ax, SEL_DATA0
        pushfd
        or dword [esp], 0x100
        popfd
        mov ss, ax
        int1
c1:     int1
c2:     and eax, 0xFFFF
c3:     push dword 2
c4:     popfd
c5:     PM_DONE
${DB_HANDLER}
`);
    expect(run.stop).toBe('halt');
    const [c1, c2, c3, c4, c5] = run.values.slice(0, 5);
    // Two ICEBP #DBs without BS (before the fix each ICEBP with TF also gave a single-step #DB,
    // and MOV SS one of its own), then single steps.
    expect(hex(run.values.slice(5))).toEqual(hex([c1, 0, c2, 0, c3, BS, c4, BS, c5, BS]));
  });
});

describe('data breakpoints and the SS-load shadow', () => {
  it('a breakpoint hit by MOV SS / POP SS is reported after the next instruction, with that instruction\'s own hits', () => {
    const run = runPm(`
test_main:
        IDT_GATE 1, SEL_CODE0, db_handler, 0x8E
        REPORT b3
        REPORT b6
        ; 1) MOV SS reads the watched dword (DR0, R/W any); the next instruction writes DR1's
        mov dword [PM_SCRATCH], SEL_DATA0
        mov eax, PM_SCRATCH
        mov dr0, eax
        mov eax, PM_SCRATCH + 8
        mov dr1, eax
        mov eax, 1 | (3 << 16) | (3 << 18) | (1 << 2) | (1 << 20) | (3 << 22)
        mov dr7, eax
        xor ebx, ebx
b1:     mov ss, [PM_SCRATCH]
b2:     mov [PM_SCRATCH + 8], ebx
b3:     mov ebx, 1
        ; 2) POP SS at CPL 3 reads the watched stack slot (the #DB frame goes to the ring-0 stack, unwatched)
        mov dword [PM_STACK3 - 4], SEL_DATA3
        mov eax, PM_STACK3 - 4
        mov dr0, eax
        mov eax, 1 | (3 << 16) | (3 << 18)
        mov dr7, eax
        RESUME_AT done
        push dword SEL_DATA3
        push dword PM_STACK3 - 4
        push dword 0x0002
        push dword SEL_CODE3
        push dword ring3
        iretd
ring3:  pop ss
b5:     mov ebx, 2
b6:     hlt                                           ; #GP(0) at CPL 3 ends the ring-3 part
done:   xor eax, eax
        mov dr7, eax
        PM_DONE
${DB_HANDLER}
`);
    expect(run.stop).toBe('halt');
    const [b3, b6] = run.values.slice(0, 2);
    // One #DB after b2 with B0 (held from MOV SS) and B1 (b2's own); one after b5 with B0.
    // Before the fix: #DBs at b2 (B0), b3 (B1) and b5 (B0).
    expect(hex(run.values.slice(2))).toEqual(hex([b3, 3, b6, 1, 13, 0, b6, 0x23]));
  });

  it('MOV SS + breakpoint + INT3: the held #DB comes at the #BP handler\'s first instruction (kvm-unit-tests, Intel)', () => {
    const run = runPm(`
test_main:
        IDT_GATE 1, SEL_CODE0, db_handler, 0x8E
        IDT_GATE 3, SEL_CODE0, bp_handler, 0x8E
        REPORT bp_handler
        REPORT after
        mov dword [PM_SCRATCH], SEL_DATA0
        mov eax, PM_SCRATCH
        mov dr0, eax
        mov eax, 1 | (3 << 16) | (3 << 18)
        mov dr7, eax
        mov ss, [PM_SCRATCH]
        int3
after:  xor eax, eax
        mov dr7, eax
        PM_DONE
bp_handler:
        mov eax, [esp]
        out 0xF0, eax
        iretd
${DB_HANDLER}
`);
    expect(run.stop).toBe('halt');
    const [bpHandler, after] = run.values.slice(0, 2);
    expect(hex(run.values.slice(2))).toEqual(hex([bpHandler, 1, after]));
  });
});

/** An MMIO page whose reads raise NMI or INTR in the middle of the instruction that reads it. */
const EVENTS = 0xfe00_0000;
function eventDevice(vector: number) {
  let intr = false;
  return (bus: MemoryBus, cpu: Cpu): void => {
    bus.addMmio(EVENTS, 0x1000, {
      read: (offset) => {
        if (offset === 0) cpu.nmiPending = true;
        else intr = true;
        return 0x10; // SEL_DATA0, for MOV SS
      },
      write: () => {},
    }, 'event source');
    cpu.interruptController = {
      hasInterrupt: () => intr,
      acknowledge: () => { intr = false; return vector; },
    };
  };
}

describe('interrupts and the shadows', () => {
  it('an NMI or INTR raised during MOV SS waits for the next instruction; after STI an INTR does too', () => {
    const run = runPm(`
test_main:
        IDT_GATE 2, SEL_CODE0, event_handler, 0x8E
        IDT_GATE 0x40, SEL_CODE0, event_handler, 0x8E
        REPORT e2
        REPORT e4
        REPORT e6
        xor ebx, ebx
        mov ss, [${EVENTS}]                           ; raises NMI
        mov ebx, 1
e2:     mov ebx, 2
        sti
        mov ss, [${EVENTS} + 4]                       ; raises INTR (IF = 1)
        mov ebx, 3
e4:     mov ebx, 4
        cli
        mov eax, [${EVENTS} + 4]                      ; raises INTR (IF = 0: held)
        sti
        mov ebx, 5                                    ; runs in STI's shadow
e6:     mov ebx, 6
        PM_DONE
event_handler:
        mov eax, [esp]
        out 0xF0, eax
        mov eax, ebx
        out 0xF0, eax
        iretd
`, { setup: eventDevice(0x40) });
    expect(run.stop).toBe('halt');
    const [e2, e4, e6] = run.values.slice(0, 3);
    expect(hex(run.values.slice(3))).toEqual(hex([e2, 1, e4, 3, e6, 5]));
  });
});

/** A bare machine around a pmode.inc ROM, driven step by step (for the snapshot test). */
function pmMachine(rom: Uint8Array) {
  const memory = new PhysicalMemory(4 << 20, rom.length);
  const bus = new MemoryBus(memory);
  mapRomImage(memory, bus, rom);
  const cpu = new Cpu(bus, new GuestClock('deterministic'));
  const values: number[] = [];
  bus.addPorts(0xf0, 4, { portRead: () => 0, portWrite: (_p, _s, v) => { values.push(v >>> 0); } }, 'results', [4]);
  return { memory, cpu, values };
}

describe('snapshots inside the SS-load shadow', () => {
  it('a state saved between MOV SS and the next instruction keeps the shadow and the held single step', () => {
    const rom = assemble(`%include "rom.inc"
%include "pmode.inc"
        bits 32
test_main:
        IDT_GATE 1, SEL_CODE0, db_handler, 0x8E
        mov ax, SEL_DATA0
        pushfd
        or dword [esp], 0x100
        popfd
        nop
        mov ss, ax
        nop
        pushfd
        and dword [esp], ~0x100
        popfd
        PM_DONE
${DB_HANDLER}
        bits 16
        ROM_END
`);
    const straight = pmMachine(rom);
    while (straight.cpu.run(1_000_000) !== STOP_HALT);
    const a = pmMachine(rom);
    let steps = 0;
    // (pmode.inc's own MOV SS runs without TF: wait for the one with a held trap.)
    while (a.cpu.heldDebug === 0) {
      a.cpu.run(1);
      if (++steps > 100_000) throw new Error('MOV SS never ran');
    }
    const state = JSON.parse(JSON.stringify(a.cpu.saveState())) as CpuState;
    expect(state.ssShadow).toBe(true);
    expect(hex([state.heldDebug ?? -1])).toEqual(hex([BS]));
    const b = pmMachine(rom);
    b.memory.u8.set(a.memory.u8);
    b.cpu.loadState(state);
    b.values.push(...a.values);
    while (b.cpu.run(1_000_000) !== STOP_HALT);
    // The same #DB trace as without the snapshot (no trap after MOV SS, one after the NOP).
    expect(hex(b.values)).toEqual(hex(straight.values));
    expect(straight.values).toHaveLength(10);
  });
});

