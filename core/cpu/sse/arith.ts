/**
 * Packed and scalar floating-point arithmetic of SSE (single) and SSE2
 * (double): ADD, SUB, MUL, DIV, MIN, MAX, SQRT, CMPcc, COMIS/UCOMIS, RCP and
 * RSQRT. The numbers come from softFloat.ts; this file applies the SIMD
 * exception rules (SDM Vol. 1 11.5.1-11.5.2):
 * - every element is computed and its flags collected;
 * - if an unmasked pre-computation exception (IE, DE, ZE) occurred in any
 *   element, only the pre-computation flags are recorded, #XM (or #UD, see
 *   operands.ts) is raised and the destination is unchanged;
 * - otherwise all flags are recorded; an unmasked one among them raises
 *   #XM and leaves the destination unchanged; else the results are written.
 * Scalar forms operate on element 0 and keep the destination's other
 * elements; their memory operand is 4 or 8 bytes with no alignment rule.
 * Packed forms with a memory operand need 16-byte alignment.
 */
import type { Cpu } from '../cpu.ts';
import type { Insn } from '../insn.ts';
import { AF, CF, OF, PF, SF, ZF } from '../regs.ts';
import { qword, raiseSimdException, readRm, setQword, src, sseGate } from './operands.ts';
import { FAST_MXCSR, FAST_MXCSR_FIELDS, type FastFn, plainLane } from './fastPath.ts';
import {
  add, compare, defaultNaN, div, element, env, EQ, F32, type Fmt, GT, infinity, INF, LT, mul, QNAN, quiet, signedZero, SNAN,
  sqrt, UN, unmasked, unpack, ZERO,
} from './softFloat.ts';
import { MX_DAZ, MX_FLAGS, MX_PRE } from './state.ts';

/** Results staged until the exception rules allow the write. */
const out = new Uint32Array(4);

/** Starts an operation: the MXCSR in force and no flags yet. */
export function beginFloat(cpu: Cpu): void {
  env.mxcsr = cpu.sse.mxcsr;
  env.flags = 0;
}

/**
 * Applies the collected flags: records them in MXCSR and raises #XM/#UD for
 * an unmasked one (returning only when the destination may be written).
 */
export function endFloat(cpu: Cpu): void {
  const flags = env.flags & MX_FLAGS;
  const pre = flags & MX_PRE;
  if (unmasked(pre, env.mxcsr) !== 0) {
    cpu.sse.mxcsr |= pre;
    raiseSimdException(cpu);
  }
  cpu.sse.mxcsr |= flags;
  if (unmasked(flags, env.mxcsr) !== 0) raiseSimdException(cpu);
}

/** Element k of a format from dwords (single: dword k; double: qword k). */
export function lane(x: Uint32Array, base: number, k: number, f: Fmt): bigint {
  return f === F32 ? BigInt(x[base + k]) : qword(x, base, k);
}
function setElement(x: Uint32Array, k: number, f: Fmt, v: bigint): void {
  if (f === F32) x[k] = Number(v);
  else setQword(x, 0, k, v);
}

export type BinaryFn = (a: bigint, b: bigint, f: Fmt) => bigint;

/** Number views of the staging buffer and the source scratch (fast paths only ever hold non-NaN values in them). */
const out32 = new Float32Array(out.buffer), out64 = new Float64Array(out.buffer);
const src32 = new Float32Array(src.buffer), src64 = new Float64Array(src.buffer);

/**
 * The common body of a floating-point instruction xmm(reg) <- op(xmm(reg), r/m):
 * `scalar` operates on element 0 only. `fast` (fastPath.ts) is tried first
 * when MXCSR allows it (`anyMxcsr`: MIN/MAX need no MXCSR condition).
 */
export function floatBinary(cpu: Cpu, i: Insn, f: Fmt, scalar: boolean, fn: BinaryFn, fast: FastFn | null = null, anyMxcsr = false): void {
  sseGate(cpu);
  const dwords = f === F32 ? 1 : 2;
  const b = readRm(cpu, i, scalar ? dwords : 4, !scalar);
  const x = cpu.sse.xmm, d = i.reg * 4;
  out[0] = x[d]; out[1] = x[d + 1]; out[2] = x[d + 2]; out[3] = x[d + 3];
  const n = scalar ? 1 : 4 / dwords;
  if (fast !== null && (anyMxcsr || (cpu.sse.mxcsr & FAST_MXCSR_FIELDS) === FAST_MXCSR) && fastLanes(fast, b, n, f === F32)) {
    x.set(out, d);
    return;
  }
  beginFloat(cpu);
  out[0] = x[d]; out[1] = x[d + 1]; out[2] = x[d + 2]; out[3] = x[d + 3];
  for (let k = 0; k < n; k++) {
    const ak = lane(x, d, k, f), bk = lane(b, 0, k, f);
    setElement(out, k, f, element(() => fn(ak, bk, f)));
  }
  endFloat(cpu);
  x.set(out, d);
}

/** Runs every lane through `fast` on the staged destination (`out`) and the source; false when one needs the exact path. */
function fastLanes(fast: FastFn, b: Uint32Array, n: number, single: boolean): boolean {
  for (let k = 0; k < n; k++) {
    if (!plainLane(out, 0, k, single) || !plainLane(b, 0, k, single)) return false;
    const r = single ? fast(out32[k], src32[k], true) : fast(out64[k], src64[k], false);
    if (r !== r) return false;
    if (single) out32[k] = r;
    else out64[k] = r;
  }
  return true;
}

export const addFn: BinaryFn = (a, b, f) => add(a, b, f, false);
export const subFn: BinaryFn = (a, b, f) => add(a, b, f, true);
export const mulFn: BinaryFn = mul;
export const divFn: BinaryFn = div;
export const sqrtFn: BinaryFn = (_a, b, f) => sqrt(b, f);

/** A source as the operation sees it: a denormal reads as a zero of its sign under DAZ. */
function dazed(bits: bigint, f: Fmt): bigint {
  if ((env.mxcsr & MX_DAZ) !== 0 && unpack(bits, f).denormal) return signedZero(unpack(bits, f).sign, f);
  return bits;
}

/**
 * MIN/MAX (SDM Vol. 2 MINPS/MAXPS): the first source when it is strictly
 * less (greater), else the second source as it is: so a NaN in either
 * operand, or two zeros of any signs, give the second source, unquieted.
 * Any NaN signals IE (the compare is a signaling one); denormals signal DE.
 */
export const minFn: BinaryFn = (a, b, f) => (compare(a, b, f, true) === LT ? dazed(a, f) : dazed(b, f));
export const maxFn: BinaryFn = (a, b, f) => (compare(a, b, f, true) === GT ? dazed(a, f) : dazed(b, f));

/**
 * CMPPS/CMPSS/CMPPD/CMPSD predicates by imm8[2:0]: EQ, LT, LE, UNORD, NEQ,
 * NLT, NLE, ORD. LT, LE, NLT and NLE signal IE on QNaNs too; all on SNaNs.
 */
const SIGNALING = [false, true, true, false, false, true, true, false];
function predicate(rel: number, p: number): boolean {
  switch (p) {
    case 0: return rel === EQ;
    case 1: return rel === LT;
    case 2: return rel === LT || rel === EQ;
    case 3: return rel === UN;
    case 4: return rel !== EQ;
    case 5: return rel !== LT;
    case 6: return !(rel === LT || rel === EQ);
    default: return rel !== UN;
  }
}

export function cmpFn(p: number): BinaryFn {
  p &= 7;
  return (a, b, f) => {
    const t = predicate(compare(a, b, f, SIGNALING[p]), p);
    return t ? (f === F32 ? 0xffff_ffffn : 0xffff_ffff_ffff_ffffn) : 0n;
  };
}

/** The compare predicates on plain numbers (no NaN among them, so UNORD is false and ORD true). */
function predicateOf(a: number, b: number, p: number): boolean {
  switch (p) {
    case 0: return a === b;
    case 1: return a < b;
    case 2: return a <= b;
    case 3: return false;
    case 4: return a !== b;
    case 5: return !(a < b);
    case 6: return !(a <= b);
    default: return true;
  }
}

export function floatCompare(cpu: Cpu, i: Insn, f: Fmt, scalar: boolean): void {
  const single = f === F32;
  const n = scalar ? 1 : single ? 4 : 2;
  // Fast path: with normal or zero operands no flag can arise (fastPath.ts); the masks are written directly.
  sseGate(cpu);
  const b = readRm(cpu, i, scalar ? (single ? 1 : 2) : 4, !scalar);
  const x = cpu.sse.xmm, d = i.reg * 4;
  let plain = true;
  for (let k = 0; k < n && plain; k++) plain = plainLane(x, d, k, single) && plainLane(b, 0, k, single);
  if (!plain) {
    floatBinary(cpu, i, f, scalar, cmpFn(i.imm));
    return;
  }
  out[0] = x[d]; out[1] = x[d + 1]; out[2] = x[d + 2]; out[3] = x[d + 3];
  const xs32 = cpu.sse.xmm32, xs64 = cpu.sse.xmm64;
  for (let k = 0; k < n; k++) {
    const t = single ? predicateOf(xs32[d + k], src32[k], i.imm & 7) : predicateOf(xs64[d / 2 + k], src64[k], i.imm & 7);
    if (single) out[k] = t ? 0xffff_ffff : 0;
    else out[2 * k] = out[2 * k + 1] = t ? 0xffff_ffff : 0;
  }
  x.set(out, d);
}

/**
 * COMISS/UCOMISS/COMISD/UCOMISD: ZF, PF, CF from the relation (unordered
 * 111, greater 000, less 001, equal 100); OF, SF, AF cleared. COMIS signals
 * IE on QNaNs too, UCOMIS only on SNaNs. EFLAGS are not written when #XM is
 * raised.
 */
export function comis(cpu: Cpu, i: Insn, f: Fmt, ordered: boolean): void {
  sseGate(cpu);
  const b = readRm(cpu, i, f === F32 ? 1 : 2, false);
  const x = cpu.sse.xmm;
  const d = i.reg * 4, single = f === F32;
  let rel: number;
  if (plainLane(x, d, 0, single) && plainLane(b, 0, 0, single)) {
    // Normal or zero operands: no flag can arise (fastPath.ts).
    const a = single ? cpu.sse.xmm32[d] : cpu.sse.xmm64[d / 2], c = single ? src32[0] : src64[0];
    rel = a < c ? LT : a > c ? GT : EQ;
  } else {
    beginFloat(cpu);
    rel = compare(lane(x, d, 0, f), lane(b, 0, 0, f), f, ordered);
    endFloat(cpu);
  }
  const bits = rel === UN ? ZF | PF | CF : rel === GT ? 0 : rel === LT ? CF : ZF;
  cpu.setFlags((cpu.getFlags() & ~(ZF | PF | CF | OF | SF | AF)) | bits);
}

/**
 * RCPPS/RCPSS and RSQRTPS/RSQRTSS (single only, no exceptions, MXCSR
 * untouched). Intel documents only the accuracy: relative error at most
 * 1.5 * 2^-12. This processor returns the correctly rounded single of the
 * exact 1/x and 1/sqrt(x), which is within that bound; it is not the table
 * Intel parts use, so the low bits can differ from a given part. Intel's
 * table could not be measured for this processor: the host it was checked on
 * is an AMD EPYC (Zen), whose own tables differ again (its RCPSS equals the
 * correctly rounded reciprocal for 2,930 of the 2^23 significands of one
 * binade, at most 4,762 ulps away; RSQRTSS for 7,007 of 2^24 over two
 * binades, at most 2,940 ulps), so an AMD host is no oracle for Intel here.
 * No public description of Intel's table was found either: the one bit-exact
 * emulation published (of RSQRTSS, for Ivy Bridge) is code with its table as
 * data, and single measured values (RCPSS(1.0) = 0x3F7FF000 on Core 2) cannot
 * rebuild it; test/cpu/tools/UNDEFINED_FLAGS.md lists what was searched.
 * Special values as the SDM lists them: denormal inputs act as zeros of their
 * sign (result infinity), results below the normal range flush to zero,
 * NaNs are quieted, negative nonzero inputs of RSQRT give the default NaN.
 */
export const rcpFn: BinaryFn = (_a, b) => approximate(b, false);
export const rsqrtFn: BinaryFn = (_a, b) => approximate(b, true);

const f32Scratch = new DataView(new ArrayBuffer(4));

function approximate(bits: bigint, root: boolean): bigint {
  const n = unpack(bits, F32);
  if (n.kind === QNAN || n.kind === SNAN) return quiet(bits, F32);
  if (n.kind === ZERO || n.denormal) return infinity(n.sign, F32);
  if (root && n.sign === 1) return defaultNaN(F32);
  if (n.kind === INF) return signedZero(n.sign, F32);
  f32Scratch.setUint32(0, Number(bits));
  const v = f32Scratch.getFloat32(0);
  const r = root ? 1 / Math.sqrt(v) : 1 / v;
  f32Scratch.setFloat32(0, r);
  const out = f32Scratch.getUint32(0);
  if (((out >>> 23) & 0xff) === 0) return signedZero(n.sign, F32); // below the normal range: zero
  return BigInt(out);
}

