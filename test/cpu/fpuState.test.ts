/**
 * The x87 state object: power-on and FNINIT states, tag derivation, and
 * saveState/loadState (exact NaN payloads, hostile snapshots).
 */
import { describe, expect, it } from 'vitest';
import { Fpu } from '../../core/cpu/fpu/fpu.ts';

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
    f.push(1);
    f.status = 0xbfff;
    f.init();
    expect([f.control, f.statusWord(), f.tagWord()]).toEqual([0x037f, 0, 0xffff]);
    expect(levels).toEqual([true, false]);
  });

  it('derives tags from the values: valid, zero, special, empty', () => {
    const f = new Fpu();
    f.init();
    f.push(1.5); // R7 valid
    f.push(-0); // R6 zero
    f.push(Infinity); // R5 special
    f.push(NaN); // R4 special
    expect(f.tagWord()).toBe(0xff << 0 | 0b00_01_10_10 << 8);
  });

  it('round-trips through saveState/loadState, NaN payloads included', () => {
    const f = new Fpu();
    f.init();
    f.push(2.5);
    f.setBits(0, 0x7ff0_0000, 0x1234); // an SNaN with a payload over the 2.5
    f.push(-3);
    f.setExact(0, 0xbfff, 0xc000_0000, 1); // an 80-bit image beside the binary64 value
    f.control = 0x0b7f;
    f.status = 0x4321 & ~0x3800;
    f.fip = 0x1234_5678; f.fcs = 0x23; f.fdp = 0x9abc; f.fds = 0x2b; f.fop = 0x5d9;
    const snapshot = JSON.parse(JSON.stringify(f.saveState()));
    const g = new Fpu();
    g.loadState(snapshot);
    expect(Array.from(g.bits)).toEqual(Array.from(f.bits));
    expect(Array.from(g.exact)).toEqual(Array.from(f.exact));
    expect(g.exactMask).toBe(1 << f.phys(0));
    expect([g.empty, g.top, g.control, g.statusWord(), g.tagWord(), g.fip, g.fcs, g.fdp, g.fds, g.fop])
      .toEqual([f.empty, f.top, f.control, f.statusWord(), f.tagWord(), f.fip, f.fcs, f.fdp, f.fds, f.fop]);
  });

  it('any write other than a copy drops the exact 80-bit shadow', () => {
    const f = new Fpu();
    f.init();
    f.push(1);
    f.setExact(0, 0x3fff, 0x8000_0000, 1);
    f.push(0);
    f.copy(0, 1); // FLD ST(1): the copy keeps it
    expect([f.hasExact(0), f.hasExact(1)]).toEqual([true, true]);
    f.swap(0, 1);
    f.changeSign(0, true); // FCHS keeps it, sign flipped
    expect(f.exact[3 * f.phys(0) + 2]).toBe(0xbfff);
    f.set(0, 2); // an arithmetic result does not
    expect([f.hasExact(0), f.hasExact(1)]).toEqual([false, true]);
  });

  it('loads a malformed snapshot without throwing, with fields masked to their widths', () => {
    const g = new Fpu();
    g.loadState({ st: 'x', empty: 0x1ff, top: 9, control: -1, status: 'junk' });
    expect([g.empty, g.top, g.control, g.status]).toEqual([0xff, 1, 0xffff, 0]);
    g.loadState(undefined);
    expect(g.top).toBe(0);
  });
});
