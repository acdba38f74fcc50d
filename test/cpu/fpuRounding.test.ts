/**
 * The x87 basic arithmetic under every rounding control, checked against
 * exact rational arithmetic (BigInt): round-to-nearest must equal the host's
 * IEEE result bit for bit; the directed modes must return the neighbour on
 * the right side of the exact value, with PE and C1 (rounded up in
 * magnitude) telling the truth.
 */
import { describe, expect, it } from 'vitest';
import { fadd, fdiv, fmul, fsqrt, fsub } from '../../core/cpu/fpu/arith.ts';
import { acc, beginArith } from '../../core/cpu/fpu/numeric.ts';
import { RC_CHOP, RC_DOWN, RC_NEAREST, RC_UP } from '../../core/cpu/fpu/fpu.ts';

const dv = new DataView(new ArrayBuffer(8));
function bits(x: number): bigint {
  dv.setFloat64(0, x, true);
  return dv.getBigUint64(0, true);
}
function next(x: number, up: boolean): number {
  if (x === 0) return up ? 5e-324 : -5e-324;
  const b = bits(x);
  dv.setBigUint64(0, (x > 0) === up ? b + 1n : b - 1n, true);
  return dv.getFloat64(0, true);
}

/** A finite double as an exact rational m * 2^e (BigInt m). */
function exact(x: number): { m: bigint; e: number } {
  const b = bits(x);
  const sign = b >> 63n ? -1n : 1n;
  const ex = Number((b >> 52n) & 0x7ffn);
  const frac = b & ((1n << 52n) - 1n);
  if (ex === 0) return { m: sign * frac, e: -1074 };
  return { m: sign * (frac | (1n << 52n)), e: ex - 1075 };
}
/** Sign of (p - q) for rationals m*2^e. */
function cmp(p: { m: bigint; e: number }, q: { m: bigint; e: number }): number {
  const e = Math.min(p.e, q.e);
  const a = p.m << BigInt(p.e - e), b = q.m << BigInt(q.e - e);
  return a > b ? 1 : a < b ? -1 : 0;
}
const add = (p: { m: bigint; e: number }, q: { m: bigint; e: number }) => {
  const e = Math.min(p.e, q.e);
  return { m: (p.m << BigInt(p.e - e)) + (q.m << BigInt(q.e - e)), e };
};
const mul = (p: { m: bigint; e: number }, q: { m: bigint; e: number }) => ({ m: p.m * q.m, e: p.e + q.e });

/** Random doubles in a moderate range (both signs, varied exponents). */
function* samples(n: number): Generator<[number, number]> {
  let s = 0x2545f491;
  const r = () => { s ^= s << 13; s ^= s >>> 17; s ^= s << 5; return (s >>> 0) / 2 ** 32; };
  for (let k = 0; k < n; k++) {
    const a = (r() - 0.5) * 2 ** Math.floor(r() * 80 - 40);
    const b = (r() - 0.5) * 2 ** Math.floor(r() * 80 - 40);
    yield [a, b];
  }
}

/**
 * Checks r against the exact value's position: `side(v)` = sign of (v - exact).
 * RC up: r >= exact > next(r, down); down: r <= exact < next(r, up); chop: |r| <= |exact|, the next one away > |exact|.
 */
function checkDirected(r: number, rc: number, side: (v: number) => number, label: string): void {
  const s = side(r);
  if (s === 0) {
    expect(acc.flags & 0x20, label).toBe(0);
    return;
  }
  expect(acc.flags & 0x20, label).toBe(0x20);
  expect(acc.roundedUp, label).toBe(r > 0 ? s > 0 : s < 0);
  if (rc === RC_UP) { expect(s, label).toBe(1); expect(side(next(r, false)), label).toBe(-1); }
  if (rc === RC_DOWN) { expect(s, label).toBe(-1); expect(side(next(r, true)), label).toBe(1); }
  if (rc === RC_CHOP) {
    expect(r > 0 ? s : -s, label).toBe(-1);
    expect(r > 0 ? side(next(r, true)) : -side(next(r, false)), label).toBe(1);
  }
}

describe('x87 arithmetic rounding against exact arithmetic', () => {
  it('nearest equals IEEE binary64; up/down/chop pick the correct neighbour (add, sub, mul, div, sqrt)', () => {
    for (const [a, b] of samples(1500)) {
      const ea = exact(a), eb = exact(b);
      for (const rc of [RC_NEAREST, RC_DOWN, RC_UP, RC_CHOP]) {
        beginArith(0x027f | (rc << 10));
        let r = fadd(a, b, rc);
        if (rc === RC_NEAREST) expect(bits(r)).toBe(bits(a + b));
        else checkDirected(r, rc, (v) => cmp(exact(v), add(ea, eb)), `add ${a} ${b} rc${rc}`);

        beginArith(0x027f | (rc << 10));
        r = fsub(a, b, rc);
        if (rc === RC_NEAREST) expect(bits(r)).toBe(bits(a - b));

        beginArith(0x027f | (rc << 10));
        r = fmul(a, b, rc);
        if (rc === RC_NEAREST) expect(bits(r)).toBe(bits(a * b));
        else checkDirected(r, rc, (v) => cmp(exact(v), mul(ea, eb)), `mul ${a} ${b} rc${rc}`);

        beginArith(0x027f | (rc << 10));
        r = fdiv(a, b, rc);
        if (rc === RC_NEAREST) expect(bits(r)).toBe(bits(a / b));
        // v vs a/b  <=>  v*b vs a, flipped when b < 0
        else checkDirected(r, rc, (v) => cmp(mul(exact(v), eb), ea) * (b < 0 ? -1 : 1), `div ${a} ${b} rc${rc}`);

        const c = Math.abs(a);
        beginArith(0x027f | (rc << 10));
        r = fsqrt(c, rc);
        if (rc === RC_NEAREST) expect(bits(r)).toBe(bits(Math.sqrt(c)));
        else checkDirected(r, rc, (v) => cmp(mul(exact(v), exact(v)), exact(c)), `sqrt ${c} rc${rc}`);
      }
    }
  });
});
