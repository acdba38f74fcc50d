/**
 * VMLAUNCH / VMRESUME (SDM Vol. 3C ch. 26): the checks on the VMX controls
 * (VM-instruction error 7) and on the host-state area (error 8), the checks
 * on the guest-state area (a failed entry: exit reason 33 with bit 31 set)
 * and VM-entry MSR loading (reason 34), then loading the guest state,
 * switching the CPU to non-root operation and injecting the event in the
 * VM-entry interruption-information field.
 */
import type { Cpu } from '../cpu.ts';
import { CR0_PE, CR0_PG, ESP, IF, SS, VM, LDTR, TR } from '../regs.ts';
import { setSegmentCache } from '../segments.ts';
import { INT_EXCEPTION, INT_EXTERNAL, INT_ICEBP, INT_NMI, INT_SOFTWARE, INT_SOFTWARE_EXCEPTION } from '../interruptKinds.ts';
import { loadMsrList } from './msrLists.ts';
import * as C from './capabilities.ts';
import * as F from './vmcsFields.ts';
import { LAUNCH_STATE_CLEAR, LAUNCH_STATE_LAUNCHED, type Vmcs } from './vmcs.ts';
import { NO_VMCS, VM_FAIL_INVALID, type VmxResult } from './vmx.ts';
import { cr0Allowed, cr4Allowed, eptPointerValid, vmFail, type NonRootExit } from './operations.ts';
import { failedEntryExit, SEGMENT_FIELDS } from './exit.ts';
import { nonRootOps } from './nonRoot.ts';
import { Ept } from './ept.ts';
import { CR3_STORED } from '../paeControl.ts';
import { loadGuestPdptes } from './pdptes.ts';

/** Returned by a VM entry that reached the guest (or a failed-entry exit): flags are not the instruction's to set. */
export const VM_ENTERED: VmxResult = { ok: true };

const HW_EXCEPTION_WITH_CODE = (1 << 8) | (1 << 10) | (1 << 11) | (1 << 12) | (1 << 13) | (1 << 14) | (1 << 17);
const TYPE_TO_KIND = [INT_EXTERNAL, -1, INT_NMI, INT_EXCEPTION, INT_SOFTWARE, INT_ICEBP, INT_SOFTWARE_EXCEPTION, -1];

export function vmEntry(cpu: Cpu, launch: boolean, exitNonRoot: NonRootExit): VmxResult {
  const vmx = cpu.vmx;
  if (!vmx.inVmxOperation || (cpu.cr0 & CR0_PE) === 0 || (cpu.flags & VM) !== 0) cpu.raiseUD();
  if (vmx.nonRoot) exitNonRoot();
  if (cpu.cpl > 0) cpu.raiseGP(0);
  if (vmx.currentVmcsPointer === NO_VMCS) return VM_FAIL_INVALID;
  const v = vmx.vmcs;
  if (launch && v.launchState !== LAUNCH_STATE_CLEAR) return vmFail(cpu, F.VMERR_VMLAUNCH_NONCLEAR_VMCS);
  if (!launch && v.launchState !== LAUNCH_STATE_LAUNCHED) return vmFail(cpu, F.VMERR_VMRESUME_NONLAUNCHED_VMCS);
  if (!controlsValid(v)) return vmFail(cpu, F.VMERR_ENTRY_INVALID_CONTROL_FIELD);
  if (!hostStateValid(v)) return vmFail(cpu, F.VMERR_ENTRY_INVALID_HOST_STATE_FIELD);
  vmx.exitControls = v.get(F.VM_EXIT_CONTROLS);
  const guestFailure = guestStateFailure(cpu, v);
  if (guestFailure >= 0) {
    failedEntryExit(cpu, F.EXIT_REASON_INVALID_GUEST_STATE, guestFailure);
    return VM_ENTERED;
  }
  if (!loadGuestPdptes(cpu, v)) {
    failedEntryExit(cpu, F.EXIT_REASON_INVALID_GUEST_STATE, F.ENTRY_FAIL_PDPTE);
    return VM_ENTERED;
  }
  loadGuestState(cpu);
  const msrFailure = loadMsrList(cpu, v.get(F.VM_ENTRY_MSR_LOAD_ADDR), v.get(F.VM_ENTRY_MSR_LOAD_COUNT));
  if (msrFailure > 0) {
    // Guest state is loaded but the entry fails: back to the host as after any failed entry.
    failedEntryExit(cpu, F.EXIT_REASON_MSR_LOAD_FAIL, msrFailure);
    return VM_ENTERED;
  }
  if (launch) v.launchState = LAUNCH_STATE_LAUNCHED;
  enterNonRoot(cpu);
  injectEvent(cpu);
  return VM_ENTERED;
}

/** The secondary controls in effect (0 unless the primary controls activate them). */
function secondaryControls(v: Vmcs): number {
  return (v.get(F.CPU_BASED_VM_EXEC_CONTROL) & F.CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) !== 0 ? v.get(F.SECONDARY_VM_EXEC_CONTROL) : 0;
}

const aligned4k = (lo: number, hi: number): boolean => (lo & 0xfff) === 0 && hi === 0;

/** A VM-exit/entry MSR area: 16-byte aligned and inside the 32-bit physical space. */
function msrAreaValid(v: Vmcs, addrField: number, countField: number): boolean {
  const count = v.get(countField) >>> 0;
  if (count === 0) return true;
  const lo = v.get(addrField) >>> 0;
  return (lo & 0xf) === 0 && v.getHigh(addrField) === 0 && lo + count * 16 - 1 <= 0xffff_ffff;
}

/** SDM 26.2.1: checks on the VM-execution, VM-exit and VM-entry controls. */
function controlsValid(v: Vmcs): boolean {
  const pin = v.get(F.PIN_BASED_VM_EXEC_CONTROL);
  const proc = v.get(F.CPU_BASED_VM_EXEC_CONTROL);
  if (!C.controlsValid(pin, C.PIN_TRUE_ALLOWED0, C.PIN_ALLOWED1)) return false;
  if (!C.controlsValid(proc, C.PROC_TRUE_ALLOWED0, C.PROC_ALLOWED1)) return false;
  const proc2 = secondaryControls(v);
  if (!C.controlsValid(proc2, 0, C.PROC2_ALLOWED1)) return false;
  if ((pin & F.PIN_BASED_NMI_EXITING) === 0 && (pin & F.PIN_BASED_VIRTUAL_NMIS) !== 0) return false;
  if ((pin & F.PIN_BASED_VIRTUAL_NMIS) === 0 && (proc & F.CPU_BASED_VIRTUAL_NMI_PENDING) !== 0) return false;
  if ((v.get(F.CR3_TARGET_COUNT) >>> 0) > C.CR3_TARGET_MAX) return false;
  if ((proc & F.CPU_BASED_USE_IO_BITMAPS) !== 0
    && (!aligned4k(v.get(F.IO_BITMAP_A), v.getHigh(F.IO_BITMAP_A)) || !aligned4k(v.get(F.IO_BITMAP_B), v.getHigh(F.IO_BITMAP_B)))) return false;
  if ((proc & F.CPU_BASED_USE_MSR_BITMAPS) !== 0 && !aligned4k(v.get(F.MSR_BITMAP), v.getHigh(F.MSR_BITMAP))) return false;
  if ((proc2 & F.SECONDARY_EXEC_ENABLE_EPT) !== 0 && !eptPointerValid(v.get(F.EPT_POINTER), v.getHigh(F.EPT_POINTER))) return false;
  if ((proc2 & F.SECONDARY_EXEC_ENABLE_VPID) !== 0 && v.get(F.VIRTUAL_PROCESSOR_ID) === 0) return false;
  if ((proc2 & F.SECONDARY_EXEC_UNRESTRICTED_GUEST) !== 0 && (proc2 & F.SECONDARY_EXEC_ENABLE_EPT) === 0) return false;
  const exit = v.get(F.VM_EXIT_CONTROLS);
  if (!C.controlsValid(exit, C.EXIT_TRUE_ALLOWED0, C.EXIT_ALLOWED1)) return false;
  if ((pin & F.PIN_BASED_VMX_PREEMPTION_TIMER) === 0 && (exit & F.VM_EXIT_SAVE_VMX_PREEMPTION_TIMER) !== 0) return false;
  if (!msrAreaValid(v, F.VM_EXIT_MSR_STORE_ADDR, F.VM_EXIT_MSR_STORE_COUNT)) return false;
  if (!msrAreaValid(v, F.VM_EXIT_MSR_LOAD_ADDR, F.VM_EXIT_MSR_LOAD_COUNT)) return false;
  const entry = v.get(F.VM_ENTRY_CONTROLS);
  if (!C.controlsValid(entry, C.ENTRY_TRUE_ALLOWED0, C.ENTRY_ALLOWED1)) return false;
  if (!msrAreaValid(v, F.VM_ENTRY_MSR_LOAD_ADDR, F.VM_ENTRY_MSR_LOAD_COUNT)) return false;
  return injectionValid(v, proc2);
}

/** SDM 26.2.1.3: the VM-entry interruption-information field and its companions. */
function injectionValid(v: Vmcs, proc2: number): boolean {
  const info = v.get(F.VM_ENTRY_INTR_INFO_FIELD);
  if ((info & F.INTR_INFO_VALID) === 0) return true;
  const type = (info >>> 8) & 7;
  const vector = info & 0xff;
  if (type === 1 || type === 7) return false; // reserved; "other event" needs the monitor trap flag
  if (type === F.INTR_TYPE_NMI && vector !== 2) return false;
  if (type === F.INTR_TYPE_HARD_EXCEPTION && vector > 31) return false;
  const realModeGuest = (proc2 & F.SECONDARY_EXEC_UNRESTRICTED_GUEST) !== 0 && (v.get(F.GUEST_CR0) & CR0_PE) === 0;
  const needsCode = !realModeGuest && type === F.INTR_TYPE_HARD_EXCEPTION && ((HW_EXCEPTION_WITH_CODE >>> vector) & 1) !== 0;
  if (((info & F.INTR_INFO_DELIVER_CODE) !== 0) !== needsCode) return false;
  if ((info & 0x7fff_f000) !== 0) return false;
  if (needsCode && (v.get(F.VM_ENTRY_EXCEPTION_ERROR_CODE) & 0xffff_0000) !== 0) return false;
  if (type >= F.INTR_TYPE_SOFT_INTR) {
    const len = v.get(F.VM_ENTRY_INSTRUCTION_LEN) >>> 0;
    if (len < 1 || len > 15) return false; // zero-length injection (MISC bit 30) is not supported
  }
  return true;
}

/** SDM 26.2.2-26.2.3: host control registers and selectors (this IA-32 host is always 32-bit). */
function hostStateValid(v: Vmcs): boolean {
  if (!cr0Allowed(v.get(F.HOST_CR0), false) || !cr4Allowed(v.get(F.HOST_CR4))) return false;
  for (const f of [F.HOST_ES_SELECTOR, F.HOST_CS_SELECTOR, F.HOST_SS_SELECTOR, F.HOST_DS_SELECTOR, F.HOST_FS_SELECTOR, F.HOST_GS_SELECTOR, F.HOST_TR_SELECTOR]) {
    if ((v.get(f) & 7) !== 0) return false; // RPL and TI must be 0
  }
  return v.get(F.HOST_CS_SELECTOR) !== 0 && v.get(F.HOST_TR_SELECTOR) !== 0 && v.get(F.HOST_SS_SELECTOR) !== 0;
}

/** Limit and granularity agree: limit[11:0] not all ones needs G = 0, limit[31:20] non-zero needs G = 1. */
function limitMatchesGranularity(limit: number, ar: number): boolean {
  const g = (ar & 0x8000) !== 0;
  if ((limit & 0xfff) !== 0xfff && g) return false;
  if ((limit >>> 20) !== 0 && !g) return false;
  return true;
}

const AR_RESERVED = 0xfffe_0f00; // bits 11:8 and 31:17

/** SDM 26.3.1: the guest-state checks. Returns the exit qualification of the failure, or -1 when all pass. */
function guestStateFailure(cpu: Cpu, v: Vmcs): number {
  const proc2 = secondaryControls(v);
  const unrestricted = (proc2 & F.SECONDARY_EXEC_UNRESTRICTED_GUEST) !== 0;
  const cr0 = v.get(F.GUEST_CR0);
  const fail = F.ENTRY_FAIL_DEFAULT;
  if (!cr0Allowed(cr0, unrestricted) || ((cr0 & CR0_PG) !== 0 && (cr0 & CR0_PE) === 0)) return fail;
  if (!cr4Allowed(v.get(F.GUEST_CR4))) return fail;
  const rflags = v.get(F.GUEST_RFLAGS);
  if ((rflags & 0xffc0_8028) !== 0 || (rflags & 2) === 0) return fail; // bits 31:22, 15, 5, 3 reserved; bit 1 set
  const info = v.get(F.VM_ENTRY_INTR_INFO_FIELD);
  const injecting = (info & F.INTR_INFO_VALID) !== 0;
  const injectType = (info >>> 8) & 7;
  if (injecting && injectType === F.INTR_TYPE_EXT_INTR && (rflags & IF) === 0) return fail;
  const sel = (s: number): number => v.get(SEGMENT_FIELDS[s][0]);
  const base = (s: number): number => v.get(SEGMENT_FIELDS[s][1]);
  const limit = (s: number): number => v.get(SEGMENT_FIELDS[s][2]) >>> 0;
  const ar = (s: number): number => v.get(SEGMENT_FIELDS[s][3]) >>> 0;
  const usable = (s: number): boolean => (ar(s) & F.AR_UNUSABLE) === 0;
  const dpl = (s: number): number => (ar(s) >>> 5) & 3;
  const CS_ = 1, SS_ = 2;
  if ((sel(TR) & 4) !== 0) return fail;
  if (usable(LDTR) && (sel(LDTR) & 4) !== 0) return fail;
  const v86 = (rflags & VM) !== 0;
  if (!v86 && !unrestricted && (sel(SS_) & 3) !== (sel(CS_) & 3)) return fail;
  if (v86) {
    for (let s = 0; s < 6; s++) {
      if (base(s) !== sel(s) << 4 || limit(s) !== 0xffff || ar(s) !== 0xf3) return fail;
    }
  } else {
    const csType = ar(CS_) & 0xf;
    if (!(csType === 9 || csType === 11 || csType === 13 || csType === 15 || (unrestricted && csType === 3))) return fail;
    if ((ar(CS_) & 0x10) === 0 || (ar(CS_) & 0x80) === 0 || (ar(CS_) & AR_RESERVED) !== 0) return fail;
    if (csType === 3 && dpl(CS_) !== 0) return fail;
    if ((csType === 9 || csType === 11) && dpl(CS_) !== dpl(SS_)) return fail;
    if ((csType === 13 || csType === 15) && dpl(CS_) > dpl(SS_)) return fail;
    if (!limitMatchesGranularity(limit(CS_), ar(CS_))) return fail;
    if (usable(SS_)) {
      const t = ar(SS_) & 0xf;
      if ((t !== 3 && t !== 7) || (ar(SS_) & 0x10) === 0 || (ar(SS_) & 0x80) === 0 || (ar(SS_) & AR_RESERVED) !== 0) return fail;
      if (!limitMatchesGranularity(limit(SS_), ar(SS_))) return fail;
    }
    if (!unrestricted && dpl(SS_) !== (sel(SS_) & 3)) return fail;
    if ((csType === 3 || (cr0 & CR0_PE) === 0) && dpl(SS_) !== 0) return fail;
    for (const s of [0, 3, 4, 5]) { // ES, DS, FS, GS
      if (!usable(s)) continue;
      const a = ar(s);
      const t = a & 0xf;
      if ((t & 1) === 0 || ((t & 8) !== 0 && (t & 2) === 0)) return fail; // accessed; code must be readable
      if ((a & 0x10) === 0 || (a & 0x80) === 0 || (a & AR_RESERVED) !== 0) return fail;
      if (!unrestricted && t <= 11 && dpl(s) < (sel(s) & 3)) return fail;
      if (!limitMatchesGranularity(limit(s), a)) return fail;
    }
  }
  const trType = ar(TR) & 0xf;
  if ((trType !== 11 && trType !== 3) || (ar(TR) & 0x10) !== 0 || (ar(TR) & 0x80) === 0 || (ar(TR) & AR_RESERVED) !== 0
    || !usable(TR) || !limitMatchesGranularity(limit(TR), ar(TR))) return fail;
  if (usable(LDTR)) {
    const a = ar(LDTR);
    if ((a & 0xf) !== 2 || (a & 0x10) !== 0 || (a & 0x80) === 0 || (a & AR_RESERVED) !== 0 || !limitMatchesGranularity(limit(LDTR), a)) return fail;
  }
  if ((v.get(F.GUEST_GDTR_LIMIT) >>> 16) !== 0 || (v.get(F.GUEST_IDTR_LIMIT) >>> 16) !== 0) return fail;
  const activity = v.get(F.GUEST_ACTIVITY_STATE) >>> 0;
  if (activity > F.GUEST_ACTIVITY_HLT) return fail; // shutdown and wait-for-SIPI are not supported
  if (activity === F.GUEST_ACTIVITY_HLT && dpl(SS_) !== 0) return fail;
  const intr = v.get(F.GUEST_INTERRUPTIBILITY_INFO) >>> 0;
  if ((intr & ~0xf) !== 0) return fail;
  const sti = (intr & F.GUEST_INTR_STATE_STI) !== 0, movSs = (intr & F.GUEST_INTR_STATE_MOV_SS) !== 0;
  if (sti && movSs) return fail;
  if (sti && (rflags & IF) === 0) return fail;
  if ((intr & F.GUEST_INTR_STATE_SMI) !== 0) return fail; // not in SMM
  if (injecting && injectType === F.INTR_TYPE_EXT_INTR && (sti || movSs)) return fail;
  if (injecting && injectType === F.INTR_TYPE_NMI && movSs) return fail;
  if ((v.get(F.GUEST_PENDING_DBG_EXCEPTIONS) & ~0x500f) !== 0 || v.getHigh(F.GUEST_PENDING_DBG_EXCEPTIONS) !== 0) return fail;
  const linkLo = v.get(F.VMCS_LINK_POINTER), linkHi = v.getHigh(F.VMCS_LINK_POINTER);
  if (linkLo !== -1 || linkHi !== -1) {
    // Not all ones: it must name a VMCS region (VMCS shadowing is not supported, so never a shadow one).
    if (!aligned4k(linkLo, linkHi) || (cpu.bus.read32(linkLo) >>> 0) !== C.VMCS_REVISION_ID) return F.ENTRY_FAIL_VMCS_LINK_PTR;
  }
  return -1;
}

/** Loads guest state from the VMCS (SDM 26.3.2). */
function loadGuestState(cpu: Cpu): void {
  const vmx = cpu.vmx;
  const v = vmx.vmcs;
  cpu.cr0 = v.get(F.GUEST_CR0) | 0x10; // ET is hardwired
  cpu.cr3 = v.get(F.GUEST_CR3) & CR3_STORED;
  cpu.cr4 = v.get(F.GUEST_CR4);
  if ((v.get(F.VM_ENTRY_CONTROLS) & F.VM_ENTRY_LOAD_DEBUG_CONTROLS) !== 0) cpu.dr[7] = v.get(F.GUEST_DR7);
  cpu.setFlags(v.get(F.GUEST_RFLAGS));
  for (let s = 0; s < 8; s++) {
    const [sel, base, limit, ar] = SEGMENT_FIELDS[s];
    const a = v.get(ar);
    setSegmentCache(cpu, s, v.get(sel), v.get(base), v.get(limit), (a & F.AR_UNUSABLE) !== 0 ? 0 : a & 0xf0ff);
  }
  cpu.gdtBase = v.get(F.GUEST_GDTR_BASE);
  cpu.gdtLimit = v.get(F.GUEST_GDTR_LIMIT) & 0xffff;
  cpu.idtBase = v.get(F.GUEST_IDTR_BASE);
  cpu.idtLimit = v.get(F.GUEST_IDTR_LIMIT) & 0xffff;
  cpu.regs[ESP] = v.get(F.GUEST_RSP);
  cpu.eip = v.get(F.GUEST_RIP);
  cpu.setCpl((cpu.flags & VM) !== 0 ? 3 : (cpu.segAttr[SS] >>> 5) & 3);
  const intr = v.get(F.GUEST_INTERRUPTIBILITY_INFO);
  cpu.interruptShadow = (intr & (F.GUEST_INTR_STATE_STI | F.GUEST_INTR_STATE_MOV_SS)) !== 0;
  cpu.ssShadow = (intr & F.GUEST_INTR_STATE_MOV_SS) !== 0;
  cpu.heldDebug = cpu.ssShadow ? v.get(F.GUEST_PENDING_DBG_EXCEPTIONS) & 0x400f : 0;
  cpu.nmiBlocked = (intr & F.GUEST_INTR_STATE_NMI) !== 0;
  cpu.halted = v.get(F.GUEST_ACTIVITY_STATE) === F.GUEST_ACTIVITY_HLT;
  cpu.refreshBreakpoints();
  cpu.refreshAccessMode();
}

/** Caches the controls the running guest needs and switches the CPU to non-root operation. */
function enterNonRoot(cpu: Cpu): void {
  const vmx = cpu.vmx;
  const v = vmx.vmcs;
  vmx.pin = v.get(F.PIN_BASED_VM_EXEC_CONTROL);
  vmx.proc = v.get(F.CPU_BASED_VM_EXEC_CONTROL);
  vmx.proc2 = secondaryControls(v);
  vmx.exitControls = v.get(F.VM_EXIT_CONTROLS);
  vmx.exceptionBitmap = v.get(F.EXCEPTION_BITMAP);
  vmx.pfecMask = v.get(F.PAGE_FAULT_ERROR_CODE_MASK);
  vmx.pfecMatch = v.get(F.PAGE_FAULT_ERROR_CODE_MATCH);
  vmx.cr0Mask = v.get(F.CR0_GUEST_HOST_MASK);
  vmx.cr0Shadow = v.get(F.CR0_READ_SHADOW);
  vmx.cr4Mask = v.get(F.CR4_GUEST_HOST_MASK);
  vmx.cr4Shadow = v.get(F.CR4_READ_SHADOW);
  vmx.tscOffset = v.getHigh(F.TSC_OFFSET) * 0x1_0000_0000 + (v.get(F.TSC_OFFSET) >>> 0);
  vmx.ioBitmapA = v.get(F.IO_BITMAP_A) >>> 0;
  vmx.ioBitmapB = v.get(F.IO_BITMAP_B) >>> 0;
  vmx.msrBitmap = v.get(F.MSR_BITMAP) >>> 0;
  vmx.cr3TargetCount = v.get(F.CR3_TARGET_COUNT);
  vmx.vectoringInfo = 0;
  vmx.injecting = false;
  vmx.nonRoot = true;
  vmx.ept = (vmx.proc2 & F.SECONDARY_EXEC_ENABLE_EPT) !== 0 ? new Ept(cpu, v.get(F.EPT_POINTER)) : null;
  cpu.pageTables = vmx.ept ?? cpu;
  cpu.seam = nonRootOps;
  vmx.preemptionDeadline = (vmx.pin & F.PIN_BASED_VMX_PREEMPTION_TIMER) !== 0
    ? cpu.clock.tsc() + (v.get(F.VMX_PREEMPTION_TIMER_VALUE) >>> 0) * (1 << C.PREEMPTION_TIMER_SHIFT)
    : Infinity;
  // External-interrupt exiting ignores the guest's IF; interrupt-window exiting and the preemption
  // timer need the run loop to ask between blocks even without an INTR.
  const anyIf = (vmx.pin & (F.PIN_BASED_EXT_INTR_MASK | F.PIN_BASED_VMX_PREEMPTION_TIMER)) !== 0
    || (vmx.proc & F.CPU_BASED_VIRTUAL_NMI_PENDING) !== 0;
  cpu.intrMask = anyIf ? -1 : IF;
  vmx.savedPollIntr = cpu.pollIntr;
  if ((vmx.proc & (F.CPU_BASED_VIRTUAL_INTR_PENDING | F.CPU_BASED_VIRTUAL_NMI_PENDING)) !== 0
    || (vmx.pin & F.PIN_BASED_VMX_PREEMPTION_TIMER) !== 0) cpu.pollIntr = true;
  const sameTranslations = (vmx.proc2 & F.SECONDARY_EXEC_ENABLE_VPID) !== 0 && vmx.tlbVpid === v.get(F.VIRTUAL_PROCESSOR_ID)
    && vmx.tlbEptp === v.get(F.EPT_POINTER) && vmx.tlbCr3 === cpu.cr3;
  if (!sameTranslations) cpu.flushTlb(true);
  vmx.tlbVpid = -1;
  cpu.exitBlock = true;
}

/** Delivers the event of the VM-entry interruption-information field through the guest IDT (SDM 26.6). */
function injectEvent(cpu: Cpu): void {
  const vmx = cpu.vmx;
  const v = vmx.vmcs;
  const info = v.get(F.VM_ENTRY_INTR_INFO_FIELD);
  if ((info & F.INTR_INFO_VALID) === 0) return;
  const type = (info >>> 8) & 7;
  const kind = TYPE_TO_KIND[type];
  const hasCode = (info & F.INTR_INFO_DELIVER_CODE) !== 0;
  vmx.injectLength = 0;
  if (type >= F.INTR_TYPE_SOFT_INTR) {
    const len = v.get(F.VM_ENTRY_INSTRUCTION_LEN);
    vmx.injectLength = len;
    cpu.eip = cpu.cs32 ? (cpu.eip + len) | 0 : (cpu.eip + len) & 0xffff;
  }
  if (kind === INT_NMI) cpu.nmiBlocked = true;
  vmx.injecting = true;
  cpu.deliver(info & 0xff, kind, hasCode ? v.get(F.VM_ENTRY_EXCEPTION_ERROR_CODE) : 0, hasCode);
  vmx.injecting = false;
}
