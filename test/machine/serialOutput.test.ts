import { describe, expect, it } from 'vitest';
import { SerialInputQueue, SerialOutputBuffer } from '../../core/machine/serialOutput.ts';

describe('serial output batching', () => {
  it('delivers the bytes of a slice in one call on flush', () => {
    const calls: number[][] = [];
    const out = new SerialOutputBuffer((b) => calls.push(Array.from(b)));
    out.push(0x41);
    out.push(0x42);
    expect(calls).toEqual([]);
    out.flush();
    out.flush();
    expect(calls).toEqual([[0x41, 0x42]]);
  });

  it('flushes by itself when its buffer is full', () => {
    const sizes: number[] = [];
    const out = new SerialOutputBuffer((b) => sizes.push(b.length));
    for (let i = 0; i < 4097; i++) out.push(i & 0xff);
    expect(sizes).toEqual([4096]);
    out.flush();
    expect(sizes).toEqual([4096, 1]);
  });
});

describe('serial input queue', () => {
  it('stops at the first partial accept and offers the rest again in order', () => {
    const q = new SerialInputQueue();
    q.push(Uint8Array.from([1, 2, 3]));
    q.push(Uint8Array.from([4, 5]));
    const got: number[] = [];
    q.drain((b) => {
      got.push(b[0], b[1]);
      return 2;
    });
    expect(got).toEqual([1, 2]);
    const rest: number[] = [];
    q.drain((b) => {
      rest.push(...b);
      return b.length;
    });
    expect(rest).toEqual([3, 4, 5]);
  });
});
