/**
 * Inline translations of the exchange, bit-test and bit-scan forms the Tiny
 * Linux shell loop still ran through their handlers from compiled code
 * (test/cpu/jit/measure/shellLoopForms.ts, per loop iteration: LOCK
 * CMPXCHG m32, r32 10.1, XCHG m32, r32 10.1 (the kernel's spinlocks and
 * atomics), BT m32, imm8 8.2, BT r32, imm8 4.7, BT r32, r32 1.0, BSF r32,
 * r32 2.0). A
 * handler call costs a full sync before it and every register reloaded
 * after it, more than the operation itself.
 *
 * Each does exactly what its handler does (ops/data.ts xchg32, ops/bits.ts
 * cmpxchg and btImm/btRegOffset), undefined flags included:
 * - XCHG m32, r32 and CMPXCHG m32, r32 through the block writer's
 *   read-modify-write (rmwAddress probes the operand for writing before
 *   anything changes); the register is set before the write as the handler
 *   sets it. LOCK changes nothing for a single CPU (the handlers ignore it).
 *   CMPXCHG's flags are CMP EAX, m32 (LAZY_SUB), kept in the block's locals;
 *   it always writes the destination (the old value when they differ) and
 *   then loads EAX with the old value when they differ. The handler writes
 *   EAX after the destination; here EAX is set first, which differs only if
 *   the write faults after rmwAddress's probe passed, which it cannot.
 * - BT r/m32, imm8 (0F BA /4) and BT r32, r32 (0F A3, register operand):
 *   only CF changes, the other five flags are materialized from the
 *   previous state (writeArithFlags), so the flags go to the CPU. BT with a
 *   register offset on memory (a signed offset that moves the address)
 *   stays a handler call.
 * - BSF/BSR r32, r/m32 (bitScan): a zero source leaves the destination and
 *   sets ZF and PF, clearing the others; otherwise the index, PF from it
 *   (SF from its bit 7, never set for 0-31), the others clear. All six
 *   flags are written to the CPU directly, like IMUL's.
 * - XADD m32, r32 (ops/bits.ts xadd), LOCK or not: ADD's lazy flags in the
 *   block's locals, the register gets the old value, memory the sum
 *   (read-modify-write, as CMPXCHG).
 * - BTS/BTR/BTC r/m32, imm8: see bitChange.
 * XADD and BTS with LOCK were the fork loop's most frequent handler calls
 * from compiled code (handlerCalls.ts fork, warm, per fork: BTS m32, imm8
 * 457, XADD m32, r32 451: the kernel's page and reference-count atomics).
 * 32-bit operand size and addressing only.
 */
import type { Insn } from '../insn.ts';
import { ARITH_FLAGS, CF, PF, ZF } from '../regs.ts';
import { LZ_MASK } from '../flags.ts';

/** What these translations need of the block writer (translate.ts BlockWriter). */
export interface XchgBitWriter {
  /** A general register's local (loaded at entry). */
  r(n: number): string;
  /** A statement setting a general register's local. */
  setR(n: number, v: string): string;
  emit(s: string): void;
  /** Reads the current instruction's dword memory operand into the local `m`. */
  readOperand32(i: Insn): void;
  /**
   * Read-modify-write of the dword operand: `m` holds its value while `op`
   * emits the operation; `op` returns the expression stored.
   */
  rmw32(i: Insn, op: () => string): void;
  /** After an instruction that went to memory: leaves where the interpreter would stop. */
  exitCheck(eipAfter: number): void;
  /** Stores the block's flag state into the CPU (cpu.lazy, cpu.flags); the flags are then the CPU's. */
  flagsToCpu(): void;
  /** The code just wrote all six arithmetic flags into `cpu.flags` (lazy mask 0): the flags are the CPU's. */
  flagsWritten(): void;
  /** The flags are now the 32-bit LAZY_SUB of the locals fa, fb, fr (as CMP). */
  flagsSub32(): void;
  /** The flags are now the 32-bit LAZY_ADD of the locals fa, fb, fr (as ADD). */
  flagsAdd32(): void;
}

/**
 * BTS, BTR, BTC r/m32, imm8 (ops/bits.ts btImm): CF = the bit before, the
 * other five flags settled from the previous state, and the bit set,
 * cleared or flipped; memory through the read-modify-write (its slow path's
 * sync stores the previous flags, so a fault leaves them as they were; the
 * new ones are written before the store, which cannot fault once
 * rmwAddress's probe passed).
 * LOCK only with a memory operand (the decoder's #UD otherwise).
 */
function bitChange(i: Insn, w: XchgBitWriter): boolean {
  const reg = i.mod === 3;
  if (reg && i.lock) return false;
  const mask = 1 << (i.imm & 31);
  const result = (v: string) => (i.reg === 5 ? `${v} | ${mask}` : i.reg === 6 ? `${v} & ${~mask}` : `${v} ^ ${mask}`);
  const change = (v: string) => {
    bitToCarry(w, `(${v} >>> ${i.imm & 31}) & 1`);
    return `(${result(v)})`;
  };
  if (reg) w.emit(w.setR(i.rm, change(w.r(i.rm))));
  else w.rmw32(i, () => change('m'));
  return true;
}

/** Translates `i` into `w` when it is one of this file's forms; false (nothing emitted) otherwise. */
export function xchgBitForm(i: Insn, w: XchgBitWriter): boolean {
  if (!i.o32 || !i.a32) return false;
  const reg = i.mod === 3;
  switch (i.opcode) {
    case 0x87: // XCHG m32, r32 (the register form is left to its handler)
      if (reg) return false;
      w.rmw32(i, () => {
        w.emit(`x = ${w.r(i.reg)}; ${w.setR(i.reg, 'm')}`);
        return 'x';
      });
      return true;
    case 0x1b1: // CMPXCHG m32, r32
      if (reg) return false;
      w.rmw32(i, () => {
        w.emit(`fa = ${w.r(0)}; fb = m; fr = (fa - fb) | 0; x = fr === 0 ? ${w.r(i.reg)} : m;`);
        w.emit(`if (fr !== 0) { ${w.setR(0, 'm')} }`);
        w.flagsSub32();
        return 'x';
      });
      return true;
    case 0x1c1: // (LOCK) XADD m32, r32 (the register form is left to its handler)
      if (reg) return false;
      w.rmw32(i, () => {
        w.emit(`fa = m; fb = ${w.r(i.reg)}; fr = (fa + fb) | 0; ${w.setR(i.reg, 'm')}`);
        w.flagsAdd32();
        return 'fr';
      });
      return true;
    case 0x1ba: // BT r/m32, imm8 (/4); (LOCK) BTS/BTR/BTC r/m32, imm8 (/5 /6 /7)
      if (i.reg > 4) return bitChange(i, w);
      if (i.reg !== 4 || i.lock) return false;
      if (!reg) w.readOperand32(i);
      bitToCarry(w, `(${reg ? w.r(i.rm) : 'm'} >>> ${i.imm & 31}) & 1`);
      if (!reg) w.exitCheck(i.nextEip);
      return true;
    case 0x1a3: // BT r32, r32
      if (!reg || i.lock) return false;
      bitToCarry(w, `(${w.r(i.rm)} >>> (${w.r(i.reg)} & 31)) & 1`);
      return true;
    case 0x1bc: // BSF r32, r/m32
    case 0x1bd: { // BSR r32, r/m32
      if (i.lock) return false;
      if (!reg) w.readOperand32(i);
      const index = i.opcode === 0x1bc ? '31 - Math.clz32(x & -x)' : '31 - Math.clz32(x)';
      // Every arithmetic flag is written, so the previous state is dead (as for IMUL).
      w.emit(`x = ${reg ? w.r(i.rm) : 'm'}; if (x === 0) { t = ${ZF | PF}; } else { o = ${index}; ${w.setR(i.reg, 'o')} t = PARITY[o]; }`);
      w.emit(`cpu.flags = (cpu.flags & ${~ARITH_FLAGS}) | t; lz[${LZ_MASK}] = 0;`);
      w.flagsWritten();
      if (!reg) w.exitCheck(i.nextEip);
      return true;
    }
    default:
      return false;
  }
}

/** CF = `bit` (an expression of 0 or 1), the other arithmetic flags settled from the previous state (writeArithFlags). */
function bitToCarry(w: XchgBitWriter, bit: string): void {
  w.flagsToCpu();
  w.emit(`x = ${bit}; cpu.flags = (cpu.flags & ${~ARITH_FLAGS}) | getFlag(cpu, ${ARITH_FLAGS & ~CF}) | x; lz[${LZ_MASK}] = 0;`);
  w.flagsWritten();
}
