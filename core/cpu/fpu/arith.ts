/**
 * The x87 basic arithmetic on double-extended values: add, subtract,
 * multiply, divide, square root and compare, with the x87's special-operand
 * rules (SDM Vol. 1 4.8.3, 8.5; the instruction pages' result tables). Each
 * result is computed exactly with BigInt significands and rounded once by
 * precision and rounding control (numeric.ts).
 *
 * Operand checks, in the SDM's priority order: an unsupported encoding or
 * an SNaN is invalid (IE); a QNaN propagates with no other exception; a
 * denormal operand then signals DE (also beside an infinity); then the
 * invalid combinations (inf - inf, 0 * inf, 0/0, inf/inf, sqrt of a
 * negative) and zero divide.
 */
import { RC_DOWN, SW_DE, SW_IE, SW_ZE } from './fpu.ts';
import type { Num, X80 } from './ext80.ts';
import {
  bitLength, classOf, compareNums, FINITE, INF, infinity, isDenormal, isNaNClass, isNegative, numOf, SNAN,
  UNSUPPORTED, ZERO, zero,
} from './ext80.ts';
import { acc, invalidResult, propagateNaN, roundToRegister } from './numeric.ts';

/**
 * Common operand screening of a two-operand operation. Returns the result
 * when the operands decide it (invalid, NaN), else null; DE is recorded.
 */
function screen(a: X80, ca: number, b: X80, cb: number): X80 | null {
  if (ca === UNSUPPORTED || cb === UNSUPPORTED) return invalidResult();
  if (isNaNClass(ca) || isNaNClass(cb)) return propagateNaN(a, b);
  if (isDenormal(a) || isDenormal(b) || acc.denormalIn) acc.flags |= SW_DE;
  return null;
}

/** Beyond this many bits of exponent difference the smaller addend only acts as a sticky bit. */
const ALIGN_LIMIT = 200;

function addNums(x: Num, y: Num): X80 {
  if (x.sig === 0n && y.sig === 0n) {
    // Exact zero sum: equal signs keep it; opposite signs give +0, or -0 when rounding down.
    if (x.neg === y.neg) return zero(x.neg);
    return zero(acc.rc === RC_DOWN);
  }
  if (x.sig === 0n) return roundToRegister(y.neg, y.sig, y.exp);
  if (y.sig === 0n) return roundToRegister(x.neg, x.sig, x.exp);
  let ex = x.exp, ey = y.exp, sx = x.sig, sy = y.sig;
  if (ex - ey > ALIGN_LIMIT) { sy = 1n; ey = ex - ALIGN_LIMIT; } else if (ey - ex > ALIGN_LIMIT) { sx = 1n; ex = ey - ALIGN_LIMIT; }
  const e = Math.min(ex, ey);
  const vx = (x.neg ? -sx : sx) << BigInt(ex - e);
  const vy = (y.neg ? -sy : sy) << BigInt(ey - e);
  const s = vx + vy;
  if (s === 0n) return zero(acc.rc === RC_DOWN);
  return s < 0n ? roundToRegister(true, -s, e) : roundToRegister(false, s, e);
}

export function fadd(a: X80, b: X80): X80 {
  const ca = classOf(a), cb = classOf(b);
  const s = screen(a, ca, b, cb);
  if (s !== null) return s;
  if (ca === INF || cb === INF) {
    if (ca === INF && cb === INF && isNegative(a) !== isNegative(b)) return invalidResult();
    return infinity(isNegative(ca === INF ? a : b));
  }
  return addNums(numOf(a), numOf(b));
}

export function fsub(a: X80, b: X80): X80 {
  const cb = classOf(b);
  if (cb === FINITE || cb === ZERO || cb === INF) return fadd(a, { se: b.se ^ 0x8000, hi: b.hi, lo: b.lo });
  return fadd(a, b); // NaN / unsupported operand: the sign does not matter to the outcome
}

export function fmul(a: X80, b: X80): X80 {
  const ca = classOf(a), cb = classOf(b);
  const s = screen(a, ca, b, cb);
  if (s !== null) return s;
  const neg = isNegative(a) !== isNegative(b);
  if (ca === INF || cb === INF) {
    if (ca === ZERO || cb === ZERO) return invalidResult();
    return infinity(neg);
  }
  if (ca === ZERO || cb === ZERO) return zero(neg);
  const x = numOf(a), y = numOf(b);
  return roundToRegister(neg, x.sig * y.sig, x.exp + y.exp);
}

/** Significant bits a quotient or root is computed to before its sticky bit (64 + guard bits). */
const WORK_BITS = 68;

export function fdiv(a: X80, b: X80): X80 {
  const ca = classOf(a), cb = classOf(b);
  const s = screen(a, ca, b, cb);
  if (s !== null) return s;
  const neg = isNegative(a) !== isNegative(b);
  if (ca === INF) return cb === INF ? invalidResult() : infinity(neg);
  if (cb === INF) return zero(neg);
  if (cb === ZERO) {
    if (ca === ZERO) return invalidResult();
    acc.flags = (acc.flags & ~SW_DE) | SW_ZE; // a denormal dividend does not signal DE here (host x87)
    return infinity(neg);
  }
  if (ca === ZERO) return zero(neg);
  const x = numOf(a), y = numOf(b);
  const k = Math.max(0, WORK_BITS + bitLength(y.sig) - bitLength(x.sig));
  const num = x.sig << BigInt(k);
  let q = num / y.sig;
  let e = x.exp - y.exp - k;
  if (q * y.sig !== num) { q = (q << 1n) | 1n; e -= 1; } // sticky
  return roundToRegister(neg, q, e);
}

/** Integer square root (floor) of n >= 0. */
export function isqrt(n: bigint): bigint {
  if (n < 2n) return n;
  let x = 1n << BigInt((bitLength(n) >> 1) + 1);
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

export function fsqrt(a: X80): X80 {
  const ca = classOf(a);
  if (ca === UNSUPPORTED) return invalidResult();
  if (isNaNClass(ca)) return propagateNaN(a);
  if (isDenormal(a)) acc.flags |= SW_DE;
  if (ca === ZERO) return a; // keeps -0
  if (isNegative(a)) return invalidResult(); // includes -inf and negative denormals
  if (ca === INF) return a;
  const x = numOf(a);
  let k = Math.max(0, 2 * WORK_BITS - bitLength(x.sig));
  if (((x.exp - k) & 1) !== 0) k++;
  const n = x.sig << BigInt(k);
  let r = isqrt(n);
  let e = (x.exp - k) / 2;
  if (r * r !== n) { r = (r << 1n) | 1n; e -= 1; }
  return roundToRegister(false, r, e);
}

/** Compare results, as indexes into the condition-code tables. */
export const CMP_GT = 0, CMP_LT = 1, CMP_EQ = 2, CMP_UN = 3;

/**
 * Compares a with b. Ordered compares (FCOM, FTST, FICOM, FCOMI) signal IE on
 * any NaN; unordered ones (FUCOM, FUCOMI) only on an SNaN; unsupported
 * encodings are invalid for both. Denormal operands signal DE.
 */
export function fcompare(a: X80, b: X80, unordered: boolean): number {
  const ca = classOf(a), cb = classOf(b);
  if (ca === UNSUPPORTED || cb === UNSUPPORTED) {
    acc.flags |= SW_IE;
    return CMP_UN;
  }
  if (isNaNClass(ca) || isNaNClass(cb)) {
    if (!unordered || ca === SNAN || cb === SNAN) acc.flags |= SW_IE;
    return CMP_UN;
  }
  if (isDenormal(a) || isDenormal(b) || acc.denormalIn) acc.flags |= SW_DE;
  const ia = ca === INF ? (isNegative(a) ? -1 : 1) : 0, ib = cb === INF ? (isNegative(b) ? -1 : 1) : 0;
  let c: number;
  if (ia !== 0 || ib !== 0) c = ia === ib ? 0 : ia > ib ? 1 : -1;
  else c = compareNums(numOf(a), numOf(b));
  return c > 0 ? CMP_GT : c < 0 ? CMP_LT : CMP_EQ;
}
