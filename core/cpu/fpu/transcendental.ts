/**
 * The x87's exact non-arithmetic computations on double-extended values:
 * FPREM/FPREM1 (exact remainders with quotient bits), FSCALE, FXTRACT and
 * FRNDINT. Results are exact, or rounded once at 64 bits (precision control
 * does not apply to these instructions, SDM Vol. 1 8.1.5.2).
 */
import { SW_C0, SW_C1, SW_C2, SW_C3, SW_DE, SW_PE, SW_ZE } from './fpu.ts';
import type { X80 } from './ext80.ts';
import {
  bitLength, classOf, FINITE, INF, infinity, isDenormal, isNaNClass, isNegative, numOf, packExact, topExponent,
  UNSUPPORTED, ZERO, zero,
} from './ext80.ts';
import { acc, invalidResult, packResult, propagateNaN, rnd, roundAt } from './numeric.ts';

/** Output of `partialRemainder`: C3 C2 C1 C0 bits to set (null: leave the condition codes). */
export const remOut = { cc: 0 };

/**
 * FPREM (nearest = false: truncated quotient) / FPREM1 (IEEE remainder).
 * When the exponents differ by D >= 64, the reduction is partial (C2 = 1):
 * the SDM leaves the step N (32..63) to the implementation; like Bochs'
 * model of Intel's, N = 32 + (D mod 32): the remainder modulo
 * ST(1) * 2^(D - N) with a truncated quotient, which lowers the exponent
 * difference by N. Quotient bits are 0 after a partial step.
 */
export function partialRemainder(a: X80, b: X80, nearest: boolean): X80 {
  remOut.cc = 0;
  const ca = classOf(a), cb = classOf(b);
  if (ca === UNSUPPORTED || cb === UNSUPPORTED) return invalidResult();
  if (isNaNClass(ca) || isNaNClass(cb)) return propagateNaN(a, b);
  if (isDenormal(a) || isDenormal(b)) acc.flags |= SW_DE;
  if (ca === INF || cb === ZERO) return invalidResult();
  if (ca === ZERO) return a;
  const x = numOf(a);
  if (cb === INF) return packResult(x.neg, x.sig, x.exp); // a itself (normalized; a tiny one underflows)
  const y = numOf(b);
  const d = topExponent(x) - topExponent(y);
  if (d < 0) {
    // |a| < |b|: quotient 0, remainder a; FPREM1 may still round the quotient to 1 when |a| > |b|/2.
    if (!nearest || d < -1) return packResult(x.neg, x.sig, x.exp);
  }
  const e = Math.min(x.exp, y.exp);
  const A = x.sig << BigInt(x.exp - e);
  let B = y.sig << BigInt(y.exp - e);
  if (d >= 64) {
    const n = (d & 31) | 32;
    B <<= BigInt(d - n);
    const r = A % B;
    remOut.cc = SW_C2;
    return r === 0n ? zero(x.neg) : packResult(x.neg, r, e);
  }
  let q = A / B;
  let r = A - q * B;
  let neg = x.neg;
  if (nearest) {
    const twice = r << 1n;
    if (twice > B || (twice === B && (q & 1n) === 1n)) {
      q += 1n;
      r = B - r;
      neg = !neg;
    }
  }
  const qb = Number(q & 7n);
  remOut.cc = ((qb & 4) !== 0 ? SW_C0 : 0) | ((qb & 2) !== 0 ? SW_C3 : 0) | ((qb & 1) !== 0 ? SW_C1 : 0);
  if (r === 0n) return zero(x.neg);
  return packResult(neg, r, e);
}

/** FSCALE's shift is clamped here: beyond it every finite value overflows or underflows alike. */
const SCALE_LIMIT = 1 << 17;

/** FSCALE: a * 2^trunc(b). */
export function scale(a: X80, b: X80): X80 {
  const ca = classOf(a), cb = classOf(b);
  if (ca === UNSUPPORTED || cb === UNSUPPORTED) return invalidResult();
  if (isNaNClass(ca) || isNaNClass(cb)) return propagateNaN(a, b);
  if (isDenormal(a) || isDenormal(b)) acc.flags |= SW_DE;
  if (cb === INF) {
    const up = !isNegative(b);
    if ((ca === ZERO && up) || (ca === INF && !up)) return invalidResult();
    if (ca === ZERO || ca === INF) return a;
    return up ? infinity(isNegative(a)) : zero(isNegative(a));
  }
  if (ca === ZERO || ca === INF) return a;
  let n = 0;
  if (cb === FINITE) {
    const y = numOf(b);
    const t = y.exp >= 0 ? y.sig << BigInt(y.exp) : y.sig >> BigInt(-y.exp); // |trunc(b)|
    n = t > BigInt(SCALE_LIMIT) ? SCALE_LIMIT : Number(t);
    if (y.neg) n = -n;
  }
  const x = numOf(a);
  return packResult(x.neg, x.sig, x.exp + n);
}

/** Output of `extract`: the exponent (ST(1) after FXTRACT) and significand (ST(0)). */
export const xtractOut: { exponent: X80; significand: X80 } = { exponent: zero(false), significand: zero(false) };

/** FXTRACT's two results; NaN operands give the NaN for both. */
export function extract(a: X80): void {
  const c = classOf(a);
  if (c === UNSUPPORTED || isNaNClass(c)) {
    const r = c === UNSUPPORTED ? invalidResult() : propagateNaN(a);
    xtractOut.exponent = r;
    xtractOut.significand = r;
    return;
  }
  if (c === ZERO) {
    acc.flags |= SW_ZE;
    xtractOut.exponent = infinity(true);
    xtractOut.significand = a;
    return;
  }
  if (c === INF) {
    xtractOut.exponent = infinity(false);
    xtractOut.significand = a;
    return;
  }
  if (isDenormal(a)) acc.flags |= SW_DE;
  const x = numOf(a);
  const e = topExponent(x);
  xtractOut.exponent = e === 0 ? zero(false) : packExact(e < 0, BigInt(Math.abs(e)), 0);
  xtractOut.significand = packExact(x.neg, x.sig, -(bitLength(x.sig) - 1));
}

/** FRNDINT: a rounded to an integer by RC (PE and C1 when it changes). */
export function roundToIntegerValue(a: X80): X80 {
  const c = classOf(a);
  if (c === UNSUPPORTED) return invalidResult();
  if (isNaNClass(c)) return propagateNaN(a);
  if (c === ZERO || c === INF) return a;
  if (isDenormal(a)) acc.flags |= SW_DE;
  const x = numOf(a);
  roundAt(x.neg, x.sig, x.exp, 0, acc.rc);
  if (rnd.inexact) {
    acc.flags |= SW_PE;
    acc.roundedUp = rnd.up;
  }
  return rnd.q === 0n ? zero(x.neg) : packExact(x.neg, rnd.q, rnd.e);
}
