import { describe, expect, it } from 'vitest';
import { A20Gate } from '../../core/devices/a20Gate.ts';
import { Port92 } from '../../core/devices/port92.ts';
import { makeTestBoard } from './testBoard.ts';

describe('port 0x92 (fast A20 and alternate reset)', () => {
  it('bit 1 drives A20 through the shared gate, ORed with the keyboard controller', () => {
    const b = makeTestBoard();
    const a20 = new A20Gate(b.bus);
    a20.set('kbc', false);
    new Port92(b.bus, a20);
    expect(b.bus.a20Enabled).toBe(false);
    b.outb(0x92, 0x02);
    expect(b.bus.a20Enabled).toBe(true);
    expect(b.inb(0x92)).toBe(0x02);
    a20.set('kbc', true);
    b.outb(0x92, 0x00);
    expect(b.bus.a20Enabled).toBe(true); // the keyboard controller still enables it
    a20.set('kbc', false);
    expect(b.bus.a20Enabled).toBe(false);
  });

  it('bit 0 pulses a reset and reads back 0', () => {
    const b = makeTestBoard();
    const causes: string[] = [];
    new Port92(b.bus, null, { onReset: (c) => causes.push(c) });
    b.outb(0x92, 0x03);
    expect(causes).toEqual(['port92']);
    expect(b.inb(0x92)).toBe(0x02);
  });

  it('reset() clears the register and its A20 request; state round-trips', () => {
    const b = makeTestBoard();
    const a20 = new A20Gate(b.bus);
    a20.set('kbc', false);
    const p = new Port92(b.bus, a20);
    b.outb(0x92, 0x0a);
    const saved = JSON.parse(JSON.stringify(p.saveState()));
    p.reset();
    expect(b.inb(0x92)).toBe(0);
    expect(b.bus.a20Enabled).toBe(false);
    p.loadState(saved);
    expect(b.inb(0x92)).toBe(0x0a);
    expect(b.bus.a20Enabled).toBe(true);
  });
});
