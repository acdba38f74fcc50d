/**
 * Conversions between the register format (binary64, see fpu.ts) and the
 * x87 memory formats: single/double/extended real, 16/32/64-bit integers and
 * 18-digit packed BCD. Conversions report exceptions in `acc` (numeric.ts).
 */
import { RC_CHOP, RC_DOWN, RC_NEAREST, RC_UP, SW_DE, SW_IE, SW_OE, SW_PE, SW_UE } from './fpu.ts';
import type { Fpu } from './fpu.ts';
import { acc, fromBits, fromF32Bits, f32Bits, hiOf, loOf, roundToInt, scaleB } from './numeric.ts';

// ---- single (m32fp) ----

/** m32fp → register value. An SNaN signals IE and loads quieted; a denormal signals DE. */
export function loadF32(b: number): number {
  const exp = (b >>> 23) & 0xff, frac = b & 0x7f_ffff;
  if (exp === 0xff && frac !== 0) {
    if ((frac & 0x40_0000) === 0) acc.flags |= SW_IE;
    // Widen the NaN bit for bit: sign, quiet bit set, payload at the top of the binary64 fraction.
    return fromBits((b & 0x8000_0000) | 0x7ff8_0000 | (frac >>> 3), (frac << 29) >>> 0);
  }
  if (exp === 0 && frac !== 0) acc.flags |= SW_DE;
  return fromF32Bits(b);
}

/** Register value → m32fp bits, rounded by RC; overflow/underflow/precision/IE in `acc`. */
export function storeF32(x: number, rc: number): number {
  if (x !== x) {
    const hi = hiOf(x), lo = loOf(x);
    if ((hi & 0x0008_0000) === 0) acc.flags |= SW_IE;
    return ((hi & 0x8000_0000) | 0x7fc0_0000 | ((hi & 0x7_ffff) << 3) | (lo >>> 29)) >>> 0;
  }
  let f = Math.fround(x);
  if (f !== x && x === x && Math.abs(x) !== Infinity) {
    acc.flags |= SW_PE;
    // Math.fround rounds to nearest; step one float32 ulp where RC says otherwise.
    let bits = f32Bits(f);
    const below = f < x; // the nearest result lies below the exact value
    if ((rc === RC_UP && below) || (rc === RC_DOWN && !below) || (rc === RC_CHOP && (f > 0 ? !below : f < 0 && below))) {
      const towardZero = rc === RC_CHOP || (rc === RC_UP ? f < 0 : f > 0);
      if (f === 0) bits = rc === RC_UP ? 1 : 0x8000_0001;
      else bits = towardZero ? bits - 1 : bits + 1;
      f = fromF32Bits(bits >>> 0);
    }
    acc.roundedUp = Math.abs(f) > Math.abs(x);
    if (Math.abs(f) === Infinity || Math.abs(x) >= 2 ** 128) {
      acc.flags |= SW_OE;
      // Masked overflow: infinity when rounding away, the largest finite value otherwise.
      const neg = x < 0;
      const toInf = rc === RC_NEAREST || (rc === RC_UP && !neg) || (rc === RC_DOWN && neg);
      acc.roundedUp = toInf;
      return toInf ? (neg ? 0xff80_0000 : 0x7f80_0000) : (neg ? 0xff7f_ffff : 0x7f7f_ffff);
    }
    if (Math.abs(x) < 2 ** -126) acc.flags |= SW_UE;
  }
  return f32Bits(f) >>> 0;
}

// ---- double (m64fp) ----

export function loadF64(hi: number, lo: number): number {
  const exp = (hi >>> 20) & 0x7ff;
  if (exp === 0x7ff && ((hi & 0xf_ffff) | lo) !== 0) {
    if ((hi & 0x8_0000) === 0) {
      acc.flags |= SW_IE;
      hi |= 0x8_0000;
    }
  } else if (exp === 0 && ((hi & 0xf_ffff) | lo) !== 0) acc.flags |= SW_DE;
  return fromBits(hi >>> 0, lo >>> 0);
}

/** Register value → m64fp (high word returned; low word in `f64Lo`). Registers are binary64: only SNaN → QNaN (IE). */
export const f64Out = { hi: 0, lo: 0 };
export function storeF64(x: number): void {
  let hi = hiOf(x);
  const lo = loOf(x);
  if (x !== x && (hi & 0x8_0000) === 0) {
    acc.flags |= SW_IE;
    hi |= 0x8_0000;
  }
  f64Out.hi = hi >>> 0;
  f64Out.lo = lo;
}

// ---- extended (m80fp) ----

/** Output of `toExtended`: sign+exponent word, significand high and low dwords. */
export const extOut = { se: 0, hi: 0, lo: 0 };

/** Register value → 80-bit extended (exact for every binary64 value; NaN payloads kept). */
export function toExtended(x: number): void {
  const hi = hiOf(x), lo = loOf(x);
  const sign = (hi >>> 16) & 0x8000;
  const exp = (hi >>> 20) & 0x7ff;
  let fhi = hi & 0xf_ffff, flo = lo;
  if (exp === 0x7ff) {
    extOut.se = sign | 0x7fff;
    extOut.hi = (0x8000_0000 | (fhi << 11) | (flo >>> 21)) >>> 0;
    extOut.lo = (flo << 11) >>> 0;
    return;
  }
  if (exp === 0) {
    if ((fhi | flo) === 0) { extOut.se = sign; extOut.hi = 0; extOut.lo = 0; return; }
    // binary64 denormal: an 80-bit normal. Normalize the 52-bit fraction.
    let e = 1 - 1023 + 16383;
    while ((fhi & 0x10_0000) === 0) {
      fhi = (fhi << 1) | (flo >>> 31);
      flo = (flo << 1) >>> 0;
      e--;
    }
    fhi &= 0xf_ffff;
    extOut.se = sign | e;
  } else {
    extOut.se = sign | (exp - 1023 + 16383);
  }
  extOut.hi = (0x8000_0000 | (fhi << 11) | (flo >>> 21)) >>> 0;
  extOut.lo = (flo << 11) >>> 0;
}

/**
 * 80-bit extended → register value. The significand is rounded to 53 bits
 * (nearest even); out-of-range exponents clamp to infinity or underflow to a
 * binary64 denormal/zero; unsupported encodings (unnormals, pseudo-NaN,
 * pseudo-infinity) load as the real indefinite. No exception is signalled
 * (FLD m80fp signals none on a P6).
 */
export function fromExtended(se: number, hi: number, lo: number): number {
  const sign = se & 0x8000;
  const exp = se & 0x7fff;
  hi >>>= 0;
  lo >>>= 0;
  if (exp === 0x7fff) {
    if ((hi & 0x8000_0000) === 0) return fromBits(0xfff8_0000, 0); // pseudo-infinity / pseudo-NaN
    const fracHi = hi & 0x7fff_ffff;
    if ((fracHi | lo) === 0) return sign ? -Infinity : Infinity;
    let h = (sign << 16) | 0x7ff0_0000 | (fracHi >>> 11);
    let l = ((fracHi << 21) | (lo >>> 11)) >>> 0;
    if (((h & 0xf_ffff) | l) === 0) l = 1; // payload only in the dropped bits: keep it a NaN
    h >>>= 0;
    return fromBits(h, l);
  }
  if (exp !== 0 && (hi & 0x8000_0000) === 0) return fromBits(0xfff8_0000, 0); // unnormal
  if ((hi | lo) === 0) return sign ? -0 : 0;
  // value = significand * 2^(e - 63); the significand rounds once to 53 bits here.
  const m = hi * 4294967296 + lo;
  const e = (exp === 0 ? 1 : exp) - 16383;
  const v = scaleB(m, e - 63);
  return sign ? -v : v;
}

// ---- integers ----

/**
 * Rounds for an integer store (RC honoured). Returns the integer, or NaN when
 * the value is a NaN, infinite or out of [min, limit) after rounding (IE
 * signalled; the caller stores the integer indefinite when IE is masked).
 */
export function toInteger(x: number, rc: number, min: number, limit: number): number {
  if (x !== x || x === Infinity || x === -Infinity) {
    acc.flags |= SW_IE;
    return NaN;
  }
  const flags = acc.flags, up = acc.roundedUp;
  const r = roundToInt(x, rc);
  if (r < min || r >= limit || (min === -1e18 && r === min)) {
    acc.flags = flags | SW_IE; // no PE for an invalid conversion
    acc.roundedUp = up;
    return NaN;
  }
  return r;
}

/** Output of the 64-bit integer split: low and high dwords. */
export const i64Out = { hi: 0, lo: 0 };

/** Splits an integer-valued double in [-2^63, 2^63) into two's-complement dwords. */
export function splitInt64(r: number): void {
  const hi = Math.floor(r / 4294967296);
  i64Out.hi = hi | 0;
  i64Out.lo = (r - hi * 4294967296) >>> 0;
}

/** A signed 64-bit integer (two dwords) as a register value (rounded to nearest once). */
export function joinInt64(hi: number, lo: number): number {
  return (hi | 0) * 4294967296 + (lo >>> 0);
}

// ---- packed BCD (18 digits, sign in bit 79) ----

/** BCD bytes in/out (10 bytes, little-endian). */
export const bcd = new Uint8Array(10);

/** `bcd` → register value. Invalid digits give an undefined result on hardware; they are read as their binary value here. */
export function loadBcd(): number {
  let hiPart = 0, loPart = 0;
  for (let k = 8; k >= 5; k--) hiPart = hiPart * 100 + (bcd[k] >> 4) * 10 + (bcd[k] & 15);
  for (let k = 4; k >= 0; k--) loPart = loPart * 100 + (bcd[k] >> 4) * 10 + (bcd[k] & 15);
  const v = hiPart * 1e10 + loPart; // one rounding at most (values above 2^53)
  return (bcd[9] & 0x80) !== 0 ? -v : v;
}

/**
 * Register value → `bcd` (FBSTP). Rounds by RC; NaN, infinity or a magnitude
 * above 10^18 - 1 signals IE and (masked) stores the BCD indefinite. Returns
 * false when IE was signalled.
 */
export function storeBcd(x: number, rc: number): boolean {
  const r = x !== x ? NaN : toInteger(x, rc, -1e18, 1e18);
  if (r !== r) {
    bcd.fill(0);
    bcd[9] = 0xff; bcd[8] = 0xff; bcd[7] = 0xc0;
    acc.flags |= SW_IE;
    return false;
  }
  const neg = r < 0 || Object.is(r, -0);
  const a = Math.abs(r);
  // Two exact halves of at most 9 digits each (a < 2^60 is an exact integer; hi * 1e9 is exact).
  let hi = Math.floor(a / 1e9);
  let lo = a - hi * 1e9;
  if (lo < 0) { hi -= 1; lo += 1e9; } else if (lo >= 1e9) { hi += 1; lo -= 1e9; }
  const digits = bcdDigits;
  for (let d = 0; d < 9; d++) { digits[d] = lo % 10; lo = Math.floor(lo / 10); }
  for (let d = 9; d < 18; d++) { digits[d] = hi % 10; hi = Math.floor(hi / 10); }
  for (let k = 0; k < 9; k++) bcd[k] = digits[2 * k] | (digits[2 * k + 1] << 4);
  bcd[9] = neg ? 0x80 : 0;
  return true;
}
const bcdDigits = new Uint8Array(18);

// ---- exact 80-bit shadows (see fpu.ts) ----

/** An 80-bit encoding a P6 supports as an operand (not an unnormal, pseudo-NaN or pseudo-infinity). */
export function isSupportedExtended(se: number, hi: number): boolean {
  return (se & 0x7fff) === 0 || (hi & 0x8000_0000) !== 0;
}

/** The exact 80-bit image of a signed 64-bit integer (two dwords) into `extOut`. */
export function int64ToExtended(hi: number, lo: number): void {
  hi >>>= 0;
  lo >>>= 0;
  const neg = (hi & 0x8000_0000) !== 0;
  if (neg) {
    lo = (~lo + 1) >>> 0;
    hi = (~hi + (lo === 0 ? 1 : 0)) >>> 0;
  }
  if ((hi | lo) === 0) {
    extOut.se = 0; extOut.hi = 0; extOut.lo = 0;
    return;
  }
  const z = hi !== 0 ? Math.clz32(hi) : 32 + Math.clz32(lo);
  if (z >= 32) {
    hi = (lo << (z - 32)) >>> 0;
    lo = 0;
  } else if (z > 0) {
    hi = ((hi << z) | (lo >>> (32 - z))) >>> 0;
    lo = (lo << z) >>> 0;
  }
  extOut.se = (neg ? 0x8000 : 0) | (16383 + 63 - z);
  extOut.hi = hi;
  extOut.lo = lo;
}

/**
 * The 80-bit value as a signed 64-bit integer into `i64Out`, when it is
 * exactly an integer in [-2^63, 2^63); false otherwise (the caller then
 * rounds the binary64 value).
 */
export function exactInt64(se: number, hi: number, lo: number): boolean {
  hi >>>= 0;
  lo >>>= 0;
  const exp = se & 0x7fff;
  const neg = (se & 0x8000) !== 0;
  if ((hi | lo) === 0 && exp === 0) {
    i64Out.hi = 0; i64Out.lo = 0;
    return true;
  }
  if ((hi & 0x8000_0000) === 0) return false;
  const e = exp - 16383;
  if (e < 0 || e > 63) return false;
  if (e === 63 && !(neg && hi === 0x8000_0000 && lo === 0)) return false;
  const s = 63 - e;
  let h: number, l: number;
  if (s >= 32) {
    const m = s === 32 ? 0 : (2 ** (s - 32)) - 1;
    if (lo !== 0 || (hi & m) !== 0) return false;
    l = s === 64 ? 0 : hi >>> (s - 32);
    h = 0;
  } else if (s > 0) {
    if ((lo & ((2 ** s) - 1)) !== 0) return false;
    l = ((lo >>> s) | (hi << (32 - s))) >>> 0;
    h = hi >>> s;
  } else {
    l = lo; h = hi;
  }
  if (neg) {
    l = (~l + 1) >>> 0;
    h = (~h + (l === 0 ? 1 : 0)) >>> 0;
  }
  i64Out.hi = h | 0;
  i64Out.lo = l;
  return true;
}

/** The 80-bit image of ST(i) into `extOut`: its exact shadow if it has one, else its binary64 value. */
export function registerExtended(f: Fpu, i: number): void {
  if (f.hasExact(i)) {
    const p = f.phys(i);
    extOut.lo = f.exact[3 * p];
    extOut.hi = f.exact[3 * p + 1];
    extOut.se = f.exact[3 * p + 2];
    return;
  }
  toExtended(f.st[f.phys(i)]);
}

/** `bcd` as an exact signed 64-bit integer into `i64Out` (BigInt: FBLD is rare). Returns true. */
export function bcdInt64(): boolean {
  let v = 0n;
  for (let k = 8; k >= 0; k--) v = v * 100n + BigInt((bcd[k] >> 4) * 10 + (bcd[k] & 15));
  if ((bcd[9] & 0x80) !== 0) v = -v;
  const u = BigInt.asUintN(64, v);
  i64Out.hi = Number(u >> 32n) | 0;
  i64Out.lo = Number(u & 0xffff_ffffn);
  return true;
}

/** `i64Out` (an exact integer) → `bcd`; false when it has more than 18 digits (the caller signals IE). */
export function storeBcdInt64(): boolean {
  let v = BigInt.asIntN(64, (BigInt(i64Out.hi >>> 0) << 32n) | BigInt(i64Out.lo >>> 0));
  const neg = v < 0n;
  if (neg) v = -v;
  if (v > 999_999_999_999_999_999n) return false;
  for (let k = 0; k < 9; k++) {
    const lo = Number(v % 10n);
    v /= 10n;
    const hi = Number(v % 10n);
    v /= 10n;
    bcd[k] = lo | (hi << 4);
  }
  bcd[9] = neg ? 0x80 : 0;
  return true;
}
