/**
 * A minimal binary floating point on BigInt for the x87 transcendentals:
 * m * 2^e with a signed BigInt m kept to about WORK bits (truncated), and
 * an unbounded exponent. Used only to evaluate series far beyond 64 bits so
 * that the final rounding to the register format (numeric.ts) is within
 * the last place; it is not an IEEE format and signals nothing.
 */
import { bitLength } from './ext80.ts';

export interface Big {
  m: bigint;
  e: number;
}

/** Working precision in bits (results are good to about WORK - 10 bits). */
export const WORK = 200;

export function big(m: bigint, e = 0): Big {
  return trim({ m, e });
}

function absBits(m: bigint): number {
  return m === 0n ? 0 : bitLength(m < 0n ? -m : m);
}

/** Truncates the significand to WORK bits. */
function trim(x: Big): Big {
  const n = absBits(x.m);
  if (n <= WORK) return x;
  const s = n - WORK;
  const m = x.m < 0n ? -((-x.m) >> BigInt(s)) : x.m >> BigInt(s);
  return { m, e: x.e + s };
}

/** Unbiased exponent of the leading bit (-Infinity for zero). */
export function top(x: Big): number {
  return x.m === 0n ? -Infinity : x.e + absBits(x.m) - 1;
}

export function neg(x: Big): Big {
  return { m: -x.m, e: x.e };
}

export function abs(x: Big): Big {
  return x.m < 0n ? { m: -x.m, e: x.e } : x;
}

export function scale2(x: Big, n: number): Big {
  return { m: x.m, e: x.e + n };
}

export function add(a: Big, b: Big): Big {
  if (a.m === 0n) return b;
  if (b.m === 0n) return a;
  // A far smaller addend only nudges the last bit (it can still decide a rounding direction).
  const gap = WORK + 8;
  if (top(a) - top(b) > gap) return nudged(a, b.m < 0n);
  if (top(b) - top(a) > gap) return nudged(b, a.m < 0n);
  const e = Math.min(a.e, b.e);
  return trim({ m: (a.m << BigInt(a.e - e)) + (b.m << BigInt(b.e - e)), e });
}

/** x plus (down) or minus a quantity far below its working precision. */
function nudged(x: Big, down: boolean): Big {
  const shift = WORK + 2 - absBits(x.m);
  return trim({ m: (x.m << BigInt(shift)) + (down ? -1n : 1n), e: x.e - shift });
}

export function sub(a: Big, b: Big): Big {
  return add(a, neg(b));
}

export function mul(a: Big, b: Big): Big {
  return trim({ m: a.m * b.m, e: a.e + b.e });
}

export function div(a: Big, b: Big): Big {
  if (b.m === 0n) throw new Error('Big division by zero');
  const s = WORK + 4 + absBits(b.m) - absBits(a.m);
  const num = s > 0 ? a.m << BigInt(s) : a.m >> BigInt(-s);
  return trim({ m: num / b.m, e: a.e - b.e - s });
}

export function divInt(a: Big, k: number): Big {
  return div(a, { m: BigInt(k), e: 0 });
}

/** Square root of a >= 0. */
export function sqrt(a: Big): Big {
  if (a.m <= 0n) return { m: 0n, e: 0 };
  let k = 2 * WORK + 4 - absBits(a.m);
  if (((a.e - k) & 1) !== 0) k++;
  const n = k >= 0 ? a.m << BigInt(k) : a.m >> BigInt(-k);
  let x = 1n << BigInt((bitLength(n) >> 1) + 1);
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) break;
    x = y;
  }
  return trim({ m: x, e: (a.e - k) / 2 });
}

/** Compares magnitudes: |a| < |b| by at least the given number of binary orders. */
export function negligible(term: Big, sum: Big): boolean {
  return term.m === 0n || (sum.m !== 0n && top(term) < top(sum) - WORK - 4);
}

// ---- series ----

/** atanh(t) for |t| <= 0.2: t + t^3/3 + t^5/5 + ... */
export function atanhSmall(t: Big): Big {
  const t2 = mul(t, t);
  let power = t, sum = t;
  for (let k = 3; ; k += 2) {
    power = mul(power, t2);
    const term = divInt(power, k);
    if (negligible(term, sum)) return add(sum, term); // the last term's sign still counts
    sum = add(sum, term);
  }
}

/** atan(t) for |t| <= 0.1: t - t^3/3 + t^5/5 - ... */
function atanSmall(t: Big): Big {
  const t2 = neg(mul(t, t));
  let power = t, sum = t;
  for (let k = 3; ; k += 2) {
    power = mul(power, t2);
    const term = divInt(power, k);
    if (negligible(term, sum)) return add(sum, term); // the last term's sign still counts
    sum = add(sum, term);
  }
}

const ONE: Big = { m: 1n, e: 0 };

/** atan(t) for 0 <= t <= 1, by three half-angle steps t / (1 + sqrt(1 + t^2)) then the series. */
export function atanUnit(t: Big): Big {
  let u = t;
  for (let k = 0; k < 3; k++) u = div(u, add(ONE, sqrt(add(ONE, mul(u, u)))));
  return scale2(atanSmall(u), 3);
}

/** sin(r) and cos(r) for |r| <= 1 (Taylor series). */
export function sinCosSmall(r: Big): { sin: Big; cos: Big } {
  const r2 = neg(mul(r, r));
  let s = r, sTerm = r;
  for (let k = 2; ; k += 2) {
    sTerm = div(mul(sTerm, r2), { m: BigInt(k * (k + 1)), e: 0 });
    s = add(s, sTerm); // the last, negligible term's sign still counts
    if (negligible(sTerm, s)) break;
  }
  let c: Big = ONE, cTerm: Big = ONE;
  for (let k = 1; ; k += 2) {
    cTerm = div(mul(cTerm, r2), { m: BigInt(k * (k + 1)), e: 0 });
    c = add(c, cTerm);
    if (negligible(cTerm, c)) break;
  }
  return { sin: s, cos: c };
}

/** e^u - 1 for |u| <= 1 (series from the linear term: no cancellation). */
export function expm1Small(u: Big): Big {
  let term = u, sum = u;
  for (let k = 2; ; k++) {
    term = divInt(mul(term, u), k);
    if (negligible(term, sum)) return add(sum, term); // the last term's sign still counts
    sum = add(sum, term);
  }
}

/** ln(v) for v > 0: v = m * 2^E with m in [0.75, 1.5), ln m = 2 atanh((m - 1) / (m + 1)). */
export function ln(v: Big): Big {
  let E = top(v);
  let m = scale2(v, -E); // [1, 2)
  if (sub(m, { m: 3n, e: -1 }).m > 0n) {
    m = scale2(m, -1);
    E += 1;
  }
  const t = div(sub(m, ONE), add(m, ONE));
  const lnm = scale2(atanhSmall(t), 1);
  return E === 0 ? lnm : add(lnm, mul(big(BigInt(E)), LN2));
}

// ---- constants (computed once, to WORK bits) ----

/** ln 2 = 2 atanh(1/3). */
export const LN2: Big = scale2(atanhSmall(div(ONE, { m: 3n, e: 0 })), 1);

/** pi = 16 atan(1/5) - 4 atan(1/239) (Machin), each by its alternating series. */
function machinAtan(inv: number): Big {
  const x = div(ONE, { m: BigInt(inv), e: 0 });
  const x2 = neg(mul(x, x));
  let power = x, sum = x;
  for (let k = 3; ; k += 2) {
    power = mul(power, x2);
    const term = divInt(power, k);
    if (negligible(term, sum)) return add(sum, term); // the last term's sign still counts
    sum = add(sum, term);
  }
}
export const PI: Big = sub(scale2(machinAtan(5), 4), scale2(machinAtan(239), 2));
