/**
 * Inline translations of SHL/SAL, SHR and SAR of a 16-bit register by imm8
 * and by 1 (66 C1 /4 /5 /6 /7, 66 D1 /4 /5 /6 /7). Why: Debian 686's boot
 * (issue 13; jit.ts header, commit 8c8542b) makes 20.6 M calls from
 * compiled code to the handler of 66 C1 /5 (SHR r16, imm8, the XZ
 * decompressor's range coder updating its 16-bit probabilities), each
 * paying a full sync before and every register reloaded after, while the
 * block writer had the C1/D1 shifts for 32-bit operands only.
 *
 * Each does what ops/shift.ts shiftCompute does for 16 bits: the count
 * masked to 5 bits, a masked count of 0 changes neither the register nor
 * the flags; SF/ZF/PF from the 16-bit result, AF clear, CF the last bit
 * shifted out, OF that of the first one-bit step whatever the count (SHL:
 * the operand's two top bits differ; SHR: its top bit; SAR: 0). Counts of
 * 16 and more: SHR gives 0 (CF bit 15 at 16, else 0), SHL gives 0 (CF bit
 * 0 at 16, else 0), SAR fills with the sign (CF the sign). Only the low 16
 * bits of the register are written.
 *
 * The flags stay in the block's locals as a 32-bit LAZY_RES (CF and OF in
 * `fa`) of the 16-bit result sign-extended: its ZF (zero), SF (negative)
 * and PF (low byte) are exactly the 16-bit result's, and a following Jcc or
 * ADC reads them inline (flagCode.ts). The lazy state written back at an
 * exit (size 32, the sign-extended result) differs from the interpreter's
 * (size 16, the result) but every flag computed from them is the same, as
 * for the other int32-reduced values the block writes back.
 */
import type { Insn } from '../insn.ts';

/** What these translations need of the block writer (translate.ts BlockWriter). */
export interface Shift16Writer {
  /** A general register's local (loaded at entry). */
  r(n: number): string;
  /** A statement setting a general register's local. */
  setR(n: number, v: string): string;
  emit(s: string): void;
  /** The flags are now the 32-bit LAZY_RES of the locals fa (CF, OF), fb, fr. */
  flagsResult32(): void;
}

/** Translates `i` into `w` when it is one of this file's forms; false (nothing emitted) otherwise. */
export function shift16Form(i: Insn, w: Shift16Writer): boolean {
  if ((i.opcode !== 0xc1 && i.opcode !== 0xd1) || i.o32 || i.mod !== 3 || i.reg < 4 || i.lock) return false;
  const c = (i.opcode === 0xc1 ? i.imm : 1) & 31;
  if (c === 0) return true; // nothing changes (a register operand: nothing is read either)
  const v = w.r(i.rm);
  // x: the operand (SAR: sign-extended); fr: the 16-bit result sign-extended; fa: CF | OF << 11.
  switch (i.reg) {
    case 4: case 6: // SHL, SAL (JS shift counts are taken mod 32: counts of 16 and more are spelled out)
      w.emit(`x = ${v} & 0xffff; fr = ${c < 16 ? `(x << ${16 + c}) >> 16` : '0'}; `
        + `fa = ${c <= 16 ? `((x >>> ${16 - c}) & 1) | ` : ''}((((x >>> 15) ^ (x >>> 14)) & 1) << 11); fb = 0;`);
      break;
    case 5: // SHR
      w.emit(`x = ${v} & 0xffff; fr = x >>> ${c}; fa = ((x >>> ${c - 1}) & 1) | ((x >>> 15) << 11); fb = 0;`);
      break;
    default: // SAR
      w.emit(`x = (${v} << 16) >> 16; fr = x >> ${c}; fa = (x >> ${c - 1}) & 1; fb = 0;`);
  }
  w.emit(w.setR(i.rm, `(${v} & -65536) | (fr & 0xffff)`));
  w.flagsResult32();
  return true;
}
