/**
 * VMRUN (APM Vol. 2 §15.5): saves the host state, reads the VMCB's control
 * area, makes the consistency checks of §15.5.1 (any failure is #VMEXIT
 * with EXITCODE VMEXIT_INVALID and the host continues), loads the guest
 * state, enters guest mode with GIF set, and injects the EVENTINJ event.
 * The caller (the instruction, or rootOps for a TypeScript host) has made
 * the instruction's own checks (#UD, #GP, the VMRUN intercept).
 */
import type { Cpu } from '../cpu.ts';
import { CR0_CD, CR0_NW, CR0_PE, CR0_PG, CR4_IMPLEMENTED, EAX, ESP, EXC_BP, EXC_OF, IF, SS, VM } from '../regs.ts';
import { INT_EXCEPTION, INT_EXTERNAL, INT_NMI, INT_SOFTWARE, INT_SOFTWARE_EXCEPTION } from '../interrupts.ts';
import { setSegmentCache } from '../segments.ts';
import * as B from './vmcb.ts';
import { fromVmcbAttr, invalidVmrunExit, rd32 } from './vmexit.ts';
import { Npt } from './npt.ts';
import { svmGuestOps, refreshGuestInterruptPolling } from './guestOps.ts';

const L_BIT = 1 << 9, D_BIT = 1 << 10; // VMCB attribute bits of CS

/** Saves the host state (EIP: where the host continues after #VMEXIT). */
function saveHostState(cpu: Cpu): void {
  const h = cpu.svm.host;
  for (let s = 0; s < 4; s++) {
    h.sel[s] = cpu.segSel[s];
    h.base[s] = cpu.segBase[s];
    h.limit[s] = cpu.segLimit[s];
    h.attr[s] = cpu.segAttr[s];
  }
  h.gdtBase = cpu.gdtBase;
  h.gdtLimit = cpu.gdtLimit;
  h.idtBase = cpu.idtBase;
  h.idtLimit = cpu.idtLimit;
  h.efer = cpu.svm.efer;
  h.cr0 = cpu.cr0;
  h.cr3 = cpu.cr3;
  h.cr4 = cpu.cr4;
  h.eflags = cpu.getFlags();
  h.eip = cpu.eip;
  h.esp = cpu.regs[ESP];
  h.eax = cpu.regs[EAX];
}

/** The §15.5.1 checks this processor can fail (no long mode, 32-bit physical addresses). */
function consistent(cpu: Cpu, v: number): boolean {
  const r = (off: number) => rd32(cpu, v, off);
  if ((r(B.VMCB_INTERCEPT_MISC2) & B.INTERCEPT_VMRUN) === 0) return false;
  if (r(B.VMCB_GUEST_ASID) === 0) return false;
  // The IOPM and MSRPM (4 KiB aligned: bits 11:0 ignored) must lie below the maximum physical address.
  const iopm = (r(B.VMCB_IOPM_BASE_PA) & ~0xfff) >>> 0, msrpm = (r(B.VMCB_MSRPM_BASE_PA) & ~0xfff) >>> 0;
  if (r(B.VMCB_IOPM_BASE_PA + 4) !== 0 || iopm + B.IOPM_SIZE > 0x1_0000_0000) return false;
  if (r(B.VMCB_MSRPM_BASE_PA + 4) !== 0 || msrpm + B.MSRPM_SIZE > 0x1_0000_0000) return false;
  // Nested paging needs the host's paging on (its tables are in the host's format).
  if ((r(B.VMCB_NP_ENABLE) & 1) !== 0 && (cpu.cr0 & CR0_PG) === 0) return false;
  const efer = r(B.VMCB_EFER);
  if (r(B.VMCB_EFER + 4) !== 0 || (efer & ~B.EFER_SVME) !== 0 || (efer & B.EFER_SVME) === 0) return false;
  const cr0 = r(B.VMCB_CR0);
  if (r(B.VMCB_CR0 + 4) !== 0 || ((cr0 & CR0_NW) !== 0 && (cr0 & CR0_CD) === 0)) return false;
  // Paged real mode (PG without PE) is not modelled by this processor: refused as an illegal CR0.
  if ((cr0 & CR0_PG) !== 0 && (cr0 & CR0_PE) === 0) return false;
  if (r(B.VMCB_CR3 + 4) !== 0) return false;
  if (r(B.VMCB_CR4 + 4) !== 0 || (r(B.VMCB_CR4) & ~CR4_IMPLEMENTED) !== 0) return false;
  if (r(B.VMCB_DR6 + 4) !== 0 || r(B.VMCB_DR7 + 4) !== 0) return false;
  const csAttr = r(B.VMCB_CS) >>> 16;
  if ((csAttr & L_BIT) !== 0 && (csAttr & D_BIT) !== 0) return false;
  // Illegal event injection: reserved types, an "exception" that is the NMI vector or beyond 31.
  const inj = r(B.VMCB_EVENTINJ);
  if ((inj & B.EVENT_VALID) !== 0) {
    const type = (inj >>> 8) & 7, vector = inj & 0xff;
    if (type !== B.EVENT_TYPE_INTR && type !== B.EVENT_TYPE_NMI && type !== B.EVENT_TYPE_EXCEPTION && type !== B.EVENT_TYPE_SOFT_INT) return false;
    if (type === B.EVENT_TYPE_EXCEPTION && (vector === 2 || vector > 31)) return false;
  }
  return true;
}

function loadControls(cpu: Cpu, v: number): void {
  const svm = cpu.svm;
  const r = (off: number) => rd32(cpu, v, off);
  const cr = r(B.VMCB_INTERCEPT_CR), dr = r(B.VMCB_INTERCEPT_DR);
  svm.crRead = cr & 0xffff;
  svm.crWrite = cr >>> 16;
  svm.drRead = dr & 0xffff;
  svm.drWrite = dr >>> 16;
  svm.exceptions = r(B.VMCB_INTERCEPT_EXCEPTIONS);
  svm.misc1 = r(B.VMCB_INTERCEPT_MISC1);
  svm.misc2 = r(B.VMCB_INTERCEPT_MISC2);
  svm.iopm = (r(B.VMCB_IOPM_BASE_PA) & ~0xfff) >>> 0;
  svm.msrpm = (r(B.VMCB_MSRPM_BASE_PA) & ~0xfff) >>> 0;
  svm.tscOffset = r(B.VMCB_TSC_OFFSET + 4) * 0x1_0000_0000 + (r(B.VMCB_TSC_OFFSET) >>> 0);
  svm.asid = r(B.VMCB_GUEST_ASID);
  const vintr = r(B.VMCB_VINTR);
  svm.vTpr = vintr & 0xff;
  svm.vIrq = (vintr & B.V_IRQ) !== 0;
  svm.vIntrPrio = (vintr >>> B.V_INTR_PRIO_SHIFT) & 0xf;
  svm.vIgnTpr = (vintr & B.V_IGN_TPR) !== 0;
  svm.vIntrMasking = (vintr & B.V_INTR_MASKING) !== 0;
  svm.vIntrVector = r(B.VMCB_VINTR_VECTOR) & 0xff;
  // N_CR3 is 4 KiB aligned (the low bits are PWT/PCD, no memory types here); -1: nested paging off.
  svm.nCr3 = (r(B.VMCB_NP_ENABLE) & 1) !== 0 ? r(B.VMCB_N_CR3) & ~0xfff : -1;
}

function loadGuestState(cpu: Cpu, v: number): void {
  const svm = cpu.svm;
  const r = (off: number) => rd32(cpu, v, off);
  svm.efer = r(B.VMCB_EFER);
  cpu.cr0 = r(B.VMCB_CR0) | 0x10; // ET is hardwired
  cpu.cr2 = r(B.VMCB_CR2);
  cpu.cr3 = r(B.VMCB_CR3);
  cpu.cr4 = r(B.VMCB_CR4);
  cpu.dr[6] = r(B.VMCB_DR6);
  cpu.dr[7] = r(B.VMCB_DR7) | 0x400;
  cpu.setFlags(r(B.VMCB_RFLAGS));
  const real = (cpu.cr0 & CR0_PE) === 0;
  for (let s = 0; s < 4; s++) {
    const w = r(B.VMCB_ES + 16 * s);
    setSegmentCache(cpu, s, w & 0xffff, r(B.VMCB_ES + 16 * s + 8), r(B.VMCB_ES + 16 * s + 4), fromVmcbAttr(w >>> 16));
  }
  cpu.gdtLimit = r(B.VMCB_GDTR + 4) & 0xffff;
  cpu.gdtBase = r(B.VMCB_GDTR + 8);
  cpu.idtLimit = r(B.VMCB_IDTR + 4) & 0xffff;
  cpu.idtBase = r(B.VMCB_IDTR + 8);
  cpu.eip = r(B.VMCB_RIP);
  cpu.regs[ESP] = r(B.VMCB_RSP);
  cpu.regs[EAX] = r(B.VMCB_RAX);
  // CPL comes from the VMCB's CPL field (real mode: 0, virtual-8086 mode: 3); SS.DPL follows it.
  const cpl = real ? 0 : (cpu.flags & VM) !== 0 ? 3 : cpu.bus.read8((v + B.VMCB_CPL) >>> 0) & 3;
  cpu.segAttr[SS] = (cpu.segAttr[SS] & ~0x60) | (cpl << 5);
  cpu.setCpl(cpl);
  cpu.interruptShadow = (r(B.VMCB_INTERRUPT_SHADOW) & 1) !== 0;
  cpu.ssShadow = false;
  cpu.heldDebug = 0;
  cpu.halted = false;
  cpu.refreshBreakpoints();
  cpu.refreshAccessMode();
}

/**
 * VMRUN with the VMCB at `vmcb` (4 KiB aligned, checked by the caller).
 * Returns true when the guest runs, false after a VMEXIT_INVALID.
 */
export function vmrun(cpu: Cpu, vmcb: number): boolean {
  const svm = cpu.svm;
  svm.vmcb = vmcb >>> 0;
  saveHostState(cpu);
  if (!consistent(cpu, svm.vmcb)) {
    invalidVmrunExit(cpu);
    return false;
  }
  const hostCr4 = cpu.cr4;
  loadControls(cpu, svm.vmcb);
  const tlbControl = rd32(cpu, svm.vmcb, B.VMCB_TLB_CONTROL) & 0xff;
  loadGuestState(cpu, svm.vmcb);
  // One untagged TLB: it keeps entries only for the guest whose entries it holds (svm.ts), and only
  // when TLB_CONTROL asks for no flush; anything else flushes (more flushing is always allowed).
  const same = svm.tlbAsid === svm.asid && svm.tlbNCr3 === svm.nCr3 && svm.tlbCr3 === cpu.cr3 && tlbControl === B.TLB_CONTROL_DO_NOTHING;
  svm.tlbAsid = -1;
  if (!same) cpu.flushTlb(true);
  svm.hostIf = (svm.host.eflags & IF) !== 0;
  svm.npt = svm.nCr3 !== -1 ? new Npt(cpu, svm.nCr3, hostCr4) : null;
  cpu.pageTables = svm.npt ?? cpu;
  cpu.seam = svmGuestOps;
  svm.guest = true;
  svm.gif = true;
  svm.intInfo = 0;
  svm.savedPollIntr = cpu.pollIntr;
  refreshGuestInterruptPolling(cpu);
  cpu.exitBlock = true;
  injectEvent(cpu, svm.vmcb);
  return true;
}

/** EVENTINJ (APM 15.20): delivered through the guest IDT before the first guest instruction. */
function injectEvent(cpu: Cpu, v: number): void {
  const svm = cpu.svm;
  const inj = rd32(cpu, v, B.VMCB_EVENTINJ);
  if ((inj & B.EVENT_VALID) === 0) return;
  const type = (inj >>> 8) & 7;
  let vector = inj & 0xff;
  const hasCode = (inj & B.EVENT_EV) !== 0;
  const code = hasCode ? rd32(cpu, v, B.VMCB_EVENTINJ + 4) : 0;
  let kind: number;
  if (type === B.EVENT_TYPE_INTR) kind = INT_EXTERNAL;
  else if (type === B.EVENT_TYPE_NMI) {
    kind = INT_NMI;
    vector = 2;
    cpu.nmiBlocked = true;
  } else if (type === B.EVENT_TYPE_SOFT_INT) kind = INT_SOFTWARE;
  else kind = vector === EXC_BP || vector === EXC_OF ? INT_SOFTWARE_EXCEPTION : INT_EXCEPTION;
  cpu.halted = false;
  svm.injecting = true;
  cpu.deliver(vector, kind, code, hasCode);
  svm.injecting = false;
}
