/**
 * Hardware task switching (SDM Vol. 3 §7.3): through JMP/CALL to a TSS
 * descriptor or a task gate, through an interrupt/exception task gate, and
 * back with IRET when EFLAGS.NT = 1.
 *
 * Order of work, as the SDM describes it:
 *  1. checks on the new TSS descriptor (type, busy bit, present, limit) and
 *     reads of the whole new state — all before anything changes, so a fault
 *     here restarts the instruction in the old task;
 *  2. the outgoing state is saved in the current TSS, busy bits and the back
 *     link are updated (SDM Table 7-2), TR, CR0.TS, CR3, LDTR, EFLAGS, EIP and
 *     the general registers are loaded: the commit point;
 *  3. segment registers are checked and loaded; a fault from here on belongs
 *     to the new task (it is delivered with the new task's CS:EIP).
 *
 * Debug support (SDM Vol. 3B 17.2.4, 17.3.1.5): the switch clears the local
 * breakpoint enables L0-L3 and LE of DR7 (the global ones stay), and a new
 * 32-bit TSS with its debug trap bit T set raises a #DB with DR6.BT before
 * the new task's first instruction (Bochs does both the same way). The #DB
 * follows an error code the switching event pushes (interruptGates.ts), and
 * is not raised when loading the new task's segments faulted.
 */
import type { Cpu } from '../cpu.ts';
import { CPU_FAULT } from '../faults.ts';
import { INT_EXCEPTION } from '../interrupts.ts';
import { CR3_STORED, paePagingControl } from '../paeControl.ts';
import {
  CR0_PG, CR0_TS, CS, DS, ES, EXC_DB, EXC_GP, EXC_NP, EXC_SS, EXC_TS, FS, GS, LDTR, NT, SS, TR, VM,
} from '../regs.ts';
import { descAttr, descBase, descLimit, loadSegmentReal, setSegmentCache } from '../segments.ts';
import {
  Descriptor, SYS_LDT, TSS_BUSY_BIT, dplOf, isCode, isConforming, isData, isPresent, isRw, isSegment, isWritableData,
  loadCodeSegment, loadNullSegment, loadSegmentFromDescriptor, readDescriptor, setAccessed, systemType,
} from './descriptors.ts';
import { currentTss32, TSS16, TSS32 } from './tss.ts';
import { vmxTaskSwitch } from '../vmx/nonRoot.ts';

/** What caused the switch (SDM Table 7-2 decides busy bits, NT and the back link by it). */
export const TASK_JMP = 0;
export const TASK_CALL = 1;
export const TASK_IRET = 2;
export const TASK_INT = 3;

const newTss = new Descriptor();
const seg = new Descriptor();

/** DR7 bits a task switch clears: L0-L3 and LE. */
const DR7_LOCAL_ENABLES = 0x155;
/** DR6.BT: the #DB comes from a TSS debug trap bit. */
const DR6_BT = 1 << 15;

/** The incoming task's state, read completely before the commit point. */
const incoming = {
  cr3: 0, eip: 0, eflags: 0, ldt: 0, debugTrap: false,
  regs: new Int32Array(8),
  sels: new Uint16Array(6), // ES CS SS DS FS GS
};

/**
 * Switches to the task whose TSS selector is `sel`. `ext` is the EXT bit for
 * error codes when the switch delivers an external event or exception.
 * Returns true when the new task's T bit asks for a #DB that the caller must
 * raise with `taskSwitchTrap` (TASK_INT: after its error code); for the
 * other sources the #DB has been raised here already.
 */
export function switchTask(cpu: Cpu, sel: number, source: number, ext = 0): boolean {
  sel &= 0xffff;
  const err = (sel & 0xfffc) | ext;
  const typeVector = source === TASK_IRET ? EXC_TS : EXC_GP;
  if ((sel & 4) !== 0) cpu.fault(typeVector, err, true);
  readDescriptor(cpu, sel, newTss, typeVector, err);
  const type = systemType(newTss.hi);
  const wantBusy = source === TASK_IRET;
  const isTss = !isSegment(newTss.hi) && (type & ~(8 | TSS_BUSY_BIT)) === 1;
  if (!isTss || ((type & TSS_BUSY_BIT) !== 0) !== wantBusy) cpu.fault(typeVector, err, true);
  if (!isPresent(newTss.hi)) cpu.fault(EXC_NP, err, true);
  // VMX non-root: the switch itself is a VM exit, after the instruction's checks on the TSS descriptor.
  if (cpu.vmx.nonRoot) vmxTaskSwitch(cpu, sel, source);
  const new32 = (type & 8) !== 0;
  const newBase = descBase(newTss.lo, newTss.hi);
  const newLimit = descLimit(newTss.lo, newTss.hi);
  if (newLimit < (new32 ? TSS32.MIN_LIMIT : TSS16.MIN_LIMIT)) cpu.fault(EXC_TS, err, true);

  // 1. Read the incoming state (faults here restart in the old task).
  const st = incoming;
  if (new32) {
    st.cr3 = cpu.readSys32((newBase + TSS32.CR3) | 0);
    st.eip = cpu.readSys32((newBase + TSS32.EIP) | 0);
    st.eflags = cpu.readSys32((newBase + TSS32.EFLAGS) | 0);
    for (let r = 0; r < 8; r++) st.regs[r] = cpu.readSys32((newBase + TSS32.EAX + 4 * r) | 0);
    for (let s = 0; s < 6; s++) st.sels[s] = cpu.readSys16((newBase + TSS32.ES + 4 * s) | 0);
    st.ldt = cpu.readSys16((newBase + TSS32.LDT) | 0);
    st.debugTrap = (cpu.readSys16((newBase + TSS32.TRAP) | 0) & 1) !== 0;
  } else {
    st.eip = cpu.readSys16((newBase + TSS16.IP) | 0);
    st.eflags = cpu.readSys16((newBase + TSS16.FLAGS) | 0);
    for (let r = 0; r < 8; r++) st.regs[r] = (cpu.regs[r] & ~0xffff) | cpu.readSys16((newBase + TSS16.AX + 2 * r) | 0);
    for (let s = 0; s < 4; s++) st.sels[s] = cpu.readSys16((newBase + TSS16.ES + 2 * s) | 0);
    st.sels[FS] = 0;
    st.sels[GS] = 0;
    st.ldt = cpu.readSys16((newBase + TSS16.LDT) | 0);
    st.debugTrap = false; // a 16-bit TSS has no T bit
  }

  // 2. Save the outgoing state into the current TSS.
  const oldSel = cpu.segSel[TR];
  const oldBase = cpu.segBase[TR];
  const old32 = currentTss32(cpu);
  const oldErr = (oldSel & 0xfffc) | ext;
  if (cpu.segLimit[TR] < (old32 ? TSS32.LDT - 1 : TSS16.LDT - 1)) cpu.fault(EXC_TS, oldErr, true);
  let oldFlags = cpu.getFlags();
  if (source === TASK_IRET) oldFlags &= ~NT;
  if (old32) {
    cpu.writeSys32((oldBase + TSS32.EIP) | 0, cpu.eip);
    cpu.writeSys32((oldBase + TSS32.EFLAGS) | 0, oldFlags);
    for (let r = 0; r < 8; r++) cpu.writeSys32((oldBase + TSS32.EAX + 4 * r) | 0, cpu.regs[r]);
    for (let s = 0; s < 6; s++) cpu.writeSys16((oldBase + TSS32.ES + 4 * s) | 0, cpu.segSel[s]);
  } else {
    cpu.writeSys16((oldBase + TSS16.IP) | 0, cpu.eip);
    cpu.writeSys16((oldBase + TSS16.FLAGS) | 0, oldFlags);
    for (let r = 0; r < 8; r++) cpu.writeSys16((oldBase + TSS16.AX + 2 * r) | 0, cpu.regs[r]);
    for (let s = 0; s < 4; s++) cpu.writeSys16((oldBase + TSS16.ES + 2 * s) | 0, cpu.segSel[s]);
  }
  // Busy bits and back link (SDM Table 7-2).
  if (source === TASK_JMP || source === TASK_IRET) {
    const addr = (cpu.gdtBase + (oldSel & 0xfff8) + 4) | 0;
    if ((oldSel & 0xfff8) + 7 <= cpu.gdtLimit) cpu.writeSys32(addr, cpu.readSys32(addr) & ~(TSS_BUSY_BIT << 8));
  }
  let flags = st.eflags;
  if (source === TASK_CALL || source === TASK_INT) {
    cpu.writeSys16((newBase + TSS32.LINK) | 0, oldSel);
    flags |= NT;
  }
  if (source !== TASK_IRET) {
    newTss.hi |= TSS_BUSY_BIT << 8;
    cpu.writeSys32((newTss.addr + 4) | 0, newTss.hi);
  }

  // ---- commit point: from here on the new task is current ----
  setSegmentCache(cpu, TR, sel, newBase, newLimit, descAttr(newTss.hi));
  cpu.cr0 |= CR0_TS;
  // PAE paging: the new CR3 brings its PDPTEs. An invalid one is #GP(0) after the commit point, in the
  // new task (as Bochs raises it); the PDPTE registers then keep their old values.
  let pdptesLoaded = true;
  if (new32 && (cpu.cr0 & CR0_PG) !== 0) {
    cpu.cr3 = st.cr3 & CR3_STORED;
    pdptesLoaded = paePagingControl(cpu, cpu.cr0, cpu.cr4, 1);
    cpu.flushTlb(false);
  }
  cpu.regs.set(st.regs);
  cpu.eip = st.eip;
  cpu.setFlags(new32 ? flags : (cpu.getFlags() & 0xffff_0000 & ~VM) | (flags & 0xffff));
  cpu.exitBlock = true;
  if ((cpu.dr[7] & DR7_LOCAL_ENABLES) !== 0) {
    cpu.dr[7] &= ~DR7_LOCAL_ENABLES;
    cpu.refreshBreakpoints();
  }
  for (let s = 0; s < 6; s++) loadNullSegment(cpu, s, st.sels[s]);
  loadNullSegment(cpu, LDTR, st.ldt);

  try {
    loadIncomingSegments(cpu, st.sels, st.ldt, ext);
    if (!pdptesLoaded) cpu.raiseGP(0);
  } catch (e) {
    if (e !== CPU_FAULT) throw e;
    // The fault belongs to the new task: deliver it with the new task's CS:EIP.
    cpu.deliver(CPU_FAULT.vector, INT_EXCEPTION, CPU_FAULT.errorCode, CPU_FAULT.hasErrorCode);
    return false;
  }
  if (!st.debugTrap) return false;
  if (source === TASK_INT) return true;
  taskSwitchTrap(cpu);
  return false;
}

/** The #DB of a TSS debug trap bit: DR6.BT, before the new task's first instruction. */
export function taskSwitchTrap(cpu: Cpu): void {
  cpu.dr[6] = (cpu.dr[6] & ~0xf) | DR6_BT;
  cpu.deliver(EXC_DB, INT_EXCEPTION, 0, false);
}

/** Step 3: LDTR, then CS, SS, DS, ES, FS, GS, each with the #TS/#NP/#SS checks. */
function loadIncomingSegments(cpu: Cpu, sels: Uint16Array, ldt: number, ext: number): void {
  if ((cpu.flags & VM) !== 0) {
    cpu.setCpl(3);
    for (let s = 0; s < 6; s++) loadSegmentReal(cpu, s, sels[s]);
    loadLdt(cpu, ldt, ext);
    return;
  }
  const cpl = sels[CS] & 3;
  cpu.setCpl(cpl);
  loadLdt(cpu, ldt, ext);

  const cs = sels[CS];
  const csErr = (cs & 0xfffc) | ext;
  if ((cs & 0xfffc) === 0) cpu.fault(EXC_TS, csErr, true);
  readDescriptor(cpu, cs, seg, EXC_TS, csErr);
  if (!isCode(seg.hi)) cpu.fault(EXC_TS, csErr, true);
  const csDpl = dplOf(seg.hi);
  if (isConforming(seg.hi) ? csDpl > cpl : csDpl !== cpl) cpu.fault(EXC_TS, csErr, true);
  if (!isPresent(seg.hi)) cpu.fault(EXC_NP, csErr, true);
  setAccessed(cpu, seg);
  loadCodeSegment(cpu, cs, seg, cpl);

  const ss = sels[SS];
  const ssErr = (ss & 0xfffc) | ext;
  if ((ss & 0xfffc) === 0) cpu.fault(EXC_TS, ssErr, true);
  readDescriptor(cpu, ss, seg, EXC_TS, ssErr);
  if ((ss & 3) !== cpl || dplOf(seg.hi) !== cpl || !isWritableData(seg.hi)) cpu.fault(EXC_TS, ssErr, true);
  if (!isPresent(seg.hi)) cpu.fault(EXC_SS, ssErr, true);
  setAccessed(cpu, seg);
  loadSegmentFromDescriptor(cpu, SS, ss, seg);

  loadDataSegment(cpu, DS, sels[DS], cpl, ext);
  loadDataSegment(cpu, ES, sels[ES], cpl, ext);
  loadDataSegment(cpu, FS, sels[FS], cpl, ext);
  loadDataSegment(cpu, GS, sels[GS], cpl, ext);
}

function loadLdt(cpu: Cpu, ldt: number, ext: number): void {
  if ((ldt & 0xfffc) === 0) return; // stays null
  const err = (ldt & 0xfffc) | ext;
  if ((ldt & 4) !== 0) cpu.fault(EXC_TS, err, true);
  readDescriptor(cpu, ldt, seg, EXC_TS, err);
  if (isSegment(seg.hi) || systemType(seg.hi) !== SYS_LDT || !isPresent(seg.hi)) cpu.fault(EXC_TS, err, true);
  loadSegmentFromDescriptor(cpu, LDTR, ldt, seg);
}

function loadDataSegment(cpu: Cpu, s: number, sel: number, cpl: number, ext: number): void {
  if ((sel & 0xfffc) === 0) return; // null: already loaded unusable
  const err = (sel & 0xfffc) | ext;
  readDescriptor(cpu, sel, seg, EXC_TS, err);
  const hi = seg.hi;
  if (!isData(hi) && !(isCode(hi) && isRw(hi))) cpu.fault(EXC_TS, err, true);
  if (!(isCode(hi) && isConforming(hi))) {
    const dpl = dplOf(hi);
    if (dpl < cpl || dpl < (sel & 3)) cpu.fault(EXC_TS, err, true);
  }
  if (!isPresent(hi)) cpu.fault(EXC_NP, err, true);
  setAccessed(cpu, seg);
  loadSegmentFromDescriptor(cpu, s, sel, seg);
}
