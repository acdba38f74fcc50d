/**
 * Conversions between the register format (double-extended, ext80.ts) and
 * the x87 memory formats: single/double real, 16/32/64-bit integers and
 * 18-digit packed BCD (m80 real is the register format itself). Loads are
 * exact; stores round once by RC. Exceptions go to `acc` (numeric.ts).
 */
import { SW_DE, SW_IE, SW_PE } from './fpu.ts';
import type { X80 } from './ext80.ts';
import { bitLength, classOf, FINITE, INF, isNaNClass, isNegative, numOf, packExact, SNAN, UNSUPPORTED, ZERO } from './ext80.ts';
import { acc, rnd, roundAt, roundForStore, STORE_INFINITY, STORE_LARGEST } from './numeric.ts';
import { pinned } from '../pinnedArrays.ts';

// ---- real formats ----

/**
 * Widens an IEEE single/double (`fracBits` fraction bits, exponent field
 * width `expBits`) given as sign, biased exponent and fraction. Exact;
 * NaNs keep sign and payload (an SNaN stays signalling: the consumer decides
 * on IE); a denormal sets acc.denormalIn (the consumer decides on DE).
 */
function widen(neg: boolean, exp: number, frac: bigint, fracBits: number, expBits: number): X80 {
  const maxExp = (1 << expBits) - 1, bias = (1 << (expBits - 1)) - 1;
  const sign = neg ? 0x8000 : 0;
  if (exp === maxExp) {
    const sig = (1n << 63n) | (frac << BigInt(63 - fracBits));
    return { se: sign | 0x7fff, hi: Number(sig >> 32n) >>> 0, lo: Number(sig & 0xffff_ffffn) >>> 0 };
  }
  if (exp === 0) {
    if (frac === 0n) return { se: sign, hi: 0, lo: 0 };
    acc.denormalIn = true;
    return packExact(neg, frac, 1 - bias - fracBits);
  }
  return packExact(neg, (1n << BigInt(fracBits)) | frac, exp - bias - fracBits);
}

export function loadF32(b: number): X80 {
  return widen((b & 0x8000_0000) !== 0, (b >>> 23) & 0xff, BigInt(b & 0x7f_ffff), 23, 8);
}

export function loadF64(hi: number, lo: number): X80 {
  const exp = (hi >>> 20) & 0x7ff;
  if (exp !== 0 && exp !== 0x7ff) {
    // A normal double (the common case), without BigInt: 1.f * 2^(exp - 1023).
    return {
      se: ((hi >>> 16) & 0x8000) | (exp - 1023 + 16383),
      hi: (0x8000_0000 | ((hi & 0xf_ffff) << 11) | (lo >>> 21)) >>> 0,
      lo: (lo << 11) >>> 0,
    };
  }
  const frac = (BigInt(hi & 0xf_ffff) << 32n) | BigInt(lo >>> 0);
  return widen((hi & 0x8000_0000) !== 0, (hi >>> 20) & 0x7ff, frac, 52, 11);
}

/** The value loaded by FLD m32fp/m64fp: an SNaN signals IE and loads quieted; a denormal signals DE. */
export function quietOnLoad(x: X80): X80 {
  if (acc.denormalIn) acc.flags |= SW_DE;
  if (classOf(x) === SNAN) {
    acc.flags |= SW_IE;
    return { se: x.se, hi: (x.hi | 0x4000_0000) >>> 0, lo: x.lo };
  }
  return x;
}

/**
 * Narrows a register value to an IEEE format: returns the bit pattern as a
 * BigInt. NaNs keep their payload's top bits (an SNaN is quieted with IE);
 * unsupported encodings are invalid (the indefinite).
 */
function narrow(x: X80, fracBits: number, expBits: number): bigint {
  const maxExp = (1 << expBits) - 1, bias = (1 << (expBits - 1)) - 1;
  const neg = isNegative(x);
  const signBit = neg ? 1n << BigInt(fracBits + expBits) : 0n;
  const expField = (e: number) => BigInt(e) << BigInt(fracBits);
  const quietBit = 1n << BigInt(fracBits - 1);
  const c = classOf(x);
  if (c === UNSUPPORTED) {
    acc.flags |= SW_IE;
    return (1n << BigInt(fracBits + expBits)) | expField(maxExp) | quietBit;
  }
  if (isNaNClass(c)) {
    if (c === SNAN) acc.flags |= SW_IE;
    const frac = ((BigInt(x.hi & 0x7fff_ffff) << 32n) | BigInt(x.lo)) >> BigInt(63 - fracBits);
    return signBit | expField(maxExp) | frac | quietBit;
  }
  if (c === INF) return signBit | expField(maxExp);
  if (c === ZERO) return signBit;
  const n = numOf(x);
  const kind = roundForStore(neg, n.sig, n.exp, fracBits + 1, 1 - bias, bias);
  if (kind === STORE_INFINITY) return signBit | expField(maxExp);
  if (kind === STORE_LARGEST) return signBit | expField(maxExp - 1) | ((1n << BigInt(fracBits)) - 1n);
  // rnd.q * 2^rnd.e: normal when q has fracBits + 1 bits (or more, after a carry) at an exponent in range.
  let q = rnd.q, e = rnd.e;
  if (q === 0n) return signBit;
  const top = e + (bitLength(q) - 1);
  if (top < 1 - bias) {
    // Denormal: the fraction is q scaled to the denormal LSB 2^(1 - bias - fracBits).
    return signBit | (q << BigInt(e - (1 - bias - fracBits)));
  }
  const shift = fracBits - (top - e);
  q = shift >= 0 ? q << BigInt(shift) : q >> BigInt(-shift);
  return signBit | expField(top + bias) | (q & ((1n << BigInt(fracBits)) - 1n));
}

export function storeF32(x: X80): number {
  return Number(narrow(x, 23, 8)) >>> 0;
}

/** Register value → m64fp (high, low dwords in `f64Out`). */
export const f64Out = { hi: 0, lo: 0 };
export function storeF64(x: X80): void {
  const e = x.se & 0x7fff;
  if (e >= 16383 - 1022 && e <= 16383 + 1023 && (x.hi & 0x8000_0000) !== 0 && (x.lo & 0x7ff) === 0) {
    // A normal double's value exactly (the common case), without BigInt: no rounding, no exception.
    f64Out.hi = ((x.se & 0x8000) << 16 | ((e - 16383 + 1023) << 20) | ((x.hi >>> 11) & 0xf_ffff)) >>> 0;
    f64Out.lo = ((x.hi << 21) | (x.lo >>> 11)) >>> 0;
    return;
  }
  const b = narrow(x, 52, 11);
  f64Out.hi = Number(b >> 32n) >>> 0;
  f64Out.lo = Number(b & 0xffff_ffffn) >>> 0;
}

/** The value of a binary64 number (snapshots from before the 80-bit registers; host values in tests). */
export function fromDouble(v: number): X80 {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, v, true);
  const saved = acc.flags;
  const x = loadF64(dv.getUint32(4, true), dv.getUint32(0, true));
  acc.flags = saved;
  return x;
}

// ---- integers ----

/** A signed integer (exact) as a register value. */
export function fromInteger(v: bigint): X80 {
  return v < 0n ? packExact(true, -v, 0) : packExact(false, v, 0);
}

/** A signed 64-bit integer given as two dwords. */
export function fromInt64(hi: number, lo: number): X80 {
  return fromInteger(BigInt.asIntN(64, (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0)));
}

/**
 * Rounds a register value to an integer by RC (PE and C1 when inexact).
 * Returns null for a NaN, infinity or unsupported operand (IE). Zero → 0n.
 */
export function integerValue(x: X80): bigint | null {
  const c = classOf(x);
  if (c !== FINITE && c !== ZERO) {
    acc.flags |= SW_IE;
    return null;
  }
  if (c === ZERO) return 0n;
  const n = numOf(x);
  if (n.exp > 64) n.exp = 64; // far beyond every integer format: keep it out of range without a huge shift
  roundAt(n.neg, n.sig, n.exp, 0, acc.rc);
  const m = rnd.e > 0 ? rnd.q << BigInt(rnd.e) : rnd.q;
  return n.neg ? -m : m;
}

/**
 * FIST/FISTP/FBSTP conversion: the rounded integer when it lies in
 * [min, max], else null with IE (and no PE or C1 for the invalid case).
 */
export function toInteger(x: X80, min: bigint, max: bigint): bigint | null {
  const v = integerValue(x);
  if (v === null) return null;
  if (v < min || v > max) {
    acc.flags |= SW_IE;
    return null;
  }
  if (rnd.inexact && classOf(x) === FINITE) {
    acc.flags |= SW_PE;
    acc.roundedUp = rnd.up;
  }
  return v;
}

// ---- packed BCD (18 digits, sign in bit 79) ----

/** BCD bytes in/out (10 bytes, little-endian). */
export const bcd = pinned(Uint8Array, 10);

/** `bcd` → register value (exact). Invalid digits give an undefined result on hardware; they are read as their binary value here. */
export function loadBcd(): X80 {
  let v = 0n;
  for (let k = 8; k >= 0; k--) v = v * 100n + BigInt((bcd[k] >> 4) * 10 + (bcd[k] & 15));
  const neg = (bcd[9] & 0x80) !== 0;
  return v === 0n ? { se: neg ? 0x8000 : 0, hi: 0, lo: 0 } : packExact(neg, v, 0);
}

const BCD_MAX = 999_999_999_999_999_999n;

/**
 * Register value → `bcd` (FBSTP), rounded by RC. NaN, infinity, an
 * unsupported encoding or a magnitude above 10^18 - 1 signals IE and stores
 * the BCD indefinite (when masked). Returns false when IE was signalled.
 */
export function storeBcd(x: X80): boolean {
  const v = toInteger(x, -BCD_MAX, BCD_MAX);
  if (v === null) {
    bcd.fill(0);
    bcd[9] = 0xff; bcd[8] = 0xff; bcd[7] = 0xc0;
    acc.flags |= SW_IE;
    return false;
  }
  let a = v < 0n ? -v : v;
  for (let k = 0; k < 9; k++) {
    const lo = Number(a % 10n);
    a /= 10n;
    const hi = Number(a % 10n);
    a /= 10n;
    bcd[k] = lo | (hi << 4);
  }
  bcd[9] = isNegative(x) ? 0x80 : 0; // -0 and negatives rounding to 0 keep the sign
  return true;
}
