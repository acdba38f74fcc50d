/**
 * Software interrupts: INT n (CD ib), INT3 (CC), INTO (CE), INT1/ICEBP (F1).
 * They are traps: the saved EIP is the next instruction's (cpu.eip already
 * holds it). In V86 mode INT n is IOPL-sensitive (#GP(0) with IOPL < 3; this
 * CPU has no VME); INT3/INTO/INT1 are not.
 *
 * Delivery goes straight through the seam rather than cpu.deliver: a fault
 * while delivering a software interrupt (gate DPL < CPL, not-present gate,
 * stack fault) is a fault OF THE INSTRUCTION, so it must unwind to the run
 * loop, which restores EIP to the INT instruction before delivering it.
 */
import type { Cpu } from '../cpu.ts';
import type { Exec } from '../insn.ts';
import { getFlag } from '../flags.ts';
import { INT_ICEBP, INT_SOFTWARE, INT_SOFTWARE_EXCEPTION } from '../interrupts.ts';
import { defineOp, IMM_IB, IMM_NONE, op } from '../opcodeTable.ts';
import { EXC_BP, EXC_DB, EXC_OF, IOPL_MASK, OF } from '../regs.ts';

function softwareInterrupt(cpu: Cpu, vector: number, kind: number): void {
  cpu.interruptsDelivered++;
  cpu.seam.interrupt(cpu, vector, kind, 0, false);
}

const intN: Exec = (cpu, i) => {
  if (cpu.v86Mode && (cpu.flags & IOPL_MASK) !== IOPL_MASK) cpu.raiseGP(0);
  softwareInterrupt(cpu, i.imm, INT_SOFTWARE);
};
const int3: Exec = (cpu) => softwareInterrupt(cpu, EXC_BP, INT_SOFTWARE_EXCEPTION);
const into: Exec = (cpu) => {
  if (getFlag(cpu, OF) !== 0) softwareInterrupt(cpu, EXC_OF, INT_SOFTWARE_EXCEPTION);
};
const int1: Exec = (cpu) => softwareInterrupt(cpu, EXC_DB, INT_ICEBP);

defineOp(0xcd, op('int Ib', false, IMM_IB, () => intN, { endsBlock: true }));
defineOp(0xcc, op('int3', false, IMM_NONE, () => int3, { endsBlock: true }));
defineOp(0xce, op('into', false, IMM_NONE, () => into, { endsBlock: true }));
defineOp(0xf1, op('int1', false, IMM_NONE, () => int1, { endsBlock: true }));
