/**
 * The record ring dom0's relays use (core/dom0/worker/recordRing.ts): records
 * come out whole and in order across the end of the ring (a pad record fills
 * the rest), a full ring refuses a record without writing any of it, the
 * consumer's acknowledgement is what the producer reads, and a producer
 * waiting for room (pushWaiting) wakes the consumer and goes on once it
 * takes records; without a consumer it gives up, bounded.
 */
import { describe, expect, it } from 'vitest';
import { pushWaiting, RecordRing } from '../../core/dom0/worker/recordRing.ts';

const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (seed + i) & 0xff);

function drainAll(ring: RecordRing): [number, number[]][] {
  const out: [number, number[]][] = [];
  ring.drain((tag, data) => out.push([tag, [...data]]));
  return out;
}

describe('RecordRing', () => {
  it('hands records over whole and in order, across the end of the ring', () => {
    const ring = new RecordRing(null, 64);
    expect(ring.maxRecord).toBe(16);
    // 4 + 12 bytes each: three records leave 16 bytes before the end, the fourth fits exactly, the fifth wraps.
    for (let round = 0; round < 5; round++) {
      expect(ring.push(round, bytes(10, round * 10))).toBe(true);
      expect(drainAll(ring)).toEqual([[round, [...bytes(10, round * 10)]]]);
    }
    // At 16 of 64: two 20-byte records bring the head to 56.
    expect(ring.push(7, bytes(16, 1))).toBe(true);
    expect(ring.push(8, bytes(16, 2))).toBe(true);
    expect(ring.used).toBe(40);
    expect(drainAll(ring).map(([tag]) => tag)).toEqual([7, 8]);
    // Eight bytes before the end: a 20-byte record pads them and starts at 0.
    expect(ring.push(9, bytes(16, 3))).toBe(true);
    expect(ring.used).toBe(8 + 20);
    expect(drainAll(ring)).toEqual([[9, [...bytes(16, 3)]]]);
    expect(ring.used).toBe(0);
  });

  it('refuses a record it has no room for, writing none of it, and takes it once the consumer made room', () => {
    const ring = new RecordRing(null, 64);
    expect(ring.push(1, bytes(16, 0))).toBe(true);
    expect(ring.push(2, bytes(16, 0))).toBe(true);
    expect(ring.push(3, bytes(16, 0))).toBe(true);
    expect(ring.push(4, bytes(1, 0))).toBe(false); // 60 used, a record needs 8
    expect(ring.used).toBe(60);
    expect(drainAll(ring).map(([tag]) => tag)).toEqual([1, 2, 3]);
    expect(ring.push(4, bytes(1, 9))).toBe(true);
    expect(drainAll(ring)).toEqual([[4, [9]]]);
    expect(() => ring.push(5, bytes(17, 0))).toThrow('a record of 17 bytes is longer than 16');
    expect(() => ring.push(0xff, bytes(1, 0))).toThrow('bad record tag 255');
  });

  it('keeps empty records, and tells the producer what the consumer acknowledged', () => {
    const ring = new RecordRing(null, 64);
    ring.push(6, new Uint8Array(0));
    const head = ring.head;
    expect(ring.acknowledged).toBe(0);
    const reached = ring.drain(() => {});
    expect(reached).toBe(head);
    ring.acknowledge(reached);
    expect(ring.acknowledged).toBe(head);
  });

  it('is the same ring over the same buffer in another view (as in dom0\'s thread)', () => {
    const producer = new RecordRing(null, 128);
    const consumer = new RecordRing(producer.buffer);
    expect(consumer.capacity).toBe(128);
    producer.push(2, bytes(5, 1));
    expect(drainAll(consumer)).toEqual([[2, [1, 2, 3, 4, 5]]]);
    expect(producer.used).toBe(0);
    expect(() => new RecordRing(new SharedArrayBuffer(16 + 100))).toThrow('power of two');
  });

  it('pushWaiting wakes the consumer when the ring is full and goes on once it took the records', () => {
    const ring = new RecordRing(null, 64);
    for (let i = 0; i < 3; i++) ring.push(i, bytes(16, i));
    const taken: number[] = [];
    let wakes = 0;
    // The consumer here is the wake itself (as the machine's thread takes dom0's relay when its done port is raised).
    pushWaiting(ring, 3, bytes(16, 3), () => {
      wakes++;
      ring.drain((tag) => taken.push(tag));
    });
    expect(wakes).toBe(1);
    expect(taken).toEqual([0, 1, 2]);
    expect(drainAll(ring).map(([tag]) => tag)).toEqual([3]);
    // Room at once: no wake.
    pushWaiting(ring, 4, bytes(1, 0), () => wakes++);
    expect(wakes).toBe(1);
  });
});
