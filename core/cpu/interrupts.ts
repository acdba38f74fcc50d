/**
 * Interrupt and exception delivery: the real-mode interrupt vector table
 * here, protected and V86 mode through IDT gates in protected/interruptGates.ts.
 * Reached only through the seam (`cpu.seam.interrupt`), so a hypervisor can
 * intercept or inject.
 */
import type { Cpu } from './cpu.ts';
import { AC, CS, ESP, EXC_DB, EXC_DF, EXC_GP, EXC_MC, EXC_NMI, EXC_BP, EXC_OF, IF, RF, TF } from './regs.ts';
import { loadSegmentReal } from './segments.ts';
import { deliverProtected } from './protected/interruptGates.ts';
import { beginOnCurrentStack, pending, pushPending } from './protected/stackFrame.ts';

import { INT_EXCEPTION, INT_EXTERNAL, INT_ICEBP, INT_NMI, INT_SOFTWARE, INT_SOFTWARE_EXCEPTION } from './interruptKinds.ts';

/** Kinds of event (interruptKinds.ts), here too for the modules that import them with delivery. */
export { INT_EXCEPTION, INT_EXTERNAL, INT_ICEBP, INT_NMI, INT_SOFTWARE, INT_SOFTWARE_EXCEPTION };

/**
 * Exceptions of the fault class (SDM Vol. 3A Table 6-1): every vector below 32
 * except #DB (a fault only for instruction breakpoints, and those keep RF as
 * it is), NMI, the traps #BP and #OF (they come as software exceptions
 * anyway), and the aborts #DF and #MC. Bochs also counts #DF as a fault and
 * sets RF for it; the SDM calls it an abort, and the SDM decides here.
 */
function isFaultClass(vector: number): boolean {
  return vector < 32 && vector !== EXC_DB && vector !== EXC_NMI && vector !== EXC_BP && vector !== EXC_OF &&
    vector !== EXC_DF && vector !== EXC_MC;
}

export function deliverInterrupt(cpu: Cpu, vector: number, kind: number, errorCode: number, hasErrorCode: boolean): void {
  cpu.halted = false;
  cpu.exitBlock = true;
  // SDM Vol. 3B 17.3.1.1: for a fault-class exception the EFLAGS image the
  // handler gets has RF = 1, so that its IRET re-executes the faulting
  // instruction without hitting an instruction breakpoint on it again. It is
  // set in EFLAGS itself, so a task gate saves it into the old TSS too; an
  // interrupt/trap gate and real-mode delivery clear it for the handler.
  // (Here, after the seam: an exception that exits to a hypervisor does not
  // set RF, as with VMX, where the exit is taken instead of the delivery.)
  if (kind === INT_EXCEPTION && isFaultClass(vector)) cpu.flags |= RF;
  if (cpu.protectedMode) {
    deliverProtected(cpu, vector, kind, errorCode, hasErrorCode);
  } else {
    deliverReal(cpu, vector);
  }
}

/**
 * Real-address mode: push FLAGS, CS, IP and jump through the IVT (no error
 * codes). The frame is written before SP moves (stackFrame.ts), so a stack
 * fault on the second or third push leaves SP as it was.
 */
function deliverReal(cpu: Cpu, vector: number): void {
  const entry = vector * 4;
  if (entry + 3 > cpu.idtLimit) cpu.fault(EXC_GP, 0, true);
  const ip = cpu.readSys16((cpu.idtBase + entry) | 0);
  const cs = cpu.readSys16((cpu.idtBase + entry + 2) | 0);
  const flags = cpu.getFlags();
  beginOnCurrentStack(cpu, 0);
  pushPending(cpu, flags, 2);
  pushPending(cpu, cpu.segSel[CS], 2);
  pushPending(cpu, cpu.eip, 2);
  cpu.regs[ESP] = pending.esp;
  cpu.setFlags(flags & ~(IF | TF | AC | RF));
  loadSegmentReal(cpu, CS, cs);
  cpu.eip = ip;
}
