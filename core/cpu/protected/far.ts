/**
 * Far control transfers in every mode (SDM Vol. 2 JMP, CALL, RET, IRET
 * pseudo-code; Vol. 3 §5.8 and chapter 7): direct code segments (conforming
 * and non-conforming), call gates (16/32-bit, parameter copying, stack switch
 * through the TSS), task gates and TSS descriptors (task switches), RET far
 * to the same or an outer ring, and IRET (real, V86, same/outer ring, back to
 * V86, nested-task return).
 *
 * Every check and every memory access happens before the first register is
 * changed, so a fault restarts the instruction (stack pushes are written ahead
 * through stackFrame.ts). A 32-bit IRET restores EFLAGS.RF, which is how a
 * debugger resumes past an instruction breakpoint.
 */
import type { Cpu } from '../cpu.ts';
import {
  AC, CS, DS, ES, ESP, EXC_GP, EXC_NP, EXC_SS, FS, GS, ID, IF, IOPL_MASK, NT, RF, SS, TR, VM,
} from '../regs.ts';
import { loadSegmentReal } from '../segments.ts';
import {
  Descriptor, SYS_CALL_GATE16, SYS_CALL_GATE32, SYS_TASK_GATE, SYS_TSS16, SYS_TSS32, dplOf, hideInaccessibleDataSegments,
  isCode, isConforming, isPresent, isSegment, isWritableData, limitOf, loadCodeSegment, loadSegmentFromDescriptor, readDescriptor,
  setAccessed, systemType,
} from './descriptors.ts';
import { beginOnCurrentStack, beginOnNewStack, pending, pushPending } from './stackFrame.ts';
import { innerStack, loadInnerStack } from './tss.ts';
import { switchTask, TASK_CALL, TASK_IRET, TASK_JMP } from './taskSwitch.ts';
import { pinned } from '../pinnedArrays.ts';

// Scratch descriptors (one per role that can be alive at once).
const target = new Descriptor();
const gate = new Descriptor();
const stackDesc = new Descriptor();

const inProtectedMode = (cpu: Cpu): boolean => cpu.protectedMode && !cpu.v86Mode;

// =====================================================================
// JMP far
// =====================================================================

export function farJump(cpu: Cpu, sel: number, off: number, o32: boolean): void {
  sel &= 0xffff;
  const eip = o32 ? off | 0 : off & 0xffff;
  if (!inProtectedMode(cpu)) {
    if (eip >>> 0 > cpu.segLimit[CS]) cpu.raiseGP(0);
    loadSegmentReal(cpu, CS, sel);
    cpu.eip = eip;
    return;
  }
  if ((sel & 0xfffc) === 0) cpu.raiseGP(0);
  const err = sel & 0xfffc;
  readDescriptor(cpu, sel, target, EXC_GP, err);
  if (isSegment(target.hi)) {
    checkDirectCodeTarget(cpu, sel, target);
    if (eip >>> 0 > limitOf(target)) cpu.raiseGP(0);
    setAccessed(cpu, target);
    loadCodeSegment(cpu, sel, target, cpu.cpl);
    cpu.eip = eip;
    return;
  }
  const type = systemType(target.hi);
  if (type === SYS_CALL_GATE16 || type === SYS_CALL_GATE32) {
    copyDescriptor(gate, target);
    checkGateAccess(cpu, sel, gate);
    const codeSel = gate.lo >>> 16;
    const gateEip = gateOffset(gate);
    if ((codeSel & 0xfffc) === 0) cpu.raiseGP(0);
    const cerr = codeSel & 0xfffc;
    readDescriptor(cpu, codeSel, target, EXC_GP, cerr);
    if (!isCode(target.hi)) cpu.raiseGP(cerr);
    const dpl = dplOf(target.hi);
    if (isConforming(target.hi) ? dpl > cpu.cpl : dpl !== cpu.cpl) cpu.raiseGP(cerr);
    if (!isPresent(target.hi)) cpu.fault(EXC_NP, cerr, true);
    if (gateEip >>> 0 > limitOf(target)) cpu.raiseGP(0);
    setAccessed(cpu, target);
    loadCodeSegment(cpu, codeSel, target, cpu.cpl);
    cpu.eip = gateEip;
    return;
  }
  taskTransfer(cpu, sel, TASK_JMP);
}

// =====================================================================
// CALL far
// =====================================================================

export function farCall(cpu: Cpu, sel: number, off: number, o32: boolean): void {
  sel &= 0xffff;
  const eip = o32 ? off | 0 : off & 0xffff;
  const size = o32 ? 4 : 2;
  if (!inProtectedMode(cpu)) {
    if (eip >>> 0 > cpu.segLimit[CS]) cpu.raiseGP(0);
    beginOnCurrentStack(cpu, 0);
    pushPending(cpu, cpu.segSel[CS], size);
    pushPending(cpu, cpu.eip, size);
    cpu.regs[ESP] = pending.esp;
    loadSegmentReal(cpu, CS, sel);
    cpu.eip = eip;
    return;
  }
  if ((sel & 0xfffc) === 0) cpu.raiseGP(0);
  const err = sel & 0xfffc;
  readDescriptor(cpu, sel, target, EXC_GP, err);
  if (isSegment(target.hi)) {
    checkDirectCodeTarget(cpu, sel, target);
    beginOnCurrentStack(cpu, 0);
    pushPending(cpu, cpu.segSel[CS], size);
    pushPending(cpu, cpu.eip, size);
    if (eip >>> 0 > limitOf(target)) cpu.raiseGP(0);
    setAccessed(cpu, target);
    cpu.regs[ESP] = pending.esp;
    loadCodeSegment(cpu, sel, target, cpu.cpl);
    cpu.eip = eip;
    return;
  }
  const type = systemType(target.hi);
  if (type === SYS_CALL_GATE16 || type === SYS_CALL_GATE32) {
    callThroughGate(cpu, sel, type === SYS_CALL_GATE32);
    return;
  }
  taskTransfer(cpu, sel, TASK_CALL);
}

function callThroughGate(cpu: Cpu, sel: number, gate32: boolean): void {
  copyDescriptor(gate, target);
  checkGateAccess(cpu, sel, gate);
  const codeSel = gate.lo >>> 16;
  const gateEip = gateOffset(gate);
  const params = gate.hi & 0x1f;
  const size = gate32 ? 4 : 2;
  if ((codeSel & 0xfffc) === 0) cpu.raiseGP(0);
  const cerr = codeSel & 0xfffc;
  readDescriptor(cpu, codeSel, target, EXC_GP, cerr);
  const dpl = dplOf(target.hi);
  if (!isCode(target.hi) || dpl > cpu.cpl) cpu.raiseGP(cerr);
  if (!isPresent(target.hi)) cpu.fault(EXC_NP, cerr, true);
  const r = cpu.regs;
  if (!isConforming(target.hi) && dpl < cpu.cpl) {
    // More privilege: switch to the target ring's stack from the TSS.
    loadInnerStack(cpu, dpl, 0);
    copyDescriptor(stackDesc, innerStack.desc);
    const newSs = innerStack.ss;
    beginOnNewStack(stackDesc, innerStack.esp, newSs & 0xfffc);
    pushPending(cpu, cpu.segSel[SS], size);
    pushPending(cpu, r[ESP], size);
    // Parameters are copied from the caller's stack, deepest first, so they keep their order.
    for (let k = params - 1; k >= 0; k--) {
      const v = size === 4 ? cpu.peek32(k * 4) : cpu.peek16(k * 2);
      pushPending(cpu, v, size);
    }
    pushPending(cpu, cpu.segSel[CS], size);
    pushPending(cpu, cpu.eip, size);
    if (gateEip >>> 0 > limitOf(target)) cpu.raiseGP(0);
    setAccessed(cpu, stackDesc);
    setAccessed(cpu, target);
    loadSegmentFromDescriptor(cpu, SS, newSs, stackDesc);
    r[ESP] = pending.esp;
    loadCodeSegment(cpu, codeSel, target, dpl);
    cpu.eip = gateEip;
    return;
  }
  // Same privilege (conforming target or DPL = CPL).
  beginOnCurrentStack(cpu, 0);
  pushPending(cpu, cpu.segSel[CS], size);
  pushPending(cpu, cpu.eip, size);
  if (gateEip >>> 0 > limitOf(target)) cpu.raiseGP(0);
  setAccessed(cpu, target);
  r[ESP] = pending.esp;
  loadCodeSegment(cpu, codeSel, target, cpu.cpl);
  cpu.eip = gateEip;
}

// =====================================================================
// RET far
// =====================================================================

/** RET far (CB) / RET far imm16 (CA): `release` bytes of parameters are released from the stack(s). */
export function farReturn(cpu: Cpu, o32: boolean, release: number): void {
  const size = o32 ? 4 : 2;
  const eip = o32 ? cpu.peek32(0) : cpu.peek16(0);
  const sel = (o32 ? cpu.peek32(4) : cpu.peek16(2)) & 0xffff;
  if (!inProtectedMode(cpu)) {
    if (eip >>> 0 > cpu.segLimit[CS]) cpu.raiseGP(0);
    cpu.adjustSp(2 * size + release);
    loadSegmentReal(cpu, CS, sel);
    cpu.eip = eip;
    return;
  }
  const rpl = checkReturnCode(cpu, sel);
  if (rpl === cpu.cpl) {
    if (eip >>> 0 > limitOf(target)) cpu.raiseGP(0);
    setAccessed(cpu, target);
    cpu.adjustSp(2 * size + release);
    loadCodeSegment(cpu, sel, target, rpl);
    cpu.eip = eip;
    return;
  }
  // Outer ring: the caller's SS:ESP follow the released parameters.
  const newEsp = o32 ? cpu.peek32(2 * size + release) : cpu.peek16(2 * size + release);
  const newSs = (o32 ? cpu.peek32(3 * size + release) : cpu.peek16(3 * size + release)) & 0xffff;
  checkReturnStack(cpu, newSs, rpl);
  if (eip >>> 0 > limitOf(target)) cpu.raiseGP(0);
  setAccessed(cpu, target);
  setAccessed(cpu, stackDesc);
  loadCodeSegment(cpu, sel, target, rpl);
  loadSegmentFromDescriptor(cpu, SS, newSs, stackDesc);
  setStackPointer(cpu, newEsp, release);
  hideInaccessibleDataSegments(cpu);
  cpu.eip = eip;
}

// =====================================================================
// IRET
// =====================================================================

export function interruptReturn(cpu: Cpu, o32: boolean): void {
  // NMIs stay blocked from NMI delivery until the next IRET, whatever it returns to.
  if (!cpu.protectedMode) {
    iretReal(cpu, o32);
  } else if (cpu.v86Mode) {
    if ((cpu.flags & IOPL_MASK) !== IOPL_MASK) cpu.raiseGP(0);
    iretReal(cpu, o32);
  } else if ((cpu.flags & NT) !== 0) {
    const link = cpu.readSys16(cpu.segBase[TR]);
    taskReturn(cpu, link);
  } else {
    iretProtected(cpu, o32);
  }
  cpu.nmiBlocked = false;
  cpu.exitBlock = true;
}

/** Real mode and V86 mode with IOPL 3: pop (E)IP, CS, (E)FLAGS. V86 keeps VM and IOPL. */
function iretReal(cpu: Cpu, o32: boolean): void {
  const size = o32 ? 4 : 2;
  const eip = o32 ? cpu.peek32(0) : cpu.peek16(0);
  const sel = (o32 ? cpu.peek32(4) : cpu.peek16(2)) & 0xffff;
  const popped = o32 ? cpu.peek32(8) : cpu.peek16(4);
  if (eip >>> 0 > cpu.segLimit[CS]) cpu.raiseGP(0);
  let mask = o32 ? 0x0025_7fd5 : 0x7fd5; // arithmetic, TF, IF, DF, IOPL, NT (+RF, AC, ID); never VM
  if (cpu.v86Mode) mask &= ~IOPL_MASK;
  cpu.adjustSp(3 * size);
  cpu.setFlags((cpu.getFlags() & ~mask) | (popped & mask));
  loadSegmentReal(cpu, CS, sel);
  cpu.eip = eip;
}

/** IRETD's frame (EIP, CS, EFLAGS, ESP, SS) as readIretFrame32 found it. */
const iretFrame = pinned(Int32Array, 5);

/**
 * Reads IRETD's five-dword frame at SS:ESP at once, when each of its dwords
 * is one that peek32 would read from RAM without a fault: a 32-bit stack,
 * all 20 bytes inside SS's read range, in one page the TLB maps for reads at
 * this CPL, dword-aligned in the buffer (what readLin32's fast path takes).
 * Otherwise returns false and the caller peeks dword by dword, faulting where
 * the SDM says. Reading ESP and SS for a same-privilege return reads bytes
 * the return does not use, which is invisible: no fault can come of it here.
 */
function readIretFrame32(cpu: Cpu): boolean {
  if (!cpu.ss32) return false;
  const o = cpu.regs[ESP] >>> 0;
  if (o < cpu.segRLo[SS] || o + 19 > cpu.segRHi[SS]) return false;
  const lin = (cpu.segBase[SS] + o) | 0;
  const e = cpu.tlbRead[lin >>> 12];
  if ((e & cpu.tlbBit) === 0 || (lin & 0xfff) > 0x1000 - 20 || (lin & 3) !== 0) return false;
  const w = ((e & ~0xfff) | (lin & 0xfff)) >> 2;
  const m = cpu.i32;
  for (let k = 0; k < 5; k++) iretFrame[k] = m[w + k];
  return true;
}

function iretProtected(cpu: Cpu, o32: boolean): void {
  const size = o32 ? 4 : 2;
  const whole = o32 && readIretFrame32(cpu);
  const eip = whole ? iretFrame[0] : o32 ? cpu.peek32(0) : cpu.peek16(0);
  const sel = (whole ? iretFrame[1] : o32 ? cpu.peek32(4) : cpu.peek16(2)) & 0xffff;
  const popped = whole ? iretFrame[2] : o32 ? cpu.peek32(8) : cpu.peek16(4);
  if (o32 && (popped & VM) !== 0 && cpu.cpl === 0) {
    iretToV86(cpu, eip, sel, popped);
    return;
  }
  const rpl = checkReturnCode(cpu, sel);
  const oldCpl = cpu.cpl;
  let newEsp = 0, newSs = 0;
  if (rpl > oldCpl) {
    newEsp = whole ? iretFrame[3] : o32 ? cpu.peek32(3 * size) : cpu.peek16(3 * size);
    newSs = (whole ? iretFrame[4] : o32 ? cpu.peek32(4 * size) : cpu.peek16(4 * size)) & 0xffff;
    checkReturnStack(cpu, newSs, rpl);
  }
  if (eip >>> 0 > limitOf(target)) cpu.raiseGP(0);
  setAccessed(cpu, target);
  if (rpl > oldCpl) setAccessed(cpu, stackDesc);
  // EFLAGS: IOPL only at CPL 0, IF only at CPL <= IOPL; VM never from here.
  let mask = o32 ? 0x0024_4dd5 | RF | AC | ID : 0x4dd5; // arithmetic, TF, DF, NT (+RF, AC, ID)
  const iopl = (cpu.flags & IOPL_MASK) >>> 12;
  if (oldCpl === 0) mask |= IOPL_MASK;
  if (oldCpl <= iopl) mask |= IF;
  const flags = (cpu.getFlags() & ~mask) | (popped & mask);
  if (rpl === oldCpl) {
    cpu.adjustSp(3 * size);
    loadCodeSegment(cpu, sel, target, rpl);
  } else {
    loadCodeSegment(cpu, sel, target, rpl);
    loadSegmentFromDescriptor(cpu, SS, newSs, stackDesc);
    setStackPointer(cpu, newEsp, 0);
    hideInaccessibleDataSegments(cpu);
  }
  cpu.setFlags(flags);
  cpu.eip = eip;
}

/** IRET at CPL 0 with VM set in the popped EFLAGS image: back to virtual-8086 mode. */
function iretToV86(cpu: Cpu, eip: number, cs: number, flags: number): void {
  const esp = cpu.peek32(12);
  const ss = cpu.peek32(16);
  const es = cpu.peek32(20);
  const ds = cpu.peek32(24);
  const fs = cpu.peek32(28);
  const gs = cpu.peek32(32);
  // The V86 code segment is 64 KiB: the return IP must lie inside it.
  if (eip >>> 0 > 0xffff) cpu.raiseGP(0);
  // VM must be set before the loads so they take the V86 (real-mode style) path.
  cpu.setFlags(flags);
  loadSegmentReal(cpu, CS, cs);
  loadSegmentReal(cpu, SS, ss);
  loadSegmentReal(cpu, ES, es);
  loadSegmentReal(cpu, DS, ds);
  loadSegmentReal(cpu, FS, fs);
  loadSegmentReal(cpu, GS, gs);
  cpu.regs[ESP] = esp;
  cpu.setCpl(3);
  cpu.eip = eip;
  cpu.exitBlock = true;
}

/** IRET with NT = 1: return to the task named by the current TSS's back link. */
function taskReturn(cpu: Cpu, link: number): void {
  switchTask(cpu, link & 0xffff, TASK_IRET);
}

// =====================================================================
// Shared checks
// =====================================================================

/** JMP/CALL directly to a code segment: SDM privilege rules for conforming and non-conforming code. */
function checkDirectCodeTarget(cpu: Cpu, sel: number, d: Descriptor): void {
  const err = sel & 0xfffc;
  if (!isCode(d.hi)) cpu.raiseGP(err);
  const dpl = dplOf(d.hi);
  if (isConforming(d.hi)) {
    if (dpl > cpu.cpl) cpu.raiseGP(err);
  } else if ((sel & 3) > cpu.cpl || dpl !== cpu.cpl) {
    cpu.raiseGP(err);
  }
  if (!isPresent(d.hi)) cpu.fault(EXC_NP, err, true);
}

/** A call gate may be used when CPL <= gate DPL and RPL <= gate DPL; it must be present. */
function checkGateAccess(cpu: Cpu, sel: number, d: Descriptor): void {
  const dpl = dplOf(d.hi);
  if (dpl < cpu.cpl || (sel & 3) > dpl) cpu.raiseGP(sel & 0xfffc);
  if (!isPresent(d.hi)) cpu.fault(EXC_NP, sel & 0xfffc, true);
}

function gateOffset(d: Descriptor): number {
  const gate32 = systemType(d.hi) === SYS_CALL_GATE32;
  return gate32 ? (d.hi & 0xffff_0000) | (d.lo & 0xffff) : d.lo & 0xffff;
}

/** RET far / IRET: the CS to return to (fetched into `target`); returns its RPL, the new CPL. */
function checkReturnCode(cpu: Cpu, sel: number): number {
  if ((sel & 0xfffc) === 0) cpu.raiseGP(0);
  const err = sel & 0xfffc;
  readDescriptor(cpu, sel, target, EXC_GP, err);
  const rpl = sel & 3;
  if (!isCode(target.hi) || rpl < cpu.cpl) cpu.raiseGP(err);
  const dpl = dplOf(target.hi);
  if (isConforming(target.hi) ? dpl > rpl : dpl !== rpl) cpu.raiseGP(err);
  if (!isPresent(target.hi)) cpu.fault(EXC_NP, err, true);
  return rpl;
}

/** The outer ring's SS on RET far / IRET (fetched into `stackDesc`). */
function checkReturnStack(cpu: Cpu, ss: number, rpl: number): void {
  if ((ss & 0xfffc) === 0) cpu.raiseGP(0);
  const err = ss & 0xfffc;
  readDescriptor(cpu, ss, stackDesc, EXC_GP, err);
  if ((ss & 3) !== rpl || !isWritableData(stackDesc.hi) || dplOf(stackDesc.hi) !== rpl) cpu.raiseGP(err);
  if (!isPresent(stackDesc.hi)) cpu.fault(EXC_SS, err, true);
}

/** ESP after a return to an outer ring: the new SS's B bit decides ESP vs SP. */
function setStackPointer(cpu: Cpu, esp: number, release: number): void {
  if (cpu.ss32) cpu.regs[ESP] = (esp + release) | 0;
  else cpu.regs[ESP] = (cpu.regs[ESP] & ~0xffff) | ((esp + release) & 0xffff);
}

/** JMP/CALL to a TSS descriptor or through a task gate. */
function taskTransfer(cpu: Cpu, sel: number, source: number): void {
  const err = sel & 0xfffc;
  const type = systemType(target.hi);
  const dpl = dplOf(target.hi);
  if (type === SYS_TASK_GATE) {
    if (dpl < cpu.cpl || (sel & 3) > dpl) cpu.raiseGP(err);
    if (!isPresent(target.hi)) cpu.fault(EXC_NP, err, true);
    const tssSel = target.lo >>> 16;
    switchTask(cpu, tssSel, source);
    return;
  }
  if (type === SYS_TSS16 || type === SYS_TSS32) {
    if (dpl < cpu.cpl || (sel & 3) > dpl) cpu.raiseGP(err);
    switchTask(cpu, sel, source);
    return;
  }
  // Busy TSS, LDT, interrupt/trap gates, reserved types.
  cpu.raiseGP(err);
}

function copyDescriptor(to: Descriptor, from: Descriptor): void {
  to.lo = from.lo;
  to.hi = from.hi;
  to.addr = from.addr;
}
