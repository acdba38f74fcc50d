/**
 * FADD/FMUL/FSUB/FSUBR/FDIV/FDIVR in every form (m32fp, m64fp, m16int,
 * m32int; ST(0),ST(i); ST(i),ST(0); the P forms), plus FSQRT, FCHS, FABS and
 * FRNDINT.
 */
import type { Cpu } from '../cpu.ts';
import type { Exec, Insn } from '../insn.ts';
import { fadd, fdiv, fmul, fsqrt, fsub } from './arith.ts';
import { defineMem, defineReg, defineRegRow } from './formsTable.ts';
import { noteInstruction, noteMemory, waitingGate } from './gate.ts';
import { arithKind, readOperand } from './operands.ts';
import { settle } from './results.ts';
import { beginArith, clearAcc } from './numeric.ts';
import { SW_C1 } from './fpu.ts';
import type { X80 } from './ext80.ts';
import { roundToIntegerValue } from './transcendental.ts';

/** ModRM.reg of the arithmetic group: 0 add, 1 mul, 4 sub, 5 subr, 6 div, 7 divr. */
function compute(reg: number, a: X80, b: X80): X80 {
  switch (reg) {
    case 0: return fadd(a, b);
    case 1: return fmul(a, b);
    case 4: return fsub(a, b);
    case 5: return fsub(b, a);
    case 6: return fdiv(a, b);
    default: return fdiv(b, a);
  }
}

/** ST(0) ← ST(0) op memory operand. */
function memArith(opcode: number, reg: number): Exec {
  const kind = arithKind(opcode);
  return (cpu: Cpu, i: Insn) => {
    if (!waitingGate(cpu, i)) return;
    const ea = cpu.ea(i);
    const f = cpu.fpu;
    beginArith(f.control);
    const v = readOperand(cpu, i, ea, kind);
    noteMemory(cpu, i, ea);
    if (f.isEmpty(0)) {
      if (!f.stackFault(false)) f.setIndefinite(0);
      return;
    }
    const r = compute(reg, f.get(0), v);
    if (settle(f)) f.set(0, r);
  };
}

/**
 * Register forms. `toSti`: the destination is ST(i) (DC/DE) rather than
 * ST(0) (D8). The operation is always `dest op other` for reg 0/1/4/6 of the
 * D8 encoding; DC/DE swap the meaning of the SUB/SUBR and DIV/DIVR rows,
 * which `compute` gets by exchanging reg 4<->5 and 6<->7.
 */
function regArith(reg: number, toSti: boolean, pop: boolean): Exec {
  const r0 = toSti && reg >= 4 ? reg ^ 1 : reg;
  return (cpu: Cpu, i: Insn) => {
    if (!waitingGate(cpu, i)) return;
    noteInstruction(cpu, i);
    const f = cpu.fpu;
    const dst = toSti ? i.rm : 0, src = toSti ? 0 : i.rm;
    if (f.isEmpty(0) || f.isEmpty(i.rm)) {
      if (!f.stackFault(false)) {
        f.setIndefinite(dst);
        if (pop) f.pop();
      }
      return;
    }
    beginArith(f.control);
    const r = compute(r0, f.get(dst), f.get(src));
    if (!settle(f)) return;
    f.set(dst, r);
    if (pop) f.pop();
  };
}

for (const opcode of [0xd8, 0xda, 0xdc, 0xde]) {
  for (const reg of [0, 1, 4, 5, 6, 7]) defineMem(opcode, reg, memArith(opcode, reg));
}
for (const reg of [0, 1, 4, 5, 6, 7]) {
  defineRegRow(0xd8, 0xc0 + reg * 8, regArith(reg, false, false));
  defineRegRow(0xdc, 0xc0 + reg * 8, regArith(reg, true, false));
  defineRegRow(0xde, 0xc0 + reg * 8, regArith(reg, true, true));
}

/** One-operand instructions on ST(0): underflow check, then `fn`. */
function unary(fn: (cpu: Cpu) => void): Exec {
  return (cpu, i) => {
    if (!waitingGate(cpu, i)) return;
    noteInstruction(cpu, i);
    const f = cpu.fpu;
    if (f.isEmpty(0)) {
      if (!f.stackFault(false)) f.setIndefinite(0);
      return;
    }
    fn(cpu);
  };
}

// FCHS / FABS: sign-bit operations (no exceptions, NaNs included); C1 cleared.
defineReg(0xd9, 0xe0, unary((cpu) => {
  cpu.fpu.changeSign(0, true);
  cpu.fpu.status &= ~SW_C1;
}));
defineReg(0xd9, 0xe1, unary((cpu) => {
  cpu.fpu.changeSign(0, false);
  cpu.fpu.status &= ~SW_C1;
}));

defineReg(0xd9, 0xfa, unary((cpu) => {
  const f = cpu.fpu;
  beginArith(f.control);
  const r = fsqrt(f.get(0));
  if (settle(f)) f.set(0, r);
}));

// FRNDINT: to an integer by RC (64-bit precision); NaNs propagate, infinities stay.
defineReg(0xd9, 0xfc, unary((cpu) => {
  const f = cpu.fpu;
  clearAcc(f.control);
  const r = roundToIntegerValue(f.get(0));
  if (settle(f)) f.set(0, r);
}));
