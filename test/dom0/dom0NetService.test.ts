/**
 * dom0's network thread (core/dom0/worker/netService.ts, netThread.ts): the
 * NICs of two machines of this process reach one switch in dom0's thread
 * through their frame rings and event channels; a frame for a machine
 * waits on its receive ring until its run loop's check (NetFrontend.poll)
 * takes it. The thread answers asynchronously, so the test waits on the
 * condition (a frame delivered), never on a time.
 */
import { describe, expect, it } from 'vitest';
import { NetFrontend } from '../../core/dom0/worker/netService.ts';
import { FrameRing, RING_SLOTS } from '../../core/dom0/worker/netRing.ts';
import { awaitThreadWake, threadWakeCount } from '../../core/dom0/worker/threadWake.ts';
import { BROADCAST, frame } from './ethernetFrames.ts';

const A = [0x52, 0x54, 0, 0, 0, 0xa];
const B = [0x52, 0x54, 0, 0, 0, 0xb];
const C = [0x52, 0x54, 0, 0, 0, 0xc];

/** Polls the machines' run-loop checks until `done` holds (bounded, so a lost frame fails the test instead of hanging it). */
async function until(machines: NetFrontend[], done: () => boolean): Promise<void> {
  const deadline = performance.now() + 20_000;
  while (!done()) {
    if (performance.now() > deadline) throw new Error('dom0\'s network thread did not deliver in 20 s');
    for (const m of machines) m.poll();
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

describe('frame ring', () => {
  it('passes frames in order, whole, and drops (counted) when full', () => {
    const ring = new FrameRing();
    expect(ring.shift()).toBeNull();
    for (let i = 0; i < RING_SLOTS; i++) expect(ring.push(frame(B, A, i & 0xff, 14 + (i % 1505)))).toBe(true);
    expect(ring.push(frame(B, A, 0))).toBe(false);
    expect(ring.dropped).toBe(1);
    const other = new FrameRing(ring.buffer); // the consumer's view in another thread
    for (let i = 0; i < RING_SLOTS; i++) {
      const f = other.shift()!;
      expect(f.length).toBe(14 + (i % 1505));
      if (f.length > 14) expect(f[14]).toBe(i & 0xff);
    }
    expect(other.shift()).toBeNull();
    expect(ring.push(new Uint8Array(13))).toBe(false);
    expect(ring.push(new Uint8Array(1519))).toBe(false);
    expect([ring.malformed, ring.dropped, other.shift()]).toEqual([2, 1, null]);
  });
});

describe('internal networks in dom0\'s network thread', () => {
  it('gives the NICs of two machines one switch: broadcast flooded, learned unicast to one port, other networks apart', async () => {
    const m1 = new NetFrontend();
    const m2 = new NetFrontend();
    const got: Record<string, number[]> = { a: [], b: [], c: [], other: [] };
    const a = m1.attach('lab', (f) => got.a.push(f[14]));
    const b = m2.attach('lab', (f) => got.b.push(f[14]));
    const c = m2.attach('lab', (f) => got.c.push(f[14]));
    m1.attach('elsewhere', (f) => got.other.push(f[14]));
    try {
      a.send(frame(BROADCAST, A, 1));
      await until([m1, m2], () => got.b.length === 1 && got.c.length === 1);
      b.send(frame(A, B, 2)); // A learned behind a's port
      await until([m1, m2], () => got.a.length === 1);
      a.send(frame(B, A, 3)); // B learned behind b's port: c does not see it
      c.send(frame(A, C, 4));
      await until([m1, m2], () => got.b.length === 2 && got.a.length === 2);
      expect(got).toEqual({ a: [2, 4], b: [1, 3], c: [1], other: [] });
      expect(m1.waiting + m2.waiting).toBe(0);
    } finally {
      m1.close();
      m2.close();
    }
  });

  it('drops what a machine\'s full receive ring cannot take, and the other machines still get every frame', async () => {
    const sender = new NetFrontend();
    const slow = new NetFrontend();
    const witness = new NetFrontend();
    const a = sender.attach('full', () => {});
    const slowGot: number[] = [];
    const witnessGot: number[] = [];
    const slowLink = slow.attach('full', (f) => slowGot.push(f[14] | (f[15] << 8)));
    witness.attach('full', (f) => witnessGot.push(f[14] | (f[15] << 8)));
    const numbered = (n: number) => {
      const f = frame(BROADCAST, A, 0);
      f[14] = n & 0xff;
      f[15] = n >> 8;
      return f;
    };
    try {
      // Batches the witness takes as they come (so its ring never fills); the slow machine never checks meanwhile.
      for (let batch = 0; batch < 3; batch++) {
        for (let i = 0; i < 100; i++) a.send(numbered(batch * 100 + i));
        await until([witness], () => witnessGot.length === (batch + 1) * 100);
      }
      expect(witnessGot).toEqual(Array.from({ length: 300 }, (_, i) => i));
      expect(slow.waiting).toBe(RING_SLOTS);
      slow.poll();
      expect(slowGot).toEqual(Array.from({ length: RING_SLOTS }, (_, i) => i));
      expect(a.txDropped).toBe(0);
      // Dropped by the network thread (the ring's producer), counted in the ring, read from this side: the switch floods the slow link before the witness's.
      expect([slowLink.dropped, a.dropped]).toEqual([300 - RING_SLOTS, 0]);
    } finally {
      for (const m of [sender, slow, witness]) m.close();
    }
  });

  it('raises the receiving machine\'s thread wake word with the frame: one wait ends when it is on the ring', () => {
    const m1 = new NetFrontend();
    const m2 = new NetFrontend();
    const got: number[] = [];
    m1.attach('wake', (f) => got.push(f[14]));
    const b = m2.attach('wake', () => {});
    try {
      const seen = threadWakeCount();
      b.send(frame(BROADCAST, B, 9));
      // Woken, not timed out (nothing else raises this thread's word here); the frame is on m1's ring by then.
      expect(awaitThreadWake(seen, 10_000)).toBe(true);
      expect(m1.raised).toBe(true);
      m1.poll();
      expect(got).toEqual([9]);
    } finally {
      m1.close();
      m2.close();
    }
  });

  it('keeps a frame on the machine\'s receive ring until its run loop checks', async () => {
    const m1 = new NetFrontend();
    const m2 = new NetFrontend();
    const got: number[] = [];
    const a = m1.attach('hold', () => {});
    m2.attach('hold', (f) => got.push(f[14]));
    try {
      a.send(frame(BROADCAST, A, 7));
      const deadline = performance.now() + 20_000;
      while (m2.waiting === 0) {
        if (performance.now() > deadline) throw new Error('no frame on the receive ring in 20 s');
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      expect(got).toEqual([]);
      m2.poll();
      expect(got).toEqual([7]);
      expect(m2.waiting).toBe(0);
    } finally {
      m1.close();
      m2.close();
    }
  });
});
