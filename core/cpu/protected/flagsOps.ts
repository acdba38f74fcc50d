/**
 * IOPL-sensitive flag instructions: CLI, STI, PUSHF, POPF.
 * (Real-mode and CPL<=IOPL paths here; the protected-mode engineer completes
 * the V86 and CPL>IOPL rules.)
 */
import type { Exec } from '../insn.ts';
import { defineOp, IMM_NONE, op } from '../opcodeTable.ts';
import { IF, IOPL_MASK, IOPL_SHIFT } from '../regs.ts';

const cli: Exec = (cpu) => {
  if (cpu.protectedMode && cpu.cpl > (cpu.flags & IOPL_MASK) >>> IOPL_SHIFT) cpu.raiseGP(0);
  cpu.flags &= ~IF;
};
const sti: Exec = (cpu) => {
  if (cpu.protectedMode && cpu.cpl > (cpu.flags & IOPL_MASK) >>> IOPL_SHIFT) cpu.raiseGP(0);
  if ((cpu.flags & IF) === 0) {
    cpu.flags |= IF;
    cpu.interruptShadow = true;
  }
};
defineOp(0xfa, op('cli', false, IMM_NONE, () => cli));
defineOp(0xfb, op('sti', false, IMM_NONE, () => sti, { endsBlock: true }));
