/**
 * Host-double fast paths for the common case of the floating-point
 * instructions, taken only where they give exactly what softFloat.ts gives
 * (the exact path stays the reference; the host oracle test checks both):
 *
 * - Arithmetic (ADD, SUB, MUL, DIV, SQRT): only when MXCSR is all masks,
 *   round to nearest, no DAZ/FTZ, and PE already set (so an inexact result
 *   adds no flag and no exactness test is needed), with operands that are
 *   normal numbers or zeros (no NaN, infinity, denormal: no IE/DE/ZE). The
 *   host's binary64 operation is then correctly rounded to nearest; binary32
 *   results are Math.fround of the binary64 result, which is the correctly
 *   rounded single for these five operations (53 >= 2 * 24 + 2 bits: the
 *   double rounding is innocuous). A result that overflows, is a zero from
 *   nonzero operands of MUL/DIV, or has a magnitude not above the smallest
 *   normal (where UE could arise) falls back to the exact path; so does a
 *   division by zero.
 * - MIN, MAX and the compare predicates: with normal or zero operands no
 *   flag can arise under any MXCSR, and the result is one operand's bits or
 *   a mask.
 * A lane that cannot take the fast path sends the whole instruction to the
 * exact path.
 */

/** One lane: the result value, or NaN to ask for the exact path. */
export type FastFn = (a: number, b: number, single: boolean) => number;

/** MXCSR & FAST_MXCSR_FIELDS === FAST_MXCSR: masks all set, RC nearest, no DAZ/FTZ, PE set (the other flags free). */
export const FAST_MXCSR_FIELDS = 0xffe0;
export const FAST_MXCSR = 0x1fa0;

const MIN_NORMAL64 = 2 ** -1022;
const MIN_NORMAL32 = 2 ** -126;

function rounded(r: number, single: boolean): number {
  if (single) r = Math.fround(r);
  const m = Math.abs(r);
  if (m === Infinity || m <= (single ? MIN_NORMAL32 : MIN_NORMAL64)) return NaN;
  return r;
}

export const addFast: FastFn = (a, b, s) => {
  const r = a + b;
  return r === 0 ? r : rounded(r, s); // an exact zero sum: +0, or -0 for -0 + -0 (round to nearest)
};
export const subFast: FastFn = (a, b, s) => {
  const r = a - b;
  return r === 0 ? r : rounded(r, s);
};
export const mulFast: FastFn = (a, b, s) => (a === 0 || b === 0 ? a * b : rounded(a * b, s));
export const divFast: FastFn = (a, b, s) => (b === 0 ? NaN : a === 0 ? a / b : rounded(a / b, s));
export const sqrtFast: FastFn = (_a, b, s) => (b < 0 ? NaN : b === 0 ? b : rounded(Math.sqrt(b), s));
/** MIN/MAX: the first source only when strictly less (greater); two zeros give the second. */
export const minFast: FastFn = (a, b) => (a < b ? a : b);
export const maxFast: FastFn = (a, b) => (a > b ? a : b);

/** A lane holds a normal number or a zero (dwords: binary32 at x[k]; binary64 at x[2k], x[2k + 1]). */
export function plainLane(x: Uint32Array, base: number, k: number, single: boolean): boolean {
  if (single) {
    const w = x[base + k], e = (w >>> 23) & 0xff;
    return e === 0 ? (w & 0x7fff_ffff) === 0 : e !== 0xff;
  }
  const hi = x[base + 2 * k + 1], e = (hi >>> 20) & 0x7ff;
  return e === 0 ? ((hi & 0x7fff_ffff) | x[base + 2 * k]) === 0 : e !== 0x7ff;
}
