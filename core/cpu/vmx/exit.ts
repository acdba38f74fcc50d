/**
 * VM exits (SDM Vol. 3C ch. 27): recording the exit information, saving
 * the guest state into the VMCS and loading the host state from it. Exits
 * caused by an instruction or by an access during it unwind that
 * instruction first (`raiseVmExit` throws VM_EXIT_VECTOR as a CPU fault,
 * the run loop puts EIP back on the instruction and the non-root seam's
 * `interrupt` calls `completeVmExit`); exits between instructions
 * (interrupts, windows, triple fault) call `completeVmExit` directly.
 */
import type { Cpu } from '../cpu.ts';
import { bareMetal } from '../seam.ts';
import { setSegmentCache } from '../segments.ts';
import { CR0_CD, CR0_ET, CR0_NW, CS, DS, ES, ESP, FS, GS, IF, LDTR, SEG_P, SS, TR } from '../regs.ts';
import * as F from './vmcsFields.ts';
import { VM_EXIT_VECTOR } from './vmx.ts';
import { PREEMPTION_TIMER_SHIFT } from './capabilities.ts';
import { loadMsrList, storeMsrList } from './msrLists.ts';
import { CR3_STORED } from '../paeControl.ts';
import { loadHostPdptes, saveGuestPdptes } from './pdptes.ts';

export const SEGMENT_FIELDS = [
  // selector, base, limit, access rights (ES CS SS DS FS GS LDTR TR order = the SReg numbering)
  [F.GUEST_ES_SELECTOR, F.GUEST_ES_BASE, F.GUEST_ES_LIMIT, F.GUEST_ES_AR_BYTES],
  [F.GUEST_CS_SELECTOR, F.GUEST_CS_BASE, F.GUEST_CS_LIMIT, F.GUEST_CS_AR_BYTES],
  [F.GUEST_SS_SELECTOR, F.GUEST_SS_BASE, F.GUEST_SS_LIMIT, F.GUEST_SS_AR_BYTES],
  [F.GUEST_DS_SELECTOR, F.GUEST_DS_BASE, F.GUEST_DS_LIMIT, F.GUEST_DS_AR_BYTES],
  [F.GUEST_FS_SELECTOR, F.GUEST_FS_BASE, F.GUEST_FS_LIMIT, F.GUEST_FS_AR_BYTES],
  [F.GUEST_GS_SELECTOR, F.GUEST_GS_BASE, F.GUEST_GS_LIMIT, F.GUEST_GS_AR_BYTES],
  [F.GUEST_LDTR_SELECTOR, F.GUEST_LDTR_BASE, F.GUEST_LDTR_LIMIT, F.GUEST_LDTR_AR_BYTES],
  [F.GUEST_TR_SELECTOR, F.GUEST_TR_BASE, F.GUEST_TR_LIMIT, F.GUEST_TR_AR_BYTES],
] as const;

/**
 * Records an exit caused by the instruction now executing (or an access it
 * makes) and unwinds it. `cpu.eip` is the next instruction's EIP here (the
 * run loop advances it before executing), which gives the instruction length.
 */
export function raiseVmExit(cpu: Cpu, reason: number, qualification: number, decode = 0): never {
  const vmx = cpu.vmx;
  vmx.exitReason = reason;
  vmx.exitQualification = qualification;
  vmx.exitNextEip = cpu.eip;
  vmx.exitHasLength = true;
  vmx.exitNeedsDecode = decode;
  vmx.exitIntrInfo = 0;
  vmx.exitIntrErrorCode = 0;
  return cpu.fault(VM_EXIT_VECTOR, 0, false);
}

/** An exit with no instruction length (EPT violations, exceptions): RIP is the faulting instruction's. */
export function raiseVmExitNoInstruction(cpu: Cpu, reason: number, qualification: number): never {
  const vmx = cpu.vmx;
  vmx.exitReason = reason;
  vmx.exitQualification = qualification;
  vmx.exitHasLength = false;
  vmx.exitNeedsDecode = 0;
  vmx.exitIntrInfo = 0;
  vmx.exitIntrErrorCode = 0;
  return cpu.fault(VM_EXIT_VECTOR, 0, false);
}

/** Records an exit that happens between instructions (no unwinding needed). */
export function takeVmExit(cpu: Cpu, reason: number, qualification: number, intrInfo = 0, intrErrorCode = 0): void {
  const vmx = cpu.vmx;
  vmx.exitReason = reason;
  vmx.exitQualification = qualification;
  vmx.exitHasLength = false;
  vmx.exitNeedsDecode = 0;
  vmx.exitIntrInfo = intrInfo;
  vmx.exitIntrErrorCode = intrErrorCode;
  vmx.exitInstructionInfo = 0;
  completeVmExit(cpu);
}

/** Saves guest state, writes the exit information, loads host state (SDM 27.2-27.5). */
export function completeVmExit(cpu: Cpu): void {
  const vmx = cpu.vmx;
  const v = vmx.vmcs;
  let length = 0;
  if (vmx.exitHasLength) {
    length = cpu.cs32 ? (vmx.exitNextEip - cpu.eip) | 0 : (vmx.exitNextEip - cpu.eip) & 0xffff;
  }
  v.set(F.VM_EXIT_REASON, vmx.exitReason);
  v.set(F.EXIT_QUALIFICATION, vmx.exitQualification);
  v.set(F.GUEST_LINEAR_ADDRESS, vmx.exitGuestLinear);
  v.set(F.GUEST_PHYSICAL_ADDRESS, vmx.exitGuestPhysical);
  v.set(F.VM_EXIT_INTR_INFO, vmx.exitIntrInfo);
  v.set(F.VM_EXIT_INTR_ERROR_CODE, vmx.exitIntrErrorCode);
  v.set(F.IDT_VECTORING_INFO_FIELD, vmx.vectoringInfo);
  v.set(F.IDT_VECTORING_ERROR_CODE, vmx.vectoringErrorCode);
  v.set(F.VM_EXIT_INSTRUCTION_LEN, length);
  v.set(F.VMX_INSTRUCTION_INFO, vmx.exitInstructionInfo);
  v.set(F.VM_ENTRY_INTR_INFO_FIELD, v.get(F.VM_ENTRY_INTR_INFO_FIELD) & ~F.INTR_INFO_VALID);
  saveGuestState(cpu);
  vmx.exitGuestLinear = 0;
  vmx.exitGuestPhysical = 0;
  vmx.exitInstructionInfo = 0;
  vmx.vectoringInfo = 0;
  vmx.vectoringErrorCode = 0;
  const storeFailed = storeMsrList(cpu, v.get(F.VM_EXIT_MSR_STORE_ADDR), v.get(F.VM_EXIT_MSR_STORE_COUNT)) !== 0;
  leaveNonRoot(cpu, true);
  if (storeFailed) {
    vmxAbort(cpu, VMX_ABORT_SAVING_GUEST_MSRS);
    return;
  }
  loadHostState(cpu);
  loadHostMsrs(cpu);
}

/** VMX-abort indicators (SDM 27.7). */
export const VMX_ABORT_SAVING_GUEST_MSRS = 1;
export const VMX_ABORT_LOADING_HOST_PDPTES = 2;
export const VMX_ABORT_LOADING_HOST_MSRS = 4;

/** VM-exit MSR loading (SDM 27.6); a failure is a VMX abort. */
function loadHostMsrs(cpu: Cpu): void {
  const v = cpu.vmx.vmcs;
  if (loadMsrList(cpu, v.get(F.VM_EXIT_MSR_LOAD_ADDR), v.get(F.VM_EXIT_MSR_LOAD_COUNT)) !== 0) {
    vmxAbort(cpu, VMX_ABORT_LOADING_HOST_MSRS);
  }
}

/**
 * A VMX abort (SDM 27.7): the indicator goes into the current VMCS region's
 * abort field (bytes 4-7) and the processor shuts down.
 */
function vmxAbort(cpu: Cpu, indicator: number): void {
  const vmx = cpu.vmx;
  if (vmx.currentVmcsPointer >= 0) cpu.bus.write32(vmx.currentVmcsPointer + 4, indicator);
  cpu.shutdown(`VMX abort ${indicator}`);
}

/** A VM-entry failure after the entry checks on controls and host state (exit reasons 33, 34; SDM 26.8). */
export function failedEntryExit(cpu: Cpu, reason: number, qualification: number): void {
  const v = cpu.vmx.vmcs;
  v.set(F.VM_EXIT_REASON, reason | F.EXIT_REASON_FAILED_VMENTRY);
  v.set(F.EXIT_QUALIFICATION, qualification);
  leaveNonRoot(cpu, false);
  loadHostState(cpu);
  loadHostMsrs(cpu);
}

function saveGuestState(cpu: Cpu): void {
  const vmx = cpu.vmx;
  const v = vmx.vmcs;
  v.set(F.GUEST_CR0, cpu.cr0);
  v.set(F.GUEST_CR3, cpu.cr3);
  v.set(F.GUEST_CR4, cpu.cr4);
  saveGuestPdptes(cpu, v);
  if ((vmx.exitControls & F.VM_EXIT_SAVE_DEBUG_CONTROLS) !== 0) v.set(F.GUEST_DR7, cpu.dr[7]);
  v.set(F.GUEST_RSP, cpu.regs[ESP]);
  v.set(F.GUEST_RIP, cpu.eip);
  v.set(F.GUEST_RFLAGS, cpu.getFlags());
  for (let s = 0; s < 8; s++) {
    const [sel, base, limit, ar] = SEGMENT_FIELDS[s];
    const attr = cpu.segAttr[s];
    v.set(sel, cpu.segSel[s]);
    v.set(base, cpu.segBase[s]);
    v.set(limit, cpu.segLimit[s]);
    // The cache keeps a null/not-present segment as one without P: the VMCS calls it unusable.
    v.set(ar, (attr & 0xf0ff) | (s !== CS && (attr & SEG_P) === 0 ? F.AR_UNUSABLE : 0));
  }
  v.set(F.GUEST_GDTR_BASE, cpu.gdtBase);
  v.set(F.GUEST_GDTR_LIMIT, cpu.gdtLimit);
  v.set(F.GUEST_IDTR_BASE, cpu.idtBase);
  v.set(F.GUEST_IDTR_LIMIT, cpu.idtLimit);
  let intr = 0;
  if (cpu.interruptShadow) intr |= cpu.ssShadow ? F.GUEST_INTR_STATE_MOV_SS : F.GUEST_INTR_STATE_STI;
  if (cpu.nmiBlocked) intr |= F.GUEST_INTR_STATE_NMI;
  v.set(F.GUEST_INTERRUPTIBILITY_INFO, intr);
  v.set(F.GUEST_ACTIVITY_STATE, cpu.halted ? F.GUEST_ACTIVITY_HLT : F.GUEST_ACTIVITY_ACTIVE);
  // Debug traps an SS load holds for the next instruction (B0-B3, BS: the same bits as DR6).
  v.set(F.GUEST_PENDING_DBG_EXCEPTIONS, cpu.heldDebug & 0x400f);
  if ((vmx.exitControls & F.VM_EXIT_SAVE_VMX_PREEMPTION_TIMER) !== 0) {
    v.set(F.VMX_PREEMPTION_TIMER_VALUE, preemptionTimerValue(cpu));
  }
}

/** The preemption timer's current value (0 once expired). */
export function preemptionTimerValue(cpu: Cpu): number {
  const left = cpu.vmx.preemptionDeadline - cpu.clock.tsc();
  return left <= 0 ? 0 : Math.min(0xffff_ffff, Math.ceil(left / (1 << PREEMPTION_TIMER_SHIFT)));
}

/** Puts the processor back in root operation: the bare seam, no EPT, normal interrupt polling. */
function leaveNonRoot(cpu: Cpu, mayKeepTlb: boolean): void {
  const vmx = cpu.vmx;
  vmx.nonRoot = false;
  vmx.ept = null;
  vmx.injecting = false;
  vmx.preemptionDeadline = Infinity;
  cpu.seam = bareMetal;
  cpu.pageTables = cpu;
  cpu.intrMask = IF;
  cpu.pollIntr = vmx.savedPollIntr;
  if (mayKeepTlb && vmx.embedderHost && (vmx.proc2 & F.SECONDARY_EXEC_ENABLE_VPID) !== 0) {
    // The TypeScript host runs no x86 code: the guest's TLB entries stay, tagged (vmx.ts).
    vmx.tlbVpid = vmx.vmcs.get(F.VIRTUAL_PROCESSOR_ID);
    vmx.tlbEptp = vmx.vmcs.get(F.EPT_POINTER);
    vmx.tlbCr3 = cpu.cr3;
  } else {
    vmx.tlbVpid = -1;
    cpu.flushTlb(true);
  }
}

/** SDM 27.5: host CR0/CR3/CR4, DR7, flat segments, descriptor tables, RSP, RIP, RFLAGS = 2. */
function loadHostState(cpu: Cpu): void {
  const v = cpu.vmx.vmcs;
  const keep = 0x1ff8_0000 | 0x0002_0000 | 0xffc0 | CR0_ET | CR0_CD | CR0_NW;
  cpu.cr0 = ((v.get(F.HOST_CR0) & ~keep) | (cpu.cr0 & keep) | CR0_ET) | 0;
  cpu.cr3 = v.get(F.HOST_CR3) & CR3_STORED;
  cpu.cr4 = v.get(F.HOST_CR4);
  const hostPdptesLoaded = loadHostPdptes(cpu);
  cpu.dr[7] = 0x400;
  const flat = 0xc093; // G, D/B, P, DPL 0, S, read/write accessed data
  for (const [seg, field] of [[ES, F.HOST_ES_SELECTOR], [SS, F.HOST_SS_SELECTOR], [DS, F.HOST_DS_SELECTOR], [FS, F.HOST_FS_SELECTOR], [GS, F.HOST_GS_SELECTOR]] as const) {
    const sel = v.get(field);
    const base = seg === FS ? v.get(F.HOST_FS_BASE) : seg === GS ? v.get(F.HOST_GS_BASE) : 0;
    // A null selector leaves the segment unusable (SS too: a 32-bit host always has a non-null SS).
    setSegmentCache(cpu, seg, sel, base, sel === 0 ? 0 : 0xffff_ffff, sel === 0 ? 0 : flat);
  }
  setSegmentCache(cpu, CS, v.get(F.HOST_CS_SELECTOR), 0, 0xffff_ffff, 0xc09b);
  setSegmentCache(cpu, TR, v.get(F.HOST_TR_SELECTOR), v.get(F.HOST_TR_BASE), 0x67, 0x8b);
  setSegmentCache(cpu, LDTR, 0, 0, 0, 0);
  cpu.gdtBase = v.get(F.HOST_GDTR_BASE);
  cpu.gdtLimit = 0xffff;
  cpu.idtBase = v.get(F.HOST_IDTR_BASE);
  cpu.idtLimit = 0xffff;
  cpu.regs[ESP] = v.get(F.HOST_RSP);
  cpu.eip = v.get(F.HOST_RIP);
  cpu.setFlags(2);
  cpu.setCpl(0);
  cpu.interruptShadow = false;
  cpu.ssShadow = false;
  cpu.heldDebug = 0;
  cpu.halted = false;
  cpu.refreshBreakpoints();
  cpu.refreshAccessMode();
  if (cpu.vmx.tlbVpid < 0) cpu.flushTlb(true);
  cpu.exitBlock = true;
  if (!hostPdptesLoaded) vmxAbort(cpu, VMX_ABORT_LOADING_HOST_PDPTES);
  if (cpu.vmx.embedderHost) cpu.requestVmExitStop();
}
