/**
 * Reading the memory operand of an x87 arithmetic/compare instruction
 * (m32fp, m64fp, m16int, m32int) as a register value. Reads happen before
 * any FPU state changes, so a fault leaves the FPU as it was.
 */
import type { Cpu } from '../cpu.ts';
import type { Insn } from '../insn.ts';
import type { X80 } from './ext80.ts';
import { fromInteger, loadF32, loadF64 } from './formats.ts';

export const MEM_F32 = 0, MEM_I32 = 1, MEM_F64 = 2, MEM_I16 = 3;

/** Operand kind of the arithmetic escape opcodes D8 / DA / DC / DE. */
export function arithKind(opcode: number): number {
  return (opcode - 0xd8) >> 1;
}

/** The operand as a register value (exact; an m32/m64 denormal sets acc.denormalIn and an SNaN stays signalling: the operation decides on DE and IE). */
export function readOperand(cpu: Cpu, i: Insn, ea: number, kind: number): X80 {
  switch (kind) {
    case MEM_F32: return loadF32(cpu.read32(i.seg, ea) >>> 0);
    case MEM_I32: return fromInteger(BigInt(cpu.read32(i.seg, ea) | 0));
    case MEM_F64: {
      const lo = cpu.read32(i.seg, ea);
      const hi = cpu.read32(i.seg, offsetBy(i, ea, 4));
      return loadF64(hi >>> 0, lo >>> 0);
    }
    default: return fromInteger(BigInt((cpu.read16(i.seg, ea) << 16) >> 16));
  }
}

/** Offset k bytes into a memory operand (wraps like the address size). */
export function offsetBy(i: Insn, ea: number, k: number): number {
  return i.a32 ? (ea + k) | 0 : (ea + k) & 0xffff;
}
