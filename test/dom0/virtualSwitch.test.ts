/** dom0's learning switch: flooding of broadcast and unknown destinations, learned unicast, malformed frames dropped. */
import { describe, expect, it } from 'vitest';
import { VirtualSwitch, internalNetwork } from '../../core/dom0/virtualSwitch.ts';

const frame = (dst: number[], src: number[], length = 60) => {
  const f = new Uint8Array(length);
  f.set(dst, 0);
  f.set(src, 6);
  return f;
};
const A = [0x52, 0x54, 0, 0, 0, 0xa];
const B = [0x52, 0x54, 0, 0, 0, 0xb];
const C = [0x52, 0x54, 0, 0, 0, 0xc];
const BROADCAST = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];

describe('virtual switch', () => {
  it('floods broadcasts and unknown unicast, then sends learned unicast to one port only', () => {
    const sw = new VirtualSwitch('t');
    const got: string[] = [];
    const pa = sw.attach(() => got.push('a'));
    const pb = sw.attach(() => got.push('b'));
    sw.attach(() => got.push('c'));
    sw.send(pa, frame(BROADCAST, A));
    expect(got.splice(0)).toEqual(['b', 'c']);
    sw.send(pa, frame(B, A)); // B not learned yet: flooded
    expect(got.splice(0)).toEqual(['b', 'c']);
    sw.send(pb, frame(A, B)); // A was learned on port a
    expect(got.splice(0)).toEqual(['a']);
    sw.send(pa, frame(B, A));
    expect(got.splice(0)).toEqual(['b']);
    sw.send(pa, frame(C, A));
    expect(got.splice(0)).toEqual(['b', 'c']);
    expect(sw.forwarded).toBe(8);
  });

  it('drops runt, oversized and foreign-port frames', () => {
    const sw = new VirtualSwitch('t');
    let got = 0;
    const pa = sw.attach(() => got++);
    sw.attach(() => got++);
    sw.send(pa, new Uint8Array(13));
    sw.send(pa, new Uint8Array(1519));
    sw.send(99, frame(BROADCAST, A));
    expect(got).toBe(0);
    expect(sw.dropped).toBe(3);
  });

  it('never forwards a frame from an isolated port to another isolated port, flooded or learned', () => {
    const sw = new VirtualSwitch('t');
    const got: string[] = [];
    const local = sw.attach(() => got.push('local'));
    const peer1 = sw.attach(() => got.push('peer1'), { isolated: true });
    const peer2 = sw.attach(() => got.push('peer2'), { isolated: true });
    sw.send(peer1, frame(BROADCAST, A));
    expect(got.splice(0)).toEqual(['local']);
    sw.send(peer2, frame(A, B)); // A learned behind peer1: not reachable from peer2
    expect(got.splice(0)).toEqual([]);
    sw.send(local, frame(BROADCAST, C));
    expect(got.splice(0)).toEqual(['peer1', 'peer2']);
    sw.send(local, frame(A, C));
    expect(got.splice(0)).toEqual(['peer1']);
    sw.send(peer1, frame(C, A));
    expect(got.splice(0)).toEqual(['local']);
  });

  it('gives every machine naming the same internal network the same switch', () => {
    expect(internalNetwork('lab')).toBe(internalNetwork('lab'));
    expect(internalNetwork('lab')).not.toBe(internalNetwork('other'));
  });
});
