/**
 * Compares: FCOM/FCOMP/FCOMPP, FUCOM/FUCOMP/FUCOMPP, FICOM/FICOMP, FTST and
 * FXAM set C3/C2/C0; FCOMI/FCOMIP/FUCOMI/FUCOMIP set ZF/PF/CF (OF/SF/AF
 * cleared); FCMOVcc moves on EFLAGS conditions.
 */
import type { Cpu } from '../cpu.ts';
import type { Exec, Insn } from '../insn.ts';
import { writeArithFlags, getFlag } from '../flags.ts';
import { AF, CF, OF, PF, SF, ZF } from '../regs.ts';
import { CMP_UN, fcompare } from './arith.ts';
import { defineMem, defineReg, defineRegRow } from './formsTable.ts';
import { noteInstruction, noteMemory, waitingGate } from './gate.ts';
import { arithKind, readOperand } from './operands.ts';
import { SW_C0, SW_C1, SW_C2, SW_C3, SW_IE, TAG_EMPTY } from './fpu.ts';
import { classOf, INF, isDenormal, QNAN, SNAN, UNSUPPORTED, ZERO, zero } from './ext80.ts';
import { acc, clearAcc } from './numeric.ts';

/** C3 C2 C0 for >, <, =, unordered. */
const CC_BITS = [0, SW_C0, SW_C3, SW_C3 | SW_C2 | SW_C0];
/** ZF PF CF for >, <, =, unordered. */
const EFLAGS_BITS = [0, CF, ZF, ZF | PF | CF];

/**
 * Signals what the compare raised and sets C3/C2/C0 (C1 cleared), except
 * after an unmasked IE: then the condition codes are not set (SDM FCOM,
 * FUCOM) and it returns false (no pop). An unmasked DE still lets the
 * compare complete.
 */
function finishCompare(cpu: Cpu, res: number): boolean {
  const f = cpu.fpu;
  if (unmaskedInvalid(f)) return false;
  f.setCC(CC_BITS[res]);
  if (acc.flags !== 0) f.signal(acc.flags);
  return true;
}

/** Signals an unmasked IE of the compare (and what came with it); true when it did. */
function unmaskedInvalid(f: Cpu['fpu']): boolean {
  if ((acc.flags & SW_IE & ~f.control) === 0) return false;
  f.signal(acc.flags);
  return true;
}

/** FCOM m32fp/m64fp, FICOM m16int/m32int (pops: 0 or 1). */
function memCompare(opcode: number, pops: number): Exec {
  const kind = arithKind(opcode);
  return (cpu, i) => {
    if (!waitingGate(cpu, i)) return;
    const ea = cpu.ea(i);
    const f = cpu.fpu;
    clearAcc(f.control);
    const v = readOperand(cpu, i, ea, kind);
    noteMemory(cpu, i, ea);
    if (f.isEmpty(0)) {
      if (f.stackFault(false)) return;
      f.setCC(CC_BITS[CMP_UN]);
    } else {
      const res = fcompare(f.get(0), v, false);
      if (!finishCompare(cpu, res)) return;
    }
    if (pops) f.pop();
  };
}
for (const opcode of [0xd8, 0xda, 0xdc, 0xde]) {
  defineMem(opcode, 2, memCompare(opcode, 0));
  defineMem(opcode, 3, memCompare(opcode, 1));
}

/** FCOM/FUCOM ST(i) (or ST(1) for the PP forms) with 0, 1 or 2 pops. */
function regCompare(unordered: boolean, pops: number, fixedSt1: boolean): Exec {
  return (cpu, i) => {
    if (!waitingGate(cpu, i)) return;
    noteInstruction(cpu, i);
    const f = cpu.fpu;
    const k = fixedSt1 ? 1 : i.rm;
    clearAcc(f.control);
    if (f.isEmpty(0) || f.isEmpty(k)) {
      if (f.stackFault(false)) return;
      f.setCC(CC_BITS[CMP_UN]);
    } else if (!finishCompare(cpu, fcompare(f.get(0), f.get(k), unordered))) {
      return;
    }
    for (let n = 0; n < pops; n++) f.pop();
  };
}
defineRegRow(0xd8, 0xd0, regCompare(false, 0, false)); // FCOM ST(i)
defineRegRow(0xd8, 0xd8, regCompare(false, 1, false)); // FCOMP ST(i)
defineRegRow(0xdc, 0xd0, regCompare(false, 0, false)); // FCOM2 (undocumented alias)
defineRegRow(0xdc, 0xd8, regCompare(false, 1, false)); // FCOMP3 (alias)
defineRegRow(0xde, 0xd0, regCompare(false, 1, false)); // FCOMP5 (alias)
defineReg(0xde, 0xd9, regCompare(false, 2, true)); // FCOMPP
defineRegRow(0xdd, 0xe0, regCompare(true, 0, false)); // FUCOM ST(i)
defineRegRow(0xdd, 0xe8, regCompare(true, 1, false)); // FUCOMP ST(i)
defineReg(0xda, 0xe9, regCompare(true, 2, true)); // FUCOMPP

/** FCOMI/FUCOMI(P): EFLAGS ZF/PF/CF; OF, SF, AF cleared; C1 cleared. */
function compareToEflags(unordered: boolean, pop: boolean): Exec {
  return (cpu, i) => {
    if (!waitingGate(cpu, i)) return;
    noteInstruction(cpu, i);
    const f = cpu.fpu;
    clearAcc(f.control);
    let res: number;
    if (f.isEmpty(0) || f.isEmpty(i.rm)) {
      if (f.stackFault(false)) return;
      res = CMP_UN;
    } else {
      res = fcompare(f.get(0), f.get(i.rm), unordered);
      if (unmaskedInvalid(f)) return; // EFLAGS not set (SDM FCOMI)
      f.clearC1();
      if (acc.flags !== 0) f.signal(acc.flags);
    }
    writeArithFlags(cpu, EFLAGS_BITS[res], ZF | PF | CF | OF | SF | AF);
    if (pop) f.pop();
  };
}
defineRegRow(0xdb, 0xe8, compareToEflags(true, false)); // FUCOMI
defineRegRow(0xdb, 0xf0, compareToEflags(false, false)); // FCOMI
defineRegRow(0xdf, 0xe8, compareToEflags(true, true)); // FUCOMIP
defineRegRow(0xdf, 0xf0, compareToEflags(false, true)); // FCOMIP

// FTST: ST(0) against +0.0 (an ordered compare).
defineReg(0xd9, 0xe4, (cpu, i) => {
  if (!waitingGate(cpu, i)) return;
  noteInstruction(cpu, i);
  const f = cpu.fpu;
  clearAcc(f.control);
  if (f.isEmpty(0)) {
    if (!f.stackFault(false)) f.setCC(CC_BITS[CMP_UN]);
    return;
  }
  finishCompare(cpu, fcompare(f.get(0), zero(false), false));
});

// FXAM: class of ST(0) in C3 C2 C0, sign in C1 (also for an empty register).
// Classified from the 80-bit image (an empty register keeps its old contents' sign).
defineReg(0xd9, 0xe5, (cpu, i) => {
  if (!waitingGate(cpu, i)) return;
  noteInstruction(cpu, i);
  const f = cpu.fpu;
  const x = f.get(0);
  const sign = (x.se & 0x8000) !== 0 ? SW_C1 : 0;
  let cls: number;
  if (f.physTag(f.phys(0)) === TAG_EMPTY) cls = SW_C3 | SW_C0;
  else {
    switch (classOf(x)) {
      case UNSUPPORTED: cls = 0; break; // unnormal, pseudo-NaN, pseudo-infinity
      case QNAN: case SNAN: cls = SW_C0; break;
      case INF: cls = SW_C2 | SW_C0; break;
      case ZERO: cls = SW_C3; break;
      default: cls = isDenormal(x) ? SW_C3 | SW_C2 : SW_C2; // pseudo-denormals class as denormals
    }
  }
  f.setCC(cls | sign);
});

/** FCMOVcc: conditions B, E, BE, U and their negations (DB). */
function fcmov(test: (cpu: Cpu) => boolean, negate: boolean): Exec {
  return (cpu: Cpu, i: Insn) => {
    if (!waitingGate(cpu, i)) return;
    noteInstruction(cpu, i);
    const f = cpu.fpu;
    f.clearC1();
    if (f.isEmpty(0) || f.isEmpty(i.rm)) {
      if (!f.stackFault(false)) f.setIndefinite(0);
      return;
    }
    if (test(cpu) !== negate) f.copy(0, i.rm);
  };
}
const condB = (cpu: Cpu) => getFlag(cpu, CF) !== 0;
const condE = (cpu: Cpu) => getFlag(cpu, ZF) !== 0;
const condBE = (cpu: Cpu) => getFlag(cpu, CF | ZF) !== 0;
const condU = (cpu: Cpu) => getFlag(cpu, PF) !== 0;
defineRegRow(0xda, 0xc0, fcmov(condB, false));
defineRegRow(0xda, 0xc8, fcmov(condE, false));
defineRegRow(0xda, 0xd0, fcmov(condBE, false));
defineRegRow(0xda, 0xd8, fcmov(condU, false));
defineRegRow(0xdb, 0xc0, fcmov(condB, true));
defineRegRow(0xdb, 0xc8, fcmov(condE, true));
defineRegRow(0xdb, 0xd0, fcmov(condBE, true));
defineRegRow(0xdb, 0xd8, fcmov(condU, true));

