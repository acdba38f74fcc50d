/**
 * The x87 partial remainders and scaling functions on register values:
 * FPREM/FPREM1 (exact, with quotient bits), FSCALE, FXTRACT's parts.
 */
import { SW_C0, SW_C1, SW_C2, SW_C3, SW_IE, SW_OE, SW_PE, SW_UE } from './fpu.ts';
import { acc, exponentOf, INDEFINITE, propagateNaN, scaleB } from './numeric.ts';

/** Output of `partialRemainder`: C3 C2 C1 C0 bits to set. */
export const remOut = { cc: 0 };

/**
 * FPREM (nearest = false: truncated quotient) / FPREM1 (IEEE remainder).
 * When the exponents differ by D >= 64, the reduction is partial (C2 = 1):
 * the SDM leaves the step N (32..63) to the implementation; like Bochs'
 * model of Intel's, N = 32 + (D mod 32): the remainder modulo
 * ST(1) * 2^(D - N), which lowers the exponent difference by N. Quotient
 * bits are 0 after a partial step.
 */
export function partialRemainder(a: number, b: number, nearest: boolean): number {
  remOut.cc = 0;
  if (a !== a || b !== b) return propagateNaN(a, b);
  if (a === Infinity || a === -Infinity || b === 0) {
    acc.flags |= SW_IE;
    return INDEFINITE;
  }
  if (a === 0 || b === Infinity || b === -Infinity) return a;
  const d = exponentOf(a) - exponentOf(b);
  if (d >= 64) {
    const m = scaleB(b, d - ((d & 31) | 32));
    const r = a % m;
    remOut.cc = SW_C2;
    return r;
  }
  let r = a % b; // exact (truncated quotient)
  const ab = Math.abs(b);
  // Low three bits of the truncated quotient q: (a mod 8b - r) / b.
  let q: number;
  const b8 = ab * 8;
  if (b8 === Infinity) q = Math.round((Math.abs(a) - Math.abs(r)) / ab);
  else q = Math.round((Math.abs(a % b8) - Math.abs(r)) / ab);
  q &= 7;
  if (nearest) {
    const ar = Math.abs(r);
    const rest = ab - ar; // exact when ar >= ab / 2 (Sterbenz); otherwise rest > ar regardless
    if (ar > rest || (ar === rest && (q & 1) !== 0)) {
      // Round the quotient up in magnitude: q + 1, and the remainder moves across zero.
      r = r > 0 ? r - ab : r + ab;
      q = (q + 1) & 7;
    }
  }
  if (r === 0) r = a < 0 ? -0 : 0;
  remOut.cc = ((q & 4) !== 0 ? SW_C0 : 0) | ((q & 2) !== 0 ? SW_C3 : 0) | ((q & 1) !== 0 ? SW_C1 : 0);
  return r;
}

/** FSCALE: a * 2^trunc(b). */
export function scale(a: number, b: number): number {
  if (a !== a || b !== b) return propagateNaN(a, b);
  const bInf = b === Infinity || b === -Infinity;
  if (bInf) {
    if ((a === 0 && b === Infinity) || ((a === Infinity || a === -Infinity) && b === -Infinity)) {
      acc.flags |= SW_IE;
      return INDEFINITE;
    }
    if (a === 0 || a === Infinity || a === -Infinity) return a;
    return b === Infinity ? (a < 0 ? -Infinity : Infinity) : (a < 0 ? -0 : 0);
  }
  if (a === 0 || a === Infinity || a === -Infinity) return a;
  const n = Math.trunc(b);
  const r = scaleB(a, n);
  if (r === Infinity || r === -Infinity) acc.flags |= SW_OE | SW_PE;
  else if (scaleB(r, -n) !== a) acc.flags |= SW_UE | SW_PE;
  return r;
}
