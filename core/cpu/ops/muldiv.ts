/**
 * Group 3 (F6/F7: TEST Ib/Iv, NOT, NEG, MUL, IMUL, DIV, IDIV) and the other
 * IMUL forms (0F AF Gv,Ev; 69 Gv,Ev,Iv; 6B Gv,Ev,Ibs).
 *
 * Flags where the SDM says "undefined" follow the Intel parts whose
 * behaviour is public (test/cpu/tools/UNDEFINED_FLAGS.md): MUL/IMUL set
 * CF=OF per the SDM, SF and PF from the low half of the product (the
 * destination for the 2/3-operand forms), and clear ZF and AF whatever the
 * product (VirtualBox's Intel flag code, checked on Skylake and Cascade
 * Lake; an Ivy Bridge probe measures ZF=0 too); DIV/IDIV leave every flag
 * unchanged. #DE is raised before any register changes, for a
 * zero divisor and for a quotient that does not fit (IDIV -2^31 / -1 too).
 */
import type { Cpu } from '../cpu.ts';
import type { Exec, Insn } from '../insn.ts';
import { defineOp, IMM_IB, IMM_IBS, IMM_IV, IMM_NONE, op } from '../opcodeTable.ts';
import { LAZY_SUB, PARITY, setArithFlags, setLazy, setResultFlags } from '../flags.ts';
import { CF, EAX, EDX, EXC_DE, OF, SF } from '../regs.ts';
import { readReg, rmwRead, rmwWrite, writeReg } from './rmwOperand.ts';

const TWO32 = 0x1_0000_0000;

/** 64-bit product scratch (module level: no allocation per instruction). */
export const product = { lo: 0, hi: 0 };

/** Unsigned 32x32 -> 64-bit multiply into `product` (lo/hi as int32). Exact: every partial sum stays below 2^53. */
export function mulU32(a: number, b: number): void {
  a >>>= 0;
  b >>>= 0;
  const aLo = a & 0xffff, aHi = a >>> 16, bLo = b & 0xffff, bHi = b >>> 16;
  const mid1 = aHi * bLo, mid2 = aLo * bHi;
  const low = aLo * bLo + (mid1 & 0xffff) * 0x10000 + (mid2 & 0xffff) * 0x10000;
  const carry = Math.floor(low / TWO32);
  product.lo = low | 0;
  product.hi = (aHi * bHi + (mid1 >>> 16) + (mid2 >>> 16) + carry) | 0;
}

/** Signed 32x32 -> 64-bit multiply into `product`. */
export function mulS32(a: number, b: number): void {
  mulU32(a, b);
  let hi = product.hi;
  if ((a | 0) < 0) hi = (hi - b) | 0;
  if ((b | 0) < 0) hi = (hi - a) | 0;
  product.hi = hi;
}

/** Quotient/remainder scratch for the 64/32 divides. */
const division = { q: 0, r: 0 };

/**
 * Unsigned (hi:lo) / d with hi < d (so the quotient fits in 32 bits), in two
 * 16-bit steps that stay exact in doubles. hi, lo, d are taken unsigned.
 */
function divU64by32(hi: number, lo: number, d: number): void {
  hi >>>= 0;
  lo >>>= 0;
  d >>>= 0;
  let cur = hi * 0x10000 + (lo >>> 16);
  const q1 = Math.floor(cur / d);
  let rem = cur - q1 * d;
  cur = rem * 0x10000 + (lo & 0xffff);
  const q0 = Math.floor(cur / d);
  rem = cur - q0 * d;
  division.q = (q1 * 0x10000 + q0) | 0;
  division.r = rem | 0;
}

// ---- MUL / IMUL (one operand) ----

/**
 * MUL/IMUL's flags: SF and PF from `low` (the low half of the product, `bits` wide), CF = OF = `significant`
 * (the upper half carries part of the product), ZF = AF = 0.
 */
function setMulFlags(cpu: Cpu, bits: number, low: number, significant: boolean): void {
  setArithFlags(cpu, ((low >>> (bits - 1)) & 1 ? SF : 0) | PARITY[low & 0xff] | (significant ? CF | OF : 0));
}

const mul8: Exec = (cpu, i) => {
  const p = (cpu.regs[EAX] & 0xff) * cpu.readRm8(i);
  cpu.set16(EAX, p);
  setMulFlags(cpu, 8, p & 0xff, p > 0xff);
};
const mul16: Exec = (cpu, i) => {
  const p = (cpu.regs[EAX] & 0xffff) * cpu.readRm16(i);
  cpu.set16(EAX, p);
  cpu.set16(EDX, p >>> 16);
  setMulFlags(cpu, 16, p & 0xffff, p > 0xffff);
};
// MUL r/m32 is the kernel's multi-precision multiply step (umul_ppmm in mpihelp_*, which Debian 686's
// boot-time Diffie-Hellman self-test runs) and compiled code calls it (no inline form): the low half by
// Math.imul, the high half from two partial products below 2^48 instead of mulU32's four.
const mul32: Exec = (cpu, i) => {
  const a = cpu.regs[EAX] >>> 0;
  const b = cpu.readRm32(i) >>> 0;
  const lo = Math.imul(a, b);
  // a*b = a*bHi*2^16 + a*bLo; the high half is floor((a*bHi + floor(a*bLo / 2^16)) / 2^16), every term exact.
  const hi = Math.floor((a * (b >>> 16) + Math.floor((a * (b & 0xffff)) / 0x10000)) / 0x10000) | 0;
  cpu.regs[EAX] = lo;
  cpu.regs[EDX] = hi;
  setMulFlags(cpu, 32, lo, hi !== 0);
};
const imul8: Exec = (cpu, i) => {
  const p = ((cpu.regs[EAX] << 24) >> 24) * ((cpu.readRm8(i) << 24) >> 24);
  cpu.set16(EAX, p);
  setMulFlags(cpu, 8, p & 0xff, p !== (p << 24) >> 24);
};
const imul16: Exec = (cpu, i) => {
  const p = ((cpu.regs[EAX] << 16) >> 16) * ((cpu.readRm16(i) << 16) >> 16);
  cpu.set16(EAX, p);
  cpu.set16(EDX, p >> 16);
  setMulFlags(cpu, 16, p & 0xffff, p !== (p << 16) >> 16);
};
const imul32: Exec = (cpu, i) => {
  mulS32(cpu.regs[EAX], cpu.readRm32(i));
  cpu.regs[EAX] = product.lo;
  cpu.regs[EDX] = product.hi;
  setMulFlags(cpu, 32, product.lo, product.hi !== product.lo >> 31);
};

// ---- DIV / IDIV ----

function divideError(cpu: Cpu): never {
  return cpu.fault(EXC_DE, 0, false);
}

const div8: Exec = (cpu, i) => {
  const d = cpu.readRm8(i);
  if (d === 0) divideError(cpu);
  const n = cpu.regs[EAX] & 0xffff;
  const q = Math.floor(n / d);
  if (q > 0xff) divideError(cpu);
  cpu.set16(EAX, ((n - q * d) << 8) | q);
};
const div16: Exec = (cpu, i) => {
  const d = cpu.readRm16(i);
  if (d === 0) divideError(cpu);
  const n = (((cpu.regs[EDX] & 0xffff) << 16) | (cpu.regs[EAX] & 0xffff)) >>> 0;
  const q = Math.floor(n / d);
  if (q > 0xffff) divideError(cpu);
  cpu.set16(EAX, q);
  cpu.set16(EDX, n - q * d);
};
const div32: Exec = (cpu, i) => {
  const d = cpu.readRm32(i) >>> 0;
  if (d === 0) divideError(cpu);
  if (cpu.regs[EDX] >>> 0 >= d) divideError(cpu);
  divU64by32(cpu.regs[EDX], cpu.regs[EAX], d);
  cpu.regs[EAX] = division.q;
  cpu.regs[EDX] = division.r;
};
const idiv8: Exec = (cpu, i) => {
  const d = (cpu.readRm8(i) << 24) >> 24;
  if (d === 0) divideError(cpu);
  const n = (cpu.regs[EAX] << 16) >> 16;
  const q = Math.trunc(n / d);
  if (q > 0x7f || q < -0x80) divideError(cpu);
  cpu.set16(EAX, (((n - q * d) & 0xff) << 8) | (q & 0xff));
};
const idiv16: Exec = (cpu, i) => {
  const d = (cpu.readRm16(i) << 16) >> 16;
  if (d === 0) divideError(cpu);
  const n = ((cpu.regs[EDX] & 0xffff) << 16) | (cpu.regs[EAX] & 0xffff);
  const q = Math.trunc(n / d);
  if (q > 0x7fff || q < -0x8000) divideError(cpu);
  cpu.set16(EAX, q);
  cpu.set16(EDX, n - q * d);
};
const idiv32: Exec = (cpu, i) => {
  const d = cpu.readRm32(i);
  if (d === 0) divideError(cpu);
  let hi = cpu.regs[EDX], lo = cpu.regs[EAX];
  const negN = hi < 0;
  if (negN) {
    // Two's complement negation of the 64-bit dividend.
    lo = (~lo + 1) | 0;
    hi = (~hi + (lo === 0 ? 1 : 0)) | 0;
  }
  const absD = d < 0 ? -d : d; // up to 2^31, as a positive double
  // |quotient| < 2^32 requires |hi| < |d| (|hi| is unsigned here: -2^63 negates to itself).
  if (hi >>> 0 >= absD) divideError(cpu);
  divU64by32(hi, lo, absD);
  const q = division.q >>> 0;
  const negQ = negN !== d < 0;
  if (negQ ? q > 0x8000_0000 : q > 0x7fff_ffff) divideError(cpu);
  cpu.regs[EAX] = negQ ? -q | 0 : q | 0;
  cpu.regs[EDX] = negN ? -division.r | 0 : division.r;
};

// ---- TEST / NOT / NEG ----

const test8: Exec = (cpu, i) => setResultFlags(cpu, 8, cpu.readRm8(i) & i.imm & 0xff, 0);
const test16: Exec = (cpu, i) => setResultFlags(cpu, 16, cpu.readRm16(i) & i.imm & 0xffff, 0);
const test32: Exec = (cpu, i) => setResultFlags(cpu, 32, cpu.readRm32(i) & i.imm, 0);

function notOp(bytes: number): Exec {
  return (cpu, i) => rmwWrite(cpu, i, bytes, ~rmwRead(cpu, i, bytes));
}
function negOp(bytes: number): Exec {
  const bits = bytes * 8;
  return (cpu, i) => {
    const v = rmwRead(cpu, i, bytes);
    const r = -v | 0;
    setLazy(cpu, LAZY_SUB, bits, 0, v, r);
    rmwWrite(cpu, i, bytes, r);
  };
}

const ud: Exec = (cpu) => cpu.raiseUD();
const group3x8: Exec[] = [test8, test8, notOp(1), negOp(1), mul8, imul8, div8, idiv8];
const group3x16: Exec[] = [test16, test16, notOp(2), negOp(2), mul16, imul16, div16, idiv16];
const group3x32: Exec[] = [test32, test32, notOp(4), negOp(4), mul32, imul32, div32, idiv32];

/** LOCK is valid only on NOT/NEG (memory forms; the decoder rejects register forms). */
function group3(table: (i: Insn) => Exec[]): (i: Insn) => Exec {
  return (i) => (i.lock && i.reg !== 2 && i.reg !== 3 ? ud : table(i)[i.reg]);
}
/** Only TEST (/0 and its alias /1) has an immediate. */
const immIfTest = (kind: number) => (i: Insn): number => (i.reg < 2 ? kind : IMM_NONE);
defineOp(0xf6, op('grp3 Eb', true, IMM_NONE, group3(() => group3x8), { lockable: true, immFor: immIfTest(IMM_IB) }));
defineOp(0xf7, op('grp3 Ev', true, IMM_NONE, group3((i) => (i.o32 ? group3x32 : group3x16)), { lockable: true, immFor: immIfTest(IMM_IV) }));

// ---- IMUL with a register destination ----

/** Truncating signed multiply into `bits`; sets flags from the truncated result. */
function imulTrunc(cpu: Cpu, bits: number, a: number, b: number): number {
  if (bits === 16) {
    const p = ((a << 16) >> 16) * ((b << 16) >> 16);
    const r = p & 0xffff;
    setMulFlags(cpu, 16, r, p !== (p << 16) >> 16);
    return r;
  }
  return imulTrunc32(cpu, a, b);
}

/**
 * The 2/3-operand IMUL's 32-bit product (the XZ decompressor's range coder
 * multiplies by one per bit; compiled code calls it): the low half by
 * Math.imul; the product fits in 32 bits exactly when the double product of
 * the signed operands equals it (below 2^31 in magnitude a double product is
 * exact, and one that is not cannot round into that range).
 */
function imulTrunc32(cpu: Cpu, a: number, b: number): number {
  const lo = Math.imul(a, b);
  setMulFlags(cpu, 32, lo, (a | 0) * (b | 0) !== lo);
  return lo;
}

function imulGvEv(bytes: number): Exec {
  return (cpu, i) => {
    const src = bytes === 2 ? cpu.readRm16(i) : cpu.readRm32(i);
    writeReg(cpu, i.reg, bytes, imulTrunc(cpu, bytes * 8, readReg(cpu, i.reg, bytes), src));
  };
}
function imulGvEvI(bytes: number): Exec {
  return (cpu, i) => {
    const src = bytes === 2 ? cpu.readRm16(i) : cpu.readRm32(i);
    writeReg(cpu, i.reg, bytes, imulTrunc(cpu, bytes * 8, src, i.imm));
  };
}
// The 32-bit forms on their own: no operand-size dispatch in the closures compiled code calls.
const imulR16 = imulGvEv(2);
const imulR32: Exec = (cpu, i) => {
  const src = cpu.readRm32(i);
  cpu.regs[i.reg] = imulTrunc32(cpu, cpu.regs[i.reg], src);
};
const imulI16 = imulGvEvI(2);
const imulI32: Exec = (cpu, i) => {
  const src = cpu.readRm32(i);
  cpu.regs[i.reg] = imulTrunc32(cpu, src, i.imm);
};
defineOp(0x1af, op('imul Gv,Ev', true, IMM_NONE, (i) => (i.o32 ? imulR32 : imulR16)));
defineOp(0x69, op('imul Gv,Ev,Iv', true, IMM_IV, (i) => (i.o32 ? imulI32 : imulI16)));
defineOp(0x6b, op('imul Gv,Ev,Ibs', true, IMM_IBS, (i) => (i.o32 ? imulI32 : imulI16)));
