/**
 * The domain's RAM map as dom0's worker thread decodes it from shared
 * memory (core/dom0/sharedRamMap.ts) agrees, page for page, with the map
 * its owner builds: the bare PC's bus page map (RAM, ROM, MMIO holes) and
 * the hypervisor's p2m (RAM, ROM, unmapped), including a page the balloon
 * gave back and one it took again from elsewhere in the pool. A change is
 * seen through the shared entries with no copy in between.
 */
import { describe, expect, it } from 'vitest';
import { busRamMap } from '../../core/dom0/grantCheck.ts';
import { ramMapOverShared } from '../../core/dom0/sharedRamMap.ts';
import { DomainMemory } from '../../core/hypervisor/memory/domainMemory.ts';
import { FRAME_SIZE } from '../../core/hypervisor/memory/frameAllocator.ts';
import { MachineMemory } from '../../core/hypervisor/memory/machineMemory.ts';
import { MemoryBus } from '../../core/memory/bus.ts';
import { PhysicalMemory } from '../../core/memory/physicalMemory.ts';

/** Guest pages whose answers are compared: low RAM, the end of RAM and past it, the ROM and the top of 4 GiB. */
const PAGES = [0, 1, 5, 6, 7, 15, 16, 17, 255, 256, 0xa0, 0xfe, 0xff, 0xc0000, 0xfff00, 0xfffff];

describe('the RAM map in shared memory, as dom0 reads it', () => {
  it('decodes the bare PC\'s bus page map as the bus does: RAM, ROM and holes', () => {
    const memory = new PhysicalMemory(1 << 20, 64 * 1024);
    const bus = new MemoryBus(memory);
    bus.mapRom(0xfff0_0000, 1 << 20, 64 * 1024);
    const own = busRamMap(bus);
    const shared = ramMapOverShared(own.shared!, () => {});
    expect(PAGES.map((p) => shared.ramPage(p))).toEqual(PAGES.map((p) => own.ramPage(p)));
    expect(shared.ramPage(5)).toBe(5 * 4096);
    expect(shared.ramPage(0xfff00)).toBe(-1); // ROM is not RAM a device may write
    expect(shared.u8.buffer).toBe(bus.u8.buffer);
  });

  it('decodes the hypervisor\'s p2m as DomainMemory does, and sees a ballooned page go and come back elsewhere', () => {
    const pool = MachineMemory.create(64 * FRAME_SIZE, 64 * FRAME_SIZE);
    const domain = new DomainMemory(MachineMemory.adopt(pool.share(), 1));
    domain.populateRam(0, 16 * FRAME_SIZE);
    const own = domain.ramMap(() => {});
    const shared = ramMapOverShared(own.shared!, () => {});
    expect(PAGES.map((p) => shared.ramPage(p))).toEqual(PAGES.map((p) => own.ramPage(p)));
    // Another domain takes frames, so the page comes back on a different frame.
    const before = shared.ramPage(6);
    expect(own.frames!.release(6)).toBe(true);
    expect(shared.ramPage(6)).toBe(-1);
    const other = new DomainMemory(MachineMemory.adopt(pool.share(), 2));
    other.populateRam(0, 4 * FRAME_SIZE);
    expect(own.frames!.restore(6)).toBe(true);
    expect(shared.ramPage(6)).toBe(own.ramPage(6));
    expect(shared.ramPage(6)).not.toBe(before);
    expect(PAGES.map((p) => shared.ramPage(p))).toEqual(PAGES.map((p) => own.ramPage(p)));
  });
});
