/**
 * Interrupt and exception delivery: the real-mode interrupt vector table
 * here, protected and V86 mode through IDT gates in protected/interruptGates.ts.
 * Reached only through the seam (`cpu.seam.interrupt`), so a hypervisor can
 * intercept or inject.
 */
import type { Cpu } from './cpu.ts';
import { AC, CS, EXC_GP, IF, RF, TF } from './regs.ts';
import { loadSegmentReal } from './segments.ts';
import { deliverProtected } from './protected/interruptGates.ts';

/** Kinds of event, which decide privilege checks, error codes and the saved EIP. */
export const INT_EXTERNAL = 0; // INTR from the interrupt controller
export const INT_NMI = 1;
export const INT_EXCEPTION = 2; // processor-detected (faults, traps, aborts)
export const INT_SOFTWARE = 3; // INT n (DPL-checked, IOPL-sensitive in V86)
export const INT_SOFTWARE_EXCEPTION = 4; // INT3, INTO (DPL-checked)
export const INT_ICEBP = 5; // INT1 (0xF1): like a hardware #DB, no DPL check

export function deliverInterrupt(cpu: Cpu, vector: number, kind: number, errorCode: number, hasErrorCode: boolean): void {
  cpu.halted = false;
  cpu.exitBlock = true;
  if (cpu.protectedMode) {
    deliverProtected(cpu, vector, kind, errorCode, hasErrorCode);
  } else {
    deliverReal(cpu, vector);
  }
}

/** Real-address mode: push FLAGS, CS, IP and jump through the IVT (no error codes). */
function deliverReal(cpu: Cpu, vector: number): void {
  const entry = vector * 4;
  if (entry + 3 > cpu.idtLimit) cpu.fault(EXC_GP, 0, true);
  const ip = cpu.readSys16((cpu.idtBase + entry) | 0);
  const cs = cpu.readSys16((cpu.idtBase + entry + 2) | 0);
  const flags = cpu.getFlags();
  cpu.push16(flags);
  cpu.push16(cpu.segSel[CS]);
  cpu.push16(cpu.eip);
  cpu.setFlags(flags & ~(IF | TF | AC | RF));
  loadSegmentReal(cpu, CS, cs);
  cpu.eip = ip;
}
