/**
 * Exact IEEE 754 binary32/binary64 arithmetic as the SSE unit does it
 * (SDM Vol. 1 4.8-4.9 and 11.5): every result is computed exactly (BigInt
 * significands; division and square root with enough extra bits and a
 * sticky bit) and then rounded once under MXCSR.RC, so no result depends
 * on the host's floating point. What decides each result:
 *
 * - NaN operands (Table 4-7, SSE column): the first source's NaN if it is
 *   one, else the second's, quieted; an SNaN operand signals IE. An invalid
 *   operation without NaN operands gives the default QNaN ("real
 *   indefinite": sign 1, quiet bit only).
 * - DAZ: denormal source operands read as zeros of the same sign and signal
 *   nothing; without DAZ a denormal operand of an arithmetic operation
 *   signals DE (a pre-computation exception), unless an operand of the
 *   same operation is a NaN (then only the NaN rules apply, as on the host
 *   processor).
 * - Tininess is detected after rounding (the result rounded to the
 *   destination precision with an unbounded exponent lies below the
 *   smallest normal): the SDM's "result of rounding with unbounded exponent
 *   is non-zero and tiny" (Vol. 1 4.9.1.5). Masked underflow sets UE only
 *   with an inexact result; unmasked, any tiny result sets UE.
 * - FTZ (MXCSR.FZ) with UE masked: a tiny result becomes a zero of the
 *   result's sign and sets UE and PE.
 * - Overflow with OE masked gives infinity or the largest finite value by
 *   the rounding direction and sign, with OE and PE.
 *
 * The flags of the current operation accumulate in `env.flags`; the caller
 * (arith.ts) decides from them and the masks whether the destination is
 * written or #XM is raised.
 */
import { MX_DAZ, MX_DE, MX_FZ, MX_IE, MX_MASK_SHIFT, MX_OE, MX_PE, MX_RC_SHIFT, MX_UE, MX_ZE } from './state.ts';

export interface Fmt {
  /** Significand bits (hidden bit included). */
  readonly p: number;
  readonly bias: number;
  readonly emin: number;
  readonly emax: number;
  /** Exponent field width and the bit patterns' total width. */
  readonly ebits: number;
  readonly width: number;
}

export const F32: Fmt = { p: 24, bias: 127, emin: -126, emax: 127, ebits: 8, width: 32 };
export const F64: Fmt = { p: 53, bias: 1023, emin: -1022, emax: 1023, ebits: 11, width: 64 };

export const ZERO = 0, FINITE = 1, INF = 2, QNAN = 3, SNAN = 4;

/** An unpacked operand: value = (-1)^sign * m * 2^e for FINITE. */
export interface Num {
  kind: number;
  sign: number;
  m: bigint;
  e: number;
  denormal: boolean;
}

/** The state of the operation in progress: MXCSR as it was at its start, and the exception flags it raised. */
export const env = { mxcsr: 0, flags: 0 };

const RC_NEAREST = 0, RC_DOWN = 1, RC_UP = 2;

function fracBits(f: Fmt): bigint {
  return (1n << BigInt(f.p - 1)) - 1n;
}
function expAllOnes(f: Fmt): number {
  return (1 << f.ebits) - 1;
}

export function unpack(bits: bigint, f: Fmt): Num {
  const sign = Number(bits >> BigInt(f.width - 1)) & 1;
  const exp = Number((bits >> BigInt(f.p - 1)) & BigInt(expAllOnes(f)));
  const frac = bits & fracBits(f);
  if (exp === expAllOnes(f)) {
    if (frac === 0n) return { kind: INF, sign, m: 0n, e: 0, denormal: false };
    const quiet = (frac >> BigInt(f.p - 2)) & 1n;
    return { kind: quiet !== 0n ? QNAN : SNAN, sign, m: frac, e: 0, denormal: false };
  }
  if (exp === 0) {
    if (frac === 0n) return { kind: ZERO, sign, m: 0n, e: 0, denormal: false };
    return { kind: FINITE, sign, m: frac, e: f.emin - (f.p - 1), denormal: true };
  }
  return { kind: FINITE, sign, m: frac | (1n << BigInt(f.p - 1)), e: exp - f.bias - (f.p - 1), denormal: false };
}

export function isNaN(n: Num): boolean {
  return n.kind >= QNAN;
}

/**
 * An arithmetic source operand: DAZ turns a denormal into a zero of its
 * sign; otherwise a denormal signals DE (`signal`).
 */
export function source(bits: bigint, f: Fmt, signal = true): Num {
  const n = unpack(bits, f);
  if (n.denormal) {
    if ((env.mxcsr & MX_DAZ) !== 0) return { kind: ZERO, sign: n.sign, m: 0n, e: 0, denormal: false };
    if (signal) env.flags |= MX_DE;
  }
  return n;
}

/** Both operands of a binary operation: a denormal signals DE only when neither operand is a NaN (as the host processor does). */
function sources(aBits: bigint, bBits: bigint, f: Fmt): [Num, Num] {
  const a = source(aBits, f, false), b = source(bBits, f, false);
  if ((a.denormal || b.denormal) && !isNaN(a) && !isNaN(b)) env.flags |= MX_DE;
  return [a, b];
}

export function signedZero(sign: number, f: Fmt): bigint {
  return BigInt(sign) << BigInt(f.width - 1);
}
export function infinity(sign: number, f: Fmt): bigint {
  return signedZero(sign, f) | (BigInt(expAllOnes(f)) << BigInt(f.p - 1));
}
/** The default QNaN (real indefinite). */
export function defaultNaN(f: Fmt): bigint {
  return infinity(1, f) | (1n << BigInt(f.p - 2));
}
export function quiet(bits: bigint, f: Fmt): bigint {
  return bits | (1n << BigInt(f.p - 2));
}

/** The NaN result of an operation with a NaN operand (a first, then b); IE for an SNaN among them. */
export function propagateNaN(aBits: bigint, a: Num, bBits: bigint, b: Num | null, f: Fmt): bigint {
  if (a.kind === SNAN || b?.kind === SNAN) env.flags |= MX_IE;
  return isNaN(a) ? quiet(aBits, f) : quiet(bBits, f);
}

export function invalid(f: Fmt): bigint {
  env.flags |= MX_IE;
  return defaultNaN(f);
}

function bitLength(m: bigint): number {
  return m.toString(2).length;
}

function roundingMode(): number {
  return (env.mxcsr >> MX_RC_SHIFT) & 3;
}

/** m >> shift rounded by the rounding mode for a value of the given sign; [quotient, inexact]. */
function roundShift(m: bigint, shift: number, sign: number, rc: number): [bigint, boolean] {
  if (shift <= 0) return [m << BigInt(-shift), false];
  const s = BigInt(shift);
  let q = m >> s;
  const rem = m & ((1n << s) - 1n);
  if (rem === 0n) return [q, false];
  let up: boolean;
  if (rc === RC_NEAREST) {
    const half = 1n << (s - 1n);
    up = rem > half || (rem === half && (q & 1n) === 1n);
  } else if (rc === RC_DOWN) up = sign === 1;
  else if (rc === RC_UP) up = sign === 0;
  else up = false;
  if (up) q += 1n;
  return [q, true];
}

/**
 * Rounds (-1)^sign * m * 2^e (m > 0; its lowest bit may be a sticky bit, as
 * long as at least two bits lie below the destination's precision) to the
 * format under MXCSR.RC/FZ, signalling OE/UE/PE.
 */
export function roundPack(sign: number, m: bigint, e: number, f: Fmt): bigint {
  const rc = roundingMode();
  const masks = env.mxcsr >> MX_MASK_SHIFT;
  const n = bitLength(m);
  const lead = e + n - 1;
  // Rounded with an unbounded exponent: decides tininess and overflow.
  const [qu, inexactU] = roundShift(m, n - f.p, sign, rc);
  const leadU = bitLength(qu) > f.p ? lead + 1 : lead;
  if (leadU > f.emax) {
    if ((masks & MX_OE) === 0) {
      env.flags |= MX_OE | (inexactU ? MX_PE : 0);
      return infinity(sign, f); // not written: #XM follows
    }
    env.flags |= MX_OE | MX_PE;
    const toInf = rc === RC_NEAREST || (rc === RC_DOWN && sign === 1) || (rc === RC_UP && sign === 0);
    return toInf ? infinity(sign, f) : infinity(sign, f) - 1n;
  }
  const tiny = leadU < f.emin;
  if (tiny && (masks & MX_UE) !== 0 && (env.mxcsr & MX_FZ) !== 0) {
    env.flags |= MX_UE | MX_PE;
    return signedZero(sign, f);
  }
  // Round at the destination's precision, or at the denormal LSB for tiny values.
  const lsb = Math.max(lead - (f.p - 1), f.emin - (f.p - 1));
  let [q, inexact] = roundShift(m, lsb - e, sign, rc);
  let exp = lsb;
  if (bitLength(q) > f.p) {
    q >>= 1n; // a carry out to 2^p: the dropped bit is 0
    exp++;
  }
  if (inexact) env.flags |= MX_PE;
  if (tiny && (inexact || (masks & MX_UE) === 0)) env.flags |= MX_UE;
  if (q === 0n) return signedZero(sign, f);
  let bits: bigint;
  if (bitLength(q) === f.p) bits = (BigInt(exp + (f.p - 1) + f.bias) << BigInt(f.p - 1)) | (q & fracBits(f));
  else bits = q; // denormal: exponent field 0 (exp is emin - (p - 1) here)
  return signedZero(sign, f) | bits;
}

/** Exact sum of two finite-or-zero operands (b negated for subtraction). */
function addFinite(a: Num, b: Num, bSign: number, f: Fmt): bigint {
  if (a.kind === ZERO && b.kind === ZERO) {
    // +0 unless both are -0, or the signs differ and RC rounds down.
    if (a.sign === bSign) return signedZero(a.sign, f);
    return signedZero(roundingMode() === RC_DOWN ? 1 : 0, f);
  }
  const e = Math.min(a.kind === ZERO ? Infinity : a.e, b.kind === ZERO ? Infinity : b.e);
  const ma = a.kind === ZERO ? 0n : a.m << BigInt(a.e - e);
  const mb = b.kind === ZERO ? 0n : b.m << BigInt(b.e - e);
  const sa = a.sign ? -ma : ma;
  const sb = bSign ? -mb : mb;
  const sum = sa + sb;
  if (sum === 0n) return signedZero(roundingMode() === RC_DOWN ? 1 : 0, f); // exact cancellation
  return sum < 0n ? roundPack(1, -sum, e, f) : roundPack(0, sum, e, f);
}

export function add(aBits: bigint, bBits: bigint, f: Fmt, subtract: boolean): bigint {
  const [a, b] = sources(aBits, bBits, f);
  if (isNaN(a) || isNaN(b)) return propagateNaN(aBits, a, bBits, b, f);
  const bSign = subtract ? b.sign ^ 1 : b.sign;
  if (a.kind === INF || b.kind === INF) {
    if (a.kind === INF && b.kind === INF && a.sign !== bSign) return invalid(f);
    return a.kind === INF ? infinity(a.sign, f) : infinity(bSign, f);
  }
  return addFinite(a, b, bSign, f);
}

export function mul(aBits: bigint, bBits: bigint, f: Fmt): bigint {
  const [a, b] = sources(aBits, bBits, f);
  if (isNaN(a) || isNaN(b)) return propagateNaN(aBits, a, bBits, b, f);
  const sign = a.sign ^ b.sign;
  if (a.kind === INF || b.kind === INF) {
    if (a.kind === ZERO || b.kind === ZERO) return invalid(f);
    return infinity(sign, f);
  }
  if (a.kind === ZERO || b.kind === ZERO) return signedZero(sign, f);
  return roundPack(sign, a.m * b.m, a.e + b.e, f);
}

export function div(aBits: bigint, bBits: bigint, f: Fmt): bigint {
  const [a, b] = sources(aBits, bBits, f);
  if (isNaN(a) || isNaN(b)) return propagateNaN(aBits, a, bBits, b, f);
  const sign = a.sign ^ b.sign;
  if (a.kind === INF) return b.kind === INF ? invalid(f) : infinity(sign, f);
  if (b.kind === INF) return signedZero(sign, f);
  if (b.kind === ZERO) {
    if (a.kind === ZERO) return invalid(f);
    env.flags |= MX_ZE;
    return infinity(sign, f);
  }
  if (a.kind === ZERO) return signedZero(sign, f);
  // Quotient with at least p + 3 bits, then a sticky bit for the remainder.
  const k = Math.max(0, f.p + 3 + bitLength(b.m) - bitLength(a.m));
  const num = a.m << BigInt(k);
  const q = num / b.m;
  const sticky = num % b.m !== 0n ? 1n : 0n;
  return roundPack(sign, (q << 1n) | sticky, a.e - b.e - k - 1, f);
}

function isqrt(n: bigint): bigint {
  if (n < 2n) return n;
  let x = 1n << BigInt(Math.ceil(bitLength(n) / 2));
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) return x;
    x = y;
  }
}

export function sqrt(aBits: bigint, f: Fmt): bigint {
  const a = source(aBits, f);
  if (isNaN(a)) return propagateNaN(aBits, a, 0n, null, f);
  if (a.kind === ZERO) return signedZero(a.sign, f); // sqrt(-0) = -0
  if (a.sign === 1) return invalid(f);
  if (a.kind === INF) return infinity(0, f);
  let m = a.m, e = a.e;
  if ((e & 1) !== 0) {
    m <<= 1n;
    e -= 1;
  }
  // Root with at least p + 3 bits: shift by an even amount.
  let k = Math.max(0, 2 * (f.p + 3) - bitLength(m));
  k += k & 1;
  const n = m << BigInt(k);
  const r = isqrt(n);
  const sticky = r * r !== n ? 1n : 0n;
  return roundPack(0, (r << 1n) | sticky, (e - k) / 2 - 1, f);
}

/** Relation of a compare: less, equal, greater, unordered. */
export const LT = 0, EQ = 1, GT = 2, UN = 3;

/**
 * Compares a with b. `signalQNaN`: a QNaN operand signals IE too (the
 * ordered compares: COMISS, CMPLT/LE/NLT/NLE, MIN/MAX); an SNaN always does.
 */
export function compare(aBits: bigint, bBits: bigint, f: Fmt, signalQNaN: boolean): number {
  const [a, b] = sources(aBits, bBits, f);
  if (isNaN(a) || isNaN(b)) {
    if (signalQNaN || a.kind === SNAN || b.kind === SNAN) env.flags |= MX_IE;
    return UN;
  }
  const va = valueOrder(a), vb = valueOrder(b);
  return compareOrdered(va, vb);
}

type Ordered = { inf: number; sign: number; m: bigint; e: number; zero: boolean };

function valueOrder(n: Num): Ordered {
  return { inf: n.kind === INF ? 1 : 0, sign: n.sign, m: n.m, e: n.e, zero: n.kind === ZERO };
}

function compareOrdered(a: Ordered, b: Ordered): number {
  if (a.zero && b.zero) return EQ;
  const sa = a.zero ? 0 : a.sign ? -1 : 1;
  const sb = b.zero ? 0 : b.sign ? -1 : 1;
  if (sa !== sb) return sa < sb ? LT : GT;
  // Same sign, both nonzero: compare magnitudes.
  let mag: number;
  if (a.inf || b.inf) mag = a.inf && b.inf ? 0 : a.inf ? 1 : -1;
  else {
    const e = Math.min(a.e, b.e);
    const ma = a.m << BigInt(a.e - e), mb = b.m << BigInt(b.e - e);
    mag = ma === mb ? 0 : ma > mb ? 1 : -1;
  }
  if (sa < 0) mag = -mag;
  return mag === 0 ? EQ : mag < 0 ? LT : GT;
}

/** Signed 32-bit integer to the format (exact for binary64; rounded for binary32). */
export function fromInt32(v: number, f: Fmt): bigint {
  if (v === 0) return 0n;
  const sign = v < 0 ? 1 : 0;
  return roundPack(sign, BigInt(Math.abs(v)), 0, f);
}

/** The integer indefinite 80000000H, returned for NaNs and out-of-range values with IE. */
export const INT32_INDEFINITE = 0x8000_0000 | 0;

/** Conversion to a signed 32-bit integer: by MXCSR.RC, or truncating (CVTT*). */
export function toInt32(bits: bigint, f: Fmt, truncate: boolean): number {
  const a = unpack(bits, f);
  if (a.denormal && (env.mxcsr & MX_DAZ) !== 0) return 0;
  if (isNaN(a) || a.kind === INF) {
    env.flags |= MX_IE;
    return INT32_INDEFINITE;
  }
  if (a.kind === ZERO) return 0;
  const rc = truncate ? 3 : roundingMode();
  const [q, inexact] = roundShift(a.m, -a.e, a.sign, rc);
  const v = a.sign ? -q : q;
  if (v > 0x7fff_ffffn || v < -0x8000_0000n) {
    env.flags |= MX_IE;
    return INT32_INDEFINITE;
  }
  if (inexact) env.flags |= MX_PE;
  return Number(v) | 0;
}

/** Conversion between the formats (CVTSS2SD / CVTSD2SS and their packed forms). */
export function convert(bits: bigint, from: Fmt, to: Fmt): bigint {
  const a = source(bits, from);
  if (isNaN(a)) {
    if (a.kind === SNAN) env.flags |= MX_IE;
    // The payload keeps its most significant bits (widened or truncated).
    const shift = (to.p - 1) - (from.p - 1);
    const payload = shift >= 0 ? a.m << BigInt(shift) : a.m >> BigInt(-shift);
    return quiet(infinity(a.sign, to) | payload, to);
  }
  if (a.kind === INF) return infinity(a.sign, to);
  if (a.kind === ZERO) return signedZero(a.sign, to);
  return roundPack(a.sign, a.m, a.e, to);
}

/**
 * Runs one element's operation with its own flags: an invalid operation or
 * a division by zero hides the denormal-operand flag of the same element
 * (their priority is higher, SDM Vol. 1 4.9.2; the host processor agrees).
 */
export function element<T>(op: () => T): T {
  const before = env.flags;
  env.flags = 0;
  const r = op();
  let own = env.flags;
  if ((own & (MX_IE | MX_ZE)) !== 0) own &= ~MX_DE;
  env.flags = before | own;
  return r;
}

/** Whether an unmasked exception is among `flags` under the MXCSR masks. */
export function unmasked(flags: number, mxcsr: number): number {
  return flags & ~(mxcsr >> MX_MASK_SHIFT) & 0x3f;
}
