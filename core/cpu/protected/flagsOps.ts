/**
 * IOPL-sensitive flag instructions: CLI, STI, PUSHF, POPF (SDM Vol. 2
 * pseudo-code; Vol. 3 §20.2.7 for V86 mode without VME).
 *
 * - CLI/STI: #GP(0) when CPL > IOPL in protected mode; in V86 mode (CPL 3)
 *   that means IOPL < 3.
 * - PUSHF: #GP(0) in V86 mode with IOPL < 3; otherwise never faults (it is
 *   sensitive but unprivileged: at CPL 3 it shows the real IF and IOPL). The
 *   image has VM and RF cleared.
 * - POPF: never faults in protected mode. CPL 0 may change IOPL; IF changes
 *   only when CPL <= IOPL; others are silently kept. VM and RF never change;
 *   AC and ID are writable (a writable ID is how software detects CPUID).
 *   V86 mode: #GP(0) with IOPL < 3, else IOPL is kept.
 */
import type { Cpu } from '../cpu.ts';
import type { Exec } from '../insn.ts';
import { defineOp, IMM_NONE, op } from '../opcodeTable.ts';
import { AC, ARITH_FLAGS, DF, ID, IF, IOPL_MASK, IOPL_SHIFT, NT, RF, TF, VM } from '../regs.ts';

const iopl = (cpu: Cpu): number => (cpu.flags & IOPL_MASK) >>> IOPL_SHIFT;

/** CPL > IOPL in protected mode (V86 included, where CPL = 3). */
const cplAboveIopl = (cpu: Cpu): boolean => cpu.protectedMode && cpu.cpl > iopl(cpu);

const cli: Exec = (cpu) => {
  if (cplAboveIopl(cpu)) cpu.raiseGP(0);
  cpu.flags &= ~IF;
};
const sti: Exec = (cpu) => {
  if (cplAboveIopl(cpu)) cpu.raiseGP(0);
  if ((cpu.flags & IF) === 0) {
    cpu.flags |= IF;
    // Interrupts are recognized only after the next instruction.
    cpu.interruptShadow = true;
  }
};
defineOp(0xfa, op('cli', false, IMM_NONE, () => cli));
defineOp(0xfb, op('sti', false, IMM_NONE, () => sti, { endsBlock: true }));

const v86Sensitive = (cpu: Cpu): boolean => cpu.v86Mode && iopl(cpu) !== 3;

const pushf16: Exec = (cpu) => {
  if (v86Sensitive(cpu)) cpu.raiseGP(0);
  cpu.push16(cpu.getFlags() & 0xffff);
};
const pushf32: Exec = (cpu) => {
  if (v86Sensitive(cpu)) cpu.raiseGP(0);
  cpu.push32(cpu.getFlags() & ~(VM | RF));
};
defineOp(0x9c, op('pushf', false, IMM_NONE, (i) => (i.o32 ? pushf32 : pushf16)));

/** The EFLAGS bits POPF may change in the current mode and privilege level. */
function popfMask(cpu: Cpu, o32: boolean): number {
  let mask = ARITH_FLAGS | TF | DF | NT | (o32 ? AC | ID : 0);
  if (!cpu.protectedMode) {
    mask |= IF | IOPL_MASK;
  } else if (cpu.v86Mode) {
    mask |= IF; // IOPL = 3 here (else #GP): IOPL itself is not writable
  } else {
    if (cpu.cpl === 0) mask |= IOPL_MASK;
    if (cpu.cpl <= iopl(cpu)) mask |= IF;
  }
  return o32 ? mask : mask & 0xffff;
}

const popf: Exec = (cpu, i) => {
  if (v86Sensitive(cpu)) cpu.raiseGP(0);
  const v = i.o32 ? cpu.peek32(0) : cpu.peek16(0);
  const mask = popfMask(cpu, i.o32);
  cpu.adjustSp(i.o32 ? 4 : 2);
  cpu.setFlags((cpu.getFlags() & ~mask) | (v & mask));
};
// POPF can set TF or IF: the block must end so single-step and interrupts are recognized.
defineOp(0x9d, op('popf', false, IMM_NONE, () => popf, { endsBlock: true }));
