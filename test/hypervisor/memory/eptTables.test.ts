import { describe, expect, it } from 'vitest';
import { DomainMemory } from '../../../core/hypervisor/memory/domainMemory.ts';
import { EptTables } from '../../../core/hypervisor/memory/eptTables.ts';
import { FRAME_SIZE } from '../../../core/hypervisor/memory/frameAllocator.ts';
import { MachineMemory } from '../../../core/hypervisor/memory/machineMemory.ts';

/** Walks the 4-level EPT in machine memory as the processor does: the leaf's low dword, or 0 when a level is not present. */
function walk(machine: MachineMemory, eptp: number, gpa: number): number {
  let table = eptp & ~0xfff;
  const indexes = [0, gpa >>> 30, (gpa >>> 21) & 511, (gpa >>> 12) & 511];
  for (let level = 0; level < 4; level++) {
    const lo = machine.view.getUint32(table + indexes[level]! * 8, true);
    const hi = machine.view.getUint32(table + indexes[level]! * 8 + 4, true);
    expect(hi).toBe(0);
    if ((lo & 7) === 0) return 0;
    if (level === 3) return lo;
    expect(lo & 7).toBe(7); // non-leaf entries allow everything; the leaf decides
    table = lo & ~0xfff;
  }
  return 0;
}

describe('EPT tables from the p2m', () => {
  it('maps RAM read/write/execute and ROM read/execute with write-back type, and nothing else', () => {
    const machine = MachineMemory.create(0);
    const d = new DomainMemory(machine);
    d.populateRam(0, 4 * FRAME_SIZE);
    d.mapRom(new Uint8Array(2 * FRAME_SIZE), [{ base: 0xffffe000, size: 2 * FRAME_SIZE }]);
    const ept = new EptTables(machine);
    ept.build(d.p2m);
    expect(ept.eptp & 0xfff).toBe(6 | (3 << 3)); // WB, 4-level walk
    for (let g = 0; g < 4; g++) {
      expect(walk(machine, ept.eptp, g * FRAME_SIZE)).toBe(((d.p2m.machineFrame(g) * FRAME_SIZE) | 7 | (6 << 3)) >>> 0);
    }
    expect(walk(machine, ept.eptp, 0xfffff000)).toBe(((d.p2m.machineFrame(0xfffff) * FRAME_SIZE) | 5 | (6 << 3)) >>> 0);
    expect(walk(machine, ept.eptp, 4 * FRAME_SIZE)).toBe(0);
    expect(walk(machine, ept.eptp, 0xfee00000)).toBe(0);
    expect(ept.leafEntry(1)).toBe(walk(machine, ept.eptp, FRAME_SIZE));
    // PML4 + PDPT + 2 PDs + 2 PTs.
    expect(ept.tableFrames).toBe(6);
    const used = machine.allocator.usedFrames;
    ept.release();
    expect(machine.allocator.usedFrames).toBe(used - 6);
  });
});
