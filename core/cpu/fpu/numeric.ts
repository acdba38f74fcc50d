/**
 * Rounding of exact values to the x87 formats, and the exception
 * accumulator every x87 computation fills (`acc`).
 *
 * A result is computed exactly (BigInt significand and a binary exponent;
 * an inexact quotient or root carries a sticky 1 below its last bit) and
 * rounded once here: to the precision control's 24/53/64 bits with the
 * register's 15-bit exponent range (`roundToRegister`), to a memory format
 * (`roundForStore`), or to an integer (`roundAt` with LSB 2^0).
 *
 * Overflow and underflow follow SDM Vol. 1 4.9.1.4-4.9.1.5 and 8.5.3-8.5.5:
 * tininess is detected after rounding (with an unbounded exponent); masked
 * underflow delivers the denormalized rounding and signals UE only when it
 * is inexact; masked overflow delivers infinity or the largest finite value
 * by RC; unmasked overflow/underflow on a register destination delivers
 * the rounded result with its exponent adjusted by 24576 (the bias adjust).
 */
import { RC_DOWN, RC_NEAREST, RC_UP, SW_DE, SW_IE, SW_OE, SW_PE, SW_UE } from './fpu.ts';
import type { X80 } from './ext80.ts';
import { bitLength, EMAX, EMIN, classOf, infinity, largest, packExact, QNAN, quieted, SNAN, zero } from './ext80.ts';

/**
 * What the current operation raised: exception flags (SW_* bits), whether
 * the inexact result was rounded up in magnitude (C1), and the control word
 * fields it computes under (precision bits, rounding control). `denormalIn`:
 * an m32/m64 operand was a denormal (its extended value is normal); the
 * operation signals DE for it only where it would for a denormal register
 * (not beside a NaN or in an invalid operation).
 */
export const acc = { flags: 0, roundedUp: false, control: 0x037f, pc: 64, rc: RC_NEAREST, denormalIn: false };

/** Significand bits by PC field (01 is reserved; it computes as extended, like 11). */
const PC_BITS = [24, 64, 53, 64];

/** Starts an operation whose results are rounded to 64 bits (everything but the basic arithmetic). */
export function clearAcc(control: number): void {
  acc.flags = 0;
  acc.roundedUp = false;
  acc.denormalIn = false;
  acc.control = control;
  acc.pc = 64;
  acc.rc = (control >> 10) & 3;
}

/** Like clearAcc for FADD/FSUB/FMUL/FDIV/FSQRT (and their integer forms), which honour precision control. */
export function beginArith(control: number): void {
  clearAcc(control);
  acc.pc = PC_BITS[(control >> 8) & 3];
}

/** Output of `roundAt`. */
export const rnd = { q: 0n, e: 0, inexact: false, up: false };

/**
 * Rounds sig * 2^exp (sig > 0, sign `neg`) to a multiple of 2^lsb by `rc`:
 * rnd.q * 2^rnd.e, with inexact and up (magnitude increased).
 */
export function roundAt(neg: boolean, sig: bigint, exp: number, lsb: number, rc: number): void {
  if (lsb <= exp) {
    rnd.q = sig; rnd.e = exp; rnd.inexact = false; rnd.up = false;
    return;
  }
  const n = bitLength(sig);
  const s = BigInt(Math.min(lsb - exp, n + 1)); // beyond n + 1 bits the quotient is 0 and the rest below half
  let q = sig >> s;
  const rem = sig & ((1n << s) - 1n);
  rnd.e = lsb;
  rnd.inexact = rem !== 0n;
  let inc = false;
  if (rnd.inexact) {
    if (rc === RC_NEAREST) {
      const half = 1n << (s - 1n);
      inc = rem > half || (rem === half && (q & 1n) === 1n);
    } else if (rc === RC_UP) inc = !neg;
    else if (rc === RC_DOWN) inc = neg;
  }
  if (inc) q += 1n;
  rnd.q = q;
  rnd.up = inc;
}

/** Rounds to `p` significant bits with the least significant bit not below 2^(emin - p + 1). */
export function roundBits(neg: boolean, sig: bigint, exp: number, p: number, emin: number, rc: number): void {
  const top = exp + bitLength(sig) - 1;
  roundAt(neg, sig, exp, Math.max(top, emin) - (p - 1), rc);
}

/** Tininess after rounding (see the header); flip to detect it before rounding. */
const TINY_AFTER_ROUNDING = true;

/** Exponent adjust for unmasked overflow/underflow results (SDM Vol. 1 8.5.4-8.5.5). */
const BIAS_ADJUST = 24576;

/** The masked overflow response goes to infinity when the rounding is away from zero. */
function overflowsToInfinity(neg: boolean, rc: number): boolean {
  return rc === RC_NEAREST || (rc === RC_UP && !neg) || (rc === RC_DOWN && neg);
}

/**
 * Rounds the exact value ±sig * 2^exp to a register (PC `p`, RC from acc),
 * with the overflow/underflow responses. sig = 0 gives a zero of that sign.
 */
export function roundToRegister(neg: boolean, sig: bigint, exp: number, p = acc.pc): X80 {
  if (sig === 0n) return zero(neg);
  const rc = acc.rc;
  roundBits(neg, sig, exp, p, -Infinity, rc);
  const q = rnd.q, e = rnd.e, inexact = rnd.inexact, up = rnd.up;
  const top = e + bitLength(q) - 1;
  if (top > EMAX) {
    if ((acc.control & SW_OE) !== 0) {
      acc.flags |= SW_OE | SW_PE;
      const toInf = overflowsToInfinity(neg, rc);
      acc.roundedUp = toInf;
      return toInf ? infinity(neg) : largest(neg, p);
    }
    acc.flags |= SW_OE | (inexact ? SW_PE : 0);
    acc.roundedUp = up;
    if (top - BIAS_ADJUST > EMAX) {
      // Beyond even the adjusted range (FSCALE): infinity, rounded up.
      acc.flags |= SW_PE;
      acc.roundedUp = true;
      return infinity(neg);
    }
    return packExact(neg, q, e - BIAS_ADJUST);
  }
  const tiny = TINY_AFTER_ROUNDING ? top < EMIN : exp + bitLength(sig) - 1 < EMIN;
  if (tiny) {
    if ((acc.control & SW_UE) === 0) {
      acc.flags |= SW_UE | (inexact ? SW_PE : 0);
      acc.roundedUp = up;
      if (top + BIAS_ADJUST < EMIN) {
        acc.flags |= SW_PE;
        acc.roundedUp = false;
        return zero(neg);
      }
      return packExact(neg, q, e + BIAS_ADJUST);
    }
    roundBits(neg, sig, exp, p, EMIN, rc);
    if (rnd.inexact) acc.flags |= SW_UE | SW_PE;
    acc.roundedUp = rnd.up;
    return packExact(neg, rnd.q, rnd.e);
  }
  if (inexact) acc.flags |= SW_PE;
  acc.roundedUp = up;
  return packExact(neg, q, e);
}

/** An exact result that may still need the underflow/overflow checks (FSCALE, FPREM, FXTRACT parts): 64-bit rounding. */
export function packResult(neg: boolean, sig: bigint, exp: number): X80 {
  return roundToRegister(neg, sig, exp, 64);
}

/** Result kinds of `roundForStore`. */
export const STORE_NUMBER = 0, STORE_INFINITY = 1, STORE_LARGEST = 2;

/**
 * Rounds ±sig * 2^exp (sig > 0) for a memory format with `p` significand
 * bits and normal exponents emin..emax. Returns the kind; a number is
 * rnd.q * 2^rnd.e. Unmasked overflow/underflow only flag (the store is then
 * suppressed by the caller).
 */
export function roundForStore(neg: boolean, sig: bigint, exp: number, p: number, emin: number, emax: number): number {
  const rc = acc.rc;
  roundBits(neg, sig, exp, p, -Infinity, rc);
  const top = rnd.e + bitLength(rnd.q) - 1;
  if (top > emax) {
    acc.flags |= SW_OE | SW_PE;
    const toInf = overflowsToInfinity(neg, rc);
    acc.roundedUp = toInf;
    return toInf ? STORE_INFINITY : STORE_LARGEST;
  }
  const tiny = TINY_AFTER_ROUNDING ? top < emin : exp + bitLength(sig) - 1 < emin;
  if (tiny) {
    if ((acc.control & SW_UE) === 0) acc.flags |= SW_UE;
    roundBits(neg, sig, exp, p, emin, rc);
    if (rnd.inexact) acc.flags |= SW_UE | SW_PE;
  } else if (rnd.inexact) acc.flags |= SW_PE;
  acc.roundedUp = rnd.up;
  return STORE_NUMBER;
}

/**
 * x87 NaN propagation (SDM Vol. 1 Table 4-7) for an operation with NaN
 * operand(s): an SNaN signals IE; of two NaNs a QNaN wins over an SNaN,
 * else the larger significand (equal: the positive one); the result is
 * quieted.
 */
export function propagateNaN(a: X80, b: X80 | null = null): X80 {
  const ca = classOf(a), cb = b === null ? -1 : classOf(b);
  if (ca === SNAN || cb === SNAN) acc.flags |= SW_IE;
  const aNaN = ca === QNAN || ca === SNAN, bNaN = cb === QNAN || cb === SNAN;
  if (b === null || !bNaN) return quieted(a);
  if (!aNaN) return quieted(b);
  if (ca !== cb) return quieted(ca === QNAN ? a : b);
  const ah = a.hi & 0x3fff_ffff, bh = b.hi & 0x3fff_ffff;
  if (ah !== bh) return quieted(ah > bh ? a : b);
  if (a.lo !== b.lo) return quieted(a.lo > b.lo ? a : b);
  return quieted((a.se & 0x8000) <= (b.se & 0x8000) ? a : b);
}

/**
 * Marks an invalid operation: IE, and the real indefinite as the (masked)
 * result. A denormal operand of an invalid operation does not also signal
 * DE (as the host x87 the oracle tests compare with shows).
 */
export function invalidResult(): X80 {
  acc.flags = (acc.flags & ~SW_DE) | SW_IE;
  return { se: 0xffff, hi: 0xc000_0000, lo: 0 };
}
