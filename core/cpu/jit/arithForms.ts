/**
 * Inline translations of the integer arithmetic forms Debian 686's boot
 * called through their handlers from compiled code (test/cpu/measure/
 * debianBootProfile.ts): IMUL r32, r/m32 (0F AF; 333 M handler calls per
 * boot, the kernel's mpihelp_* multiply loops and the XZ decompressor's
 * range coder) and IMUL r32, r/m32, imm (69, 6B), MUL and IMUL r/m32 (F7
 * /4 /5: EDX:EAX, the kernel's umul_ppmm), ROL/ROR r/m32 by imm8 and by 1
 * (C1, D1 /0 /1), BSWAP r32 (0F C8+r). A handler call costs a full
 * sync before it and every register reloaded after it, more than the
 * operation itself. With these, a counted boot (POPEK_COUNT_HANDLERS=1,
 * 3 Dec) has 1.3 M IMUL 0F AF handler calls left of 333 M; its 23 M SHR
 * (C1 /5) in the XZ decompressor's blocks are 66 C1 /5, SHR r16, 20.6 M of
 * them compiled code's calls (jit.ts header; now inline, shift16Forms.ts);
 * its 3.4 M ROR in blake2s_compress_generic stayed the same when the memory
 * rotates were added, so they are not compiled code's calls (the count
 * wraps the handlers the interpreter calls too): those blocks run interpreted.
 *
 * Each does exactly what its handler does, undefined flags included:
 * - MUL/IMUL r/m32 (mul32, imul32): the same flags from EDX:EAX, the
 *   high half exact from 16-bit partial products (mul64);
 * - IMUL (ops/muldiv.ts imulTrunc32): the low half by Math.imul; CF = OF =
 *   the signed product does not fit in 32 bits, decided by comparing the
 *   double product of the signed operands with the low half (a product
 *   below 2^31 in magnitude is exact in a double, and one that is not
 *   cannot round into that range); SF and PF from the result, ZF and AF
 *   clear. No lazy kind gives ZF = 0 for a zero result, so the six flags
 *   are written to the CPU directly (the state they replace is dead).
 * - ROL/ROR (ops/shift.ts shiftCompute): only CF and OF change, OF from the
 *   first one-bit step whatever the count, a masked count of 0 changes
 *   nothing; the other four flags are the previous state's, materialized.
 * - BSWAP r32 changes no flag (the 16-bit form stays a handler call).
 * - SHLD/SHRD r32, r32 by imm8 and CL (doubleShift; SHRD imm8 was the fork
 *   loop's third most frequent handler call from compiled code, 452 per
 *   fork, handlerCalls.ts).
 * - DIV/IDIV r32 (divide; the shell loop's DIV r32, 4 per iteration) and
 *   m32 (the boot's mpihelp_divrem, 1.7 M handler calls from compiled code).
 * 32-bit operand size only; memory operands (MUL's and IMUL's source)
 * through the block writer's inline read, a rotate's through its
 * read-modify-write (rmw32): their fast paths, else the interpreter's
 * accessors with the state synced, so a #PF stops at the instruction. ADC and SBB, which the block writer translates itself,
 * take their carry in from here (carryOp).
 */
import type { Insn } from '../insn.ts';
import { LAZY_ADC, LAZY_ADD, LAZY_RES, LAZY_SBB, LAZY_SUB, LZ_MASK } from '../flags.ts';
import { ALU_ADC } from '../ops/alu.ts';
import { AF, ARITH_FLAGS, CF, OF, PF, SF, ZF } from '../regs.ts';
import { carryExpr, type FlagState } from './flagCode.ts';

/** What an arithmetic translation needs of the block writer (translate.ts BlockWriter). */
export interface ArithWriter {
  /** A general register's local (loaded at entry). */
  r(n: number): string;
  /** A statement setting a general register's local. */
  setR(n: number, v: string): string;
  emit(s: string): void;
  /** Reads the current instruction's dword memory operand into the local `m`. */
  readOperand32(i: Insn): void;
  /** After an instruction that went to memory: leaves where the interpreter would stop. */
  exitCheck(eipAfter: number): void;
  /** Stores the block's flag state into the CPU (cpu.lazy, cpu.flags); the flags are then the CPU's. */
  flagsToCpu(): void;
  /** The code just wrote all six arithmetic flags into `cpu.flags` (lazy mask 0): the flags are the CPU's. */
  flagsWritten(): void;
  /** The current instruction's read-modify-write m32 operand: `op` emits the operation on `m` and returns the result's expression. */
  rmw32(i: Insn, op: () => string): void;
  /** Inline `body` when `cond` holds, else the handler (translate.ts fastOrHandler). */
  fastOrHandler(cond: string, body: string): void;
  /** The flags are now the 32-bit LAZY_RES of the locals fa (CF, OF), fb, fr (as the shifts). */
  flagsResult32(): void;
  /**
   * The current instruction's dword memory operand read without a call: a
   * condition (the inline read's fast path: inside the segment's limits,
   * readable through the TLB, aligned) and the operand's expression, valid
   * once the condition held.
   */
  fastRead32(i: Insn): [cond: string, value: string];
}

/** Translates `i` into `w` when it is one of this file's forms; false (nothing emitted) otherwise. */
export function arithForm(i: Insn, w: ArithWriter): boolean {
  if (!i.o32 || i.lock) return false;
  const op = i.opcode;
  const reg = i.mod === 3;
  switch (op) {
    case 0x1af: // IMUL r32, r/m32
    case 0x69: // IMUL r32, r/m32, imm32
    case 0x6b: { // IMUL r32, r/m32, sign-extended imm8
      if (!reg && !i.a32) return false;
      if (!reg) w.readOperand32(i);
      const src = reg ? w.r(i.rm) : 'm';
      const [a, b] = op === 0x1af ? [w.r(i.reg), src] : [src, `(${i.imm | 0})`];
      imul(w, a, b);
      w.emit(w.setR(i.reg, 'x'));
      if (!reg) w.exitCheck(i.nextEip);
      return true;
    }
    case 0xf7: { // DIV r/m32 (/6), IDIV r/m32 (/7): see divide()
      if (i.reg < 6) return mulForm(i, w);
      if (reg) {
        divide(w, '', w.r(i.rm), i.reg === 7);
        return true;
      }
      if (!i.a32) return false;
      const [readable, value] = w.fastRead32(i);
      divide(w, `${readable} && `, value, i.reg === 7);
      return true;
    }
    case 0x1a4: case 0x1a5: // SHLD r32, r32, imm8 / CL
    case 0x1ac: case 0x1ad: // SHRD r32, r32, imm8 / CL
      if (!reg) return false;
      doubleShift(w, i, op < 0x1ac);
      return true;
    case 0xc1: // ROL/ROR r32, imm8
    case 0xd1: { // ROL/ROR r32, 1
      if (i.reg > 1 || (!reg && !i.a32)) return false;
      const c = (op === 0xc1 ? i.imm : 1) & 31;
      if (c === 0 && !reg) return false; // the operand is still read and probed for writing: left to the handler
      if (c === 0) return true;
      const [result, cf, of] = i.reg === 0
        ? [`(x << ${c}) | (x >>> ${32 - c})`, 't & 1', '((x >>> 31) ^ (x >>> 30)) & 1']
        : [`(x >>> ${c}) | (x << ${32 - c})`, 't >>> 31', '((x >>> 31) ^ x) & 1'];
      // The four flags a rotate keeps come from the CPU: the state goes there first (before the memory access:
      // its slow path syncs, and the flags must be the previous ones if it faults).
      w.flagsToCpu();
      const rotate = (v: string) => {
        w.emit(`x = ${v}; t = ${result};`);
        w.emit(`cpu.flags = (cpu.flags & ${~ARITH_FLAGS}) | getFlag(cpu, ${PF | AF | ZF | SF}) | (${cf}) | ((${of}) << 11); lz[${LZ_MASK}] = 0;`);
        w.flagsWritten();
        return 't';
      };
      if (reg) w.emit(w.setR(i.rm, rotate(w.r(i.rm))));
      else w.rmw32(i, () => rotate('m'));
      return true;
    }
    default:
      if (op >= 0x1c8 && op <= 0x1cf) { // BSWAP r32
        const v = w.r(op & 7);
        w.emit(w.setR(op & 7, `((${v} & 0xff) << 24) | ((${v} & 0xff00) << 8) | ((${v} >>> 8) & 0xff00) | (${v} >>> 24)`));
        return true;
      }
      return false;
  }
}

/** MUL r/m32 (/4), IMUL r/m32 (/5): EDX:EAX = EAX * r/m32. */
function mulForm(i: Insn, w: ArithWriter): boolean {
  const reg = i.mod === 3;
  if (i.reg !== 4 && i.reg !== 5) return false;
  if (!reg && !i.a32) return false;
  if (!reg) w.readOperand32(i);
  mul64(w, w.r(0), reg ? w.r(i.rm) : 'm', i.reg === 5);
  w.emit(`${w.setR(0, 'x')} ${w.setR(2, 'o')}`);
  if (!reg) w.exitCheck(i.nextEip);
  return true;
}

/**
 * DIV r/m32 (unsigned) or IDIV r/m32 (`signed`) of EDX:EAX by `d` (a
 * register's local, or a memory operand's value once the condition `pre`
 * held: its inline read), as ops/muldiv.ts's div32 and idiv32 compute it;
 * no flag changes. A memory operand the inline read cannot reach (a TLB
 * miss, a fault, a device, an unaligned dword) is the handler's too, so it
 * is read once, by the interpreter's accessor, which faults or stops as it
 * would (a read before a #DE fallback would read a device twice).
 * DIV inline whenever the handler would not raise #DE (a nonzero divisor
 * above EDX, so the quotient fits): the 64-by-32 division in two 16-bit
 * steps exact in doubles (divU64by32), with EAX's halves read before either
 * register is set. IDIV inline only for a dividend that is EAX sign-extended
 * (CDQ; IDIV, what compilers emit), a nonzero divisor and not -2^31 / -1:
 * then the quotient is the truncated double quotient of two int32 values
 * and the remainder JS's `%` (the dividend's sign, as x86). Anything else
 * (#DE, a wide signed dividend) is the handler's (fastOrHandler).
 */
function divide(w: ArithWriter, pre: string, d: string, signed: boolean): void {
  const eax = w.r(0), edx = w.r(2);
  if (signed) {
    w.fastOrHandler(`${pre}(x = ${d}) !== 0 && ${edx} === (${eax} >> 31) && (x !== -1 || ${eax} !== -2147483648)`,
      `t = ${eax}; ${w.setR(0, '(t / x) | 0')} ${w.setR(2, '(t % x) | 0')}`);
    return;
  }
  w.fastOrHandler(`${pre}(x = ${d} >>> 0) !== 0 && (${edx} >>> 0) < x`,
    `t = ${edx} >>> 0; m = ${eax} >>> 0; t = t * 0x10000 + (m >>> 16); o = Math.floor(t / x); t = (t - o * x) * 0x10000 + (m & 0xffff);`
    + ` p = Math.floor(t / x); ${w.setR(0, '(o * 0x10000 + p) | 0')} ${w.setR(2, '(t - p * x) | 0')}`);
}

/**
 * SHLD (`left`) or SHRD r32, r32 by imm8 or CL (ops/shift.ts doubleShift,
 * shld, shrd): a masked count of 0 changes nothing; otherwise the result,
 * SF/ZF/PF from it, AF clear, CF the last bit shifted out, OF that of the
 * first one-bit step (SHLD: the destination's two top bits differ; SHRD: its
 * top bit and the source's bottom bit), i.e. LAZY_RES with CF and OF in its
 * operand, as the block writer's other shifts keep them. With an immediate
 * count the flags stay in the block's locals; with CL they go to the CPU
 * first and the shift sets them there only when the count is not 0.
 */
function doubleShift(w: ArithWriter, i: Insn, left: boolean): void {
  const fromCl = (i.opcode & 1) !== 0;
  const body = (c: string) => (left
    ? `x = ${w.r(i.rm)}; t = ${w.r(i.reg)}; fr = (x << ${c}) | (t >>> (32 - ${c})); fa = ((x >>> (32 - ${c})) & 1) | ((((x >>> 31) ^ (x >>> 30)) & 1) << 11); fb = 0;`
    : `x = ${w.r(i.rm)}; t = ${w.r(i.reg)}; fr = (x >>> ${c}) | (t << (32 - ${c})); fa = ((x >>> (${c} - 1)) & 1) | ((((x >>> 31) ^ t) & 1) << 11); fb = 0;`);
  if (!fromCl) {
    const c = i.imm & 31;
    if (c === 0) return;
    w.emit(`${body(String(c))} ${w.setR(i.rm, 'fr')}`);
    w.flagsResult32();
    return;
  }
  w.flagsToCpu();
  w.emit(`o = ${w.r(1)} & 31; if (o !== 0) { ${body('o')} ${w.setR(i.rm, 'fr')} setLazy(cpu, ${LAZY_RES}, 32, fa, 0, fr); }`);
}

/**
 * `x` = the low half, `o` the high half of the 64-bit product of `a` and `b`
 * (int32 expressions), unsigned or signed, and the flags as ops/muldiv.ts's
 * mul32 and imul32 set them: CF = OF = the high half is not the low half's
 * extension. The unsigned high half from two partial products below 2^48
 * (exact in doubles), as mul32; the signed one from it, less each operand
 * where the other is negative (mulS32).
 */
function mul64(w: ArithWriter, a: string, b: string, signed: boolean): void {
  w.emit(`x = ${a} >>> 0; t = ${b} >>> 0; o = Math.floor((x * (t >>> 16) + Math.floor((x * (t & 0xffff)) / 0x10000)) / 0x10000) | 0;`);
  if (signed) w.emit('o = (o - ((x | 0) < 0 ? t : 0) - ((t | 0) < 0 ? x : 0)) | 0;');
  w.emit(`x = Math.imul(x, t); t = o !== ${signed ? '(x >> 31)' : '0'} ? ${CF | OF} : 0;`);
  w.emit(`cpu.flags = (cpu.flags & ${~ARITH_FLAGS}) | t | PARITY[x & 0xff] | ((x >>> 24) & ${SF}); lz[${LZ_MASK}] = 0;`);
  w.flagsWritten();
}

/** `x` = the low half of the signed product of `a` and `b` (int32 expressions), the flags as imulTrunc32 sets them. */
function imul(w: ArithWriter, a: string, b: string): void {
  w.emit(`x = Math.imul(${a}, ${b}); t = (${a} | 0) * (${b} | 0) !== x ? ${CF | OF} : 0;`);
  w.emit(`cpu.flags = (cpu.flags & ${~ARITH_FLAGS}) | t | PARITY[x & 0xff] | ((x >>> 24) & ${SF}); lz[${LZ_MASK}] = 0;`);
  w.flagsWritten();
}

/**
 * ADC or SBB (`op`, ALU_ADC or ALU_SBB) of `size` bits on a = `a`, b = `b`
 * (expressions of the operand values, not naming x, fa, fb or fr) with the
 * flags in state `flags`: statements leaving the result in `fr` and the
 * flags in the CPU, as ops/alu.ts aluCompute records them (LAZY_ADC/SBB
 * when the carry in is set, else LAZY_ADD/SUB, the unmasked a, b and
 * result, of which every flag reads only the low `size` bits). The carry in
 * is computed from the block's locals (carryExpr) instead of storing the
 * previous state and computing it from the CPU's lazy state (the
 * multi-precision loops' ADD; ADC pairs).
 */
export function carryOp(flags: FlagState, op: number, size: number, a: string, b: string): string {
  const [sign, withCarry, without] = op === ALU_ADC ? ['+', LAZY_ADC, LAZY_ADD] : ['-', LAZY_SBB, LAZY_SUB];
  return `x = ${carryExpr(flags)}; fa = ${a}; fb = ${b}; fr = (fa ${sign} fb ${sign} x) | 0; setLazy(cpu, x !== 0 ? ${withCarry} : ${without}, ${size}, fa, fb, fr);`;
}
