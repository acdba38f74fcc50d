/**
 * CPU state is plain data: saving it mid-run (with memory and the clock) and
 * restoring it into a fresh processor continues the very same run.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MemoryBus } from '../../core/memory/bus.ts';
import { PhysicalMemory } from '../../core/memory/physicalMemory.ts';
import { GuestClock, type ClockState } from '../../core/cpu/clock.ts';
import { Cpu, STOP_HALT, type CpuState } from '../../core/cpu/cpu.ts';
import { flatEntryState } from '../../core/machine/boot/entryState.ts';
import { assemble } from '../../scripts/nasm.ts';

const PROGRAM = assemble(readFileSync(new URL('../../bench/asm/cpubench.asm', import.meta.url), 'utf8'), [], { SIEVE_REPEAT: 1, CRC_REPEAT: 1 });

function machine(ram?: Uint8Array) {
  const memory = new PhysicalMemory(32 << 20);
  if (ram) memory.u8.set(ram);
  const bus = new MemoryBus(memory);
  const clock = new GuestClock('deterministic');
  const values: number[] = [];
  bus.addPorts(0xf0, 4, { portRead: () => 0, portWrite: (_p, _s, v) => { values.push(v >>> 0); } }, 'results', [4]);
  const cpu = new Cpu(bus, clock);
  return { memory, clock, cpu, values };
}

function runToHalt(cpu: Cpu): void {
  for (let i = 0; i < 1000; i++) if (cpu.run(1_000_000) === STOP_HALT) return;
  throw new Error('program did not halt');
}

describe('CPU save and restore', () => {
  it('continues the same run from a mid-run snapshot', () => {
    const a = machine();
    a.memory.u8.set(PROGRAM, 0x100000);
    const entry = flatEntryState(a.memory, 0x100000);
    entry.esp = 0x90000;
    a.cpu.loadEntryState(entry);
    a.cpu.run(400_000); // past the paging set-up, in the middle of the sieve
    // Plain data: survives a JSON round trip.
    const cpuState = JSON.parse(JSON.stringify(a.cpu.saveState())) as CpuState;
    const clockState = JSON.parse(JSON.stringify(a.clock.saveState())) as ClockState;
    const ram = a.memory.u8.slice();
    expect(cpuState.cr0 >>> 31).toBe(1);
    expect(a.values).toEqual([]);

    runToHalt(a.cpu);

    const b = machine(ram);
    b.clock.loadState(clockState);
    b.cpu.loadState(cpuState);
    runToHalt(b.cpu);

    expect(a.values).toHaveLength(2);
    expect(b.values).toEqual(a.values);
    expect(b.clock.retired).toBe(a.clock.retired);
    expect(b.cpu.saveState()).toEqual(a.cpu.saveState());
    expect(Buffer.compare(b.memory.u8, a.memory.u8)).toBe(0);
  });
});
