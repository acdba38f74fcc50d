/**
 * MMX (CPUID.1:EDX bit 23) and the forms SSE/SSE2 add on MMX registers.
 *
 * The eight MMX registers are the significands (bits 63-0) of the x87's
 * physical registers R0-R7 (SDM Vol. 1 9.5): MMi is Ri whatever TOP is.
 * Every MMX instruction but EMMS sets TOP to 0 and marks all registers in
 * use (the tags the x87 then derives from their contents); a write to MMi
 * also sets Ri's sign and exponent bits (79-64) to all ones. EMMS marks all
 * registers empty and sets TOP to 0 (both checked against the host).
 * The transition happens when the instruction completes, so a faulting
 * instruction leaves the x87 state as it was.
 *
 * Gate (SDM Vol. 2, the MMX and "64-bit form" exception lists): #UD when
 * CR0.EM=1 (and, for the SSE floating-point conversions with an MMX
 * operand, when CR4.OSFXSR=0), #NM when CR0.TS=1, then #MF (or the FERR#
 * wait at CR0.NE=0) for a pending unmasked x87 exception, as a waiting x87
 * instruction (fpu/gate.ts). MMX instructions leave the x87 instruction and
 * operand pointers alone.
 */
import type { Cpu } from '../cpu.ts';
import type { Insn } from '../insn.ts';
import { CR0_EM, CR4_OSFXSR, EDI } from '../regs.ts';
import { waitingGate } from '../fpu/gate.ts';
import { integerOp64, result64, shift64 } from './integer.ts';
import { beginFloat, endFloat } from './arith.ts';
import { qword, readRm, sseGate } from './operands.ts';
import { F32, F64, fromInt32, toInt32 } from './softFloat.ts';
import { pinned } from '../pinnedArrays.ts';

/** The MMX gate; false when the instruction must wait for FERR# (fpu/gate.ts). */
function mmxGate(cpu: Cpu, i: Insn, needOsfxsr = false): boolean {
  if ((cpu.cr0 & CR0_EM) !== 0 || (needOsfxsr && (cpu.cr4 & CR4_OSFXSR) === 0)) cpu.raiseUD();
  return waitingGate(cpu, i);
}

/** The x87 side of a completed MMX instruction: TOP = 0, every register in use. */
function enterMmx(cpu: Cpu): void {
  cpu.fpu.top = 0;
  cpu.fpu.empty = 0;
}

function mmLo(cpu: Cpu, r: number): number {
  return cpu.fpu.regs[3 * r];
}
function mmHi(cpu: Cpu, r: number): number {
  return cpu.fpu.regs[3 * r + 1];
}
function writeMm(cpu: Cpu, r: number, lo: number, hi: number): void {
  const f = cpu.fpu.regs;
  f[3 * r] = lo;
  f[3 * r + 1] = hi;
  f[3 * r + 2] = 0xffff;
}

/** The r/m operand of an MMX instruction: MM(rm), or 8 bytes of memory (no alignment rule). */
const rm64 = pinned(Uint32Array, 2);
function readRm64(cpu: Cpu, i: Insn): Uint32Array {
  if (i.mod === 3) {
    rm64[0] = mmLo(cpu, i.rm);
    rm64[1] = mmHi(cpu, i.rm);
  } else {
    const ea = cpu.ea(i);
    rm64[0] = cpu.read32(i.seg, ea);
    rm64[1] = cpu.read32(i.seg, i.a32 ? (ea + 4) | 0 : (ea + 4) & 0xffff);
  }
  return rm64;
}

function writeMem64(cpu: Cpu, i: Insn, lo: number, hi: number): void {
  const lin = cpu.rmwAddress(i.seg, cpu.ea(i), 8);
  cpu.writeLin32(lin, lo);
  cpu.writeLin32((lin + 4) | 0, hi);
}

/** A two-operand integer instruction on MMX registers: MM(reg) <- op(MM(reg), mm/m64). */
export function mmxIntegerOp(cpu: Cpu, i: Insn, opcode: number): void {
  if (!mmxGate(cpu, i)) return;
  const b = readRm64(cpu, i);
  integerOp64(opcode, mmLo(cpu, i.reg), mmHi(cpu, i.reg), b[0], b[1]);
  writeMm(cpu, i.reg, result64[0], result64[1]);
  enterMmx(cpu);
}

/** PSRLx/PSRAx/PSLLx mm, mm/m64: the count is the whole source qword (unsigned). */
export function mmxShiftByReg(cpu: Cpu, i: Insn, bits: number, kind: number): void {
  if (!mmxGate(cpu, i)) return;
  const b = readRm64(cpu, i);
  const count = b[1] !== 0 || b[0] >>> 0 > 255 ? 255 : b[0];
  shift64(bits, kind, count, mmLo(cpu, i.reg), mmHi(cpu, i.reg));
  writeMm(cpu, i.reg, result64[0], result64[1]);
  enterMmx(cpu);
}

/** The shift groups 0F 71-73 on MM(rm) with imm8. */
export function mmxShiftByImm(cpu: Cpu, i: Insn, bits: number, kind: number): void {
  if (!mmxGate(cpu, i)) return;
  shift64(bits, kind, i.imm & 0xff, mmLo(cpu, i.rm), mmHi(cpu, i.rm));
  writeMm(cpu, i.rm, result64[0], result64[1]);
  enterMmx(cpu);
}

/** EMMS: every register empty, TOP = 0. */
export function emms(cpu: Cpu, i: Insn): void {
  if (!mmxGate(cpu, i)) return;
  cpu.fpu.top = 0;
  cpu.fpu.empty = 0xff;
}

/** MOVD mm, r/m32 (zero-extended). */
export function movdToMm(cpu: Cpu, i: Insn): void {
  if (!mmxGate(cpu, i)) return;
  writeMm(cpu, i.reg, cpu.readRm32(i) >>> 0, 0);
  enterMmx(cpu);
}

/** MOVD r/m32, mm. */
export function movdFromMm(cpu: Cpu, i: Insn): void {
  if (!mmxGate(cpu, i)) return;
  cpu.writeRm32(i, mmLo(cpu, i.reg) | 0);
  enterMmx(cpu);
}

/** MOVQ mm, mm/m64. */
export function movqToMm(cpu: Cpu, i: Insn): void {
  if (!mmxGate(cpu, i)) return;
  const b = readRm64(cpu, i);
  writeMm(cpu, i.reg, b[0], b[1]);
  enterMmx(cpu);
}

/** MOVQ mm/m64, mm and MOVNTQ m64, mm. */
export function movqFromMm(cpu: Cpu, i: Insn): void {
  if (!mmxGate(cpu, i)) return;
  const lo = mmLo(cpu, i.reg), hi = mmHi(cpu, i.reg);
  if (i.mod === 3) writeMm(cpu, i.rm, lo, hi);
  else writeMem64(cpu, i, lo, hi);
  enterMmx(cpu);
}

/** PSHUFW mm, mm/m64, imm8. */
export function pshufwMm(cpu: Cpu, i: Insn): void {
  if (!mmxGate(cpu, i)) return;
  const b = readRm64(cpu, i);
  const word = (k: number) => ((k < 2 ? b[0] : b[1]) >>> (16 * (k & 1))) & 0xffff;
  const w = [0, 1, 2, 3].map((k) => word((i.imm >> (2 * k)) & 3));
  writeMm(cpu, i.reg, (w[0] | (w[1] << 16)) >>> 0, (w[2] | (w[3] << 16)) >>> 0);
  enterMmx(cpu);
}

/** PINSRW mm, r32/m16, imm8. */
export function pinsrwMm(cpu: Cpu, i: Insn): void {
  if (!mmxGate(cpu, i)) return;
  const v = i.mod === 3 ? cpu.regs[i.rm] & 0xffff : cpu.read16(i.seg, cpu.ea(i));
  const w = i.imm & 3, sh = 16 * (w & 1);
  let lo = mmLo(cpu, i.reg), hi = mmHi(cpu, i.reg);
  if (w < 2) lo = ((lo & ~(0xffff << sh)) | (v << sh)) >>> 0;
  else hi = ((hi & ~(0xffff << sh)) | (v << sh)) >>> 0;
  writeMm(cpu, i.reg, lo, hi);
  enterMmx(cpu);
}

/** PEXTRW r32, mm, imm8. */
export function pextrwMm(cpu: Cpu, i: Insn): void {
  if (!mmxGate(cpu, i)) return;
  const w = i.imm & 3;
  cpu.regs[i.reg] = ((w < 2 ? mmLo(cpu, i.rm) : mmHi(cpu, i.rm)) >>> (16 * (w & 1))) & 0xffff;
  enterMmx(cpu);
}

/** PMOVMSKB r32, mm. */
export function pmovmskbMm(cpu: Cpu, i: Insn): void {
  if (!mmxGate(cpu, i)) return;
  const lo = mmLo(cpu, i.rm), hi = mmHi(cpu, i.rm);
  let m = 0;
  for (let k = 0; k < 4; k++) m |= ((lo >>> (8 * k + 7)) & 1) << k | ((hi >>> (8 * k + 7)) & 1) << (k + 4);
  cpu.regs[i.reg] = m;
  enterMmx(cpu);
}

/** MASKMOVQ mm1, mm2: the bytes of mm1 whose mask byte in mm2 has its top bit set, at DS:EDI/DI (checked before any store). */
export function maskmovq(cpu: Cpu, i: Insn): void {
  if (!mmxGate(cpu, i)) return;
  const data = [mmLo(cpu, i.reg), mmHi(cpu, i.reg)], mask = [mmLo(cpu, i.rm), mmHi(cpu, i.rm)];
  let bits = 0;
  for (let k = 0; k < 8; k++) bits |= ((mask[k >> 2] >>> (8 * (k & 3) + 7)) & 1) << k;
  if (bits !== 0) {
    const off = i.a32 ? cpu.regs[EDI] : cpu.regs[EDI] & 0xffff;
    const lin = cpu.rmwAddress(i.seg, off, 8);
    for (let k = 0; k < 8; k++) if ((bits >> k) & 1) cpu.writeLin8((lin + k) | 0, data[k >> 2] >>> (8 * (k & 3)));
  }
  enterMmx(cpu);
}

/** MOVQ2DQ xmm, mm: the high qword cleared. */
export function movq2dq(cpu: Cpu, i: Insn): void {
  sseGate(cpu);
  if (!mmxGate(cpu, i)) return;
  const x = cpu.sse.xmm, d = i.reg * 4;
  x[d] = mmLo(cpu, i.rm); x[d + 1] = mmHi(cpu, i.rm); x[d + 2] = 0; x[d + 3] = 0;
  enterMmx(cpu);
}

/** MOVDQ2Q mm, xmm: the low qword. */
export function movdq2q(cpu: Cpu, i: Insn): void {
  sseGate(cpu);
  if (!mmxGate(cpu, i)) return;
  const x = cpu.sse.xmm, s = i.rm * 4;
  writeMm(cpu, i.reg, x[s], x[s + 1]);
  enterMmx(cpu);
}

/**
 * CVTPI2PS xmm, mm/m64 (two dwords to singles in the low qword, the high
 * qword kept) and CVTPI2PD xmm, mm/m64 (to two doubles, exact). With a
 * memory operand CVTPI2PD makes no x87-to-MMX transition (SDM CVTPI2PD).
 */
export function cvtpi2p(cpu: Cpu, i: Insn, double: boolean): void {
  sseGate(cpu);
  if (!mmxGate(cpu, i, true)) return;
  const b = readRm64(cpu, i);
  const x = cpu.sse.xmm, d = i.reg * 4;
  beginFloat(cpu);
  if (double) {
    const r0 = fromInt32(b[0] | 0, F64), r1 = fromInt32(b[1] | 0, F64);
    endFloat(cpu);
    x[d] = Number(r0 & 0xffff_ffffn); x[d + 1] = Number(r0 >> 32n);
    x[d + 2] = Number(r1 & 0xffff_ffffn); x[d + 3] = Number(r1 >> 32n);
  } else {
    const r0 = fromInt32(b[0] | 0, F32), r1 = fromInt32(b[1] | 0, F32);
    endFloat(cpu);
    x[d] = Number(r0); x[d + 1] = Number(r1);
  }
  if (!double || i.mod === 3) enterMmx(cpu);
}

/** CVT(T)PS2PI mm, xmm/m64 and CVT(T)PD2PI mm, xmm/m128 (16-byte aligned). */
export function cvtp2pi(cpu: Cpu, i: Insn, double: boolean, truncate: boolean): void {
  sseGate(cpu);
  if (!mmxGate(cpu, i, true)) return;
  const b = readRm(cpu, i, double ? 4 : 2, double);
  beginFloat(cpu);
  const r0 = double ? toInt32(qword(b, 0, 0), F64, truncate) : toInt32(BigInt(b[0]), F32, truncate);
  const r1 = double ? toInt32(qword(b, 0, 1), F64, truncate) : toInt32(BigInt(b[1]), F32, truncate);
  endFloat(cpu);
  writeMm(cpu, i.reg, r0 >>> 0, r1 >>> 0);
  enterMmx(cpu);
}
