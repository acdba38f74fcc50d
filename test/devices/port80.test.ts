import { describe, expect, it } from 'vitest';
import { Port80 } from '../../core/devices/port80.ts';
import { makeTestBoard } from './testBoard.ts';

describe('port 0x80 POST code sink', () => {
  it('reports each write and reads back the last code', () => {
    const b = makeTestBoard();
    const codes: number[] = [];
    const p = new Port80(b.bus, { onWrite: (c) => codes.push(c) });
    expect(b.inb(0x80)).toBe(0);
    b.outb(0x80, 0x55);
    b.outb(0x80, 0x1aa);
    expect(codes).toEqual([0x55, 0xaa]);
    expect(b.inb(0x80)).toBe(0xaa);
    expect(p.lastCode).toBe(0xaa);
    p.reset();
    expect(b.inb(0x80)).toBe(0);
  });
});
