/**
 * Values of the x87 transcendental functions for finite nonzero operands,
 * evaluated to about 190 bits (bigFloat.ts) and rounded once to 64 bits by
 * RC, so results are within the last place (Intel documents 1 ulp on the
 * P6 and later). The operands' special cases are the instruction module's.
 *
 * Trigonometric reduction is exact with respect to the 66-bit value of pi
 * that Intel's parts use (SDM Vol. 1 8.3.10): x - k * pi66 / 2 is computed
 * exactly in BigInt, so for arguments near multiples of pi the results
 * show the same cancellation a real FPU shows, not the true sine.
 */
import type { Num, X80 } from './ext80.ts';
import { compareMagnitudes, topExponent, zero } from './ext80.ts';
import type { Big } from './bigFloat.ts';
import {
  abs, add, atanhSmall, atanUnit, big, div, expm1Small, LN2, ln, mul, neg, PI, scale2, sinCosSmall, sub,
} from './bigFloat.ts';
import { roundToRegister } from './numeric.ts';

const ONE: Big = { m: 1n, e: 0 };

export function bigOf(n: Num): Big {
  return big(n.neg ? -n.sig : n.sig, n.exp);
}

/** Rounds an approximation of an irrational value (always inexact: a sticky bit below the working precision). */
export function roundBig(v: Big): X80 {
  if (v.m === 0n) return zero(false);
  const negative = v.m < 0n;
  const m = negative ? -v.m : v.m;
  return roundToRegister(negative, (m << STICKY_SHIFT) | 1n, v.e - Number(STICKY_SHIFT), 64);
}
/** The sticky bit goes this far below the approximation (beyond the 64 bits kept even when m is short). */
const STICKY_SHIFT = 72n;

/** pi rounded to 66 bits: pi = P66 * 2^-64. */
const P66 = (0xc90f_daa2_2168_c234n << 2n) | 3n;

/** x = k * pi66/2 + r exactly, |r| <= pi66/4; returns r and k mod 4. */
function reduce(x: Num): { r: Big; quadrant: number } {
  const mag: Num = { neg: false, sig: x.sig, exp: x.exp };
  let r: Big, k = 0n;
  if (topExponent(mag) < -1) {
    r = big(x.sig, x.exp); // below pi/4 already
  } else {
    const e = Math.min(x.exp, -65);
    const X = x.sig << BigInt(x.exp - e);
    const H = P66 << BigInt(-65 - e);
    k = (2n * X + H) / (2n * H);
    r = big(X - k * H, e);
  }
  return { r: x.neg ? neg(r) : r, quadrant: Number((x.neg ? -k : k) & 3n) };
}

/** sin(x), cos(x) for a finite nonzero |x| < 2^63. */
export function sinCos(x: Num): { sin: Big; cos: Big } {
  const { r, quadrant } = reduce(x);
  const sc = sinCosSmall(r);
  switch (quadrant) {
    case 0: return { sin: sc.sin, cos: sc.cos };
    case 1: return { sin: sc.cos, cos: neg(sc.sin) };
    case 2: return { sin: neg(sc.sin), cos: neg(sc.cos) };
    default: return { sin: neg(sc.cos), cos: sc.sin };
  }
}

export function tangent(x: Num): Big {
  const sc = sinCos(x);
  return div(sc.sin, sc.cos);
}

/** atan2(y, x) for finite nonzero operands, in (-pi, pi]. */
export function arcTangent2(y: Num, x: Num): Big {
  const ay = abs(bigOf(y)), ax = abs(bigOf(x));
  let a = compareMagnitudes(y, x) <= 0 ? atanUnit(div(ay, ax)) : sub(scale2(PI, -1), atanUnit(div(ax, ay)));
  if (x.neg) a = sub(PI, a);
  return y.neg ? neg(a) : a;
}

/** pi * num / den (the constant results of FPATAN's special operands). */
export function piTimes(num: number, den: number, negative: boolean): Big {
  const v = div(mul(PI, big(BigInt(num))), big(BigInt(den)));
  return negative ? neg(v) : v;
}

/** log2(x) for x > 0, x not a power of two. */
export function log2Of(x: Num): Big {
  return div(ln(bigOf(x)), LN2);
}

/** log2(1 + x) for x > -1, x != 0. */
export function log2p1Of(x: Num): Big {
  const v = bigOf(x);
  if (topExponent(x) < -2) {
    // ln(1 + x) = 2 atanh(x / (2 + x)), no cancellation near 0.
    const t = div(v, add(big(2n), v));
    return div(scale2(atanhSmall(t), 1), LN2);
  }
  return div(ln(add(ONE, v)), LN2);
}

/** 2^x - 1 for finite nonzero x (beyond |x| = 1, outside the documented range, still the true value). */
export function exp2m1Of(x: Num): Big {
  const v = bigOf(x);
  if (topExponent(x) < 0) return expm1Small(mul(v, LN2));
  // Beyond |x| = 2^15 every result overflows, or is -1 plus far less than its last place.
  if (topExponent(x) >= 15) return x.neg ? { m: -((1n << 300n) - 1n), e: -300 } : { m: 1n, e: 1 << 16 };
  // 2^x = 2^n * 2^f with n = trunc(x), |f| < 1.
  const t = x.exp >= 0 ? x.sig << BigInt(x.exp) : x.sig >> BigInt(-x.exp);
  let n = Number(t);
  if (x.neg) n = -n;
  const f = sub(v, big(BigInt(n)));
  const pow = scale2(add(ONE, expm1Small(mul(f, LN2))), n);
  return sub(pow, ONE);
}
