import { describe, expect, it } from 'vitest';
import { VgaAdapter } from '../../../core/devices/vga/vga.ts';
import { makeTestBoard } from '../testBoard.ts';

function board() {
  const b = makeTestBoard(1024 * 1024);
  const vga = new VgaAdapter(b.bus, b.clock);
  const seq = (i: number, v: number) => b.outw(0x3c4, (v << 8) | i);
  const gfx = (i: number, v: number) => b.outw(0x3ce, (v << 8) | i);
  /** The state a driver sets to reach the planes one at a time (what vgacon and the BIOS do to load a font). */
  const planar = () => {
    seq(0x04, 0x06); // memory mode: odd/even off, extended memory
    gfx(0x05, 0x00); // write mode 0, read mode 0, no host odd/even
    gfx(0x06, 0x04); // A0000-AFFFF, no chaining
  };
  return { ...b, vga, seq, gfx, planar };
}

describe('VGA planes and write modes', () => {
  it('keeps the font plane (2) apart from text: planar access at 0xA0000 with the map mask, then back to text', () => {
    const b = board();
    b.bus.write16(0xb8000, 0x0741); // 'A' in text mode
    b.planar();
    b.seq(0x02, 0x04); // map mask: plane 2
    b.bus.write8(0xa0000 + 0x41 * 32, 0x18); // first scan line of glyph 'A'
    b.gfx(0x04, 0x02); // read map 2
    expect(b.bus.read8(0xa0000 + 0x41 * 32)).toBe(0x18);
    b.gfx(0x04, 0x00);
    expect(b.bus.read8(0xa0000)).toBe(0x41); // plane 0 offset 0: the character
    b.gfx(0x04, 0x01);
    expect(b.bus.read8(0xa0000)).toBe(0x07); // plane 1 offset 0: its attribute
    expect(b.bus.read8(0xb8000)).toBe(0xff); // B8000 is outside the A0000-AFFFF map now
    b.bus.write8(0xb8000, 0x55); // ignored
    // back to text mode 3
    b.seq(0x02, 0x03);
    b.seq(0x04, 0x02);
    b.gfx(0x04, 0x00);
    b.gfx(0x05, 0x10);
    b.gfx(0x06, 0x0e);
    const s = b.vga.screen();
    expect(s.mode === 'text' && s.lines[0].slice(0, 2)).toBe('A ');
    expect(b.bus.read8(0xa0000)).toBe(0xff); // A0000 is outside the B8000 map
  });

  it('write mode 0 with set/reset, rotation, logical operation and bit mask against the latches', () => {
    const b = board();
    b.planar();
    b.seq(0x02, 0x0f);
    b.bus.write8(0xa0010, 0xf0); // all planes 0xF0
    b.bus.read8(0xa0010); // load latches
    b.gfx(0x01, 0x05); // set/reset enabled for planes 0 and 2
    b.gfx(0x00, 0x01); // plane 0 from set/reset = 1s, plane 2 = 0s
    b.gfx(0x08, 0x3c); // bit mask: only bits 2-5 come from the new data
    b.gfx(0x03, 0x01 | (3 << 3)); // rotate right by 1, XOR with the latches
    b.bus.write8(0xa0010, 0x81); // rotated: 0xC0
    const plane = (p: number) => {
      b.gfx(0x04, p);
      return b.bus.read8(0xa0010);
    };
    // plane 0: (0xFF ^ 0xF0) & 0x3C | 0xF0 & ~0x3C = 0x0C | 0xC0
    // plane 1: (0xC0 ^ 0xF0) & 0x3C | 0xC0 = 0x30 | 0xC0; plane 2: (0x00 ^ 0xF0) & 0x3C | 0xC0 = 0x30 | 0xC0; plane 3 as plane 1
    expect([plane(0), plane(1), plane(2), plane(3)]).toEqual([0xcc, 0xf0, 0xf0, 0xf0]);
  });

  it('write mode 1 copies the latches (a screen-to-screen copy), write modes 2 and 3, read mode 1 colour compare', () => {
    const b = board();
    b.planar();
    b.seq(0x02, 0x0f);
    b.gfx(0x05, 0x02); // write mode 2: bit p of the CPU byte fills plane p
    b.bus.write8(0xa0000, 0x05); // planes 0 and 2 = 0xFF, 1 and 3 = 0x00
    b.gfx(0x05, 0x01); // write mode 1
    b.bus.read8(0xa0000);
    b.bus.write8(0xa0001, 0x00);
    b.gfx(0x05, 0x08); // read mode 1
    b.gfx(0x02, 0x05); // colour compare 0101
    b.gfx(0x07, 0x0f); // all planes matter
    expect(b.bus.read8(0xa0001)).toBe(0xff);
    b.gfx(0x02, 0x04);
    expect(b.bus.read8(0xa0001)).toBe(0x00);
    b.gfx(0x07, 0x0e); // plane 0 does not matter
    expect(b.bus.read8(0xa0001)).toBe(0xff);
    // Write mode 3: set/reset colour, rotated CPU byte ANDed into the bit mask.
    b.gfx(0x05, 0x03);
    b.gfx(0x00, 0x0a); // planes 1 and 3 get 1s, 0 and 2 get 0s
    b.gfx(0x08, 0xff);
    b.gfx(0x03, 0x00);
    b.bus.read8(0xa0002); // latches: plane 0 = 0x20 and plane 1 = 0x07 (the blank screen's second cell), planes 2-3 = 0
    b.bus.write8(0xa0002, 0x0f);
    b.gfx(0x05, 0x00);
    const plane = (p: number) => {
      b.gfx(0x04, p);
      return b.bus.read8(0xa0002);
    };
    // bit mask 0x0F: low nibble from set/reset, high nibble kept from the latches
    expect([plane(0), plane(1), plane(2), plane(3)]).toEqual([0x20, 0x0f, 0x00, 0x0f]);
  });

  it('chain-4 (mode 13h style) puts consecutive bytes in consecutive planes', () => {
    const b = board();
    b.seq(0x04, 0x0e); // chain-4, odd/even off
    b.seq(0x02, 0x0f);
    b.gfx(0x05, 0x40);
    b.gfx(0x06, 0x05); // graphics, A0000 64K
    b.bus.write32(0xa0004, 0x44332211);
    expect(b.bus.read32(0xa0004)).toBe(0x44332211);
    b.seq(0x04, 0x06); // unchain: the four bytes are at offset 4 of planes 0-3
    for (let p = 0; p < 4; p++) {
      b.gfx(0x04, p);
      expect(b.bus.read8(0xa0004)).toBe(0x11 * (p + 1));
    }
  });
});
