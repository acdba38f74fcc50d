/**
 * Conversions (SDM Vol. 2 CVT*): between singles, doubles and signed dword
 * integers, scalar and packed, rounding by MXCSR.RC (CVTT*: truncating).
 * A NaN or an out-of-range value converted to an integer gives the integer
 * indefinite 80000000H with IE; the integer conversions signal no DE (the
 * SDM lists only IE and PE for them) but honour DAZ. Results go through the
 * same exception rules as the arithmetic (arith.ts endFloat).
 * The forms with an MMX register operand (CVTPI2PS, CVTPS2PI, CVTTPS2PI,
 * CVTPI2PD, CVTPD2PI, CVTTPD2PI) do not exist on this processor: it has no
 * MMX (table.ts).
 */
import type { Cpu } from '../cpu.ts';
import type { Insn } from '../insn.ts';
import { beginFloat, endFloat, lane } from './arith.ts';
import { qword, readRm, setQword, src, sseGate } from './operands.ts';
import { convert, F32, F64, type Fmt, fromInt32, toInt32 } from './softFloat.ts';
import { FAST_MXCSR, FAST_MXCSR_FIELDS, plainLane } from './fastPath.ts';
import { MX_MASK_SHIFT, MX_PE } from './state.ts';

const out = new Uint32Array(4);
const src32 = new Float32Array(src.buffer), src64 = new Float64Array(src.buffer);
const MIN_NORMAL32 = 2 ** -126;

/*
 * Fast paths of the scalar conversions (the exact path, softFloat.ts, stays
 * the reference; the host oracle runs both), taken only where no flag can
 * change: CVTSI2SD is always exact; CVTSI2SS, CVTSD2SS and the truncating
 * CVTT*2SI when the result is exact, or when it is inexact but PE is
 * already set and masked (and, for CVTSD2SS, MXCSR is the fast paths' own:
 * all masked, round to nearest, no DAZ/FTZ, and the result normal);
 * CVTSS2SD of a normal or zero single (exact). NaNs, infinities and
 * denormals always take the exact path.
 */
function inexactIsSilent(mxcsr: number): boolean {
  return (mxcsr & MX_PE) !== 0 && ((mxcsr >> MX_MASK_SHIFT) & MX_PE) !== 0;
}

/** CVTSI2SS / CVTSI2SD xmm, r/m32. */
export function cvtsi2s(cpu: Cpu, i: Insn, f: Fmt): void {
  sseGate(cpu);
  const v = cpu.readRm32(i);
  const d0 = i.reg * 4;
  if (f === F64) {
    cpu.sse.xmm64[d0 / 2] = v; // every int32 is a double
    return;
  }
  const single = Math.fround(v);
  if (single === v || (cpu.sse.mxcsr & FAST_MXCSR_FIELDS) === FAST_MXCSR) {
    cpu.sse.xmm32[d0] = single; // exact, or round to nearest with PE already set
    return;
  }
  beginFloat(cpu);
  const r = fromInt32(v, f);
  endFloat(cpu);
  const x = cpu.sse.xmm, d = i.reg * 4;
  if (f === F32) x[d] = Number(r);
  else setQword(x, d, 0, r);
}

/** CVT(T)SS2SI / CVT(T)SD2SI r32, xmm/m32|m64. */
export function cvts2si(cpu: Cpu, i: Insn, f: Fmt, truncate: boolean): void {
  sseGate(cpu);
  const b = readRm(cpu, i, f === F32 ? 1 : 2, false);
  if (truncate && plainLane(b, 0, 0, f === F32)) {
    const x = f === F32 ? src32[0] : src64[0];
    const t = Math.trunc(x);
    if (t >= -0x8000_0000 && t <= 0x7fff_ffff && (t === x || inexactIsSilent(cpu.sse.mxcsr))) {
      cpu.regs[i.reg] = t;
      return;
    }
  }
  beginFloat(cpu);
  const v = toInt32(lane(b, 0, 0, f), f, truncate);
  endFloat(cpu);
  cpu.regs[i.reg] = v;
}

/** CVTSS2SD / CVTSD2SS xmm, xmm/m32|m64: element 0 converted, the others kept. */
export function cvtScalar(cpu: Cpu, i: Insn, from: Fmt, to: Fmt): void {
  sseGate(cpu);
  const b = readRm(cpu, i, from === F32 ? 1 : 2, false);
  if (plainLane(b, 0, 0, from === F32)) {
    const d0 = i.reg * 4;
    if (from === F32) {
      cpu.sse.xmm64[d0 / 2] = src32[0]; // widening is exact
      return;
    }
    const y = src64[0], r = Math.fround(y);
    const normal = r === 0 ? y === 0 : Math.abs(r) > MIN_NORMAL32 && Math.abs(r) !== Infinity;
    if (normal && (r === y || (cpu.sse.mxcsr & FAST_MXCSR_FIELDS) === FAST_MXCSR)) {
      cpu.sse.xmm32[d0] = r;
      return;
    }
  }
  beginFloat(cpu);
  const r = convert(lane(b, 0, 0, from), from, to);
  endFloat(cpu);
  const x = cpu.sse.xmm, d = i.reg * 4;
  if (to === F32) x[d] = Number(r);
  else setQword(x, d, 0, r);
}

/** CVTPS2PD xmm, xmm/m64: two singles widened. */
export function cvtps2pd(cpu: Cpu, i: Insn): void {
  sseGate(cpu);
  const b = readRm(cpu, i, 2, false);
  beginFloat(cpu);
  const r0 = convert(BigInt(b[0]), F32, F64), r1 = convert(BigInt(b[1]), F32, F64);
  endFloat(cpu);
  const x = cpu.sse.xmm, d = i.reg * 4;
  setQword(x, d, 0, r0);
  setQword(x, d, 1, r1);
}

/** CVTPD2PS xmm, xmm/m128: two doubles narrowed into the low qword; the high qword cleared. */
export function cvtpd2ps(cpu: Cpu, i: Insn): void {
  sseGate(cpu);
  const b = readRm(cpu, i, 4, true);
  beginFloat(cpu);
  const r0 = convert(qword(b, 0, 0), F64, F32), r1 = convert(qword(b, 0, 1), F64, F32);
  endFloat(cpu);
  const x = cpu.sse.xmm, d = i.reg * 4;
  x[d] = Number(r0); x[d + 1] = Number(r1); x[d + 2] = 0; x[d + 3] = 0;
}

/** CVTDQ2PS xmm, xmm/m128. */
export function cvtdq2ps(cpu: Cpu, i: Insn): void {
  sseGate(cpu);
  const b = readRm(cpu, i, 4, true);
  beginFloat(cpu);
  for (let k = 0; k < 4; k++) out[k] = Number(fromInt32(b[k] | 0, F32));
  endFloat(cpu);
  cpu.sse.xmm.set(out, i.reg * 4);
}

/** CVT(T)PS2DQ xmm, xmm/m128. */
export function cvtps2dq(cpu: Cpu, i: Insn, truncate: boolean): void {
  sseGate(cpu);
  const b = readRm(cpu, i, 4, true);
  beginFloat(cpu);
  for (let k = 0; k < 4; k++) out[k] = toInt32(BigInt(b[k]), F32, truncate);
  endFloat(cpu);
  cpu.sse.xmm.set(out, i.reg * 4);
}

/** CVTDQ2PD xmm, xmm/m64 (exact). */
export function cvtdq2pd(cpu: Cpu, i: Insn): void {
  sseGate(cpu);
  const b = readRm(cpu, i, 2, false);
  beginFloat(cpu);
  const r0 = fromInt32(b[0] | 0, F64), r1 = fromInt32(b[1] | 0, F64);
  endFloat(cpu);
  const x = cpu.sse.xmm, d = i.reg * 4;
  setQword(x, d, 0, r0);
  setQword(x, d, 1, r1);
}

/** CVT(T)PD2DQ xmm, xmm/m128: two dwords in the low qword; the high qword cleared. */
export function cvtpd2dq(cpu: Cpu, i: Insn, truncate: boolean): void {
  sseGate(cpu);
  const b = readRm(cpu, i, 4, true);
  beginFloat(cpu);
  const r0 = toInt32(qword(b, 0, 0), F64, truncate), r1 = toInt32(qword(b, 0, 1), F64, truncate);
  endFloat(cpu);
  const x = cpu.sse.xmm, d = i.reg * 4;
  x[d] = r0; x[d + 1] = r1; x[d + 2] = 0; x[d + 3] = 0;
}
