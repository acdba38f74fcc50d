/**
 * Typed bytes reach the host in order, one request at a time, batched while
 * a request is in flight, and bounded.
 */
import { describe, expect, it } from 'vitest';
import { SerialInputQueue } from '../../renderer/src/logic/serialInputQueue.ts';

function deferredSender() {
  const calls: { bytes: number[]; resolve: () => void; reject: (e: unknown) => void }[] = [];
  const send = (bytes: Uint8Array) =>
    new Promise<void>((resolve, reject) => calls.push({ bytes: [...bytes], resolve, reject }));
  return { calls, send };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('SerialInputQueue', () => {
  it('sends one batch at a time and joins what was typed meanwhile, in order', async () => {
    const { calls, send } = deferredSender();
    const queue = new SerialInputQueue(send);
    queue.push(new Uint8Array([1]));
    queue.push(new Uint8Array([2, 3]));
    queue.push(new Uint8Array([4]));
    expect(calls.map((c) => c.bytes)).toEqual([[1]]);
    calls[0]!.resolve();
    await tick();
    expect(calls.map((c) => c.bytes)).toEqual([[1], [2, 3, 4]]);
    expect(queue.idle).toBe(false);
    calls[1]!.resolve();
    await tick();
    expect(queue.idle).toBe(true);
  });

  it('reports a failed send and goes on with the next batch', async () => {
    const { calls, send } = deferredSender();
    const errors: unknown[] = [];
    const queue = new SerialInputQueue(send, (e) => errors.push(e));
    queue.push(new Uint8Array([1]));
    queue.push(new Uint8Array([2]));
    calls[0]!.reject(new Error('offline'));
    await tick();
    expect(errors).toEqual([new Error('offline')]);
    expect(calls.map((c) => c.bytes)).toEqual([[1], [2]]);
  });

  it('drops input beyond the bound instead of growing', async () => {
    const { calls, send } = deferredSender();
    const queue = new SerialInputQueue(send, () => {}, 4);
    queue.push(new Uint8Array([1, 2, 3])); // in flight
    queue.push(new Uint8Array([4, 5, 6])); // waiting: 3 of 4 bytes
    queue.push(new Uint8Array([7, 8])); // would make 5: dropped
    queue.push(new Uint8Array([9])); // fits: 4 of 4
    expect(queue.dropped).toBe(2);
    calls[0]!.resolve();
    await tick();
    expect(calls.map((c) => c.bytes)).toEqual([[1, 2, 3], [4, 5, 6, 9]]);
  });
});
