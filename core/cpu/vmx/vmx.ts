/**
 * The VMX state of one logical processor (SDM Vol. 3C ch. 23-24): VMX
 * operation, the VMXON pointer, the current-VMCS pointer and its cached
 * VMCS, root or non-root operation, and what a VM exit in progress has
 * recorded. Plain state; the behaviour lives beside it (operations.ts,
 * entry.ts, exit.ts, nonRoot.ts, ept.ts).
 */
import { Vmcs } from './vmcs.ts';
import type { Ept } from './ept.ts';

/** The current-VMCS pointer when no VMCS is current (all ones). */
export const NO_VMCS = -1;
/**
 * The pseudo exception vector that unwinds an instruction (or an event
 * delivery) which causes a VM exit: thrown as a CPU fault so the instruction
 * is abandoned before it changes state and EIP is back at its first byte,
 * then completed by the non-root seam's `interrupt`.
 */
export const VM_EXIT_VECTOR = 0x100;

/** The result of a VMX instruction as software sees it (SDM §31.2 conventions). */
export type VmxResult = { ok: true } | { ok: false; kind: 'failInvalid' } | { ok: false; kind: 'failValid'; error: number };
export const VM_SUCCEED: VmxResult = { ok: true };
export const VM_FAIL_INVALID: VmxResult = { ok: false, kind: 'failInvalid' };

export class Vmx {
  /** IA32_FEATURE_CONTROL (cleared by RESET). */
  featureControl = 0;
  inVmxOperation = false;
  /** In VMX non-root operation (a guest is running). */
  nonRoot = false;
  /**
   * VMXON was executed through rootOps by a TypeScript host: VM exits end
   * `cpu.run` with STOP_VMEXIT instead of continuing at HOST_RIP.
   */
  embedderHost = false;
  vmxonPointer = 0;
  currentVmcsPointer = NO_VMCS;
  readonly vmcs = new Vmcs();

  // ---- controls of the running guest, cached at VM entry ----
  pin = 0;
  proc = 0;
  proc2 = 0;
  exitControls = 0;
  exceptionBitmap = 0;
  pfecMask = 0;
  pfecMatch = 0;
  cr0Mask = 0;
  cr0Shadow = 0;
  cr4Mask = 0;
  cr4Shadow = 0;
  /** TSC_OFFSET as a number (the guest's RDTSC adds it when "use TSC offsetting" is 1). */
  tscOffset = 0;
  ioBitmapA = 0;
  ioBitmapB = 0;
  msrBitmap = 0;
  cr3TargetCount = 0;
  /** TSC value at which the VMX-preemption timer reaches 0 (Infinity when not active). */
  preemptionDeadline = Infinity;
  ept: Ept | null = null;
  /**
   * Whose translations the CPU's TLB holds after a VM exit to a TypeScript
   * host with VPID enabled: that guest's VPID, EPTP and CR3 (tlbVpid -1:
   * nobody's, the next entry flushes). Such a host runs no x86 code in root
   * operation, so the guest's entries can stay across the exit and the next
   * entry of the same guest keeps them, as VPID-tagged entries survive VM
   * transitions (SDM 28.3.3.1). Any doubt (another VPID or EPTP, a changed
   * CR3) flushes, which is always allowed.
   */
  tlbVpid = -1;
  tlbEptp = 0;
  tlbCr3 = 0;
  /** cpu.pollIntr as it was before entry (interrupt-window exiting forces polling). */
  savedPollIntr = true;

  // ---- a VM exit being recorded ----
  exitReason = 0;
  exitQualification = 0;
  exitGuestLinear = 0;
  exitGuestPhysical = 0;
  exitIntrInfo = 0;
  exitIntrErrorCode = 0;
  exitInstructionInfo = 0;
  /** EIP after the exiting instruction, to compute VM_EXIT_INSTRUCTION_LEN (when exitHasLength). */
  exitNextEip = 0;
  exitHasLength = false;
  /** The exiting instruction's decoded form is needed for the qualification (CR/DR/I-O exits). */
  exitNeedsDecode = 0;

  // ---- event delivery in the guest, for IDT-vectoring information ----
  /** Interruption info of the event being delivered through the guest IDT (0 = none). */
  vectoringInfo = 0;
  vectoringErrorCode = 0;
  /** EIP when that delivery began, and the length of the instruction that raised it (software events). */
  vectoringEip = 0;
  vectoringLength = 0;
  /** The next seam.interrupt call is a VM-entry injection (not subject to the exception bitmap). */
  injecting = false;
  /** VM_ENTRY_INSTRUCTION_LEN of the software event being injected. */
  injectLength = 0;

  /** Leaves VMX operation and forgets everything (RESET, VMXOFF). */
  reset(): void {
    this.featureControl = 0;
    this.leave();
  }

  leave(): void {
    this.inVmxOperation = false;
    this.nonRoot = false;
    this.embedderHost = false;
    this.vmxonPointer = 0;
    this.currentVmcsPointer = NO_VMCS;
    this.ept = null;
    this.tlbVpid = -1;
  }
}
