/**
 * Bit-level helpers for binary64 values and the exception accumulator that
 * the x87 arithmetic fills while it computes a result. Shared scratch views,
 * so nothing here allocates.
 */
import { RC_CHOP, RC_DOWN, RC_NEAREST, RC_UP, SW_PE } from './fpu.ts';

const sbuf = new ArrayBuffer(8);
const sf64 = new Float64Array(sbuf);
const su32 = new Uint32Array(sbuf);
const sf32 = new Float32Array(sbuf);

/**
 * What the current operation raised: exception flags (SW_* bits) and whether
 * the inexact result was rounded up in magnitude (C1). Reset by `clearAcc`.
 */
export const acc = { flags: 0, roundedUp: false, single: false };

export function clearAcc(): void {
  acc.flags = 0;
  acc.roundedUp = false;
  acc.single = false;
}

/** Like clearAcc for FADD/FSUB/FMUL/FDIV/FSQRT, which honour precision control: PC = 00 rounds to 24 bits. */
export function beginArith(control: number): void {
  acc.flags = 0;
  acc.roundedUp = false;
  acc.single = (control & 0x300) === 0;
}

export function hiOf(x: number): number {
  sf64[0] = x;
  return su32[1];
}
export function loOf(x: number): number {
  sf64[0] = x;
  return su32[0];
}
export function fromBits(hi: number, lo: number): number {
  su32[0] = lo;
  su32[1] = hi;
  return sf64[0];
}
/** The float32 value of a bit pattern, widened. */
export function fromF32Bits(b: number): number {
  su32[0] = b;
  return sf32[0];
}
/** The bit pattern of Math.fround(x) (x must be a float32 value or not NaN). */
export function f32Bits(x: number): number {
  sf32[0] = x;
  return su32[0];
}

export function isSNaN(x: number): boolean {
  return x !== x && (hiOf(x) & 0x0008_0000) === 0;
}
export function signBit(x: number): boolean {
  return (hiOf(x) & 0x8000_0000) !== 0;
}

/** The default QNaN (real indefinite): sign 1, quiet bit, zero payload. */
export const INDEFINITE = fromBits(0xfff8_0000, 0);

/** The NaN with its quiet bit set (payload and sign kept). */
export function quiet(x: number): number {
  sf64[0] = x;
  su32[1] |= 0x0008_0000;
  return sf64[0];
}

/**
 * x87 NaN propagation for two operands, at least one a NaN (SDM Vol. 1 Table 4-7):
 * an SNaN operand signals IE; the result is the NaN with the larger
 * significand (quieted), or the only NaN.
 */
export function propagateNaN(a: number, b: number): number {
  if (isSNaN(a) || isSNaN(b)) acc.flags |= 1; // SW_IE
  if (a !== a && b !== b) {
    const ah = hiOf(a) & 0x000f_ffff, al = loOf(a);
    const bh = hiOf(b) & 0x000f_ffff, bl = loOf(b);
    if (ah > bh || (ah === bh && al >= bl)) return quiet(a);
    return quiet(b);
  }
  return quiet(a !== a ? a : b);
}

/** Unbiased binary exponent of a finite nonzero value (denormals normalized). */
export function exponentOf(x: number): number {
  const e = (hiOf(x) >>> 20) & 0x7ff;
  if (e !== 0) return e - 1023;
  return exponentOf(x * 2 ** 64) - 64;
}

/** x * 2^n exactly while the result is representable (chunked so no intermediate overflows). */
export function scaleB(x: number, n: number): number {
  if (n > 3000) n = 3000;
  else if (n < -3000) n = -3000;
  while (n > 1023) { x *= 2 ** 1023; n -= 1023; }
  while (n < -1022) {
    // Keep the last step the only inexact one: stop dividing once x is a denormal-bound value.
    if (n >= -1022 - 53) { x *= 2 ** -53; n += 53; continue; }
    x *= 2 ** -1022;
    n += 1022;
  }
  return x * 2 ** n;
}

/**
 * Rounds to an integer by the x87 rounding control. Sets PE (and roundedUp)
 * when the value changes.
 */
export function roundToInt(x: number, rc: number): number {
  let r: number;
  switch (rc) {
    case RC_NEAREST: {
      r = Math.round(x);
      if (r - x === 0.5 && r % 2 !== 0) r -= 1; // ties to even (Math.round ties toward +inf)
      break;
    }
    case RC_DOWN: r = Math.floor(x); break;
    case RC_UP: r = Math.ceil(x); break;
    default: r = Math.trunc(x);
  }
  if (r === 0) r = x < 0 || Object.is(x, -0) ? -0 : 0; // sign of zero follows the operand
  if (r !== x) {
    acc.flags |= SW_PE;
    if (Math.abs(r) > Math.abs(x)) acc.roundedUp = true;
  }
  return r;
}

/** The adjacent binary64 value toward +inf (up) or -inf. */
export function nextAfter(x: number, up: boolean): number {
  if (x === 0) return up ? 5e-324 : -5e-324;
  sf64[0] = x;
  const away = (x > 0) === up;
  let lo = su32[0], hi = su32[1];
  if (away) {
    lo = (lo + 1) >>> 0;
    if (lo === 0) hi = (hi + 1) >>> 0;
  } else {
    if (lo === 0) hi = (hi - 1) >>> 0;
    lo = (lo - 1) >>> 0;
  }
  su32[0] = lo;
  su32[1] = hi;
  return sf64[0];
}

/**
 * Applies the rounding control to a round-to-nearest result `r` whose exact
 * value is r + err (err's sign is all that matters; 0 = exact). Sets PE and
 * roundedUp.
 */
export function directedRound(r: number, err: number, rc: number): number {
  if (err === 0 || err !== err) return r;
  acc.flags |= SW_PE;
  if (r === Infinity || r === -Infinity) return r; // overflow handled by the caller
  const r0 = r;
  if (rc === RC_DOWN && err < 0) r = nextAfter(r, false);
  else if (rc === RC_UP && err > 0) r = nextAfter(r, true);
  else if (rc === RC_CHOP && (r > 0 ? err < 0 : err > 0)) r = nextAfter(r, r < 0);
  // r vs. the exact value r0 + err: stepping crosses it, otherwise r0 is on the other side.
  const above = r !== r0 ? err > 0 : err < 0;
  acc.roundedUp = r !== 0 && above === (r > 0);
  return r;
}

/**
 * Final rounding of an arithmetic result: `r` is the binary64 nearest
 * rounding of the exact value r + err (err: its exact error, or only its
 * sign). Applies RC, and with PC = single rounds to a 24-bit significand
 * (the exponent range stays the register's).
 */
export function finishRound(r: number, err: number, rc: number): number {
  return acc.single ? round24(r, err, rc) : directedRound(r, err, rc);
}

function round24(r: number, err: number, rc: number): number {
  if (r === 0 || r !== r || r === Infinity || r === -Infinity) return r;
  const e = exponentOf(r);
  if (e - 23 < -1074) return directedRound(r, err, rc); // binary64-denormal range: 53-bit rules
  const unit = 2 ** (e - 23);
  const neg = r < 0;
  const a = Math.abs(r) / unit; // exact: a power-of-two scaling
  const errA = err !== err ? 0 : neg ? -err : err;
  const fl = Math.floor(a);
  const f = a - fl;
  if (f === 0 && errA === 0) return r;
  acc.flags |= SW_PE;
  let m: number;
  const away = rc === RC_NEAREST ? false : rc === RC_UP ? !neg : rc === RC_DOWN ? neg : false;
  if (rc === RC_NEAREST) {
    if (f > 0.5 || (f === 0.5 && (errA > 0 || (errA === 0 && fl % 2 === 1)))) m = fl + 1;
    else m = fl;
  } else if (away) {
    m = f > 0 || errA > 0 ? fl + 1 : fl;
  } else {
    m = f > 0 ? fl : errA < 0 ? fl - 1 : fl;
  }
  acc.roundedUp = m > a || (m === a && errA < 0);
  // Just below a power of two the grid is one binade finer: 2^23 - 1 in this binade is 2^24 - 1 half-units.
  const v = m === 0x7f_ffff && fl === 0x80_0000 ? 0xff_ffff * (unit / 2) : m * unit;
  return neg ? -v : v;
}

/** Error-free product: returns the exact error of a*b - fl(a*b), or NaN when not computable exactly here. */
const SPLIT = 134217729; // 2^27 + 1 (Dekker)
export function productError(a: number, b: number, p: number): number {
  const aa = Math.abs(a), ab = Math.abs(b), ap = Math.abs(p);
  if (aa > 1e290 || ab > 1e290 || ap > 1e300 || (ap < 1e-290 && ap !== 0)) return NaN;
  if (a === 0 || b === 0) return 0;
  let t = SPLIT * a;
  const ah = t - (t - a), al = a - ah;
  t = SPLIT * b;
  const bh = t - (t - b), bl = b - bh;
  return ((ah * bh - p) + ah * bl + al * bh) + al * bl;
}

/** Error of a+b - fl(a+b) (Knuth TwoSum; exact unless the sum overflowed). */
export function sumError(a: number, b: number, s: number): number {
  const bb = s - a;
  return (a - (s - bb)) + (b - bb);
}
