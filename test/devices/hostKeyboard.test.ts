import { describe, expect, it } from 'vitest';
import { I8042 } from '../../core/devices/i8042.ts';
import { HostKeyboard } from '../../core/devices/hostKeyboard.ts';
import { isPs2Key, ps2Scancodes } from '../../core/devices/ps2Scancodes.ts';
import { makeTestBoard } from './testBoard.ts';

describe('PS/2 scancodes for host keys', () => {
  it('gives set 1 and set 2 makes and breaks, with E0 for extended keys', () => {
    expect(ps2Scancodes('KeyA', true, 1)).toEqual([0x1e]);
    expect(ps2Scancodes('KeyA', false, 1)).toEqual([0x9e]);
    expect(ps2Scancodes('KeyA', true, 2)).toEqual([0x1c]);
    expect(ps2Scancodes('KeyA', false, 2)).toEqual([0xf0, 0x1c]);
    expect(ps2Scancodes('ArrowUp', true, 1)).toEqual([0xe0, 0x48]);
    expect(ps2Scancodes('ArrowUp', false, 1)).toEqual([0xe0, 0xc8]);
    expect(ps2Scancodes('ArrowUp', false, 2)).toEqual([0xe0, 0xf0, 0x75]);
    expect(ps2Scancodes('Enter', true, 2)).toEqual([0x5a]);
    expect(ps2Scancodes('NumpadEnter', true, 2)).toEqual([0xe0, 0x5a]);
    expect(ps2Scancodes('Pause', false, 1)).toEqual([]);
    expect(ps2Scancodes('Launch', true, 1)).toEqual([]);
    expect(isPs2Key('F12')).toBe(true);
    expect(isPs2Key('toString')).toBe(false);
  });
});

describe('host keyboard into the i8042', () => {
  function setup() {
    const b = makeTestBoard();
    const kbc = new I8042(b.bus, () => {}, () => {});
    return { b, kbc, keys: new HostKeyboard(kbc) };
  }
  const readAll = (b: ReturnType<typeof makeTestBoard>) => {
    const out: number[] = [];
    while (b.inb(0x64) & 1) out.push(b.inb(0x60));
    return out;
  };

  it('sends set 1 while the controller translates, and queues beyond the keyboard buffer', () => {
    const { b, keys } = setup();
    const typed = 'hello world'.split('').map((c) => (c === ' ' ? 'Space' : `Key${c.toUpperCase()}`));
    keys.keyEvents(typed.flatMap((code) => [{ code, down: true }, { code, down: false }])); // 22 bytes > 16
    const got = readAll(b);
    expect(got.length).toBeLessThan(22);
    keys.drain();
    got.push(...readAll(b));
    expect(got).toEqual([0x23, 0xa3, 0x12, 0x92, 0x26, 0xa6, 0x26, 0xa6, 0x18, 0x98, 0x39, 0xb9, 0x11, 0x91, 0x18, 0x98, 0x13, 0x93, 0x26, 0xa6, 0x20, 0xa0]);
  });

  it('sends the keyboard set (2) when translation is off', () => {
    const { b, keys } = setup();
    b.outb(0x64, 0x60);
    b.outb(0x60, 0x03); // command byte: interrupts on, translation off
    keys.keyEvents([{ code: 'KeyA', down: true }, { code: 'KeyA', down: false }]);
    expect(readAll(b)).toEqual([0x1c, 0xf0, 0x1c]);
  });
});
