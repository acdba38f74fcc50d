/**
 * FPREM, FPREM1, FSCALE, FXTRACT and the transcendental instructions FSIN,
 * FCOS, FSINCOS, FPTAN, FPATAN, F2XM1, FYL2X, FYL2XP1.
 *
 * Accuracy: the transcendental results are the host's Math.* functions on
 * binary64 (V8's fdlibm ports: within 1 ulp of binary64), rounded to nearest
 * whatever RC says, with PE set for every nonzero finite operand whose
 * result is not trivially exact. Trigonometric operands are reduced exactly
 * (an x87 uses a 66-bit pi, so for |x| near multiples of pi the results
 * differ from a real FPU's in the low bits). Operands with |x| >= 2^63 leave
 * ST(0) unchanged and set C2, as on hardware.
 */
import type { Cpu } from '../cpu.ts';
import type { Exec } from '../insn.ts';
import { defineReg } from './formsTable.ts';
import { noteInstruction, waitingGate } from './gate.ts';
import { settle } from './results.ts';
import { acc, clearAcc, exponentOf, INDEFINITE, propagateNaN } from './numeric.ts';
import { partialRemainder, remOut, scale } from './transcendental.ts';
import { SW_C1, SW_C2, SW_CC, SW_IE, SW_PE, SW_ZE } from './fpu.ts';

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
    clearAcc();
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

/** Result of a binary64 function of one or two finite operands: PE unless trivially exact. */
function inexact(r: number, exact: boolean): number {
  if (!exact && r === r) acc.flags |= SW_PE;
  return r;
}

defineReg(0xd9, 0xf3, twoOperands((cpu) => { // FPATAN: ST(1) ← atan2(ST(1), ST(0)), pop
  const f = cpu.fpu;
  const x = f.get(0), y = f.get(1);
  let r: number;
  if (x !== x || y !== y) r = propagateNaN(y, x);
  else r = inexact(Math.atan2(y, x), y === 0);
  if (!settle(f)) return;
  f.set(1, r);
  f.pop();
}, 1, true));

defineReg(0xd9, 0xf1, twoOperands((cpu) => { // FYL2X: ST(1) ← ST(1) * log2(ST(0)), pop
  const f = cpu.fpu;
  const x = f.get(0), y = f.get(1);
  let r: number;
  if (x !== x || y !== y) r = propagateNaN(x, y);
  else if (x < 0 || (x === 0 && y === 0) || (x === 1 && (y === Infinity || y === -Infinity)) ||
    (x === Infinity && y === 0)) {
    acc.flags |= SW_IE;
    r = INDEFINITE;
  } else if (x === 0) {
    acc.flags |= SW_ZE;
    r = y > 0 ? -Infinity : Infinity;
  } else {
    const l = Math.log2(x);
    r = inexact(y * l, Number.isInteger(l) && Number.isFinite(y));
  }
  if (!settle(f)) return;
  f.set(1, r);
  f.pop();
}, 1, true));

defineReg(0xd9, 0xf9, twoOperands((cpu) => { // FYL2XP1: ST(1) ← ST(1) * log2(ST(0) + 1), pop
  const f = cpu.fpu;
  const x = f.get(0), y = f.get(1);
  let r: number;
  if (x !== x || y !== y) r = propagateNaN(x, y);
  else if (x < -1 || (x === 0 && (y === Infinity || y === -Infinity))) {
    acc.flags |= SW_IE;
    r = INDEFINITE;
  } else if (x === -1) {
    acc.flags |= SW_ZE;
    r = y > 0 ? -Infinity : Infinity;
  } else {
    r = inexact(y * (Math.log1p(x) / Math.LN2), x === 0);
  }
  if (!settle(f)) return;
  f.set(1, r);
  f.pop();
}, 1, true));

/** One-operand transcendental on ST(0) (masked underflow: ST(0) ← indefinite). */
function oneOperand(fn: (cpu: Cpu, x: number) => void): Exec {
  return (cpu, i) => {
    if (!waitingGate(cpu, i)) return;
    noteInstruction(cpu, i);
    const f = cpu.fpu;
    if (f.isEmpty(0)) {
      if (!f.stackFault(false)) f.setIndefinite(0);
      return;
    }
    clearAcc();
    fn(cpu, f.get(0));
  };
}

const TRIG_LIMIT = 2 ** 63;

/** Common trig operand rules: NaN → NaN, infinity → IE, |x| >= 2^63 → C2 and no change. Returns false when done. */
function trigOperand(cpu: Cpu, x: number): boolean {
  const f = cpu.fpu;
  if (x !== x || x === Infinity || x === -Infinity) {
    const r = x !== x ? propagateNaN(x, x) : (acc.flags |= SW_IE, INDEFINITE);
    f.status &= ~SW_C2;
    if (settle(f)) f.set(0, r);
    return false;
  }
  if (Math.abs(x) >= TRIG_LIMIT) {
    f.status = (f.status & ~(SW_C1 | SW_C2)) | SW_C2; // C0 and C3 are left as they were
    return false;
  }
  f.status &= ~SW_C2;
  return true;
}

defineReg(0xd9, 0xfe, oneOperand((cpu, x) => { // FSIN
  if (!trigOperand(cpu, x)) return;
  const r = inexact(Math.sin(x), x === 0);
  if (settle(cpu.fpu)) cpu.fpu.set(0, r);
}));
defineReg(0xd9, 0xff, oneOperand((cpu, x) => { // FCOS
  if (!trigOperand(cpu, x)) return;
  const r = inexact(Math.cos(x), x === 0);
  if (settle(cpu.fpu)) cpu.fpu.set(0, r);
}));

/**
 * Gate of FPTAN, FSINCOS and FXTRACT, which replace ST(0) and push: an empty
 * ST(0) (underflow) or a full ST(7) (overflow) gives, when IE is masked, the
 * indefinite in ST(0) and pushed.
 */
function pushingOperand(fn: (cpu: Cpu, x: number) => void): Exec {
  return (cpu, i) => {
    if (!waitingGate(cpu, i)) return;
    noteInstruction(cpu, i);
    const f = cpu.fpu;
    const empty = f.isEmpty(0);
    if (empty || !f.isEmpty(7)) {
      if (!f.stackFault(!empty)) {
        f.setIndefinite(0);
        f.push(INDEFINITE);
      }
      return;
    }
    clearAcc();
    fn(cpu, f.get(0));
  };
}

/** FSINCOS / FPTAN: ST(0) ← first(x), then push second(x). */
function pushingTrig(second: (x: number) => number, first: (x: number) => number): Exec {
  return pushingOperand((cpu, x) => {
    const f = cpu.fpu;
    if (x !== x || x === Infinity || x === -Infinity) {
      // NaN → both results the quieted NaN; infinity → IE, both the indefinite.
      const r = x !== x ? propagateNaN(x, x) : (acc.flags |= SW_IE, INDEFINITE);
      f.status &= ~SW_C2;
      if (!settle(f)) return;
      f.set(0, r);
      f.push(r);
      return;
    }
    if (!trigOperand(cpu, x)) return;
    const r1 = inexact(first(x), x === 0);
    const r2 = inexact(second(x), x === 0);
    if (!settle(f)) return;
    f.set(0, r1);
    f.push(r2);
  });
}
defineReg(0xd9, 0xfb, pushingTrig(Math.cos, Math.sin)); // FSINCOS: ST(1) = sin, ST(0) = cos
defineReg(0xd9, 0xf2, pushingTrig(() => 1, Math.tan)); // FPTAN: ST(1) = tan, ST(0) = 1.0

defineReg(0xd9, 0xf0, oneOperand((cpu, x) => { // F2XM1: 2^x - 1
  let r: number;
  if (x !== x) r = propagateNaN(x, x);
  else if (x === Infinity) r = x;
  else if (x === -Infinity) r = -1;
  else r = inexact(Math.expm1(x * Math.LN2), x === 0 || x === 1 || x === -1);
  if (settle(cpu.fpu)) cpu.fpu.set(0, r);
}));

// FXTRACT: ST(0) ← exponent, then push the significand.
defineReg(0xd9, 0xf4, pushingOperand((cpu, x) => {
  const f = cpu.fpu;
  let e: number, m: number;
  if (x !== x) {
    e = m = propagateNaN(x, x);
  } else if (x === 0) {
    acc.flags |= SW_ZE;
    e = -Infinity;
    m = x;
  } else if (x === Infinity || x === -Infinity) {
    e = Infinity;
    m = x;
  } else {
    const ex = exponentOf(x);
    e = ex;
    m = x / 2 ** ex; // exact: a power-of-two scaling into [1, 2)
    if (ex < -1022) m = (x * 2 ** 64) / 2 ** (ex + 64);
  }
  if (!settle(f)) return;
  f.set(0, e);
  f.push(m);
}));
