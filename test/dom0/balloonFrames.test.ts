/**
 * The balloon's frames under the hypervisor: a page the guest gives up is
 * unmapped from the domain's p2m (the EPT and nested leaves follow) and its
 * frame goes back to the shared pool, where another domain allocates it; a
 * deflated page comes back as a fresh zeroed frame at the same guest
 * address. The grant check translates page by page, so a device buffer
 * across frames that are no longer consecutive in machine memory still
 * reads and writes the right bytes (through a bounce buffer), and a
 * ballooned page is refused like any hole.
 */
import { describe, expect, it } from 'vitest';
import { CheckedGuestMemory } from '../../core/dom0/grantCheck.ts';
import { GuestMemoryError } from '../../core/devices/virtio/guestMemory.ts';
import { DomainMemory } from '../../core/hypervisor/memory/domainMemory.ts';
import { EptTables } from '../../core/hypervisor/memory/eptTables.ts';
import { FRAME_SIZE } from '../../core/hypervisor/memory/frameAllocator.ts';
import { MachineMemory } from '../../core/hypervisor/memory/machineMemory.ts';
import { NptTables } from '../../core/hypervisor/memory/nptTables.ts';

const FRAMES = 64;

/** A pool of FRAMES frames with domain A (16 pages of RAM, owner 1) and its EPT and nested tables following its p2m. */
function setUp() {
  const pool = MachineMemory.create(FRAMES * FRAME_SIZE, FRAMES * FRAME_SIZE);
  const a = new DomainMemory(MachineMemory.adopt(pool.share(), 1));
  a.populateRam(0, 16 * FRAME_SIZE);
  const ept = new EptTables(pool);
  ept.build(a.p2m);
  const npt = new NptTables(pool);
  npt.build(a.p2m);
  const changed: number[] = [];
  a.onP2mChange = (gfn) => {
    ept.update(gfn, a.p2m);
    npt.update(gfn, a.p2m);
    changed.push(gfn);
  };
  const written: number[] = [];
  const map = a.ramMap((offset) => written.push(offset));
  return { pool, a, ept, npt, changed, map, mem: new CheckedGuestMemory(map), written };
}

describe('balloon frames back to the machine pool', () => {
  it('releases a RAM page to the pool, where another domain takes the same frame; the tables drop it', () => {
    const { pool, a, ept, npt, changed, map } = setUp();
    const free = pool.allocator.availableFrames;
    const mfn = a.p2m.machineFrame(5);
    expect(ept.leafEntry(5)).not.toBe(0);
    expect(map.frames!.release(5)).toBe(true);
    expect(changed).toEqual([5]);
    expect(a.p2m.kind(5)).toBeUndefined();
    expect(ept.leafEntry(5)).toBe(0);
    expect(npt.leafEntry(5)).toBe(0);
    expect(a.ownedFrames).toBe(15);
    expect(map.frames!.poolFreeFrames()).toBe(free + 1);
    expect(pool.allocator.isAllocated(mfn)).toBe(false);
    // Twice, ROM-less holes and pages above RAM: nothing to give.
    expect(map.frames!.release(5)).toBe(false);
    expect(map.frames!.release(16)).toBe(false);
    // Domain B takes every free frame: the one A gave back is among them.
    const b = new DomainMemory(MachineMemory.adopt(pool.share(), 2));
    b.populateRam(0, (free + 1) * FRAME_SIZE);
    expect(Array.from({ length: free + 1 }, (_, g) => b.p2m.machineFrame(g))).toContain(mfn);
    expect(pool.allocator.framesOwnedBy(2)).toBe(free + 1);
    // Now the pool is empty: A's deflate cannot be backed, and the page stays a hole.
    expect(map.frames!.restore(5)).toBe(false);
    expect(a.p2m.kind(5)).toBeUndefined();
  });

  it('restores a released page with a fresh zeroed frame at the same guest address and remaps it', () => {
    const { pool, a, ept, npt, map, written } = setUp();
    a.write(5 * FRAME_SIZE, new Uint8Array(FRAME_SIZE).fill(0x5a));
    const old = a.p2m.machineFrame(5);
    map.frames!.release(5);
    // Someone else's data in the freed frame.
    const [taken] = pool.allocator.allocate(1);
    expect(taken).toBe(old);
    pool.u8.fill(0xee, old * FRAME_SIZE, (old + 1) * FRAME_SIZE);
    const free = pool.allocator.availableFrames;
    expect(map.frames!.restore(5)).toBe(true);
    const mfn = a.p2m.machineFrame(5);
    expect(mfn).not.toBe(old);
    expect(a.p2m.kind(5)).toBe('ram');
    expect(a.read(5 * FRAME_SIZE, FRAME_SIZE).every((b) => b === 0)).toBe(true);
    expect(pool.allocator.availableFrames).toBe(free - 1);
    expect(pool.allocator.framesOwnedBy(1)).toBe(16);
    expect(ept.leafEntry(5)).toBe(((mfn * FRAME_SIZE) | 7 | (6 << 3)) >>> 0);
    expect(npt.leafEntry(5)).toBe(((mfn * FRAME_SIZE) | 0x67) >>> 0);
    // The processor is told the new frame was written (code decoded from it before is dropped).
    expect(written).toEqual([mfn * FRAME_SIZE]);
    expect(map.frames!.restore(5)).toBe(false); // mapped already
  });

  it('checks and translates device buffers page by page across frames that are no longer consecutive', () => {
    const { pool, a, map, mem } = setUp();
    // Pages 4 and 5 in consecutive machine frames first: a plain view.
    expect(a.p2m.machineFrame(5)).toBe(a.p2m.machineFrame(4) + 1);
    expect(mem.view(4 * FRAME_SIZE + 4000, 200, false).buffer).toBe(pool.buffer);
    map.frames!.release(5);
    pool.allocator.allocate(1); // the freed frame goes elsewhere, so page 5 comes back in another one
    // A ballooned page is a hole for devices too.
    expect(() => mem.view(4 * FRAME_SIZE + 4000, 200, false)).toThrow(GuestMemoryError);
    expect(() => mem.read32(5 * FRAME_SIZE)).toThrow(GuestMemoryError);
    map.frames!.restore(5);
    expect(a.p2m.machineFrame(5)).not.toBe(a.p2m.machineFrame(4) + 1);
    const start = 5 * FRAME_SIZE - 96;
    const data = Uint8Array.from({ length: 200 }, (_, i) => i + 1);
    a.write(start, data);
    // Reads: a copy gathered from both frames.
    const read = mem.view(start, 200, false);
    expect(read.buffer).not.toBe(pool.buffer);
    expect(read).toEqual(data);
    expect(mem.read32(5 * FRAME_SIZE - 2)).toBe(((data[97] << 24) | (data[96] << 16) | (data[95] << 8) | data[94]) >>> 0);
    // A 64-bit load across the boundary.
    expect(mem.read64(5 * FRAME_SIZE - 4)).toBe(data[92] + data[93] * 2 ** 8 + data[94] * 2 ** 16 + data[95] * 2 ** 24 + data[96] * 2 ** 32 + data[97] * 2 ** 40 + data[98] * 2 ** 48 + data[99] * 2 ** 56);
    // Writes: through the bounce buffer, landing in both frames when the device says it wrote them.
    const out = mem.view(start, 200, true);
    out.fill(0xab);
    expect(a.readU8(start)).toBe(1);
    mem.written(start, 200);
    expect(a.read(start, 200).every((b) => b === 0xab)).toBe(true);
    mem.write32(5 * FRAME_SIZE - 2, 0x1234_5678);
    expect(a.readU32(5 * FRAME_SIZE - 2)).toBe(0x1234_5678);
    mem.write16(5 * FRAME_SIZE - 1, 0xbeef);
    expect(a.readU16(5 * FRAME_SIZE - 1)).toBe(0xbeef);
    expect(mem.bounced).toBe(2);
    expect(mem.refusals).toBe(2);
  });
});
