/**
 * What every SSE/SSE2 instruction does before its own work, and its operand
 * access:
 * - the gate (the exception conditions of every SSE/SSE2 instruction in SDM
 *   Vol. 2, and Vol. 3 13.1.5): #UD when CR0.EM=1 or CR4.OSFXSR=0, then #NM
 *   when CR0.TS=1;
 * - XMM and memory operands of 4, 8 and 16 bytes; 16-byte operands of the
 *   aligned forms raise #GP(0) when their address is not a multiple of 16
 *   (checked on the linear address, before any access);
 * - #XM (vector 19) for an unmasked SIMD floating-point exception when
 *   CR4.OSXMMEXCPT=1, #UD when it is 0.
 * Memory stores check the whole destination (segment and page) before
 * writing any byte, so a faulting store changes nothing.
 */
import type { Cpu } from '../cpu.ts';
import type { Insn } from '../insn.ts';
import { CR0_EM, CR0_TS, CR4_OSFXSR, CR4_OSXMMEXCPT, EXC_NM, EXC_XM } from '../regs.ts';

/** The SSE gate: #UD (EM=1 or OSFXSR=0), then #NM (TS=1). */
export function sseGate(cpu: Cpu): void {
  if ((cpu.cr0 & CR0_EM) !== 0 || (cpu.cr4 & CR4_OSFXSR) === 0) cpu.raiseUD();
  if ((cpu.cr0 & CR0_TS) !== 0) cpu.fault(EXC_NM, 0, false);
}

/** An unmasked SIMD floating-point exception: #XM, or #UD when the OS has not set CR4.OSXMMEXCPT. */
export function raiseSimdException(cpu: Cpu): never {
  if ((cpu.cr4 & CR4_OSXMMEXCPT) === 0) cpu.raiseUD();
  return cpu.fault(EXC_XM, 0, false);
}

/** Scratch operand: four dwords, least significant first. */
export const src = new Uint32Array(4);

/** Offset of the memory operand's dword k (address-size wrap). */
function offset(i: Insn, ea: number, k: number): number {
  return i.a32 ? (ea + 4 * k) | 0 : (ea + 4 * k) & 0xffff;
}

/** #GP(0) unless the operand's linear address is 16-byte aligned. */
export function checkAligned(cpu: Cpu, i: Insn, ea: number): void {
  if (((cpu.segBase[i.seg] + ea) & 15) !== 0) cpu.raiseGP(0);
}

/** Reads `dwords` dwords of the r/m operand (XMM register rm, or memory) into `src` (dwords above are zeroed). */
export function readRm(cpu: Cpu, i: Insn, dwords: number, aligned: boolean): Uint32Array {
  if (i.mod === 3) {
    const x = cpu.sse.xmm, b = i.rm * 4;
    src[0] = x[b]; src[1] = x[b + 1]; src[2] = x[b + 2]; src[3] = x[b + 3];
    return src;
  }
  const ea = cpu.ea(i);
  if (aligned) checkAligned(cpu, i, ea);
  src[0] = src[1] = src[2] = src[3] = 0;
  for (let k = 0; k < dwords; k++) src[k] = cpu.read32(i.seg, offset(i, ea, k)) >>> 0;
  return src;
}

/** Reads a memory operand of `dwords` dwords (no register form) into `src`. */
export function readMem(cpu: Cpu, i: Insn, dwords: number, aligned: boolean): Uint32Array {
  const ea = cpu.ea(i);
  if (aligned) checkAligned(cpu, i, ea);
  src[0] = src[1] = src[2] = src[3] = 0;
  for (let k = 0; k < dwords; k++) src[k] = cpu.read32(i.seg, offset(i, ea, k)) >>> 0;
  return src;
}

/** Writes `dwords` dwords from `v` starting at dword `from` to the memory operand. */
export function writeMem(cpu: Cpu, i: Insn, v: ArrayLike<number>, dwords: number, aligned: boolean, from = 0): void {
  const ea = cpu.ea(i);
  if (aligned) checkAligned(cpu, i, ea);
  const lin = cpu.rmwAddress(i.seg, ea, 4 * dwords);
  for (let k = 0; k < dwords; k++) cpu.writeLin32((lin + 4 * k) | 0, v[from + k] | 0);
}

/** Reads an XMM register's qword q (0 low, 1 high) as a BigInt. */
export function qword(x: Uint32Array, base: number, q: number): bigint {
  return (BigInt(x[base + 2 * q + 1]) << 32n) | BigInt(x[base + 2 * q]);
}

/** Stores a BigInt qword into dwords [base + 2q, base + 2q + 1]. */
export function setQword(x: Uint32Array, base: number, q: number, v: bigint): void {
  x[base + 2 * q] = Number(v & 0xffff_ffffn);
  x[base + 2 * q + 1] = Number((v >> 32n) & 0xffff_ffffn);
}
