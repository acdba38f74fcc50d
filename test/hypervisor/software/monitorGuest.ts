/**
 * The software monitor on its own, with no board: a nasm guest from guests/
 * loaded at 1 MiB into a domain's RAM (8 MiB), entered in 32-bit ring 0 on a
 * flat boot GDT at 0x500, run until it stops (the guest halts with
 * interrupts off). Ports read 0xFF and ignore writes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { Cpu } from '../../../core/cpu/cpu.ts';
import { GuestClock } from '../../../core/cpu/clock.ts';
import { DomainMemory } from '../../../core/hypervisor/memory/domainMemory.ts';
import { MachineMemory } from '../../../core/hypervisor/memory/machineMemory.ts';
import { MonitorTranslator } from '../../../core/hypervisor/software/bt/monitorTranslator.ts';
import { SoftwareMonitor } from '../../../core/hypervisor/software/monitor.ts';
import { MemoryBus } from '../../../core/memory/bus.ts';
import { PhysicalMemory } from '../../../core/memory/physicalMemory.ts';
import { assemble } from '../../../scripts/nasm.ts';

const MiB = 1024 * 1024;
/** Null, null, flat 32-bit code (0x10), flat data (0x18). */
const BOOT_GDT = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0xff, 0xff, 0, 0, 0, 0x9b, 0xcf, 0, 0xff, 0xff, 0, 0, 0, 0x93, 0xcf, 0]);

export interface MonitorGuestRun {
  image: Uint8Array;
  memory: DomainMemory;
  monitor: SoftwareMonitor;
}

/** Runs guests/`asmFile` under the monitor ('trap', or 'bt' with the translator) until it halts. */
export function runMonitorGuest(asmFile: string, mode: 'trap' | 'bt', machineMiB = 16): MonitorGuestRun {
  const dir = join(import.meta.dirname, 'guests');
  const image = assemble(readFileSync(join(dir, asmFile), 'utf8'), [dir]);
  const machine = MachineMemory.create(machineMiB * MiB, machineMiB * MiB);
  const memory = new DomainMemory(machine);
  memory.populateRam(0, 8 * MiB);
  memory.write(0x100000, image);
  memory.write(0x500, BOOT_GDT);
  const cpu = new Cpu(new MemoryBus(new PhysicalMemory(machine.byteLength, 0, machine.buffer)), new GuestClock('deterministic'));
  const ports = { portRead: () => 0xff, portWrite: () => {} };
  const monitor = new SoftwareMonitor(cpu, { memory, ports }, mode === 'bt' ? new MonitorTranslator() : null);
  monitor.start({ gdtBase: 0x500, gdtLimit: 31, cs: 0x10, ss: 0x18, ds: 0x18, es: 0x18, fs: 0x18, gs: 0x18, eip: 0x100000, esp: 0x80000, eflags: 2, regs: [0, 0, 0, 0, 0, 0, 0, 0] });
  for (let i = 0; i < 100 && monitor.stopReason === null; i++) cpu.run(10_000);
  expect(monitor.stopReason).toEqual({ kind: 'halt' });
  return { image, memory, monitor };
}
