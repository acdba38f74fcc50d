/**
 * A decoded instruction: everything the decoder learned from its bytes, so
 * that executing it again costs no decoding. Instances live in the decoded
 * block cache and are reused until the code they came from is written.
 */
import type { Cpu } from './cpu.ts';

export type Exec = (cpu: Cpu, i: Insn) => void;

export const REP_NONE = 0, REP_E = 1, REP_NE = 2;

export class Insn {
  /** Handler chosen at decode time for this exact form (size, register/memory). */
  fn: Exec = undefinedOpcode;
  /** Form the run loop executes inline (fastForms.ts), FAST_NONE to call `fn`. */
  fast = 0;
  /** EIP of the first byte (prefixes included) and of the next instruction (both CS-relative). */
  eip = 0;
  nextEip = 0;
  len = 0;
  /** Opcode: one-byte opcodes as is, 0x0F xx as 0x100 | xx. */
  opcode = 0;
  /** Operand size 32 (else 16); address size 32 (else 16). */
  o32 = false;
  a32 = false;
  /** Effective segment of the memory operand (override or default). */
  seg = 3;
  /** An explicit segment override prefix was present. */
  segOverride = false;
  rep = REP_NONE;
  /** An operand-size prefix (66H) was present: with F2H/F3H (`rep`), it selects the SSE form of an 0F opcode. */
  p66 = false;
  lock = false;
  // ModRM / SIB, decoded.
  mod = 0;
  reg = 0;
  rm = 0;
  /** Memory operand: base register (-1 none), index register (-1 none), scale shift, displacement. */
  base = -1;
  index = -1;
  scale = 0;
  disp = 0;
  /** Immediates (imm2: ENTER's second immediate, far pointer selector). */
  imm = 0;
  imm2 = 0;
  /** Ends the decoded block (control transfer, mode change, serializing). */
  endsBlock = false;
}

/** Placeholder handler of a fresh Insn; the decoder always replaces it. */
function undefinedOpcode(cpu: Cpu): void {
  cpu.raiseUD();
}
