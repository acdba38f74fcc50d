/**
 * Protected-mode and V86-mode interrupt/exception delivery through the IDT
 * (SDM Vol. 3 §6.10-6.13 and the INT n pseudo-code of Vol. 2): interrupt,
 * trap and task gates, the DPL check for software interrupts, privilege
 * change with a stack switch through the TSS, the V86 frame, error codes.
 *
 * Error codes of faults raised while delivering carry the EXT bit when the
 * event is external to the program (hardware interrupts, NMI, exceptions,
 * INT1/ICEBP), and the IDT bit (value 2) when they name an IDT entry.
 * Everything is checked and the new frame written before any register
 * changes, so a fault during delivery leaves the interrupted state intact
 * (cpu.deliver then turns it into the right double-fault or serial event).
 */
import type { Cpu } from '../cpu.ts';
import { INT_SOFTWARE, INT_SOFTWARE_EXCEPTION } from '../interrupts.ts';
import { CS, DS, ES, ESP, EXC_GP, EXC_NP, FS, GS, IF, NT, RF, SS, TF, VM } from '../regs.ts';
import {
  Descriptor, SYS_INT_GATE16, SYS_INT_GATE32, SYS_TASK_GATE, SYS_TRAP_GATE16, SYS_TRAP_GATE32, dplOf, isCode, isConforming,
  isPresent, limitOf, loadCodeSegment, loadNullSegment, loadSegmentFromDescriptor, readDescriptor, setAccessed,
} from './descriptors.ts';
import { readDescriptorWords } from '../segments.ts';
import { beginOnCurrentStack, beginOnNewStack, frameValues, pending, pushFrame } from './stackFrame.ts';
import { currentTss32, innerStack, loadInnerStack } from './tss.ts';
import { switchTask, TASK_INT, taskSwitchTrap } from './taskSwitch.ts';

const gate = new Descriptor();
const code = new Descriptor();
const stack = new Descriptor();

export function deliverProtected(cpu: Cpu, vector: number, kind: number, errorCode: number, hasErrorCode: boolean): void {
  const software = kind === INT_SOFTWARE || kind === INT_SOFTWARE_EXCEPTION;
  const ext = software ? 0 : 1;
  const idtErr = vector * 8 + 2 + ext;
  if (vector * 8 + 7 > cpu.idtLimit) cpu.raiseGP(idtErr);
  readDescriptorWords(cpu, (cpu.idtBase + vector * 8) | 0, gate);
  const lo = gate.lo;
  const hi = gate.hi;
  // Type field including the S bit: only system gates 5, 6, 7, 14, 15 are valid.
  const type = (hi >>> 8) & 0x1f;
  if (type !== SYS_TASK_GATE && type !== SYS_INT_GATE16 && type !== SYS_TRAP_GATE16 && type !== SYS_INT_GATE32 && type !== SYS_TRAP_GATE32) {
    cpu.raiseGP(idtErr);
  }
  if (software && dplOf(hi) < cpu.cpl) cpu.raiseGP(vector * 8 + 2);
  if (!isPresent(hi)) cpu.fault(EXC_NP, idtErr, true);

  if (type === SYS_TASK_GATE) {
    const debugTrap = switchTask(cpu, lo >>> 16, TASK_INT, ext);
    if (hasErrorCode) {
      if (currentTss32(cpu)) cpu.push32(errorCode);
      else cpu.push16(errorCode);
    }
    if (debugTrap) taskSwitchTrap(cpu);
    return;
  }

  const gate32 = (type & 8) !== 0;
  const size = gate32 ? 4 : 2;
  const csSel = lo >>> 16;
  const eip = gate32 ? (hi & 0xffff_0000) | (lo & 0xffff) : lo & 0xffff;
  if ((csSel & 0xfffc) === 0) cpu.raiseGP(ext);
  const csErr = (csSel & 0xfffc) | ext;
  readDescriptor(cpu, csSel, code, EXC_GP, csErr);
  const dpl = dplOf(code.hi);
  if (!isCode(code.hi) || dpl > cpu.cpl) cpu.raiseGP(csErr);
  if (!isPresent(code.hi)) cpu.fault(EXC_NP, csErr, true);

  const fromV86 = cpu.v86Mode;
  const inner = !isConforming(code.hi) && dpl < cpu.cpl;
  // From V86 the handler must be ring-0 non-conforming code (no VME on this CPU).
  if (fromV86 && (!inner || dpl !== 0)) cpu.raiseGP(csErr);
  const flags = cpu.getFlags();
  const r = cpu.regs;

  if (inner) {
    loadInnerStack(cpu, dpl, ext);
    stack.lo = innerStack.desc.lo;
    stack.hi = innerStack.desc.hi;
    stack.addr = innerStack.desc.addr;
    const ss = innerStack.ss;
    beginOnNewStack(stack, innerStack.esp, (ss & 0xfffc) | ext);
    let n = 0;
    if (fromV86) {
      frameValues[n++] = cpu.segSel[GS];
      frameValues[n++] = cpu.segSel[FS];
      frameValues[n++] = cpu.segSel[DS];
      frameValues[n++] = cpu.segSel[ES];
    }
    frameValues[n++] = cpu.segSel[SS];
    frameValues[n++] = r[ESP];
    frameValues[n++] = flags;
    frameValues[n++] = cpu.segSel[CS];
    frameValues[n++] = cpu.eip;
    if (hasErrorCode) frameValues[n++] = errorCode;
    pushFrame(cpu, n, size);
    if (eip >>> 0 > limitOf(code)) cpu.raiseGP(ext);
    setAccessed(cpu, stack);
    setAccessed(cpu, code);
    // Leave V86 first so the segment loads below are protected-mode loads.
    cpu.setFlags(flags & ~(VM | TF | NT | RF | (type & 1 ? 0 : IF)));
    loadSegmentFromDescriptor(cpu, SS, ss, stack);
    r[ESP] = pending.esp;
    loadCodeSegment(cpu, csSel, code, dpl);
    if (fromV86) {
      loadNullSegment(cpu, ES, 0);
      loadNullSegment(cpu, DS, 0);
      loadNullSegment(cpu, FS, 0);
      loadNullSegment(cpu, GS, 0);
    }
  } else {
    beginOnCurrentStack(cpu, ext);
    frameValues[0] = flags;
    frameValues[1] = cpu.segSel[CS];
    frameValues[2] = cpu.eip;
    if (hasErrorCode) frameValues[3] = errorCode;
    pushFrame(cpu, hasErrorCode ? 4 : 3, size);
    if (eip >>> 0 > limitOf(code)) cpu.raiseGP(ext);
    setAccessed(cpu, code);
    r[ESP] = pending.esp;
    loadCodeSegment(cpu, csSel, code, cpu.cpl);
    cpu.setFlags(flags & ~(TF | NT | RF | (type & 1 ? 0 : IF)));
  }
  cpu.eip = eip;
}
