/**
 * Near control transfer: JMP, Jcc, CALL, RET, LOOP/LOOPcc, JCXZ/JECXZ, and
 * the INC/DEC/CALL/JMP/PUSH groups FE/FF. Far forms go through
 * protected/far.ts, which knows every mode's rules.
 */
import type { Cpu } from '../cpu.ts';
import type { Exec, Insn } from '../insn.ts';
import { defineOp, IMM_IW, IMM_JB, IMM_JV, IMM_NONE, IMM_PTR, op } from '../opcodeTable.ts';
import { getFlag, testCondition } from '../flags.ts';
import { CS, ECX, ZF } from '../regs.ts';
import { dec16, dec32, dec8, inc16, inc32, inc8 } from './alu.ts';
import { farCall, farJump } from '../protected/far.ts';

/** Near branch: the target must lie within the CS limit (#GP(0) otherwise). */
export function branchNear(cpu: Cpu, target: number): void {
  if (target >>> 0 > cpu.segLimit[CS]) cpu.raiseGP(0);
  cpu.eip = target;
}

const jmp: Exec = (cpu, i) => branchNear(cpu, i.imm);
defineOp(0xe9, op('jmp Jv', false, IMM_JV, () => jmp, { endsBlock: true }));
defineOp(0xeb, op('jmp Jb', false, IMM_JB, () => jmp, { endsBlock: true }));

for (let cc = 0; cc < 16; cc++) {
  const jcc: Exec = (cpu, i) => {
    if (testCondition(cpu, cc)) branchNear(cpu, i.imm);
  };
  defineOp(0x70 + cc, op('jcc Jb', false, IMM_JB, () => jcc, { endsBlock: true }));
  defineOp(0x180 + cc, op('jcc Jv', false, IMM_JV, () => jcc, { endsBlock: true }));
}

const call16: Exec = (cpu, i) => {
  if (i.imm >>> 0 > cpu.segLimit[CS]) cpu.raiseGP(0);
  cpu.push16(cpu.eip);
  cpu.eip = i.imm;
};
const call32: Exec = (cpu, i) => {
  if (i.imm >>> 0 > cpu.segLimit[CS]) cpu.raiseGP(0);
  cpu.push32(cpu.eip);
  cpu.eip = i.imm;
};
defineOp(0xe8, op('call Jv', false, IMM_JV, (i) => (i.o32 ? call32 : call16), { endsBlock: true }));

const ret16: Exec = (cpu, i) => {
  const target = cpu.peek16(0);
  if (target > cpu.segLimit[CS]) cpu.raiseGP(0);
  cpu.adjustSp(2 + i.imm);
  cpu.eip = target;
};
const ret32: Exec = (cpu, i) => {
  const target = cpu.peek32(0);
  if (target >>> 0 > cpu.segLimit[CS]) cpu.raiseGP(0);
  cpu.adjustSp(4 + i.imm);
  cpu.eip = target;
};
defineOp(0xc3, op('ret', false, IMM_NONE, (i) => { i.imm = 0; return i.o32 ? ret32 : ret16; }, { endsBlock: true }));
defineOp(0xc2, op('ret Iw', false, IMM_IW, (i) => (i.o32 ? ret32 : ret16), { endsBlock: true }));

/** LOOP family: the counter is CX or ECX by address size. */
function loopOp(kind: number): Exec {
  return (cpu, i) => {
    let count: number;
    if (i.a32) {
      count = (cpu.regs[ECX] - 1) | 0;
      cpu.regs[ECX] = count;
    } else {
      count = (cpu.regs[ECX] - 1) & 0xffff;
      cpu.set16(ECX, count);
    }
    let take = count !== 0;
    if (kind === 1) take = take && getFlag(cpu, ZF) !== 0; // LOOPE
    else if (kind === 2) take = take && getFlag(cpu, ZF) === 0; // LOOPNE
    if (take) branchNear(cpu, i.imm);
  };
}
defineOp(0xe2, op('loop Jb', false, IMM_JB, () => loopOp(0), { endsBlock: true }));
defineOp(0xe1, op('loope Jb', false, IMM_JB, () => loopOp(1), { endsBlock: true }));
defineOp(0xe0, op('loopne Jb', false, IMM_JB, () => loopOp(2), { endsBlock: true }));
const jcxz: Exec = (cpu, i) => {
  const c = i.a32 ? cpu.regs[ECX] : cpu.regs[ECX] & 0xffff;
  if (c === 0) branchNear(cpu, i.imm);
};
defineOp(0xe3, op('jcxz Jb', false, IMM_JB, () => jcxz, { endsBlock: true }));

// ---- group FE: INC/DEC Eb ----
const incEb: Exec = (cpu, i) => {
  if (i.mod === 3) cpu.set8(i.rm, inc8(cpu, cpu.get8(i.rm)));
  else { const lin = cpu.rmwAddress(i.seg, cpu.ea(i), 1); cpu.writeLin8(lin, inc8(cpu, cpu.readLin8(lin))); }
};
const decEb: Exec = (cpu, i) => {
  if (i.mod === 3) cpu.set8(i.rm, dec8(cpu, cpu.get8(i.rm)));
  else { const lin = cpu.rmwAddress(i.seg, cpu.ea(i), 1); cpu.writeLin8(lin, dec8(cpu, cpu.readLin8(lin))); }
};
const ud: Exec = (cpu) => cpu.raiseUD();
defineOp(0xfe, op('grp4 Eb', true, IMM_NONE, (i) => (i.reg === 0 ? incEb : i.reg === 1 ? decEb : ud), { lockable: true }));

// ---- group FF ----
const incEv: Exec = (cpu, i) => {
  if (i.o32) {
    if (i.mod === 3) cpu.regs[i.rm] = inc32(cpu, cpu.regs[i.rm]);
    else { const lin = cpu.rmwAddress(i.seg, cpu.ea(i), 4); cpu.writeLin32(lin, inc32(cpu, cpu.readLin32(lin))); }
  } else if (i.mod === 3) cpu.set16(i.rm, inc16(cpu, cpu.regs[i.rm] & 0xffff));
  else { const lin = cpu.rmwAddress(i.seg, cpu.ea(i), 2); cpu.writeLin16(lin, inc16(cpu, cpu.readLin16(lin))); }
};
const decEv: Exec = (cpu, i) => {
  if (i.o32) {
    if (i.mod === 3) cpu.regs[i.rm] = dec32(cpu, cpu.regs[i.rm]);
    else { const lin = cpu.rmwAddress(i.seg, cpu.ea(i), 4); cpu.writeLin32(lin, dec32(cpu, cpu.readLin32(lin))); }
  } else if (i.mod === 3) cpu.set16(i.rm, dec16(cpu, cpu.regs[i.rm] & 0xffff));
  else { const lin = cpu.rmwAddress(i.seg, cpu.ea(i), 2); cpu.writeLin16(lin, dec16(cpu, cpu.readLin16(lin))); }
};
const callEv: Exec = (cpu, i) => {
  const target = i.o32 ? cpu.readRm32(i) : cpu.readRm16(i);
  if (target >>> 0 > cpu.segLimit[CS]) cpu.raiseGP(0);
  if (i.o32) cpu.push32(cpu.eip);
  else cpu.push16(cpu.eip);
  cpu.eip = target;
};
const jmpEv: Exec = (cpu, i) => branchNear(cpu, i.o32 ? cpu.readRm32(i) : cpu.readRm16(i));
const pushEv: Exec = (cpu, i) => {
  if (i.o32) cpu.push32(cpu.readRm32(i));
  else cpu.push16(cpu.readRm16(i));
};
/** CALL/JMP far through a memory pointer (m16:16 / m16:32). */
function farPointer(cpu: Cpu, i: Insn): void {
  const ea = cpu.ea(i);
  const off = i.o32 ? cpu.read32(i.seg, ea) : cpu.read16(i.seg, ea);
  const sel = cpu.read16(i.seg, (ea + (i.o32 ? 4 : 2)) | 0);
  if (i.reg === 3) farCall(cpu, sel, off, i.o32);
  else farJump(cpu, sel, off, i.o32);
}
const callFarEp: Exec = (cpu, i) => farPointer(cpu, i);
defineOp(0xff, op('grp5 Ev', true, IMM_NONE, (i) => {
  switch (i.reg) {
    case 0: return incEv;
    case 1: return decEv;
    case 2: i.endsBlock = true; return callEv;
    case 3: case 5: i.endsBlock = true; return i.mod === 3 ? ud : callFarEp;
    case 4: i.endsBlock = true; return jmpEv;
    case 6: return pushEv;
    default: return ud;
  }
}, { lockable: true }));

// ---- direct far JMP/CALL ptr16:16/32 (invalid in 64-bit mode only) ----
const jmpFarAp: Exec = (cpu, i) => farJump(cpu, i.imm2, i.imm, i.o32);
const callFarAp: Exec = (cpu, i) => farCall(cpu, i.imm2, i.imm, i.o32);
defineOp(0xea, op('jmp Ap', false, IMM_PTR, () => jmpFarAp, { endsBlock: true }));
defineOp(0x9a, op('call Ap', false, IMM_PTR, () => callFarAp, { endsBlock: true }));
