import { describe, expect, it } from 'vitest';
import { GuestMemoryFault, DomainMemory } from '../../../core/hypervisor/memory/domainMemory.ts';
import { FRAME_SIZE } from '../../../core/hypervisor/memory/frameAllocator.ts';
import { MachineMemory } from '../../../core/hypervisor/memory/machineMemory.ts';
import { P2m } from '../../../core/hypervisor/memory/p2m.ts';

describe('p2m', () => {
  it('maps guest frames to machine frames with a kind, and reports maximal runs', () => {
    const p = new P2m();
    p.map(0, 10, 'ram');
    p.map(1, 11, 'ram');
    p.map(2, 5, 'ram');
    p.map(0xfffff, 12, 'rom');
    expect(p.mappedFrames).toBe(4);
    expect(p.translate(0x1234)).toBe(11 * FRAME_SIZE + 0x234);
    expect(p.translate(0x3000)).toBe(-1);
    expect(p.kind(0xfffff)).toBe('rom');
    expect(p.ranges()).toEqual([
      { gfn: 0, mfn: 10, count: 2, kind: 'ram' },
      { gfn: 2, mfn: 5, count: 1, kind: 'ram' },
      { gfn: 0xfffff, mfn: 12, count: 1, kind: 'rom' },
    ]);
    expect(p.unmap(1)).toBe(11);
    expect(p.unmap(1)).toBe(-1);
    expect(p.mappedFrames).toBe(3);
    expect(() => p.map(0x100000, 1, 'ram')).toThrow('guest frame 1048576 is outside 4 GiB');
  });
});

describe('domain memory', () => {
  it('backs guest RAM with frames of the shared pool, not an identity, and two domains never share a frame', () => {
    const machine = MachineMemory.create(16 * FRAME_SIZE);
    const hypervisorOwn = machine.allocator.allocate(3); // e.g. host page tables
    const a = new DomainMemory(machine);
    const b = new DomainMemory(machine);
    a.populateRam(0, 8 * FRAME_SIZE);
    b.populateRam(0, 8 * FRAME_SIZE);
    const framesOf = (d: DomainMemory) => Array.from({ length: 8 }, (_, g) => d.p2m.machineFrame(g));
    expect(framesOf(a).some((m, g) => m !== g)).toBe(true);
    expect(framesOf(a).some((m) => framesOf(b).includes(m) || hypervisorOwn.includes(m))).toBe(false);
    a.write(0x1ffe, Uint8Array.of(1, 2, 3, 4)); // crosses a frame boundary
    expect([...a.read(0x1ffe, 4)]).toEqual([1, 2, 3, 4]);
    expect([...b.read(0x1ffe, 4)]).toEqual([0, 0, 0, 0]);
    expect(a.readU32(0x1ffe)).toBe(0x04030201);
    expect(machine.u8[a.p2m.machineFrame(2) * FRAME_SIZE]).toBe(3);
  });

  it('faults on unmapped guest-physical addresses before copying anything', () => {
    const d = new DomainMemory(MachineMemory.create(0));
    d.populateRam(0, 2 * FRAME_SIZE);
    expect(() => d.write(0x1ffc, new Uint8Array(8).fill(9))).toThrow(new GuestMemoryFault(0x2000));
    expect([...d.read(0x1ffc, 4)]).toEqual([0, 0, 0, 0]);
    expect(() => d.readU8(0xfee00000)).toThrow('guest-physical address 0xfee00000 is not backed by memory');
    expect(() => d.populateRam(FRAME_SIZE, FRAME_SIZE)).toThrow('guest frame 0x1 is already mapped');
  });

  it('maps a ROM image read-only at its windows, the low window showing the image tail', () => {
    const d = new DomainMemory(MachineMemory.create(0));
    const image = new Uint8Array(4 * FRAME_SIZE).map((_, i) => i >> 12);
    d.mapRom(image, [
      { base: 0x1_0000_0000 - 4 * FRAME_SIZE, size: 4 * FRAME_SIZE },
      { base: 0x100000 - 2 * FRAME_SIZE, size: 2 * FRAME_SIZE },
    ]);
    expect(d.readU8(0xfffffff0)).toBe(3);
    expect(d.readU8(0xfe000)).toBe(2);
    expect(d.p2m.machineFrame(0xff)).toBe(d.p2m.machineFrame(0xfffff));
    d.write(0xffff0, Uint8Array.of(0xaa));
    expect(d.readU8(0xffff0)).toBe(3);
    expect(d.p2m.kind(0xff)).toBe('rom');
    expect(d.ownedFrames).toBe(4);
  });

  it('gives every frame back to the pool when released', () => {
    const machine = MachineMemory.create(0);
    const d = new DomainMemory(machine);
    d.populateRam(0, 32 * FRAME_SIZE);
    d.mapRom(new Uint8Array(FRAME_SIZE), [{ base: 0xfffff000, size: FRAME_SIZE }]);
    expect(machine.allocator.usedFrames).toBe(33);
    d.release();
    expect(machine.allocator.usedFrames).toBe(0);
    expect(d.p2m.mappedFrames).toBe(0);
    expect(d.ownedFrames).toBe(0);
  });
});
