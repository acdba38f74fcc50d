/**
 * The x87 register format, double-extended precision (SDM Vol. 1 4.2.2,
 * 8.2): a sign bit, a 15-bit biased exponent and a 64-bit significand with
 * an explicit integer bit J. Values are plain {se, hi, lo} words (sign and
 * exponent; significand high and low dwords) so registers stay typed-array
 * data; arithmetic unpacks them to an exact BigInt significand and an
 * exponent (`Num`).
 *
 * Encodings (P6, SDM Vol. 1 Table 8-3): exponent 0 with J = 0 is a zero or
 * a denormal; exponent 0 with J = 1 a pseudo-denormal (used as a denormal
 * of the same value, signalling DE); exponent 7FFFH with J = 1 an infinity
 * (fraction 0) or a NaN (quiet when fraction bit 62 is set); any other
 * encoding with J = 0 (unnormal, pseudo-NaN, pseudo-infinity) is
 * unsupported and an invalid operand.
 */

export interface X80 {
  se: number;
  hi: number;
  lo: number;
}

/** Operand classes. */
export const ZERO = 0, FINITE = 1, INF = 2, QNAN = 3, SNAN = 4, UNSUPPORTED = 5;

export const EXP_BIAS = 16383;
/** Exponent of the significand's least significant bit for biased exponent 1 (and denormals): 1 - 16383 - 63. */
export const DENORMAL_LSB = 1 - EXP_BIAS - 63;
/** Smallest and largest unbiased exponents of a normal extended value. */
export const EMIN = 1 - EXP_BIAS, EMAX = 0x7ffe - EXP_BIAS;

export function classOf(x: X80): number {
  const exp = x.se & 0x7fff;
  const j = (x.hi & 0x8000_0000) !== 0;
  if (exp === 0x7fff) {
    if (!j) return UNSUPPORTED;
    if (((x.hi & 0x7fff_ffff) | x.lo) === 0) return INF;
    return (x.hi & 0x4000_0000) !== 0 ? QNAN : SNAN;
  }
  if (exp === 0) return (x.hi | x.lo) === 0 ? ZERO : FINITE;
  return j ? FINITE : UNSUPPORTED;
}

export function isNegative(x: X80): boolean {
  return (x.se & 0x8000) !== 0;
}
/** A denormal or pseudo-denormal operand (signals DE when used). */
export function isDenormal(x: X80): boolean {
  return (x.se & 0x7fff) === 0 && (x.hi | x.lo) !== 0;
}
export function isNaNClass(c: number): boolean {
  return c === QNAN || c === SNAN;
}

export function sigOf(x: X80): bigint {
  return (BigInt(x.hi >>> 0) << 32n) | BigInt(x.lo >>> 0);
}

/** An exact finite value: (-1)^neg * sig * 2^exp. */
export interface Num {
  neg: boolean;
  sig: bigint;
  exp: number;
}

/** The value of a ZERO or FINITE operand (pseudo-denormals read like exponent 1). */
export function numOf(x: X80): Num {
  const exp = x.se & 0x7fff;
  return { neg: isNegative(x), sig: sigOf(x), exp: (exp === 0 ? 1 : exp) - EXP_BIAS - 63 };
}

/** Number of significant bits of a positive BigInt. */
export function bitLength(v: bigint): number {
  let n = 0;
  if (v >= TWO_64) {
    if (v >= TWO_512) {
      // Rare (FSCALE-sized shifts): the hex digits count.
      const s = v.toString(16);
      return (s.length - 1) * 4 + (32 - Math.clz32(parseInt(s[0], 16)));
    }
    do { v >>= 64n; n += 64; } while (v >= TWO_64);
  }
  const hi = Number(v >> 32n);
  return hi !== 0 ? n + 64 - Math.clz32(hi) : n + 32 - Math.clz32(Number(v));
}
const TWO_64 = 1n << 64n, TWO_512 = 1n << 512n;

/** Unbiased exponent of the leading bit of a nonzero finite value. */
export function topExponent(n: Num): number {
  return n.exp + bitLength(n.sig) - 1;
}

/** Packs an exactly representable value (sig < 2^64 after normalization, exponent in range). */
export function packExact(neg: boolean, sig: bigint, exp: number): X80 {
  if (sig === 0n) return zero(neg);
  const n = bitLength(sig);
  const top = exp + n - 1;
  let biased: number, s: bigint;
  if (top >= EMIN) {
    biased = top + EXP_BIAS;
    s = n <= 64 ? sig << BigInt(64 - n) : sig >> BigInt(n - 64);
  } else {
    biased = 0;
    const shift = exp - DENORMAL_LSB;
    s = shift >= 0 ? sig << BigInt(shift) : sig >> BigInt(-shift);
  }
  return { se: (neg ? 0x8000 : 0) | biased, hi: Number(s >> 32n) >>> 0, lo: Number(s & 0xffff_ffffn) >>> 0 };
}

export function zero(neg: boolean): X80 {
  return { se: neg ? 0x8000 : 0, hi: 0, lo: 0 };
}
export function infinity(neg: boolean): X80 {
  return { se: neg ? 0xffff : 0x7fff, hi: 0x8000_0000, lo: 0 };
}
/** The largest finite value with a `p`-bit significand (the masked overflow response toward zero). */
export function largest(neg: boolean, p: number): X80 {
  const sig = ((1n << BigInt(p)) - 1n) << BigInt(64 - p);
  return { se: (neg ? 0x8000 : 0) | 0x7ffe, hi: Number(sig >> 32n) >>> 0, lo: Number(sig & 0xffff_ffffn) >>> 0 };
}
/** The real indefinite: the default QNaN (sign 1, quiet bit, zero payload). */
export function indefinite(): X80 {
  return { se: 0xffff, hi: 0xc000_0000, lo: 0 };
}
export function quieted(x: X80): X80 {
  return { se: x.se, hi: (x.hi | 0x4000_0000) >>> 0, lo: x.lo };
}

/**
 * The ordering of two finite-or-zero values: -1, 0, 1 (zeros equal
 * whatever their signs).
 */
export function compareNums(a: Num, b: Num): number {
  const az = a.sig === 0n, bz = b.sig === 0n;
  if (az && bz) return 0;
  if (az) return b.neg ? 1 : -1;
  if (bz) return a.neg ? -1 : 1;
  if (a.neg !== b.neg) return a.neg ? -1 : 1;
  const m = compareMagnitudes(a, b);
  return a.neg ? -m : m;
}

export function compareMagnitudes(a: Num, b: Num): number {
  const ta = topExponent(a), tb = topExponent(b);
  if (ta !== tb) return ta > tb ? 1 : -1;
  const e = Math.min(a.exp, b.exp);
  const sa = a.sig << BigInt(a.exp - e), sb = b.sig << BigInt(b.exp - e);
  return sa === sb ? 0 : sa > sb ? 1 : -1;
}
