/**
 * Randomized x87 checks against the host's x87 (the oracle: fpuOracle.c
 * built with the host gcc; skipped on hosts that are not x86-64 or lack
 * gcc). Each operation runs a few hundred seeded cases under every
 * precision control, rounding control and (for OE/UE) mask setting, on
 * operands of every class (normals at the exponent extremes, denormals,
 * pseudo-denormals, zeros, infinities, QNaNs, SNaNs, unnormals,
 * pseudo-NaNs), and must give the host's 80-bit results and status words
 * bit for bit.
 */
import { describe, expect, it } from 'vitest';
import { buildOracle, type Case, Gen, type Outcome, runEmulated, runOracle, show } from './fpuOracleUtil.ts';

const oracle = buildOracle();

function mismatches(cases: Case[], want: Outcome[], got: Outcome[]): string[] {
  const bad: string[] = [];
  for (let k = 0; k < cases.length; k++) {
    const w = want[k], g = got[k], c = cases[k];
    const same = w.sw === g.sw && show(w.r) === show(g.r) && show(w.r2) === show(g.r2);
    if (!same) {
      bad.push(`${c.op} cw=${c.cw.toString(16)} a=${show(c.a)} b=${show(c.b)}: host ${show(w.r)} ${show(w.r2)} sw=${w.sw.toString(16)}` +
        ` / emulated ${show(g.r)} ${show(g.r2)} sw=${g.sw.toString(16)}`);
    }
  }
  return bad;
}

function check(op: string, cases: Case[]): void {
  const want = runOracle(oracle!, cases);
  const got = runEmulated(op, cases);
  expect(mismatches(cases, want, got).slice(0, 10)).toEqual([]);
}

const N = 3000;

describe.skipIf(oracle === null)('x87 against the host x87', () => {
  for (const [k, op] of ['add', 'sub', 'mul', 'div', 'sqrt'].entries()) {
    it(`${op}: every PC and RC, bit for bit with flags and C1`, () => {
      check(op, new Gen(1000 + k).cases(op, N));
    });
  }

  for (const [k, op] of ['rndint', 'scale', 'xtract', 'prem', 'prem1'].entries()) {
    it(`${op}: exact results and flags`, () => {
      check(op, new Gen(2000 + k).cases(op, N));
    });
  }

  for (const [k, op] of ['com', 'ucom', 'tst', 'xam'].entries()) {
    it(`${op}: condition codes and flags`, () => {
      check(op, new Gen(3000 + k).cases(op, N));
    });
  }

  for (const [k, op] of ['st32', 'st64', 'bstp', 'ld32', 'ld64'].entries()) {
    it(`${op}: conversions by RC with flags`, () => {
      const g = new Gen(4000 + k);
      const cases = g.cases(op, N);
      if (op === 'ld32' || op === 'ld64') for (const c of cases) { c.a.hi = g.u32(); c.a.lo = g.u32(); }
      check(op, cases);
    });
  }

  for (const [k, op] of ['ist16', 'ist32', 'ist64', 'bstp'].entries()) {
    it(`${op}: integer conversions near and beyond the range, by RC`, () => {
      const g = new Gen(5000 + k);
      const cases = g.cases(op, N);
      const bits = op === 'ist16' ? 16 : op === 'ist32' ? 32 : op === 'ist64' ? 64 : 60;
      for (const c of cases) {
        if (g.int(4) !== 0) c.a.se = (c.a.se & 0x8000) | (0x3fff - 2 + g.int(bits + 3));
      }
      check(op, cases);
    });
  }
});
