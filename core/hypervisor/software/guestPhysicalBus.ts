/**
 * The guest's physical address space as a processor bus, for the monitor's
 * emulator (realModeEmulator.ts): the domain's RAM and ROM frames through
 * its p2m, straight in the machine buffer (the emulator's accesses cost what
 * the bare PC's do), and every other page forwarded to the domain's device
 * bus (its MMIO regions; unclaimed addresses read as open bus there).
 *
 * The monitor's own frames (shadow tables, its GDT/IDT/TSS) are outside the
 * p2m, so the emulated guest cannot reach them, as under the ring-compressed
 * path.
 */
import { MemoryBus, PAGE_IO, PAGE_ROM, type AccessSize } from '../../memory/bus.ts';
import { PAGE_SHIFT, PhysicalMemory } from '../../memory/physicalMemory.ts';
import type { DomainMemory } from '../memory/domainMemory.ts';

const PAGES = 1 << (32 - PAGE_SHIFT);

export function guestPhysicalBus(memory: DomainMemory, devices: MemoryBus): MemoryBus {
  const machine = memory.machine;
  const bus = new MemoryBus(new PhysicalMemory(machine.byteLength, 0, machine.adoptable()));
  mapP2m(bus, memory, devices);
  return bus;
}

/** Points every guest page at its machine frame (ROM read-only) and forwards the holes to the device bus. */
function mapP2m(bus: MemoryBus, memory: DomainMemory, devices: MemoryBus): void {
  const map = bus.pageMap;
  map.fill(PAGE_IO);
  for (const r of memory.p2m.ranges()) {
    for (let i = 0; i < r.count; i++) map[r.gfn + i] = ((r.mfn + i) << PAGE_SHIFT) | (r.kind === 'rom' ? PAGE_ROM : 0);
  }
  const forward = (base: number) => ({
    read: (offset: number, size: AccessSize) => (size === 1 ? devices.read8(base + offset) : size === 2 ? devices.read16(base + offset) : devices.read32(base + offset)),
    write: (offset: number, size: AccessSize, value: number) => {
      if (size === 1) devices.write8(base + offset, value);
      else if (size === 2) devices.write16(base + offset, value);
      else devices.write32(base + offset, value);
    },
  });
  for (let pfn = 0; pfn < PAGES; ) {
    if (map[pfn] !== PAGE_IO) {
      pfn++;
      continue;
    }
    const first = pfn;
    while (pfn < PAGES && map[pfn] === PAGE_IO) pfn++;
    const base = first * 4096;
    bus.addMmio(base, (pfn - first) * 4096, forward(base), `guest hole at 0x${base.toString(16)}`);
  }
}
