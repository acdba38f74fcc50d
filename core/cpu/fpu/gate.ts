/**
 * What every x87 instruction does before its own work: the CR0 device-not-
 * available checks (#NM), the report of a pending unmasked exception (#MF or
 * FERR#, see fpu.ts), and the last-instruction pointers FNSTENV/FNSAVE store.
 */
import type { Cpu } from '../cpu.ts';
import type { Insn } from '../insn.ts';
import { CR0_EM, CR0_MP, CR0_NE, CR0_TS, CS, EXC_MF, EXC_NM } from '../regs.ts';
import { SW_ES } from './fpu.ts';

/**
 * Gate of a waiting x87 instruction (and WAIT). Returns false when the
 * processor must wait on FERR# instead (EIP is left on the instruction).
 */
export function waitingGate(cpu: Cpu, i: Insn): boolean {
  if ((cpu.cr0 & (CR0_EM | CR0_TS)) !== 0) cpu.fault(EXC_NM, 0, false);
  cpu.fpu.nativeErrors = (cpu.cr0 & CR0_NE) !== 0;
  cpu.fpu.runner = cpu;
  if ((cpu.fpu.status & SW_ES) !== 0) return reportPending(cpu, i);
  return true;
}

/** Gate of the non-waiting control instructions (FNINIT, FNCLEX, FNSTCW, FNSTSW, FNSTENV, FNSAVE). */
export function nonWaitingGate(cpu: Cpu): void {
  if ((cpu.cr0 & (CR0_EM | CR0_TS)) !== 0) cpu.fault(EXC_NM, 0, false);
  cpu.fpu.nativeErrors = (cpu.cr0 & CR0_NE) !== 0;
  cpu.fpu.runner = cpu;
}

/** WAIT/FWAIT: #NM only when both MP and TS are set (EM does not matter). */
export function waitGate(cpu: Cpu, i: Insn): boolean {
  if ((cpu.cr0 & (CR0_MP | CR0_TS)) === (CR0_MP | CR0_TS)) cpu.fault(EXC_NM, 0, false);
  cpu.fpu.runner = cpu;
  if ((cpu.fpu.status & SW_ES) !== 0) return reportPending(cpu, i);
  return true;
}

function reportPending(cpu: Cpu, i: Insn): boolean {
  if ((cpu.cr0 & CR0_NE) !== 0) cpu.fault(EXC_MF, 0, false);
  const f = cpu.fpu;
  if (f.ignne || !f.ferrConnected) return true; // the chipset ignores the error (or nothing could ever clear it)
  f.setFerr(true); // already asserted when the error occurred, unless NE was 1 then
  // Freeze on this instruction until the error is cleared or IGNNE# rises;
  // the block ends so pending interrupts (IRQ 13) are recognized.
  cpu.eip = i.eip;
  cpu.exitBlock = true;
  return false;
}

/** Records the instruction pointer and opcode of a non-control x87 instruction. */
export function noteInstruction(cpu: Cpu, i: Insn): void {
  const f = cpu.fpu;
  f.fip = i.eip;
  f.fcs = cpu.segSel[CS];
  f.fop = ((i.opcode & 7) << 8) | (i.mod << 6) | (i.reg << 3) | i.rm;
}

/** Records the instruction and its memory operand's offset and selector. */
export function noteMemory(cpu: Cpu, i: Insn, ea: number): void {
  noteInstruction(cpu, i);
  cpu.fpu.fdp = ea;
  cpu.fpu.fds = cpu.segSel[i.seg];
}
