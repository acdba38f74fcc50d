/**
 * The opcode maps (SDM Vol. 2 Appendix A): one entry per opcode of the
 * one-byte map and the two-byte (0F xx) map. Instruction modules under ops/
 * fill them with `defineOp`; the decoder reads them. An entry says how the
 * instruction is encoded (ModRM? which immediate?) and picks the handler for
 * the decoded form (operand size, register vs memory, ModRM.reg group).
 */
import type { Exec, Insn } from './insn.ts';

// Immediate / operand-encoding kinds.
export const IMM_NONE = 0;
export const IMM_IB = 1; // imm8, zero-extended
export const IMM_IBS = 2; // imm8, sign-extended to the operand size
export const IMM_IW = 3; // imm16
export const IMM_IV = 4; // imm16 or imm32 by operand size
export const IMM_IWIB = 5; // ENTER: imm16 (imm), imm8 (imm2)
export const IMM_PTR = 6; // far pointer: offset16/32 (imm), selector16 (imm2)
export const IMM_MOFFS = 7; // memory offset of address size (into disp)
export const IMM_JB = 8; // rel8: imm = branch target EIP
export const IMM_JV = 9; // rel16/32: imm = branch target EIP

export interface OpDef {
  readonly name: string;
  readonly modrm: boolean;
  readonly imm: number;
  /** The handler for this decoded form (called after ModRM/SIB are decoded, before immediates). */
  select(i: Insn): Exec;
  /** Immediate kind chosen per form (e.g. F6/F7: only TEST has one); overrides `imm`. */
  immFor?(i: Insn): number;
  /** The instruction always ends a decoded block (control transfer, mode change). */
  readonly endsBlock?: boolean;
  /** LOCK is permitted (with a memory destination). */
  readonly lockable?: boolean;
}

export const oneByteMap: (OpDef | undefined)[] = new Array(256).fill(undefined);
export const twoByteMap: (OpDef | undefined)[] = new Array(256).fill(undefined);
/** The three-byte map 0F 38 xx (only INVEPT/INVVPID live there on this processor). */
export const threeByte38Map: (OpDef | undefined)[] = new Array(256).fill(undefined);

/** Registers an opcode (0x00-0xFF one-byte, 0x100-0x1FF for 0F xx, 0x200-0x2FF for 0F 38 xx). Each opcode is defined once. */
export function defineOp(opcode: number, def: OpDef): void {
  const map = opcode >= 0x200 ? threeByte38Map : opcode >= 0x100 ? twoByteMap : oneByteMap;
  const index = opcode & 0xff;
  if (map[index] !== undefined) throw new Error(`opcode ${opcode.toString(16)} defined twice (${map[index]!.name}, ${def.name})`);
  map[index] = def;
}

/** Handler selection by operand size. */
export function bySize(f16: Exec, f32: Exec): (i: Insn) => Exec {
  return (i) => (i.o32 ? f32 : f16);
}

/** Convenience: a simple opcode definition. */
export function op(
  name: string,
  modrm: boolean,
  imm: number,
  select: (i: Insn) => Exec,
  extra: { endsBlock?: boolean; lockable?: boolean; immFor?: (i: Insn) => number } = {},
): OpDef {
  return { name, modrm, imm, select, ...extra };
}
