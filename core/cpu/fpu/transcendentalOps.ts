/**
 * FPREM, FPREM1, FSCALE, FXTRACT and the transcendental instructions FSIN,
 * FCOS, FSINCOS, FPTAN, FPATAN, F2XM1, FYL2X, FYL2XP1: operand rules and
 * special values per the instruction pages (SDM Vol. 2), values from
 * transcendental.ts (exact) and transcendentalMath.ts (within the last
 * place, reduction by the 66-bit pi). Operands with |x| >= 2^63 leave the
 * trigonometric instructions' ST(0) unchanged and set C2, as on hardware.
 *
 * Where the SDM leaves a result undefined, the host x87 the oracle test
 * compares with decides: F2XM1 with |x| > 1 leaves ST(0) unchanged and
 * signals PE; F2XM1(+-1) and FYL2X of a power of two signal PE although
 * exact. FYL2XP1 outside |x| < 1 - sqrt(2)/2 computes y * log2(1 + x)
 * (IE below -1, ZE at -1), which no part is known to match.
 */
import type { Cpu } from '../cpu.ts';
import type { Exec } from '../insn.ts';
import { defineReg } from './formsTable.ts';
import { noteInstruction, waitingGate } from './gate.ts';
import { settle } from './results.ts';
import { acc, clearAcc, invalidResult, propagateNaN, roundToRegister } from './numeric.ts';
import { extract, partialRemainder, remOut, scale, xtractOut } from './transcendental.ts';
import { SW_C1, SW_C2, SW_CC, SW_DE, SW_PE, SW_UE, SW_ZE } from './fpu.ts';
import type { X80 } from './ext80.ts';
import {
  classOf, FINITE, INF, infinity, isDenormal, isNaNClass, isNegative, numOf, topExponent, UNSUPPORTED,
  ZERO, zero,
} from './ext80.ts';
import {
  arcTangent2, exp2m1Of, log2Of, log2p1Of, piTimes, roundBig, sinCos, tangent,
} from './transcendentalMath.ts';

type TwoOperand = (cpu: Cpu) => void;

/** Needs ST(0) and ST(1); masked underflow writes the indefinite to `dst` (and pops when `pop`). */
function twoOperands(fn: TwoOperand, dst: number, pop: boolean): Exec {
  return (cpu, i) => {
    if (!waitingGate(cpu, i)) return;
    noteInstruction(cpu, i);
    const f = cpu.fpu;
    if (f.isEmpty(0) || f.isEmpty(1)) {
      if (!f.stackFault(false)) {
        f.setIndefinite(dst);
        if (pop) f.pop();
      }
      return;
    }
    clearAcc(f.control);
    fn(cpu);
  };
}

function remainderOp(nearest: boolean): Exec {
  return twoOperands((cpu) => {
    const f = cpu.fpu;
    const r = partialRemainder(f.get(0), f.get(1), nearest);
    if (!settle(f)) return;
    f.set(0, r);
    f.status = (f.status & ~SW_CC) | remOut.cc;
  }, 0, false);
}
defineReg(0xd9, 0xf8, remainderOp(false)); // FPREM
defineReg(0xd9, 0xf5, remainderOp(true)); // FPREM1

defineReg(0xd9, 0xfd, twoOperands((cpu) => { // FSCALE
  const f = cpu.fpu;
  const r = scale(f.get(0), f.get(1));
  if (settle(f)) f.set(0, r);
}, 0, false));

/**
 * Screens the operands of a two-operand transcendental: unsupported → IE,
 * NaN → propagated, denormal → DE. Returns the decided result or null.
 */
function screen2(a: X80, b: X80): X80 | null {
  const ca = classOf(a), cb = classOf(b);
  if (ca === UNSUPPORTED || cb === UNSUPPORTED) return invalidResult();
  if (isNaNClass(ca) || isNaNClass(cb)) return propagateNaN(a, b);
  if (isDenormal(a) || isDenormal(b)) acc.flags |= SW_DE;
  return null;
}

defineReg(0xd9, 0xf3, twoOperands((cpu) => { // FPATAN: ST(1) ← atan2(ST(1), ST(0)), pop
  const f = cpu.fpu;
  const x = f.get(0), y = f.get(1);
  const r = screen2(y, x) ?? fpatan(y, x);
  if (!settle(f)) return;
  f.set(1, r);
  f.pop();
}, 1, true));

/** FPATAN's value for non-NaN operands (the SDM's table of special cases, then atan2). */
function fpatan(y: X80, x: X80): X80 {
  const cy = classOf(y), cx = classOf(x);
  const ny = isNegative(y), nx = isNegative(x);
  if (cy === ZERO) return nx ? roundBig(piTimes(1, 1, ny)) : zero(ny);
  if (cy === INF) {
    if (cx === INF) return roundBig(piTimes(nx ? 3 : 1, 4, ny));
    return roundBig(piTimes(1, 2, ny));
  }
  if (cx === ZERO) return roundBig(piTimes(1, 2, ny));
  if (cx === INF) return nx ? roundBig(piTimes(1, 1, ny)) : zero(ny);
  return roundBig(arcTangent2(numOf(y), numOf(x)));
}

defineReg(0xd9, 0xf1, twoOperands((cpu) => { // FYL2X: ST(1) ← ST(1) * log2(ST(0)), pop
  const f = cpu.fpu;
  const x = f.get(0), y = f.get(1);
  const r = screen2(x, y) ?? fyl2x(y, x);
  if (!settle(f)) return;
  f.set(1, r);
  f.pop();
}, 1, true));

function fyl2x(y: X80, x: X80): X80 {
  const cy = classOf(y), cx = classOf(x);
  const ny = isNegative(y);
  if (isNegative(x) && cx !== ZERO) return invalidResult();
  if (cx === ZERO) {
    if (cy === ZERO) return invalidResult();
    if (cy !== INF) acc.flags = (acc.flags & ~SW_DE) | SW_ZE; // no DE beside the zero divide (host x87)
    return infinity(!ny);
  }
  if (cx === INF) {
    if (cy === ZERO) return invalidResult();
    return infinity(ny);
  }
  // 0 < x < inf: log2(x) has the sign of x - 1 (zero at 1).
  const n = numOf(x);
  const e = topExponent(n);
  const powerOfTwo = (n.sig & (n.sig - 1n)) === 0n;
  const logSign = e < 0; // log2(x) < 0 iff x < 1
  if (cy === INF) {
    if (powerOfTwo && e === 0) return invalidResult(); // inf * log2(1) = inf * 0
    return infinity(ny !== logSign);
  }
  if (powerOfTwo) {
    // log2(x) = e exactly: the product rounds once.
    if (e === 0) return zero(ny);
    if (cy === ZERO) return zero(ny !== logSign);
    const m = numOf(y);
    const r = roundToRegister(ny !== logSign, m.sig * BigInt(Math.abs(e)), m.exp, 64);
    // Signalled even when the product is exact (host x87), and so UE for a tiny result.
    acc.flags |= SW_PE | ((r.se & 0x7fff) === 0 ? SW_UE : 0);
    return r;
  }
  if (cy === ZERO) return zero(ny !== logSign);
  return roundBig(mulBig(y, log2Of(n)));
}

function mulBig(y: X80, v: ReturnType<typeof log2Of>): ReturnType<typeof log2Of> {
  const m = numOf(y);
  return { m: (m.neg ? -m.sig : m.sig) * v.m, e: m.exp + v.e };
}

defineReg(0xd9, 0xf9, twoOperands((cpu) => { // FYL2XP1: ST(1) ← ST(1) * log2(ST(0) + 1), pop
  const f = cpu.fpu;
  const x = f.get(0), y = f.get(1);
  const r = screen2(x, y) ?? fyl2xp1(y, x);
  if (!settle(f)) return;
  f.set(1, r);
  f.pop();
}, 1, true));

function fyl2xp1(y: X80, x: X80): X80 {
  const cy = classOf(y), cx = classOf(x);
  const ny = isNegative(y), nx = isNegative(x);
  if (cx === ZERO) {
    if (cy === INF) return invalidResult(); // inf * log2(1)
    return zero(ny !== nx);
  }
  if (cx === INF) {
    if (nx || cy === ZERO) return invalidResult();
    return infinity(ny);
  }
  const n = numOf(x);
  if (n.neg) {
    // x < -1 is invalid; x = -1 gives log2(0).
    const e = topExponent(n);
    const minusOne = e === 0 && (n.sig & (n.sig - 1n)) === 0n;
    if (e > 0 || (e === 0 && !minusOne)) return invalidResult();
    if (minusOne) {
      if (cy === ZERO) return invalidResult();
      if (cy !== INF) acc.flags = (acc.flags & ~SW_DE) | SW_ZE;
      return infinity(!ny);
    }
  }
  if (cy === INF) return infinity(ny !== nx);
  if (cy === ZERO) return zero(ny !== nx);
  return roundBig(mulBig(y, log2p1Of(n)));
}

/** One-operand instruction on ST(0) (masked underflow: ST(0) ← indefinite). */
function oneOperand(fn: (cpu: Cpu, x: X80) => void): Exec {
  return (cpu, i) => {
    if (!waitingGate(cpu, i)) return;
    noteInstruction(cpu, i);
    const f = cpu.fpu;
    if (f.isEmpty(0)) {
      if (!f.stackFault(false)) f.setIndefinite(0);
      return;
    }
    clearAcc(f.control);
    fn(cpu, f.get(0));
  };
}

/**
 * Common trig operand rules: unsupported/infinity → IE, NaN → NaN (C2 = 0),
 * |x| >= 2^63 → C2 = 1 and no change; a denormal signals DE. Returns the
 * decided result for ST(0), `OUT_OF_RANGE`, or null to compute.
 */
const OUT_OF_RANGE: X80 = { se: 0, hi: 0, lo: 0 };
function trigScreen(cpu: Cpu, x: X80): X80 | null {
  const f = cpu.fpu;
  const c = classOf(x);
  f.status &= ~SW_C2;
  if (c === UNSUPPORTED || c === INF) return invalidResult();
  if (isNaNClass(c)) return propagateNaN(x);
  if (isDenormal(x)) acc.flags |= SW_DE;
  if (c === FINITE && topExponent(numOf(x)) >= 63) {
    f.status = (f.status & ~SW_C1) | SW_C2; // C0 and C3 are left as they were
    return OUT_OF_RANGE;
  }
  return null;
}

defineReg(0xd9, 0xfe, oneOperand((cpu, x) => { // FSIN
  const decided = trigScreen(cpu, x);
  if (decided === OUT_OF_RANGE) return;
  const r = decided ?? (classOf(x) === ZERO ? x : roundBig(sinCos(numOf(x)).sin));
  if (settle(cpu.fpu)) cpu.fpu.set(0, r);
}));
defineReg(0xd9, 0xff, oneOperand((cpu, x) => { // FCOS
  const decided = trigScreen(cpu, x);
  if (decided === OUT_OF_RANGE) return;
  const r = decided ?? (classOf(x) === ZERO ? ONE : roundBig(sinCos(numOf(x)).cos));
  if (settle(cpu.fpu)) cpu.fpu.set(0, r);
}));

const ONE: X80 = { se: 0x3fff, hi: 0x8000_0000, lo: 0 };

/**
 * Gate of FPTAN, FSINCOS and FXTRACT, which replace ST(0) and push: an empty
 * ST(0) (underflow) or a full ST(7) (overflow) gives, when IE is masked, the
 * indefinite in ST(0) and pushed.
 */
function pushingOperand(fn: (cpu: Cpu, x: X80) => void): Exec {
  return (cpu, i) => {
    if (!waitingGate(cpu, i)) return;
    noteInstruction(cpu, i);
    const f = cpu.fpu;
    const empty = f.isEmpty(0);
    if (empty || !f.isEmpty(7)) {
      if (!f.stackFault(!empty)) {
        f.setIndefinite(0);
        f.push({ se: 0xffff, hi: 0xc000_0000, lo: 0 });
      }
      return;
    }
    clearAcc(f.control);
    fn(cpu, f.get(0));
  };
}

/** FSINCOS / FPTAN: ST(0) ← first(x), then push second(x); a decided (NaN/invalid) result goes to both. */
function pushingTrig(values: (x: X80) => [X80, X80]): Exec {
  return pushingOperand((cpu, x) => {
    const f = cpu.fpu;
    const decided = trigScreen(cpu, x);
    if (decided === OUT_OF_RANGE) return;
    const [r1, r2] = decided !== null ? [decided, decided] : values(x);
    if (!settle(f)) return;
    f.set(0, r1);
    f.push(r2);
  });
}
defineReg(0xd9, 0xfb, pushingTrig((x) => { // FSINCOS: ST(1) = sin, ST(0) = cos
  if (classOf(x) === ZERO) return [x, ONE];
  const sc = sinCos(numOf(x));
  const s = roundBig(sc.sin);
  const up = acc.roundedUp;
  const c = roundBig(sc.cos);
  acc.roundedUp = up || acc.roundedUp;
  return [s, c];
}));
defineReg(0xd9, 0xf2, pushingTrig((x) => { // FPTAN: ST(1) = tan, ST(0) = 1.0
  if (classOf(x) === ZERO) return [x, ONE];
  return [roundBig(tangent(numOf(x))), ONE];
}));

defineReg(0xd9, 0xf0, oneOperand((cpu, x) => { // F2XM1: 2^x - 1
  const c = classOf(x);
  let r: X80;
  if (c === UNSUPPORTED) r = invalidResult();
  else if (isNaNClass(c)) r = propagateNaN(x);
  else if (c === ZERO) r = x;
  else if (c === INF) r = isNegative(x) ? { se: 0xbfff, hi: 0x8000_0000, lo: 0 } : x;
  else {
    if (isDenormal(x)) acc.flags |= SW_DE;
    const n = numOf(x);
    const unit = topExponent(n) === 0 && (n.sig & (n.sig - 1n)) === 0n; // |x| = 1
    if (topExponent(n) >= 0 && !unit) {
      // |x| > 1: the SDM leaves the result undefined; the host x87 leaves ST(0) as it was and signals PE.
      r = x;
      acc.flags |= SW_PE;
    } else if (unit) {
      // 2^1 - 1 = 1 and 2^-1 - 1 = -0.5 exactly, yet flagged inexact (and 1 as rounded up) as the host x87 does.
      r = n.neg ? { se: 0xbffe, hi: 0x8000_0000, lo: 0 } : ONE;
      acc.flags |= SW_PE;
      acc.roundedUp = !n.neg;
    } else r = roundBig(exp2m1Of(n));
  }
  if (settle(cpu.fpu)) cpu.fpu.set(0, r);
}));

// FXTRACT: ST(0) ← exponent, then push the significand.
defineReg(0xd9, 0xf4, pushingOperand((cpu, x) => {
  const f = cpu.fpu;
  extract(x);
  if (!settle(f)) return;
  f.set(0, xtractOut.exponent);
  f.push(xtractOut.significand);
}));
