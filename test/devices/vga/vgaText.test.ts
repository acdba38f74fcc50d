import { describe, expect, it } from 'vitest';
import { VgaAdapter } from '../../../core/devices/vga/vga.ts';
import type { TextScreen } from '../../../core/devices/vga/textScreen.ts';
import { makeTestBoard } from '../testBoard.ts';

function board() {
  const b = makeTestBoard(1024 * 1024);
  const vga = new VgaAdapter(b.bus, b.clock);
  return { ...b, vga };
}

function text(vga: VgaAdapter): TextScreen {
  const s = vga.screen();
  if (s.mode !== 'text') throw new Error('not in a text mode');
  return s;
}

/** Writes a string with one attribute at (row, column) of an 80-column screen, as a driver stores words at 0xB8000. */
function put(b: ReturnType<typeof board>, row: number, column: number, s: string, attribute: number) {
  for (let i = 0; i < s.length; i++) b.bus.write16(0xb8000 + (row * 80 + column + i) * 2, (attribute << 8) | s.charCodeAt(i));
}

describe('VGA text mode 3 (80x25 colour at 0xB8000)', () => {
  it('comes up as the BIOS leaves mode 3: blank grid, cursor at the top left, EGA colours, blink on', () => {
    const { vga } = board();
    const s = text(vga);
    expect([s.columns, s.rows, s.cellHeight]).toEqual([80, 25, 16]);
    expect(s.lines).toHaveLength(25);
    expect(s.lines.every((l) => l === ' '.repeat(80))).toBe(true);
    expect(s.attributes.every((a) => a === 0x07)).toBe(true);
    expect(s.cursor).toEqual({ row: 0, column: 0, startLine: 13, endLine: 14, visible: true });
    expect(s.palette).toEqual([
      '#000000', '#0000aa', '#00aa00', '#00aaaa', '#aa0000', '#aa00aa', '#aa5500', '#aaaaaa',
      '#555555', '#5555ff', '#55ff55', '#55ffff', '#ff5555', '#ff55ff', '#ffff55', '#ffffff',
    ]);
    expect(s.blink).toBe(true);
    expect(s.blanked).toBe(false);
  });

  it('shows characters and attributes written as words, CP437 mapped to Unicode', () => {
    const b = board();
    put(b, 0, 0, 'Hello, VGA', 0x1f);
    b.bus.write8(0xb8000 + (1 * 80 + 79) * 2, 0xdb); // full block, last column of row 1
    b.bus.write8(0xb8000 + (1 * 80 + 79) * 2 + 1, 0x4e);
    b.bus.write32(0xb8000 + 24 * 160, 0x02c4_01c9); // two cells in one dword: ╔ (attr 1) then ─ (attr 2)
    const s = text(b.vga);
    expect(s.lines[0]).toBe('Hello, VGA' + ' '.repeat(70));
    expect(Array.from(s.attributes.subarray(0, 11))).toEqual([0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x1f, 0x07]);
    expect(s.lines[1]).toBe(' '.repeat(79) + '\u2588');
    expect(s.attributes[159]).toBe(0x4e);
    expect(s.lines[24].slice(0, 3)).toBe('\u2554\u2500 ');
    expect(Array.from(s.attributes.subarray(24 * 80, 24 * 80 + 2))).toEqual([0x01, 0x02]);
    // Reads come back from the planes through odd/even addressing.
    expect(b.bus.read16(0xb8000)).toBe(0x1f48);
    expect(b.bus.read32(0xb8000 + 24 * 160)).toBe(0x02c4_01c9);
  });

  it('moves the cursor and changes its shape through CR0A/CR0B/CR0E/CR0F, index and data in one OUT', () => {
    const b = board();
    const at = 12 * 80 + 34;
    b.outw(0x3d4, ((at >> 8) << 8) | 0x0e);
    b.outw(0x3d4, ((at & 0xff) << 8) | 0x0f);
    b.outw(0x3d4, (0x00 << 8) | 0x0a); // block cursor: lines 0-15
    b.outw(0x3d4, (0x0f << 8) | 0x0b);
    expect(text(b.vga).cursor).toEqual({ row: 12, column: 34, startLine: 0, endLine: 15, visible: true });
    b.outb(0x3d4, 0x0e);
    expect(b.inb(0x3d5)).toBe(at >> 8);
    b.outw(0x3d4, (0x20 << 8) | 0x0a); // CR0A bit 5: cursor off
    expect(text(b.vga).cursor.visible).toBe(false);
    b.outw(0x3d4, (0x0e << 8) | 0x0a); // start 14 > end 15? no: 14 <= 15, visible again
    expect(text(b.vga).cursor).toEqual({ row: 12, column: 34, startLine: 14, endLine: 15, visible: true });
    b.outw(0x3d4, (0x0f << 8) | 0x0a);
    b.outw(0x3d4, (0x0d << 8) | 0x0b); // start 15 > end 13: no cursor, as on the hardware
    expect(text(b.vga).cursor.visible).toBe(false);
  });

  it('scrolls by the start address (CR0C/CR0D) the way vgacon does, the cursor staying where memory puts it', () => {
    const b = board();
    put(b, 0, 0, 'first', 0x07);
    put(b, 25, 0, 'row 25 in memory', 0x70); // beyond the visible page
    b.outw(0x3d4, (0x00 << 8) | 0x0c);
    b.outw(0x3d4, (80 << 8) | 0x0d); // start one row (80 characters) later
    const cursorAt = 25 * 80 + 3;
    b.outw(0x3d4, ((cursorAt >> 8) << 8) | 0x0e);
    b.outw(0x3d4, ((cursorAt & 0xff) << 8) | 0x0f);
    const s = text(b.vga);
    expect(s.lines[0]).toBe(' '.repeat(80));
    expect(s.lines[24]).toBe('row 25 in memory' + ' '.repeat(64));
    expect(s.attributes[24 * 80]).toBe(0x70);
    expect(s.cursor).toMatchObject({ row: 24, column: 3, visible: true });
  });

  it('becomes 80x50 with 8-line characters (CR9 = 7) and follows the offset register', () => {
    const b = board();
    b.outw(0x3d4, (0x47 << 8) | 0x09); // max scan line 7 (bit 6: line compare bit 9, kept)
    let s = text(b.vga);
    expect([s.columns, s.rows, s.cellHeight]).toEqual([80, 50, 8]);
    b.outw(0x3d4, (0x06 << 8) | 0x0a);
    b.outw(0x3d4, (0x07 << 8) | 0x0b);
    expect(text(b.vga).cursor).toMatchObject({ startLine: 6, endLine: 7, visible: true });
    // A 40-column logical line (offset 20) with 40 displayed columns (CR1 needs CR11's protection off).
    b.outw(0x3d4, (0x0e << 8) | 0x11);
    b.outw(0x3d4, (39 << 8) | 0x01);
    b.outw(0x3d4, (20 << 8) | 0x13);
    put(b, 0, 40, 'second row', 0x07); // address 40 is the start of row 1 now
    s = text(b.vga);
    expect(s.columns).toBe(40);
    expect(s.lines[1]).toBe('second row' + ' '.repeat(30));
  });

  it('answers the CRTC and input status only at the set the misc output register selects', () => {
    const b = board();
    expect(b.inb(0x3cc)).toBe(0x67);
    b.outb(0x3d4, 0x0f);
    expect(b.inb(0x3d4)).toBe(0x0f);
    expect(b.inb(0x3b4)).toBe(0xff); // mono set floats while colour is selected
    b.outw(0x3b4, (0x55 << 8) | 0x0f); // ignored
    b.outb(0x3d4, 0x0f);
    expect(b.inb(0x3d5)).toBe(0x00);
    b.outb(0x3c2, 0x66); // mono I/O
    expect(b.inb(0x3d5)).toBe(0xff);
    b.outw(0x3b4, (0x35 << 8) | 0x0f);
    expect(b.inb(0x3b5)).toBe(0x35);
    expect(text(b.vga).cursor.column).toBe(0x35);
  });

  it('write-protects CR0-CR7 while CR11 bit 7 is set, except the line compare bit of CR7', () => {
    const b = board();
    b.outw(0x3d4, (0x00 << 8) | 0x01); // CR1 = 0: protected (mode 3 sets CR11 bit 7)
    b.outb(0x3d4, 0x01);
    expect(b.inb(0x3d5)).toBe(0x4f);
    b.outw(0x3d4, (0x00 << 8) | 0x07); // CR7 = 0x1F: only bit 4 may change
    b.outb(0x3d4, 0x07);
    expect(b.inb(0x3d5)).toBe(0x0f);
    b.outw(0x3d4, (0x0e << 8) | 0x11); // unprotect
    b.outw(0x3d4, (0x27 << 8) | 0x01);
    expect(text(b.vga).columns).toBe(40);
  });

  it('toggles the attribute flip-flop: index, data, index; reading input status 1 resets it', () => {
    const b = board();
    b.inb(0x3da);
    b.outb(0x3c0, 0x01); // index 1, PAS clear: the display blanks
    expect(text(b.vga).blanked).toBe(true);
    b.outb(0x3c0, 0x3c); // palette 1 -> DAC 0x3C (bright red in the EGA colours)
    b.outb(0x3c0, 0x21); // index 1 again, PAS set
    expect(b.inb(0x3c0)).toBe(0x21);
    expect(b.inb(0x3c1)).toBe(0x3c);
    b.outb(0x3c0, 0x99); // data write... to index 1 (masked to 6 bits)
    expect(b.inb(0x3c1)).toBe(0x19);
    b.outb(0x3c0, 0x10); // index 0x10 (flip-flop was back at index)
    b.inb(0x3da); // reset: next write is an index even though data was expected
    b.outb(0x3c0, 0x21);
    b.outb(0x3c0, 0x3c);
    b.outb(0x3c0, 0x30); // index 0x10 | PAS
    b.outb(0x3c0, 0x04); // mode control: blink off (bit 3 clear)
    const s = text(b.vga);
    expect(s.blanked).toBe(false);
    expect(s.blink).toBe(false);
    expect(s.palette[1]).toBe('#ff5555');
  });

  it('programs the DAC: write index, three 6-bit components, auto-increment; read back with 0x3C7', () => {
    const b = board();
    b.outb(0x3c8, 0x01); // DAC entry 1 (palette register 1 points at it)
    for (const v of [0x3f, 0x20, 0x41]) b.outb(0x3c9, v); // 0x41 keeps its low 6 bits
    b.outb(0x3c9, 0x11); // entry 2 starts
    expect(b.inb(0x3c8)).toBe(0x02);
    expect(b.inb(0x3c7)).toBe(0);
    b.outb(0x3c7, 0x01);
    expect(b.inb(0x3c7)).toBe(3);
    expect([b.inb(0x3c9), b.inb(0x3c9), b.inb(0x3c9)]).toEqual([0x3f, 0x20, 0x01]);
    expect(b.inb(0x3c9)).toBe(0x00); // entry 2's red: its write is not complete, the old value stays
    expect(text(b.vga).palette[1]).toBe('#ff8204');
    b.outb(0x3c6, 0x00); // pixel mask 0: every colour is DAC entry 0
    expect(text(b.vga).palette.every((c) => c === '#000000')).toBe(true);
  });

  it('shows retrace from the CRTC timing: 449 lines of 31.8 us, vertical retrace on lines 412-413', () => {
    const b = board();
    const lineNs = (100 * 9 * 1e9) / 28_322_000;
    const at = (line: number, fraction: number) => {
      b.setTime(Math.ceil(line * lineNs + fraction * lineNs));
      return b.inb(0x3da) & 0x09;
    };
    expect(at(10, 0.1)).toBe(0x00); // active display
    expect(at(10, 0.9)).toBe(0x01); // horizontal blanking
    expect(at(405, 0.1)).toBe(0x01); // below the displayed lines
    expect(at(412, 0.1)).toBe(0x09); // vertical retrace
    expect(at(413, 0.5)).toBe(0x09);
    expect(at(414, 0.1)).toBe(0x01);
    expect(at(449 + 412, 0.2)).toBe(0x09); // next frame
    expect(b.inb(0x3ba)).toBe(0xff); // mono status floats
  });

  it('reports a graphics mode instead of a text grid', () => {
    const b = board();
    b.outw(0x3ce, (0x05 << 8) | 0x06); // GR6: graphics, A0000 64K
    expect(b.vga.screen()).toEqual({ mode: 'graphics' });
  });

  it('produces a snapshot only when what is shown changed', () => {
    const b = board();
    expect(b.vga.takeScreenIfChanged()).not.toBeNull();
    expect(b.vga.takeScreenIfChanged()).toBeNull();
    put(b, 0, 0, ' ', 0x07); // same character and attribute: nothing shown changed
    expect(b.vga.takeScreenIfChanged()).toBeNull();
    put(b, 3, 2, 'x', 0x07);
    const s = b.vga.takeScreenIfChanged();
    expect(s?.mode === 'text' && s.lines[3]).toBe('  x' + ' '.repeat(77));
    expect(b.vga.takeScreenIfChanged()).toBeNull();
    b.outw(0x3d4, (0x01 << 8) | 0x0f);
    expect(b.vga.takeScreenIfChanged()).toMatchObject({ cursor: { row: 0, column: 1 } });
  });
});
