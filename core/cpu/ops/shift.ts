/**
 * Shifts and rotates: group 2 (C0/C1 by imm8, D0/D1 by 1, D2/D3 by CL:
 * ROL ROR RCL RCR SHL SHR SAL SAR) and the double shifts SHLD/SHRD
 * (0F A4/A5/AC/AD).
 *
 * Flags follow the SDM where it defines them and, where it says "undefined",
 * the Intel parts whose behaviour is public (test/cpu/tools/UNDEFINED_FLAGS.md
 * says where each answer came from):
 * - the count is masked to 5 bits; a masked count of 0 changes nothing;
 * - OF is that of the first one-bit step, whatever the count (VirtualBox's
 *   Intel flag code, checked on Cascade Lake; an Ivy Bridge probe finds OF
 *   data- rather than count-dependent): the count-1 formula applied to the
 *   operand before the shift and the bit entering it. ROL/SHL/SHLD: the two
 *   top bits of the operand; RCL too (the carry in enters at the bottom);
 *   ROR: top and bottom bit; RCR: top bit and the carry in; SHR: the top bit;
 *   SHRD: the top bit and the source's bottom bit; SAR: 0;
 * - shifts set SF/ZF/PF from the result and clear AF; rotates change only CF/OF;
 * - ROL/ROR of 8/16-bit operands by a non-zero multiple of the width leave the
 *   value alone but still set CF/OF from it; RCL/RCR rotate modulo 9/17
 *   (a count that is a multiple of 9/17 changes nothing);
 * - SHL of an 8/16-bit operand by more than its width gives 0 with CF=0 (OF
 *   from the first step, as above);
 * - SHLD/SHRD of 16-bit operands by 17..31 shift through op1:op2:op1 (as
 *   VirtualBox's Intel code does for Skylake and Cascade Lake),
 *   SHRD then takes CF from op2.
 */
import type { Cpu } from '../cpu.ts';
import type { Exec, Insn } from '../insn.ts';
import { defineOp, IMM_IB, IMM_NONE, op } from '../opcodeTable.ts';
import { getFlag, setResultFlags, writeArithFlags } from '../flags.ts';
import { CF, ECX, OF } from '../regs.ts';
import { readReg, rmwRead, rmwWrite } from './rmwOperand.ts';

export const ROL = 0, ROR = 1, RCL = 2, RCR = 3, SHL = 4, SHR = 5, SAL = 6, SAR = 7;

function msb(v: number, bits: number): number {
  return (v >>> (bits - 1)) & 1;
}

/** 1 if the operand's two top bits differ: OF of a one-bit left shift or rotate of `v`. */
function topTwoDiffer(v: number, bits: number): number {
  return ((v >>> (bits - 1)) ^ (v >>> (bits - 2))) & 1;
}

function setCfOf(cpu: Cpu, cf: number, of: number): void {
  writeArithFlags(cpu, (cf ? CF : 0) | (of ? OF : 0), CF | OF);
}

/**
 * Performs shift/rotate `kind` of the `bits`-wide value `v` (unsigned bits of
 * the operand) by `count` (already masked to 5 bits), updates the flags, and
 * returns the result (masked to the width; 32-bit results as int32).
 */
export function shiftCompute(cpu: Cpu, kind: number, bits: number, v: number, count: number): number {
  if (count === 0) return v;
  const mask = bits === 32 ? -1 : (1 << bits) - 1;
  v &= mask;
  switch (kind) {
    case ROL: {
      const c = count & (bits - 1);
      const r = c === 0 ? v : ((v << c) | (v >>> (bits - c))) & mask;
      setCfOf(cpu, r & 1, topTwoDiffer(v, bits));
      return r;
    }
    case ROR: {
      const c = count & (bits - 1);
      const r = c === 0 ? v : ((v >>> c) | (v << (bits - c))) & mask;
      setCfOf(cpu, msb(r, bits), msb(v, bits) ^ (v & 1));
      return r;
    }
    case RCL: {
      const c = bits === 32 ? count : count % (bits + 1);
      if (c === 0) return v;
      const cfIn = getFlag(cpu, CF) !== 0 ? 1 : 0;
      let r = (v << c) | (cfIn << (c - 1));
      if (c > 1) r |= v >>> (bits + 1 - c);
      r &= mask;
      setCfOf(cpu, (v >>> (bits - c)) & 1, topTwoDiffer(v, bits));
      return r;
    }
    case RCR: {
      const c = bits === 32 ? count : count % (bits + 1);
      if (c === 0) return v;
      const cfIn = getFlag(cpu, CF) !== 0 ? 1 : 0;
      let r = (v >>> c) | (cfIn << (bits - c));
      if (c > 1) r |= v << (bits + 1 - c);
      r &= mask;
      setCfOf(cpu, (v >>> (c - 1)) & 1, cfIn ^ msb(v, bits));
      return r;
    }
    case SHL:
    case SAL: {
      let r = 0, cf = 0;
      if (count <= bits) {
        r = (v << count) & mask;
        cf = (v >>> (bits - count)) & 1;
      }
      setResultFlags(cpu, bits, r, (cf ? CF : 0) | (topTwoDiffer(v, bits) ? OF : 0));
      return r;
    }
    case SHR: {
      const r = v >>> count;
      const cf = (v >>> (count - 1)) & 1;
      setResultFlags(cpu, bits, r, (cf ? CF : 0) | (msb(v, bits) ? OF : 0));
      return bits === 32 ? r | 0 : r;
    }
    default: { // SAR
      const s = (v << (32 - bits)) >> (32 - bits); // sign-extended
      const r = (s >> count) & mask;
      const cf = (s >> (count - 1)) & 1;
      setResultFlags(cpu, bits, r, cf ? CF : 0);
      return r;
    }
  }
}

const COUNT_IMM = 0, COUNT_ONE = 1, COUNT_CL = 2;

function group2(kind: number, bytes: number, countFrom: number): Exec {
  const bits = bytes * 8;
  return (cpu, i) => {
    const count = (countFrom === COUNT_IMM ? i.imm : countFrom === COUNT_ONE ? 1 : cpu.regs[ECX]) & 0x1f;
    // The memory operand is checked for writing and read even when the count is 0 (as hardware does).
    const v = rmwRead(cpu, i, bytes);
    if (count === 0) return;
    rmwWrite(cpu, i, bytes, shiftCompute(cpu, kind, bits, v, count));
  };
}

function defineGroup2(opcode: number, name: string, countFrom: number, sized: boolean): void {
  const h8 = [0, 1, 2, 3, 4, 5, 6, 7].map((k) => group2(k, 1, countFrom));
  const h16 = [0, 1, 2, 3, 4, 5, 6, 7].map((k) => group2(k, 2, countFrom));
  const h32 = [0, 1, 2, 3, 4, 5, 6, 7].map((k) => group2(k, 4, countFrom));
  const imm = countFrom === COUNT_IMM ? IMM_IB : IMM_NONE;
  defineOp(opcode, op(name, true, imm, (i: Insn) => (sized ? (i.o32 ? h32 : h16) : h8)[i.reg]));
}

defineGroup2(0xc0, 'grp2 Eb,Ib', COUNT_IMM, false);
defineGroup2(0xc1, 'grp2 Ev,Ib', COUNT_IMM, true);
defineGroup2(0xd0, 'grp2 Eb,1', COUNT_ONE, false);
defineGroup2(0xd1, 'grp2 Ev,1', COUNT_ONE, true);
defineGroup2(0xd2, 'grp2 Eb,CL', COUNT_CL, false);
defineGroup2(0xd3, 'grp2 Ev,CL', COUNT_CL, true);

// ---- SHLD / SHRD ----

/** SHLD: `dst` shifted left by `count` (1..31), filled from the top of `src`. */
export function shld(cpu: Cpu, bits: number, dst: number, src: number, count: number): number {
  let r: number, cf: number;
  if (bits === 32) {
    r = (dst << count) | (src >>> (32 - count));
    cf = (dst >>> (32 - count)) & 1;
  } else {
    const t = ((dst & 0xffff) << 16) | (src & 0xffff);
    let r32 = t << count;
    if (count > 16) r32 |= (dst & 0xffff) << (count - 16);
    r = (r32 >>> 16) & 0xffff;
    cf = (t >>> (32 - count)) & 1;
  }
  setResultFlags(cpu, bits, r, (cf ? CF : 0) | (topTwoDiffer(dst, bits) ? OF : 0));
  return r;
}

/** SHRD: `dst` shifted right by `count` (1..31), filled from the bottom of `src`. */
export function shrd(cpu: Cpu, bits: number, dst: number, src: number, count: number): number {
  let r: number, cf: number;
  if (bits === 32) {
    r = (dst >>> count) | (src << (32 - count));
    cf = (dst >>> (count - 1)) & 1;
  } else {
    const d = dst & 0xffff, s = src & 0xffff;
    let r32 = ((s << 16) | d) >>> count;
    if (count > 16) r32 |= d << (32 - count);
    r = r32 & 0xffff;
    cf = count > 16 ? (s >>> (count - 17)) & 1 : (d >>> (count - 1)) & 1;
  }
  setResultFlags(cpu, bits, r, (cf ? CF : 0) | ((msb(dst, bits) ^ src) & 1 ? OF : 0));
  return r;
}

function doubleShift(left: boolean, bytes: number, fromCl: boolean): Exec {
  const bits = bytes * 8;
  return (cpu, i) => {
    const count = (fromCl ? cpu.regs[ECX] : i.imm) & 0x1f;
    const v = rmwRead(cpu, i, bytes);
    if (count === 0) return;
    const src = readReg(cpu, i.reg, bytes);
    rmwWrite(cpu, i, bytes, left ? shld(cpu, bits, v, src, count) : shrd(cpu, bits, v, src, count));
  };
}

function defineDouble(opcode: number, name: string, left: boolean, fromCl: boolean): void {
  const h16 = doubleShift(left, 2, fromCl), h32 = doubleShift(left, 4, fromCl);
  defineOp(opcode, op(name, true, fromCl ? IMM_NONE : IMM_IB, (i) => (i.o32 ? h32 : h16)));
}
defineDouble(0x1a4, 'shld Ev,Gv,Ib', true, false);
defineDouble(0x1a5, 'shld Ev,Gv,CL', true, true);
defineDouble(0x1ac, 'shrd Ev,Gv,Ib', false, false);
defineDouble(0x1ad, 'shrd Ev,Gv,CL', false, true);
