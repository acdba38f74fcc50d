import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { FRAME_SIZE, OutOfMachineMemory } from '../../../core/hypervisor/memory/frameAllocator.ts';
import { MACHINE_MEMORY_LIMIT, MachineMemory } from '../../../core/hypervisor/memory/machineMemory.ts';

describe('machine memory pool', () => {
  it('is one growable SharedArrayBuffer reserved up to the 4 GiB limit', () => {
    const m = MachineMemory.create(64 * FRAME_SIZE);
    expect(m.buffer.growable).toBe(true);
    expect(m.buffer.maxByteLength).toBe(MACHINE_MEMORY_LIMIT);
    expect(m.byteLength).toBe(64 * FRAME_SIZE);
    expect(m.allocator.frames).toBe(64);
    expect(m.allocator.usedFrames).toBe(0);
  });

  it('hands out distinct frames and takes them back', () => {
    const m = MachineMemory.create(8 * FRAME_SIZE);
    const a = m.allocator.allocate(5);
    expect(new Set(a).size).toBe(5);
    expect(a.every((f) => f >= 0 && f < 8 && m.allocator.isAllocated(f))).toBe(true);
    expect(m.allocator.usedFrames).toBe(5);
    m.allocator.free([a[1]!, a[3]!]);
    expect(m.allocator.usedFrames).toBe(3);
    expect(m.allocator.isAllocated(a[1]!)).toBe(false);
    const b = m.allocator.allocate(5);
    expect(b.sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7].filter((f) => !a.filter((_, i) => i !== 1 && i !== 3).includes(f)));
    expect(m.allocator.usedFrames).toBe(8);
    expect(() => m.allocator.free([a[0]!, a[0]!])).toThrow(`frame ${a[0]} is freed but not allocated`);
  });

  it('grows the buffer in place when its frames are all taken; views made without a length follow', () => {
    const m = MachineMemory.create(4 * FRAME_SIZE);
    const frames = m.allocator.allocate(300);
    expect(new Set(frames).size).toBe(300);
    expect(m.allocator.frames).toBeGreaterThanOrEqual(300);
    expect(m.byteLength).toBe(m.allocator.frames * FRAME_SIZE);
    expect(m.u8.length).toBe(m.byteLength);
    const last = Math.max(...frames);
    m.u8[last * FRAME_SIZE + 7] = 0x5a;
    expect(new Uint8Array(m.buffer)[last * FRAME_SIZE + 7]).toBe(0x5a);
  });

  it('refuses to allocate past its limit, all or nothing, with the sizes in the message', () => {
    const m = MachineMemory.create(0, 16 * FRAME_SIZE);
    m.allocator.allocate(10);
    expect(() => m.allocator.allocate(7)).toThrow(
      new OutOfMachineMemory('machine memory is full: 0.02734375 MiB requested, 0.0234375 MiB free of the 0.0625 MiB the machine has'),
    );
    expect(m.allocator.usedFrames).toBe(10);
    expect(m.allocator.allocate(6).length).toBe(6);
    expect(m.byteLength).toBe(16 * FRAME_SIZE);
  });

  it('refuses limits above 4 GiB and odd sizes', () => {
    expect(() => MachineMemory.create(0, MACHINE_MEMORY_LIMIT + FRAME_SIZE)).toThrow(/limit must be 4 KiB .. 4 GiB/);
    expect(() => MachineMemory.create(-1)).toThrow(/initial machine memory/);
  });

  it('crosses to another worker: growth after the handover is seen there, and its writes here', async () => {
    const m = MachineMemory.create(4 * FRAME_SIZE, 1024 * FRAME_SIZE);
    const source = `
      const { parentPort, workerData } = require('node:worker_threads');
      const u8 = new Uint8Array(workerData.share.buffer); // length-tracking view
      parentPort.on('message', (address) => {
        u8[address] = 0x77;
        parentPort.postMessage(u8.length);
      });
    `;
    const w = new Worker(source, { eval: true, workerData: { share: m.share() } });
    try {
      const frames = m.allocator.allocate(200); // grows the buffer after the worker got it
      const address = Math.max(...frames) * FRAME_SIZE + 3;
      const seenLength = new Promise((r) => w.once('message', r));
      w.postMessage(address);
      expect(await seenLength).toBe(m.byteLength);
      expect(m.u8[address]).toBe(0x77);
    } finally {
      await w.terminate();
    }
  });

  it('allocates from the same bitmap through an adopted share', () => {
    const m = MachineMemory.create(4 * FRAME_SIZE, 1024 * FRAME_SIZE);
    const mine = m.allocator.allocate(4);
    const other = MachineMemory.adopt(m.share());
    const theirs = other.allocator.allocate(200);
    expect(theirs.some((f) => mine.includes(f))).toBe(false);
    expect(m.allocator.usedFrames).toBe(204);
    expect(m.byteLength).toBe(other.byteLength);
  });
});
