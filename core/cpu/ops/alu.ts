/**
 * The eight classic ALU operations (ADD OR ADC SBB AND SUB XOR CMP) in all
 * their encodings: 00-3F (r/m,reg / reg,r/m / accumulator,imm), the immediate
 * groups 80/81/83, TEST 84/85/A8/A9, and INC/DEC 40-4F.
 */
import type { Cpu } from '../cpu.ts';
import type { Exec, Insn } from '../insn.ts';
import { defineOp, IMM_IB, IMM_IBS, IMM_IV, IMM_NONE, op } from '../opcodeTable.ts';
import { getFlag, LAZY_ADC, LAZY_ADD, LAZY_SBB, LAZY_SUB, setLazy, setLazyKeepCF, setResultFlags } from '../flags.ts';
import { CF } from '../regs.ts';

export const ALU_ADD = 0, ALU_OR = 1, ALU_ADC = 2, ALU_SBB = 3, ALU_AND = 4, ALU_SUB = 5, ALU_XOR = 6, ALU_CMP = 7;
const NAMES = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'];

/** Performs ALU operation `alu` on `bits`-wide operands (already masked), sets flags, returns the (unmasked) result. */
export function aluCompute(cpu: Cpu, alu: number, bits: number, a: number, b: number): number {
  let r: number;
  switch (alu) {
    case ALU_ADD:
      r = a + b;
      setLazy(cpu, LAZY_ADD, bits, a, b, r);
      return r;
    case ALU_OR:
      r = a | b;
      setResultFlags(cpu, bits, r, 0);
      return r;
    case ALU_ADC: {
      const c = getFlag(cpu, CF);
      r = a + b + c;
      setLazy(cpu, c ? LAZY_ADC : LAZY_ADD, bits, a, b, r);
      return r;
    }
    case ALU_SBB: {
      const c = getFlag(cpu, CF);
      r = a - b - c;
      setLazy(cpu, c ? LAZY_SBB : LAZY_SUB, bits, a, b, r);
      return r;
    }
    case ALU_AND:
      r = a & b;
      setResultFlags(cpu, bits, r, 0);
      return r;
    case ALU_XOR:
      r = a ^ b;
      setResultFlags(cpu, bits, r, 0);
      return r;
    default: // SUB, CMP
      r = a - b;
      setLazy(cpu, LAZY_SUB, bits, a, b, r);
      return r;
  }
}

// ---- handler factories (one closure per operation and form) ----

function rmReg8(alu: number): Exec {
  const writes = alu !== ALU_CMP;
  return (cpu, i) => {
    const b = cpu.get8(i.reg);
    if (i.mod === 3) {
      const r = aluCompute(cpu, alu, 8, cpu.get8(i.rm), b);
      if (writes) cpu.set8(i.rm, r);
    } else if (writes) {
      const lin = cpu.rmwAddress(i.seg, cpu.ea(i), 1);
      cpu.writeLin8(lin, aluCompute(cpu, alu, 8, cpu.readLin8(lin), b));
    } else {
      aluCompute(cpu, alu, 8, cpu.read8(i.seg, cpu.ea(i)), b);
    }
  };
}

function rmReg16(alu: number): Exec {
  const writes = alu !== ALU_CMP;
  return (cpu, i) => {
    const b = cpu.regs[i.reg] & 0xffff;
    if (i.mod === 3) {
      const r = aluCompute(cpu, alu, 16, cpu.regs[i.rm] & 0xffff, b);
      if (writes) cpu.set16(i.rm, r);
    } else if (writes) {
      const lin = cpu.rmwAddress(i.seg, cpu.ea(i), 2);
      cpu.writeLin16(lin, aluCompute(cpu, alu, 16, cpu.readLin16(lin), b));
    } else {
      aluCompute(cpu, alu, 16, cpu.read16(i.seg, cpu.ea(i)), b);
    }
  };
}

function rmReg32(alu: number): Exec {
  const writes = alu !== ALU_CMP;
  return (cpu, i) => {
    const b = cpu.regs[i.reg];
    if (i.mod === 3) {
      const r = aluCompute(cpu, alu, 32, cpu.regs[i.rm], b);
      if (writes) cpu.regs[i.rm] = r;
    } else if (writes) {
      const lin = cpu.rmwAddress(i.seg, cpu.ea(i), 4);
      cpu.writeLin32(lin, aluCompute(cpu, alu, 32, cpu.readLin32(lin), b));
    } else {
      aluCompute(cpu, alu, 32, cpu.read32(i.seg, cpu.ea(i)), b);
    }
  };
}

function regRm8(alu: number): Exec {
  const writes = alu !== ALU_CMP;
  return (cpu, i) => {
    const r = aluCompute(cpu, alu, 8, cpu.get8(i.reg), cpu.readRm8(i));
    if (writes) cpu.set8(i.reg, r);
  };
}

function regRm16(alu: number): Exec {
  const writes = alu !== ALU_CMP;
  return (cpu, i) => {
    const r = aluCompute(cpu, alu, 16, cpu.regs[i.reg] & 0xffff, cpu.readRm16(i));
    if (writes) cpu.set16(i.reg, r);
  };
}

function regRm32(alu: number): Exec {
  const writes = alu !== ALU_CMP;
  return (cpu, i) => {
    const r = aluCompute(cpu, alu, 32, cpu.regs[i.reg], cpu.readRm32(i));
    if (writes) cpu.regs[i.reg] = r;
  };
}

/** r/m op imm (groups 80/81/83 and the accumulator forms with i.mod = 3, i.rm = 0). */
function rmImm8(alu: number): Exec {
  const writes = alu !== ALU_CMP;
  return (cpu, i) => {
    const b = i.imm & 0xff;
    if (i.mod === 3) {
      const r = aluCompute(cpu, alu, 8, cpu.get8(i.rm), b);
      if (writes) cpu.set8(i.rm, r);
    } else if (writes) {
      const lin = cpu.rmwAddress(i.seg, cpu.ea(i), 1);
      cpu.writeLin8(lin, aluCompute(cpu, alu, 8, cpu.readLin8(lin), b));
    } else {
      aluCompute(cpu, alu, 8, cpu.read8(i.seg, cpu.ea(i)), b);
    }
  };
}

function rmImm16(alu: number): Exec {
  const writes = alu !== ALU_CMP;
  return (cpu, i) => {
    const b = i.imm & 0xffff;
    if (i.mod === 3) {
      const r = aluCompute(cpu, alu, 16, cpu.regs[i.rm] & 0xffff, b);
      if (writes) cpu.set16(i.rm, r);
    } else if (writes) {
      const lin = cpu.rmwAddress(i.seg, cpu.ea(i), 2);
      cpu.writeLin16(lin, aluCompute(cpu, alu, 16, cpu.readLin16(lin), b));
    } else {
      aluCompute(cpu, alu, 16, cpu.read16(i.seg, cpu.ea(i)), b);
    }
  };
}

function rmImm32(alu: number): Exec {
  const writes = alu !== ALU_CMP;
  return (cpu, i) => {
    const b = i.imm;
    if (i.mod === 3) {
      const r = aluCompute(cpu, alu, 32, cpu.regs[i.rm], b);
      if (writes) cpu.regs[i.rm] = r;
    } else if (writes) {
      const lin = cpu.rmwAddress(i.seg, cpu.ea(i), 4);
      cpu.writeLin32(lin, aluCompute(cpu, alu, 32, cpu.readLin32(lin), b));
    } else {
      aluCompute(cpu, alu, 32, cpu.read32(i.seg, cpu.ea(i)), b);
    }
  };
}

/** Accumulator forms have no ModRM: the decoder's select points the r/m operand at AL/AX/EAX. */
function accumulator(f8: Exec, f16: Exec, f32: Exec, sized: boolean): (i: Insn) => Exec {
  return (i) => {
    i.mod = 3;
    i.rm = 0;
    return sized ? (i.o32 ? f32 : f16) : f8;
  };
}

for (let alu = 0; alu < 8; alu++) {
  const base = alu << 3;
  const name = NAMES[alu];
  const lockable = alu !== ALU_CMP;
  const h = {
    rmReg8: rmReg8(alu), rmReg16: rmReg16(alu), rmReg32: rmReg32(alu),
    regRm8: regRm8(alu), regRm16: regRm16(alu), regRm32: regRm32(alu),
    imm8: rmImm8(alu), imm16: rmImm16(alu), imm32: rmImm32(alu),
  };
  defineOp(base + 0, op(`${name} Eb,Gb`, true, IMM_NONE, () => h.rmReg8, { lockable }));
  defineOp(base + 1, op(`${name} Ev,Gv`, true, IMM_NONE, (i) => (i.o32 ? h.rmReg32 : h.rmReg16), { lockable }));
  defineOp(base + 2, op(`${name} Gb,Eb`, true, IMM_NONE, () => h.regRm8));
  defineOp(base + 3, op(`${name} Gv,Ev`, true, IMM_NONE, (i) => (i.o32 ? h.regRm32 : h.regRm16)));
  defineOp(base + 4, op(`${name} AL,Ib`, false, IMM_IB, accumulator(h.imm8, h.imm16, h.imm32, false)));
  defineOp(base + 5, op(`${name} eAX,Iv`, false, IMM_IV, accumulator(h.imm8, h.imm16, h.imm32, true)));
}

const group8 = [0, 1, 2, 3, 4, 5, 6, 7].map(rmImm8);
const group16 = [0, 1, 2, 3, 4, 5, 6, 7].map(rmImm16);
const group32 = [0, 1, 2, 3, 4, 5, 6, 7].map(rmImm32);
const lockableGroup = { lockable: true };
defineOp(0x80, op('grp1 Eb,Ib', true, IMM_IB, (i) => group8[i.reg], lockableGroup));
defineOp(0x81, op('grp1 Ev,Iv', true, IMM_IV, (i) => (i.o32 ? group32 : group16)[i.reg], lockableGroup));
defineOp(0x82, op('grp1 Eb,Ib (alias)', true, IMM_IB, (i) => group8[i.reg], lockableGroup));
defineOp(0x83, op('grp1 Ev,Ibs', true, IMM_IBS, (i) => (i.o32 ? group32 : group16)[i.reg], lockableGroup));

// ---- TEST ----
const test8: Exec = (cpu, i) => setResultFlags(cpu, 8, cpu.readRm8(i) & cpu.get8(i.reg), 0);
const test16: Exec = (cpu, i) => setResultFlags(cpu, 16, cpu.readRm16(i) & cpu.regs[i.reg], 0);
const test32: Exec = (cpu, i) => setResultFlags(cpu, 32, cpu.readRm32(i) & cpu.regs[i.reg], 0);
defineOp(0x84, op('test Eb,Gb', true, IMM_NONE, () => test8));
defineOp(0x85, op('test Ev,Gv', true, IMM_NONE, (i) => (i.o32 ? test32 : test16)));
const testAl: Exec = (cpu, i) => setResultFlags(cpu, 8, cpu.regs[0] & i.imm & 0xff, 0);
const testAx: Exec = (cpu, i) => setResultFlags(cpu, 16, cpu.regs[0] & i.imm & 0xffff, 0);
const testEax: Exec = (cpu, i) => setResultFlags(cpu, 32, cpu.regs[0] & i.imm, 0);
defineOp(0xa8, op('test AL,Ib', false, IMM_IB, () => testAl));
defineOp(0xa9, op('test eAX,Iv', false, IMM_IV, (i) => (i.o32 ? testEax : testAx)));

// ---- INC/DEC register (40-4F); the r/m forms live in groups FE/FF ----
export function inc16(cpu: Cpu, v: number): number {
  const r = v + 1;
  setLazyKeepCF(cpu, LAZY_ADD, 16, v, 1, r);
  return r & 0xffff;
}
export function inc32(cpu: Cpu, v: number): number {
  const r = (v + 1) | 0;
  setLazyKeepCF(cpu, LAZY_ADD, 32, v, 1, r);
  return r;
}
export function dec16(cpu: Cpu, v: number): number {
  const r = v - 1;
  setLazyKeepCF(cpu, LAZY_SUB, 16, v, 1, r);
  return r & 0xffff;
}
export function dec32(cpu: Cpu, v: number): number {
  const r = (v - 1) | 0;
  setLazyKeepCF(cpu, LAZY_SUB, 32, v, 1, r);
  return r;
}
export function inc8(cpu: Cpu, v: number): number {
  const r = v + 1;
  setLazyKeepCF(cpu, LAZY_ADD, 8, v, 1, r);
  return r & 0xff;
}
export function dec8(cpu: Cpu, v: number): number {
  const r = v - 1;
  setLazyKeepCF(cpu, LAZY_SUB, 8, v, 1, r);
  return r & 0xff;
}

for (let reg = 0; reg < 8; reg++) {
  const i16: Exec = (cpu) => cpu.set16(reg, inc16(cpu, cpu.regs[reg] & 0xffff));
  const i32: Exec = (cpu) => { cpu.regs[reg] = inc32(cpu, cpu.regs[reg]); };
  const d16: Exec = (cpu) => cpu.set16(reg, dec16(cpu, cpu.regs[reg] & 0xffff));
  const d32: Exec = (cpu) => { cpu.regs[reg] = dec32(cpu, cpu.regs[reg]); };
  defineOp(0x40 + reg, op('inc reg', false, IMM_NONE, (i: Insn) => (i.o32 ? i32 : i16)));
  defineOp(0x48 + reg, op('dec reg', false, IMM_NONE, (i: Insn) => (i.o32 ? d32 : d16)));
}
