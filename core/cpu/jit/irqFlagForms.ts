/**
 * Inline translations of the instructions of the kernel's interrupt-flag
 * save and restore sections that compiled code called through their
 * handlers on the fork loop (handlerCalls.ts fork, warm, per fork: PUSHFD,
 * POP m32, CLI, STI 232 each: local_irq_save's `pushfl; popl mem; cli`):
 * PUSHFD, POP m32, CLI (STI, which starts an interrupt shadow and ends its
 * block, stays a handler call).
 *
 * Each does what its handler does (protected/flagsOps.ts cli, pushf32;
 * ops/stack.ts popEv):
 * - CLI: IF cleared when the CPU is in real mode or CPL <= IOPL; otherwise
 *   (#GP) the handler. Clearing IF makes nothing pending more urgent, so the
 *   block goes on.
 * - PUSHFD: #GP in V86 mode with IOPL < 3 (raised with the state synced);
 *   else the materialized EFLAGS without VM and RF, pushed as PUSH pushes
 *   (the block's flag state goes to the CPU first: getFlags reads it there).
 * - POP m32: inline when the stack dword and the destination are each
 *   aligned, inside their segment's limits and in the TLB (a 32-bit stack;
 *   a destination addressed through ESP uses ESP after the pop, as the
 *   handler does); else the handler, which restores ESP when the write
 *   faults. No flag changes.
 * Measured (3 Dec, handlerCalls.ts fork): 926-965 handler calls per fork ->
 * 268. A same-process A/B of the compiler before this round's forms
 * (fc6e6d4) and with all of them (stringForms.ts says how) on the fork loop,
 * 100 forks a round, rounds 2-6: new / old 0.86, 1.00, 0.85, 1.07, 0.88
 * (0.93 summed; load ~8), i.e. within the noise.
 */
import type { Insn } from '../insn.ts';
import { IF, IOPL_MASK, RF, SS, VM } from '../regs.ts';

/** What these translations need of the block writer (translate.ts BlockWriter). */
export interface IrqFlagWriter {
  r(n: number): string;
  setR(n: number, v: string): string;
  emit(s: string): void;
  /** The JS expression of the current instruction's 32-bit effective address. */
  ea(i: Insn): string;
  /** The statements that make the CPU's state the interpreter's during the instruction (before a fault). */
  sync(): string;
  /** Stores the block's flag state into the CPU (cpu.lazy, cpu.flags); the flags are then the CPU's. */
  flagsToCpu(): void;
  /** PUSH of a dword (the expression must not name x). */
  push(v: string): void;
  /** After an instruction that went to memory: leaves where the interpreter would stop. */
  exitCheck(eipAfter: number): void;
  /** Inline `body` when `cond` holds, else the handler (translate.ts fastOrHandler). */
  fastOrHandler(cond: string, body: string): void;
}

/** Translates `i` into `w` when it is one of this file's forms; false (nothing emitted) otherwise. */
export function irqFlagForm(i: Insn, w: IrqFlagWriter): boolean {
  switch (i.opcode) {
    case 0xfa: // CLI
      w.fastOrHandler(`!cpu.protectedMode || cpu.cpl <= ((cpu.flags & ${IOPL_MASK}) >>> 12)`, `cpu.flags &= ${~IF};`);
      return true;
    case 0x9c: // PUSHFD
      if (!i.o32) return false;
      w.emit(`if (cpu.v86Mode && (cpu.flags & ${IOPL_MASK}) !== ${IOPL_MASK}) { ${w.sync()}cpu.raiseGP(0); }`);
      w.flagsToCpu();
      w.emit(`t = cpu.getFlags() & ${~(VM | RF)};`);
      w.push('t');
      w.exitCheck(i.nextEip);
      return true;
    case 0x8f: { // POP m32
      if (i.reg !== 0 || !i.o32 || !i.a32 || i.mod === 3) return false;
      const esp = w.r(4);
      // An address formed from ESP takes ESP after the pop (SIB cannot name ESP as the index); the fast path
      // requires a 32-bit stack, where that is ESP + 4.
      const ea = i.base === 4 ? w.ea(i).replace('r4', '((r4 + 4) | 0)') : w.ea(i);
      const cond = `ss32 && (o = ${esp} >>> 0) >= sRL[${SS}] && o + 3 <= sRH[${SS}] && ((e = tlbR[(lin = (sB[${SS}] + o) | 0) >>> 12]) & tb) !== 0 && (lin & 3) === 0`
        + ` && (t = (${ea}) >>> 0) >= sWL[${i.seg}] && t + 3 <= sWH[${i.seg}] && ((p = tlbW[(m = (sB[${i.seg}] + t) | 0) >>> 12]) & tb) !== 0 && (m & 3) === 0`;
      w.fastOrHandler(cond, `i32[((p & ~0xfff) | (m & 0xfff)) >> 2] = i32[((e & ~0xfff) | (lin & 0xfff)) >> 2]; ${w.setR(4, `(r4 + 4) | 0`)}`);
      return true;
    }
    default:
      return false;
  }
}
