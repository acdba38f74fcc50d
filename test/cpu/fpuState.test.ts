/**
 * The x87 state object: power-on and FNINIT states, tag derivation, and
 * saveState/loadState (80-bit images, snapshots from the binary64 registers,
 * hostile snapshots).
 */
import { describe, expect, it } from 'vitest';
import { Fpu } from '../../core/cpu/fpu/fpu.ts';
import { fromDouble } from '../../core/cpu/fpu/formats.ts';

describe('Fpu state', () => {
  it('RESET: control 0040H, status 0, tag word 5555H (all +0)', () => {
    const f = new Fpu();
    f.reset();
    expect([f.control, f.statusWord(), f.tagWord()]).toEqual([0x0040, 0, 0x5555]);
  });

  it('FNINIT: control 037FH, status 0, tag word FFFFH; FERR# deasserted', () => {
    const f = new Fpu();
    const levels: boolean[] = [];
    f.onFerr = (l) => levels.push(l);
    f.setFerr(true);
    f.push(fromDouble(1));
    f.status = 0xbfff;
    f.init();
    expect([f.control, f.statusWord(), f.tagWord()]).toEqual([0x037f, 0, 0xffff]);
    expect(levels).toEqual([true, false]);
  });

  it('derives tags from the values: valid, zero, special, empty', () => {
    const f = new Fpu();
    f.init();
    f.push(fromDouble(1.5)); // R7 valid
    f.push(fromDouble(-0)); // R6 zero
    f.push(fromDouble(Infinity)); // R5 special
    f.push(fromDouble(NaN)); // R4 special
    expect(f.tagWord()).toBe(0xff << 0 | 0b00_01_10_10 << 8);
    f.push({ se: 0, hi: 0x4000_0000, lo: 0 }); // R3 denormal: special
    f.push({ se: 0x3fff, hi: 0x4000_0000, lo: 0 }); // R2 unnormal: special
    expect(f.tagWord() >> 4).toBe(0b00_01_10_10_10_10);
  });

  it('round-trips through saveState/loadState, 80-bit images (NaN payloads, unnormals) included', () => {
    const f = new Fpu();
    f.init();
    f.push(fromDouble(2.5));
    f.set(0, { se: 0x7fff, hi: 0x8000_0000, lo: 0x1234 }); // an SNaN with a payload over the 2.5
    f.push({ se: 0xbfff, hi: 0xc000_0000, lo: 1 }); // -1.5 - 2^-63: beyond binary64
    f.push({ se: 0x1234, hi: 0x1234_5678, lo: 0x9abc_def0 }); // an unnormal, kept as it is
    f.control = 0x0b7f;
    f.status = 0x4321 & ~0x3800;
    f.fip = 0x1234_5678; f.fcs = 0x23; f.fdp = 0x9abc; f.fds = 0x2b; f.fop = 0x5d9;
    const snapshot = JSON.parse(JSON.stringify(f.saveState()));
    const g = new Fpu();
    g.loadState(snapshot);
    expect(Array.from(g.regs)).toEqual(Array.from(f.regs));
    expect([g.get(0), g.get(1), g.get(2)]).toEqual([
      { se: 0x1234, hi: 0x1234_5678, lo: 0x9abc_def0 }, { se: 0xbfff, hi: 0xc000_0000, lo: 1 }, { se: 0x7fff, hi: 0x8000_0000, lo: 0x1234 },
    ]);
    expect([g.empty, g.top, g.control, g.statusWord(), g.tagWord(), g.fip, g.fcs, g.fdp, g.fds, g.fop])
      .toEqual([f.empty, f.top, f.control, f.statusWord(), f.tagWord(), f.fip, f.fcs, f.fdp, f.fds, f.fop]);
  });

  it('loads a snapshot from the binary64 registers: exact 80-bit shadows where kept, else the widened value', () => {
    const g = new Fpu();
    // R7 = 1.5 (binary64 words), R6 = binary64 2.0 with an exact shadow 1 + 2^-63, R5 = a binary64 NaN payload.
    const st = new Array(16).fill(0);
    st[15] = 0x3ff8_0000; st[14] = 0;
    st[13] = 0x4000_0000;
    st[11] = 0x7ff0_0000; st[10] = 0x55;
    const exact = new Array(24).fill(0);
    exact[18] = 1; exact[19] = 0x8000_0000; exact[20] = 0x3fff;
    g.loadState({ st, exact, exactMask: 1 << 6, empty: 0x1f, top: 5, control: 0x37f, status: 0 });
    expect([g.get(2), g.get(1), g.get(0)]).toEqual([
      { se: 0x3fff, hi: 0xc000_0000, lo: 0 },
      { se: 0x3fff, hi: 0x8000_0000, lo: 1 },
      { se: 0x7fff, hi: 0x8000_0000, lo: 0x55 << 11 },
    ]);
  });

  it('loads a malformed snapshot without throwing, with fields masked to their widths', () => {
    const g = new Fpu();
    g.loadState({ st: 'x', empty: 0x1ff, top: 9, control: -1, status: 'junk' });
    expect([g.empty, g.top, g.control, g.status]).toEqual([0xff, 1, 0xffff, 0]);
    expect(Array.from(g.regs)).toEqual(new Array(24).fill(0));
    g.loadState({ regs: [1, 2, 0x1_2345, 'x'], empty: 0 });
    expect(g.get(0)).toEqual({ se: 0x2345, hi: 2, lo: 1 });
    g.loadState(undefined);
    expect(g.top).toBe(0);
  });
});
