/**
 * The nested page tables the hypervisor builds for SVM from a domain's p2m
 * (core/hypervisor/memory/nptTables.ts): walked here as the processor walks
 * the host's 32-bit format, entry by entry.
 */
import { describe, expect, it } from 'vitest';
import { DomainMemory } from '../../core/hypervisor/memory/domainMemory.ts';
import { FRAME_SIZE } from '../../core/hypervisor/memory/frameAllocator.ts';
import { MachineMemory } from '../../core/hypervisor/memory/machineMemory.ts';
import { NptTables } from '../../core/hypervisor/memory/nptTables.ts';

/** The leaf entry for `gpa` through the directory at `nCr3`, or 0 when the directory entry is not present. */
function walk(machine: MachineMemory, nCr3: number, gpa: number): number {
  const pde = machine.view.getUint32(nCr3 + (gpa >>> 22) * 4, true);
  if ((pde & 1) === 0) return 0;
  expect(pde & 0xfff).toBe(0x27); // present, writable, user, accessed: the leaf decides
  return machine.view.getUint32((pde & ~0xfff) + ((gpa >>> 12) & 1023) * 4, true);
}

describe('nested page tables from the p2m', () => {
  it('maps RAM user read/write (accessed, dirty) and ROM user read-only, and nothing else', () => {
    const machine = MachineMemory.create(0);
    const d = new DomainMemory(machine);
    d.populateRam(0, 4 * FRAME_SIZE);
    d.mapRom(new Uint8Array(2 * FRAME_SIZE), [{ base: 0xffffe000, size: 2 * FRAME_SIZE }]);
    const npt = new NptTables(machine);
    npt.build(d.p2m);
    expect(npt.nCr3 & 0xfff).toBe(0);
    for (let g = 0; g < 4; g++) expect(walk(machine, npt.nCr3, g * FRAME_SIZE)).toBe(((d.p2m.machineFrame(g) * FRAME_SIZE) | 0x67) >>> 0);
    expect(walk(machine, npt.nCr3, 0xfffff000)).toBe(((d.p2m.machineFrame(0xfffff) * FRAME_SIZE) | 0x25) >>> 0);
    expect(walk(machine, npt.nCr3, 4 * FRAME_SIZE)).toBe(0);
    expect(walk(machine, npt.nCr3, 0xfee00000)).toBe(0);
    expect(npt.leafEntry(1)).toBe(walk(machine, npt.nCr3, FRAME_SIZE));
    expect(npt.leafEntry(0x12345)).toBe(0);
    // The directory and one page table at each end of the 4 GiB space.
    expect(npt.tableFrames).toBe(3);
    const used = machine.allocator.usedFrames;
    npt.release();
    expect(machine.allocator.usedFrames).toBe(used - 3);
  });
});
