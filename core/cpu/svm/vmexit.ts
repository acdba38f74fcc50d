/**
 * #VMEXIT (APM Vol. 2 §15.6): recording EXITCODE, EXITINFO1/2, EXITINTINFO
 * and nRIP, saving the guest state into the VMCB and reloading the host
 * state VMRUN kept; GIF is cleared. Intercepts caused by an instruction or
 * by an access during it unwind that instruction first (`raiseSvmExit`
 * throws VM_EXIT_VECTOR as a CPU fault, as VMX does, so EIP is back on the
 * instruction and the guest seam's `interrupt` completes the exit); exits
 * between instructions (interrupts, shutdown) call `takeSvmExit`.
 */
import type { Cpu } from '../cpu.ts';
import { bareMetal } from '../seam.ts';
import { setSegmentCache } from '../segments.ts';
import { CR0_PE, EAX, ESP, VM } from '../regs.ts';
import { VM_EXIT_VECTOR } from '../vmx/vmx.ts';
import * as B from './vmcb.ts';

export const rd32 = (cpu: Cpu, vmcb: number, off: number): number => cpu.bus.read32((vmcb + off) >>> 0);
export const wr32 = (cpu: Cpu, vmcb: number, off: number, v: number): void => cpu.bus.write32((vmcb + off) >>> 0, v | 0);
/** A 32-bit value into a 64-bit field (high dword `hi`, 0 unless given). */
export const wr64 = (cpu: Cpu, vmcb: number, off: number, lo: number, hi = 0): void => {
  wr32(cpu, vmcb, off, lo);
  wr32(cpu, vmcb, off + 4, hi);
};

/** VMCB segment attributes (12 bits: type/S/DPL/P, AVL/L/D/G) from and to the CPU's cache format (flags in 15:12). */
export const fromVmcbAttr = (a: number): number => (a & 0xff) | ((a & 0xf00) << 4);
export const toVmcbAttr = (a: number): number => (a & 0xff) | ((a >>> 4) & 0xf00);

export function writeSegment(cpu: Cpu, vmcb: number, off: number, seg: number): void {
  wr32(cpu, vmcb, off, cpu.segSel[seg] | (toVmcbAttr(cpu.segAttr[seg]) << 16));
  wr32(cpu, vmcb, off + 4, cpu.segLimit[seg]);
  wr64(cpu, vmcb, off + 8, cpu.segBase[seg]);
}

export function readSegment(cpu: Cpu, vmcb: number, off: number, seg: number): void {
  const w = rd32(cpu, vmcb, off);
  setSegmentCache(cpu, seg, w & 0xffff, rd32(cpu, vmcb, off + 8), rd32(cpu, vmcb, off + 4), fromVmcbAttr(w >>> 16));
}

function record(cpu: Cpu, code: number, info1: number, info2: number, instruction: boolean): void {
  const svm = cpu.svm;
  svm.exitCode = code;
  svm.exitInfo1 = info1;
  svm.exitInfo2 = info2;
  svm.exitIsInstruction = instruction;
  svm.exitNextEip = cpu.eip; // the run loop has advanced EIP past the instruction
  svm.exitNeedsDecode = false;
}

/** An intercepted instruction (checked before it changes state): unwinds it; nRIP is the next instruction. */
export function raiseSvmExit(cpu: Cpu, code: number, info1 = 0, info2 = 0): never {
  record(cpu, code, info1, info2, true);
  cpu.svm.exitInfo1High = 0;
  return cpu.fault(VM_EXIT_VECTOR, 0, false);
}

/** An intercept during an access (#NPF): unwinds the instruction; no nRIP. exitInfo1High is the caller's. */
export function raiseSvmExitNoInstruction(cpu: Cpu, code: number, info1: number, info2: number): never {
  record(cpu, code, info1, info2, false);
  return cpu.fault(VM_EXIT_VECTOR, 0, false);
}

/** An intercept between instructions (INTR, NMI, VINTR, shutdown): completes at once. */
export function takeSvmExit(cpu: Cpu, code: number, info1 = 0, info2 = 0): void {
  record(cpu, code, info1, info2, false);
  cpu.svm.exitInfo1High = 0;
  completeSvmExit(cpu);
}

/** Writes the exit information and the guest state into the VMCB and returns to the host. */
export function completeSvmExit(cpu: Cpu): void {
  const svm = cpu.svm;
  const v = svm.vmcb;
  const code = svm.exitCode;
  wr64(cpu, v, B.VMCB_EXITCODE, code, code < 0 ? -1 : 0);
  wr64(cpu, v, B.VMCB_EXITINFO1, svm.exitInfo1, svm.exitInfo1High);
  wr64(cpu, v, B.VMCB_EXITINFO2, svm.exitInfo2);
  if ((svm.intInfo & B.EVENT_VALID) !== 0) wr64(cpu, v, B.VMCB_EXITINTINFO, svm.intInfo, svm.intErrorCode);
  else wr64(cpu, v, B.VMCB_EXITINTINFO, 0);
  wr32(cpu, v, B.VMCB_EVENTINJ, rd32(cpu, v, B.VMCB_EVENTINJ) & ~B.EVENT_VALID);
  // nRIP (advertised NRIPS): the next instruction for instruction intercepts, 0 for the others.
  wr64(cpu, v, B.VMCB_NRIP, svm.exitIsInstruction ? svm.exitNextEip : 0);
  saveGuestState(cpu);
  leaveGuest(cpu, true);
  loadHostState(cpu);
}

/** VMRUN's consistency checks failed (APM 15.5.1): EXITCODE VMEXIT_INVALID, GIF 0, the host continues. */
export function invalidVmrunExit(cpu: Cpu): void {
  const svm = cpu.svm;
  const v = svm.vmcb;
  wr64(cpu, v, B.VMCB_EXITCODE, B.VMEXIT_INVALID, -1);
  wr64(cpu, v, B.VMCB_EXITINFO1, 0);
  wr64(cpu, v, B.VMCB_EXITINFO2, 0);
  wr64(cpu, v, B.VMCB_EXITINTINFO, 0);
  svm.gif = false;
  cpu.intrMask = 0;
}

function saveGuestState(cpu: Cpu): void {
  const svm = cpu.svm;
  const v = svm.vmcb;
  for (let s = 0; s < 4; s++) writeSegment(cpu, v, B.VMCB_ES + 16 * s, s); // ES CS SS DS
  wr32(cpu, v, B.VMCB_GDTR + 4, cpu.gdtLimit);
  wr64(cpu, v, B.VMCB_GDTR + 8, cpu.gdtBase);
  wr32(cpu, v, B.VMCB_IDTR + 4, cpu.idtLimit);
  wr64(cpu, v, B.VMCB_IDTR + 8, cpu.idtBase);
  wr64(cpu, v, B.VMCB_EFER, svm.efer);
  wr64(cpu, v, B.VMCB_CR0, cpu.cr0);
  wr64(cpu, v, B.VMCB_CR2, cpu.cr2);
  wr64(cpu, v, B.VMCB_CR3, cpu.cr3);
  wr64(cpu, v, B.VMCB_CR4, cpu.cr4);
  wr64(cpu, v, B.VMCB_DR6, cpu.dr[6] | 0xffff_0ff0);
  wr64(cpu, v, B.VMCB_DR7, (cpu.dr[7] & ~0xd800) | 0x400);
  wr64(cpu, v, B.VMCB_RFLAGS, cpu.getFlags());
  wr64(cpu, v, B.VMCB_RIP, cpu.eip);
  wr64(cpu, v, B.VMCB_RSP, cpu.regs[ESP]);
  wr64(cpu, v, B.VMCB_RAX, cpu.regs[EAX]);
  cpu.bus.write8((v + B.VMCB_CPL) >>> 0, cpu.cpl);
  const vintr = rd32(cpu, v, B.VMCB_VINTR) & ~(0xff | B.V_IRQ);
  wr32(cpu, v, B.VMCB_VINTR, vintr | (svm.vTpr & 0xff) | (svm.vIrq ? B.V_IRQ : 0));
  wr64(cpu, v, B.VMCB_INTERRUPT_SHADOW, cpu.interruptShadow ? 1 : 0);
}

/** Host mode again: the bare seam, no nested paging, GIF 0 (interrupts held until STGI or the next VMRUN). */
function leaveGuest(cpu: Cpu, mayKeepTlb: boolean): void {
  const svm = cpu.svm;
  svm.guest = false;
  svm.gif = false;
  svm.npt = null;
  svm.injecting = false;
  svm.intInfo = 0;
  svm.intErrorCode = 0;
  cpu.seam = bareMetal;
  cpu.pageTables = cpu;
  cpu.intrMask = 0;
  cpu.pollIntr = svm.savedPollIntr;
  if (mayKeepTlb && svm.embedderHost) {
    // The TypeScript host runs no x86 code: the guest's TLB entries stay, tagged (svm.ts).
    svm.tlbAsid = svm.asid;
    svm.tlbNCr3 = svm.nCr3;
    svm.tlbCr3 = cpu.cr3;
  } else {
    svm.tlbAsid = -1;
  }
}

function loadHostState(cpu: Cpu): void {
  const svm = cpu.svm;
  const h = svm.host;
  svm.efer = h.efer;
  cpu.cr0 = h.cr0 | CR0_PE;
  cpu.cr3 = h.cr3;
  cpu.cr4 = h.cr4;
  cpu.setFlags(h.eflags & ~VM);
  for (let s = 0; s < 4; s++) setSegmentCache(cpu, s, h.sel[s], h.base[s], h.limit[s], h.attr[s]);
  cpu.gdtBase = h.gdtBase;
  cpu.gdtLimit = h.gdtLimit;
  cpu.idtBase = h.idtBase;
  cpu.idtLimit = h.idtLimit;
  cpu.dr[7] = 0x400;
  cpu.eip = h.eip;
  cpu.regs[ESP] = h.esp;
  cpu.regs[EAX] = h.eax;
  cpu.setCpl(0);
  cpu.interruptShadow = false;
  cpu.ssShadow = false;
  cpu.heldDebug = 0;
  cpu.halted = false;
  cpu.refreshBreakpoints();
  cpu.refreshAccessMode();
  if (svm.tlbAsid < 0) cpu.flushTlb(true);
  cpu.exitBlock = true;
  if (svm.embedderHost) cpu.requestVmExitStop();
}
