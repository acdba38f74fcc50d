/**
 * The monitor on its own (no board): a small guest (guests/userFrames.asm)
 * loads its own GDT, IDT and TSS (LGDT, LIDT, LTR, MOV SS trap and are
 * emulated), turns paging on (MOV CR3/CR0: shadow paging), and IRETs to user
 * mode natively. From CPL 3: INT 0x80 through a DPL 3 trap gate is
 * reflected with the stack switch to the guest's TSS.ESP0 and the user's
 * SS/ESP/EFLAGS/CS/EIP; a read of a not-present page is reflected as the
 * guest's #PF (error code 4: user read, not present; CR2 the address);
 * INT 0x81's handler halts with interrupts off, which stops the VM.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { Cpu } from '../../../core/cpu/cpu.ts';
import { GuestClock } from '../../../core/cpu/clock.ts';
import { DomainMemory } from '../../../core/hypervisor/memory/domainMemory.ts';
import { MachineMemory } from '../../../core/hypervisor/memory/machineMemory.ts';
import { SoftwareMonitor } from '../../../core/hypervisor/software/monitor.ts';
import { MemoryBus } from '../../../core/memory/bus.ts';
import { PhysicalMemory } from '../../../core/memory/physicalMemory.ts';
import { assemble } from '../../../scripts/nasm.ts';

const MiB = 1024 * 1024;
const BOOT_GDT = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0xff, 0xff, 0, 0, 0, 0x9b, 0xcf, 0, 0xff, 0xff, 0, 0, 0, 0x93, 0xcf, 0]);

it('reflects INT n and #PF from guest user code with the frames the guest expects', () => {
  const dir = join(import.meta.dirname, 'guests');
  const image = assemble(readFileSync(join(dir, 'userFrames.asm'), 'utf8'), [dir]);
  const machine = MachineMemory.create(12 * MiB, 12 * MiB);
  const memory = new DomainMemory(machine);
  memory.populateRam(0, 8 * MiB);
  memory.write(0x100000, image);
  memory.write(0x500, BOOT_GDT);
  const cpu = new Cpu(new MemoryBus(new PhysicalMemory(machine.byteLength, 0, machine.buffer)), new GuestClock('deterministic'));
  const ports = { portRead: () => 0xff, portWrite: () => {} };
  const monitor = new SoftwareMonitor(cpu, { memory, ports });
  monitor.start({ gdtBase: 0x500, gdtLimit: 31, cs: 0x10, ss: 0x18, ds: 0x18, es: 0x18, fs: 0x18, gs: 0x18, eip: 0x100000, esp: 0x80000, eflags: 2, regs: [0, 0, 0, 0, 0, 0, 0, 0] });
  for (let i = 0; i < 100 && monitor.stopReason === null; i++) cpu.run(10_000);
  expect(monitor.stopReason).toEqual({ kind: 'halt' });

  const afterInt = memory.readU32(0x100000 + image.length - 8);
  const pfAt = memory.readU32(0x100000 + image.length - 4);
  const r = (offset: number) => memory.readU32(0x90000 + offset);
  expect(r(0x00)).toBe(42); // EAX at the INT
  expect(r(0x04)).toBe(afterInt); // EIP: the instruction after INT 0x80
  expect(r(0x08)).toBe(0x1b); // the user's CS
  expect(r(0x0c) & 0x3200).toBe(0x200); // IF = 1, IOPL 0
  expect(r(0x10)).toBe(0x60000); // the user's ESP
  expect(r(0x14)).toBe(0x23); // the user's SS
  expect(r(0x18)).toBe(0x70000 - 20); // the kernel stack: TSS.ESP0 minus the 5-dword frame
  expect(r(0x1c)).toBe(4); // #PF error code: user, read, not present
  expect(r(0x20)).toBe(0x3ff000); // CR2 as the guest reads it (MOV from CR2: emulated)
  expect(r(0x24)).toBe(pfAt); // the faulting instruction
  const c = monitor.counters;
  expect(c.reflected[0x80]).toBe(1);
  expect(c.reflected[14]).toBe(1);
  expect(c.reflected[0x81]).toBe(1);
  expect(c.traps['lgdt/lidt']).toBe(2);
  expect(c.traps['lldt/ltr']).toBe(1);
  expect(c.traps['mov ss']).toBe(1);
  expect(c.traps.iret).toBe(0); // every IRET here returns to user code (RPL 3): native at CPL 1, no trap
  expect(c.traps.cli).toBe(1);
  expect(c.traps.hlt).toBe(1);
  expect(monitor.vcpu.tr).toBe(0x28);
  expect(monitor.shadow.counters.hiddenFaults).toBeGreaterThan(0);
});
