/**
 * The x87 basic arithmetic on register values: add, subtract, multiply,
 * divide, square root and compare, with the x87's special-operand rules
 * (NaN propagation, invalid operations, zero divide) and its flags. Results
 * are binary64, rounded by RC: the nearest result comes from the JS
 * operation, and the exact error (error-free transformations) decides PE,
 * C1 (rounded up) and the directed-rounding step. Precision control is
 * honoured for PC = 00 (24-bit significand); PC = 10 and 11 both give 53
 * bits (binary64 registers).
 */
import { RC_DOWN, RC_NEAREST, RC_UP, SW_IE, SW_OE, SW_PE, SW_ZE } from './fpu.ts';
import { acc, finishRound, INDEFINITE, isSNaN, productError, propagateNaN, signBit, sumError } from './numeric.ts';

/** Masked overflow response by RC: infinity when rounding away from zero, else the largest finite value. */
function overflow(neg: boolean, rc: number): number {
  acc.flags |= SW_OE | SW_PE;
  const toInf = rc === RC_NEAREST || (rc === RC_UP && !neg) || (rc === RC_DOWN && neg);
  acc.roundedUp = toInf;
  const v = toInf ? Infinity : Number.MAX_VALUE;
  return neg ? -v : v;
}

function invalid(): number {
  acc.flags |= SW_IE;
  return INDEFINITE;
}

export function fadd(a: number, b: number, rc: number): number {
  if (a !== a || b !== b) return propagateNaN(a, b);
  const aInf = a === Infinity || a === -Infinity, bInf = b === Infinity || b === -Infinity;
  if (aInf || bInf) {
    if (aInf && bInf && a !== b) return invalid(); // inf - inf
    return aInf ? a : b;
  }
  const s = a + b;
  if (s === Infinity || s === -Infinity) return overflow(s < 0, rc);
  if (s === 0) {
    // An exact zero sum of opposite-signed operands is +0, or -0 when rounding down.
    if (a === 0 && b === 0) return signBit(a) && signBit(b) ? -0 : rc === RC_DOWN && (signBit(a) || signBit(b)) ? -0 : 0;
    const e = sumError(a, b, s);
    if (e === 0) return rc === RC_DOWN ? -0 : 0;
    return finishRound(s, e, rc);
  }
  return finishRound(s, sumError(a, b, s), rc);
}

export function fsub(a: number, b: number, rc: number): number {
  if (b !== b) return propagateNaN(a, b);
  return fadd(a, -b, rc);
}

export function fmul(a: number, b: number, rc: number): number {
  if (a !== a || b !== b) return propagateNaN(a, b);
  const aInf = a === Infinity || a === -Infinity, bInf = b === Infinity || b === -Infinity;
  if ((aInf && b === 0) || (bInf && a === 0)) return invalid(); // 0 * inf
  const p = a * b;
  if (aInf || bInf) return p;
  if (p === Infinity || p === -Infinity) return overflow(p < 0, rc);
  const e = productError(a, b, p);
  if (e !== e) {
    // Outside the range where the error is computable exactly: a result that
    // vanished or went denormal is certainly inexact.
    if (a !== 0 && b !== 0 && Math.abs(p) < 2.2250738585072014e-308) acc.flags |= SW_PE;
    return finishRound(p, 0, rc);
  }
  return finishRound(p, e, rc);
}

export function fdiv(a: number, b: number, rc: number): number {
  if (a !== a || b !== b) return propagateNaN(a, b);
  const aInf = a === Infinity || a === -Infinity, bInf = b === Infinity || b === -Infinity;
  if ((aInf && bInf) || (a === 0 && b === 0)) return invalid();
  if (b === 0) {
    acc.flags |= SW_ZE;
    return signBit(a) !== signBit(b) ? -Infinity : Infinity;
  }
  const q = a / b;
  if (aInf || bInf) return q;
  if (q === Infinity || q === -Infinity) return overflow(q < 0, rc);
  if (q === 0) {
    if (a !== 0) acc.flags |= SW_PE;
    return q;
  }
  const p = q * b;
  const pe = productError(q, b, p);
  if (pe !== pe) {
    if (Math.abs(q) < 2.2250738585072014e-308) acc.flags |= SW_PE;
    return finishRound(q, 0, rc);
  }
  const rem = (a - p) - pe; // a - q*b exactly
  // exact quotient = q + rem / b
  return finishRound(q, rem === 0 ? 0 : (rem > 0) === (b > 0) ? 1 : -1, rc);
}

export function fsqrt(a: number, rc: number): number {
  if (a !== a) return propagateNaN(a, a);
  if (a === 0) return a; // keeps -0
  if (a < 0) return invalid();
  if (a === Infinity) return a;
  const r = Math.sqrt(a);
  const p = r * r;
  const pe = productError(r, r, p);
  if (pe !== pe) {
    // Very large/small operands: scale by an even power of two (exact) and check there.
    const k = a > 1 ? -600 : 600;
    const as = a * 2 ** k, rs = r * 2 ** (k / 2);
    const ps = rs * rs, pes = productError(rs, rs, ps);
    if (pes !== pes) return finishRound(r, 0, rc);
    const rem = (as - ps) - pes;
    return finishRound(r, rem, rc);
  }
  const rem = (a - p) - pe;
  return finishRound(r, rem, rc);
}

/** Compare results, as indexes into the condition-code tables. */
export const CMP_GT = 0, CMP_LT = 1, CMP_EQ = 2, CMP_UN = 3;

/**
 * Compares a with b. Ordered compares (FCOM, FTST, FICOM, FCOMI) signal IE on
 * any NaN; unordered ones (FUCOM, FUCOMI) only on an SNaN.
 */
export function fcompare(a: number, b: number, unordered: boolean): number {
  if (a !== a || b !== b) {
    if (!unordered || isSNaN(a) || isSNaN(b)) acc.flags |= SW_IE;
    return CMP_UN;
  }
  return a > b ? CMP_GT : a < b ? CMP_LT : CMP_EQ;
}
