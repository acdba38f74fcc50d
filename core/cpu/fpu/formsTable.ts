/**
 * The x87 escape opcodes D8-DF, as tables the instruction modules fill: one
 * handler per (opcode, ModRM.reg) for memory forms, one per (opcode, ModRM
 * low six bits) for register forms. escape.ts turns the tables into opcode
 * map entries; empty slots decode to #UD.
 */
import type { Exec } from '../insn.ts';

export const memForms: (Exec | undefined)[] = new Array(64).fill(undefined);
export const regForms: (Exec | undefined)[] = new Array(512).fill(undefined);

/** Memory form `opcode /reg`. */
export function defineMem(opcode: number, reg: number, fn: Exec): void {
  const k = (opcode - 0xd8) * 8 + reg;
  if (memForms[k] !== undefined) throw new Error(`x87 ${opcode.toString(16)} /${reg} defined twice`);
  memForms[k] = fn;
}

/** Register form with the exact second byte (e.g. 0xd9, 0xe8 for FLD1). */
export function defineReg(opcode: number, modrm: number, fn: Exec): void {
  const k = (opcode - 0xd8) * 64 + (modrm & 0x3f);
  if (regForms[k] !== undefined) throw new Error(`x87 ${opcode.toString(16)} ${modrm.toString(16)} defined twice`);
  regForms[k] = fn;
}

/** The eight register forms `opcode base+i` (ST(i) in ModRM.rm). */
export function defineRegRow(opcode: number, base: number, fn: Exec): void {
  for (let r = 0; r < 8; r++) defineReg(opcode, base + r, fn);
}
