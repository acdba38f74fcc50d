/** Event channels: pending and mask bits in shared memory, upcalls, delivery on unmask. */
import { describe, expect, it } from 'vitest';
import { EventChannelError, EventChannels } from '../../core/dom0/eventChannel.ts';

describe('event channels', () => {
  it('delivers a send to the bound handler and clears the pending bit first', () => {
    const ch = new EventChannels();
    const seen: [number, boolean][] = [];
    const port = ch.bind('a', (p) => seen.push([p, ch.isPending(p)]));
    expect(port).toBe(1);
    ch.send(port);
    expect(seen).toEqual([[1, false]]);
    expect(ch.sent[port]).toBe(1);
    expect(ch.delivered[port]).toBe(1);
  });

  it('keeps an event pending while masked and delivers it once on unmask', () => {
    const ch = new EventChannels();
    let calls = 0;
    const port = ch.bind('a', () => calls++);
    ch.mask(port);
    ch.send(port);
    ch.send(port);
    expect(calls).toBe(0);
    expect(ch.isPending(port)).toBe(true);
    ch.unmask(port);
    expect(calls).toBe(1);
    expect(ch.isPending(port)).toBe(false);
    ch.unmask(port);
    expect(calls).toBe(1);
  });

  it('keeps the bits in the shared buffer another thread would map', () => {
    const ch = new EventChannels(64);
    const ports = Array.from({ length: 40 }, (_, i) => ch.bind(`p${i}`, () => {}));
    ch.mask(ports[35]);
    ch.send(ports[35]);
    const view = new Int32Array(ch.buffer);
    expect(view.length).toBe(4);
    expect(view[1]).toBe(1 << (ports[35] & 31)); // pending word 1
    expect(view[3]).toBe(1 << (ports[35] & 31)); // mask word 1
    ch.clearPending();
    expect(view[1]).toBe(0);
  });

  it('refuses unbound ports and running out of ports', () => {
    const ch = new EventChannels(32);
    expect(() => ch.send(0)).toThrow(EventChannelError);
    expect(() => ch.send(5)).toThrow(/not bound/);
    for (let i = 1; i < 32; i++) ch.bind(`p${i}`, () => {});
    expect(() => ch.bind('one too many', () => {})).toThrow(/no free/);
  });

  it('raises ports for another thread\'s receiver: notify sets the bit, wait takes it, a masked port is not taken', () => {
    const a = new EventChannels(64);
    const b = new EventChannels(64, a.buffer); // the receiver's view of the same bits
    const request = a.reserve('request');
    const other = a.reserve('other');
    a.notify(request);
    expect(b.isPending(request)).toBe(true);
    expect(b.wait([request, other], 0)).toEqual([request]);
    expect(b.wait([request, other], 5)).toEqual([]);
    b.mask(other);
    a.notify(other);
    expect(b.wait([other], 5)).toEqual([]);
    b.unmask(other);
    expect(b.wait([other], 0)).toEqual([other]);
    expect(() => b.wait([1, 40], 0)).toThrow(EventChannelError);
  });

  it('starts a pending word for ports a receiver polls together, and takes only theirs with takePending', () => {
    const a = new EventChannels(96);
    const first = a.reserve('first');
    a.startWord();
    a.startWord(); // already at the start of a word: stays there
    const done = [a.reserve('done 0'), a.reserve('done 1')];
    expect(first).toBe(1);
    expect(done).toEqual([32, 33]);
    expect(a.reserve('next')).toBe(34);
    const b = new EventChannels(96, a.buffer);
    expect(b.takePending(1, 0b11)).toBe(0);
    a.notify(done[1]);
    a.notify(34);
    expect(b.takePending(1, 0b11)).toBe(0b10);
    expect(b.takePending(1, 0b11)).toBe(0);
    expect(b.isPending(34)).toBe(true); // outside the mask: left pending
    expect(b.delivered[33]).toBe(1);
  });
});
