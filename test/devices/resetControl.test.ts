import { describe, expect, it } from 'vitest';
import { ResetControl } from '../../core/devices/resetControl.ts';
import { makeTestBoard } from './testBoard.ts';

describe('reset control register (0xCF9)', () => {
  it('Linux reboot=pci sequence (0x02 then 0x06/0x0E) requests one hard reset', () => {
    const b = makeTestBoard();
    const causes: string[] = [];
    const rc = new ResetControl({ onReset: (c) => causes.push(c) });
    rc.attach(b.bus);
    b.outb(0xcf9, 0x02);
    expect(causes).toEqual([]);
    expect(b.inb(0xcf9)).toBe(0x02);
    b.outb(0xcf9, 0x0e);
    expect(causes).toEqual(['cf9-hard']);
    expect(b.inb(0xcf9)).toBe(0);
  });

  it('RCPU with SRST clear is a soft reset; only a 0 -> 1 transition of RCPU triggers', () => {
    const rc = new ResetControl({ onReset: (c) => causes.push(c) });
    const causes: string[] = [];
    rc.loadState({ value: 0x04 });
    rc.write(0x04); // already set: no edge
    expect(causes).toEqual([]);
    rc.write(0x00);
    rc.write(0x04);
    expect(causes).toEqual(['cf9-soft']);
  });
});
