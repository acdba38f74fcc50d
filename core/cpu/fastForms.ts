/**
 * The instruction forms the run loop executes inline instead of calling the
 * instruction's handler. An indirect call through `Insn.fn` costs more than
 * the work of the simplest instructions, and these forms are most of what
 * compiled user code executes (measured on the busybox shell loop of the
 * benchmark: nine instructions in ten). The forms are 32-bit operand-size
 * operations, byte operations and near jumps, without LOCK, and any memory
 * operand uses 32-bit addressing; everything else, including the same
 * opcodes with a 16-bit operand size, keeps FAST_NONE and goes through its
 * handler. The handler stays valid for
 * every instruction, so single-stepping and the debug path can still use it.
 *
 * Forms are numbered in groups by the memory access they make, so that the
 * run loop has one copy of each access path (V8 inlines a bounded amount of
 * code into one function; one inlined read beats four that are not). The
 * run loop spells the numbers as literals checked against these constants
 * with `satisfies`: an imported binding as a case label would cost a module
 * variable load per comparison and rule out a jump table.
 */
import type { Insn } from './insn.ts';

export const FAST_NONE = 0;
// Register-only forms (1-15).
export const FAST_MOV_RM_R = 1; // 89 /r reg: MOV r/m32 <- r32
export const FAST_MOV_R_RM = 2; // 8B /r reg: MOV r32 <- r/m32
export const FAST_MOV_R_IMM = 3; // B8+r: MOV r32, imm32
export const FAST_LEA = 4; // 8D /r: LEA r32, m (address only, no access)
export const FAST_INC_R = 5; // 40+r
export const FAST_DEC_R = 6; // 48+r
export const FAST_ALU_RM_R = 7; // 01 09 11 19 21 29 31 39 /r reg: op r/m32, r32 (op = opcode bits 5:3)
export const FAST_ALU_R_RM = 8; // 03 0B 13 1B 23 2B 33 3B /r reg: op r32, r/m32
export const FAST_ALU_RM_IMM = 9; // 81 / 83 /op reg: op r/m32, imm (op = ModRM.reg)
export const FAST_TEST_RR = 10; // 85 /r reg: TEST r/m32, r32
export const FAST_TEST_RR8 = 11; // 84 /r reg: TEST r/m8, r8
export const FAST_JCC = 12; // 70-7F, 0F 80-8F
export const FAST_JMP = 13; // EB, E9
// Forms that read a 32-bit memory operand (16-19).
export const FAST_LOAD32 = 16; // 8B /r mem: MOV r32, m32
export const FAST_CMP_M32_IMM = 17; // 81 / 83 /7 mem: CMP m32, imm
export const FAST_CMP_R_M32 = 18; // 3B /r mem: CMP r32, m32
export const FAST_CMP_M32_R = 19; // 39 /r mem: CMP m32, r32
// Forms that read an 8-bit memory operand (20-23).
export const FAST_LOAD8 = 20; // 8A /r mem: MOV r8, m8
export const FAST_MOVZX8 = 21; // 0F B6 /r mem: MOVZX r32, m8
export const FAST_CMP_M8_IMM = 22; // 80 /7 mem: CMP m8, imm8
export const FAST_CMP_R8_M8 = 23; // 3A /r mem: CMP r8, m8
// Stores (24-25).
export const FAST_STORE32 = 24; // 89 /r mem: MOV m32, r32
export const FAST_STORE8 = 25; // 88 /r mem: MOV m8, r8
// Pushes (26-28).
export const FAST_PUSH_R = 26; // 50+r
export const FAST_PUSH_IMM = 27; // 68 / 6A
export const FAST_CALL = 28; // E8
// Pops (29-30).
export const FAST_POP_R = 29; // 58+r
export const FAST_RET = 30; // C3, C2 iw

/** First code of each group; the run loop tests ranges, then the form within the group. */
export const FAST_GROUP_READ32 = 16, FAST_GROUP_READ8 = 20, FAST_GROUP_STORE = 24, FAST_GROUP_PUSH = 26, FAST_GROUP_POP = 29;

/** The fast form of a decoded instruction, or FAST_NONE. Called once per instruction at decode time. */
export function fastFormOf(i: Insn): number {
  if (i.lock) return FAST_NONE;
  const op = i.opcode;
  const mem = i.mod !== 3;
  // Memory forms compute a 32-bit effective address inline.
  if (mem && !i.a32) return FAST_NONE;
  if (!i.o32) return byteOrJumpForm(i);
  if (op >= 0x50 && op <= 0x57) return FAST_PUSH_R;
  if (op >= 0x58 && op <= 0x5f) return FAST_POP_R;
  if (op >= 0x40 && op <= 0x47) return FAST_INC_R;
  if (op >= 0x48 && op <= 0x4f) return FAST_DEC_R;
  if (op >= 0xb8 && op <= 0xbf) return FAST_MOV_R_IMM;
  if (op < 0x40 && (op & 7) === 1 && !mem) return FAST_ALU_RM_R;
  if (op < 0x40 && (op & 7) === 3 && !mem) return FAST_ALU_R_RM;
  switch (op) {
    case 0x8b: return mem ? FAST_LOAD32 : FAST_MOV_R_RM;
    case 0x89: return mem ? FAST_STORE32 : FAST_MOV_RM_R;
    case 0x8d: return mem ? FAST_LEA : FAST_NONE;
    case 0x1b6: return mem ? FAST_MOVZX8 : FAST_NONE;
    case 0x68: case 0x6a: return FAST_PUSH_IMM;
    case 0xe8: return FAST_CALL;
    case 0xc3: case 0xc2: return FAST_RET;
    case 0x81: case 0x83: return mem ? (i.reg === 7 ? FAST_CMP_M32_IMM : FAST_NONE) : FAST_ALU_RM_IMM;
    case 0x85: return mem ? FAST_NONE : FAST_TEST_RR;
    case 0x3b: return FAST_CMP_R_M32;
    case 0x39: return FAST_CMP_M32_R;
  }
  return byteOrJumpForm(i);
}

/** Forms whose meaning does not depend on the operand size: byte operations and jumps (their target is masked at decode). */
function byteOrJumpForm(i: Insn): number {
  const op = i.opcode;
  const mem = i.mod !== 3;
  if ((op >= 0x70 && op <= 0x7f) || (op >= 0x180 && op <= 0x18f)) return FAST_JCC;
  switch (op) {
    case 0xeb: case 0xe9: return FAST_JMP;
    case 0x8a: return mem ? FAST_LOAD8 : FAST_NONE;
    case 0x88: return mem ? FAST_STORE8 : FAST_NONE;
    case 0x84: return mem ? FAST_NONE : FAST_TEST_RR8;
    case 0x80: return mem && i.reg === 7 ? FAST_CMP_M8_IMM : FAST_NONE;
    case 0x3a: return mem ? FAST_CMP_R8_M8 : FAST_NONE;
  }
  return FAST_NONE;
}
