import { describe, expect, it } from 'vitest';
import { ScrollbackRing, SerialStream } from '../../core/host/serialStream.ts';

const bytes = (text: string) => new TextEncoder().encode(text);
const text = (data: Uint8Array) => new TextDecoder().decode(data);

describe('ScrollbackRing', () => {
  it('keeps everything below capacity', () => {
    const ring = new ScrollbackRing(8);
    ring.push(bytes('abc'));
    ring.push(bytes('de'));
    expect(text(ring.snapshot())).toBe('abcde');
  });

  it('keeps the most recent bytes once full, across the wrap', () => {
    const ring = new ScrollbackRing(8);
    ring.push(bytes('abcdef'));
    ring.push(bytes('ghij'));
    expect(text(ring.snapshot())).toBe('cdefghij');
    ring.push(bytes('k'));
    expect(text(ring.snapshot())).toBe('defghijk');
  });

  it('keeps the tail of a push larger than the capacity', () => {
    const ring = new ScrollbackRing(4);
    ring.push(bytes('xy'));
    ring.push(bytes('0123456789'));
    expect(text(ring.snapshot())).toBe('6789');
    expect(ring.length).toBe(4);
  });

  it('empties on clear', () => {
    const ring = new ScrollbackRing(4);
    ring.push(bytes('ab'));
    ring.clear();
    expect(ring.snapshot().length).toBe(0);
    ring.push(bytes('c'));
    expect(text(ring.snapshot())).toBe('c');
  });
});

describe('SerialStream', () => {
  it('replays the scrollback in one call to a new subscriber, then delivers live output', () => {
    const stream = new SerialStream(16);
    stream.publish(bytes('boot\n'));
    stream.publish(bytes('login: '));
    const got: string[] = [];
    stream.subscribe({ deliver: (d) => got.push(text(d)) });
    stream.publish(bytes('root'));
    expect(got).toEqual(['boot\nlogin: ', 'root']);
  });

  it('sends nothing on subscribe when there is no scrollback', () => {
    const got: string[] = [];
    new SerialStream(16).subscribe({ deliver: (d) => got.push(text(d)) });
    expect(got).toEqual([]);
  });

  it('skips live output to a subscriber whose backlog is over the limit and tells it how much it missed', () => {
    const stream = new SerialStream(64, 10);
    let backlog = 0;
    const slow: string[] = [];
    const fast: string[] = [];
    stream.subscribe({ deliver: (d) => slow.push(text(d)), backlog: () => backlog });
    stream.subscribe({ deliver: (d) => fast.push(text(d)) });
    stream.publish(bytes('one'));
    backlog = 11;
    stream.publish(bytes('two'));
    stream.publish(bytes('three'));
    backlog = 0;
    stream.publish(bytes('four'));
    expect(fast).toEqual(['one', 'two', 'three', 'four']);
    expect(slow).toEqual(['one', '\r\n[popek: the console fell behind; 8 bytes of output skipped]\r\n', 'four']);
    expect(text(stream.scrollback.snapshot())).toBe('onetwothreefour');
  });

  it('keeps delivering to others when one subscriber throws, and stops after unsubscribe', () => {
    const stream = new SerialStream(16);
    const got: string[] = [];
    stream.subscribe({
      deliver: () => {
        throw new Error('closed socket');
      },
    });
    const unsubscribe = stream.subscribe({ deliver: (d) => got.push(text(d)) });
    stream.publish(bytes('a'));
    unsubscribe();
    stream.publish(bytes('b'));
    expect(got).toEqual(['a']);
    expect(stream.subscriberCount).toBe(1);
  });
});
