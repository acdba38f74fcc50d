/**
 * The SVM state of one processor (AMD64 APM Vol. 2 ch. 15): EFER (which
 * only the AMD part has), VM_CR, VM_HSAVE_PA, the global interrupt flag,
 * guest mode with the controls VMRUN cached from the VMCB, the host state
 * VMRUN saved, and what a #VMEXIT in progress has recorded. Plain state;
 * the behaviour lives beside it (vmrun.ts, vmexit.ts, guestOps.ts, npt.ts).
 */
import type { Npt } from './npt.ts';

/** The host state VMRUN keeps for #VMEXIT (APM 15.5.1: the format of the host save area is the processor's own). */
export class SvmHostState {
  /** ES, CS, SS, DS: selector, base, limit, attributes (the CPU's segAttr format). */
  readonly sel = new Uint16Array(4);
  readonly base = new Int32Array(4);
  readonly limit = new Uint32Array(4);
  readonly attr = new Uint16Array(4);
  gdtBase = 0;
  gdtLimit = 0;
  idtBase = 0;
  idtLimit = 0;
  efer = 0;
  cr0 = 0;
  cr3 = 0;
  cr4 = 0;
  eflags = 0;
  eip = 0;
  esp = 0;
  eax = 0;
}

export class Svm {
  /** EFER (MSR C000_0080): only SVME (bit 12) exists on this 32-bit part. */
  efer = 0;
  vmCr = 0;
  /** VM_HSAVE_PA low/high dwords. */
  hsavePa = 0;
  hsavePaHigh = 0;
  /** The global interrupt flag: INTR, NMI (and SMI, INIT) are held while it is 0. */
  gif = true;
  /** In guest mode (between VMRUN and #VMEXIT). */
  guest = false;
  /**
   * The last VMRUN came from a TypeScript host (rootOps.ts): a #VMEXIT makes
   * `cpu.run` return STOP_VMEXIT instead of continuing at the host's RIP.
   */
  embedderHost = false;
  /** Physical address of the running guest's VMCB. */
  vmcb = 0;
  readonly host = new SvmHostState();
  /**
   * The "hidden" MSR images VMLOAD/VMSAVE transfer (STAR, LSTAR, CSTAR,
   * SFMASK, KernelGsBase, SYSENTER_CS/ESP/EIP, as low/high dwords). This part
   * implements none of these MSRs (RDMSR #GPs), so they are only carried.
   */
  readonly hiddenMsrs = new Int32Array(16);

  // ---- controls of the running guest, cached at VMRUN ----
  crRead = 0;
  crWrite = 0;
  drRead = 0;
  drWrite = 0;
  exceptions = 0;
  misc1 = 0;
  misc2 = 0;
  iopm = 0;
  msrpm = 0;
  tscOffset = 0;
  asid = 0;
  vTpr = 0;
  vIrq = false;
  vIntrPrio = 0;
  vIgnTpr = false;
  vIntrMasking = false;
  vIntrVector = 0;
  /** The host's EFLAGS.IF at VMRUN: masks physical interrupts under V_INTR_MASKING. */
  hostIf = false;
  npt: Npt | null = null;
  nCr3 = 0;
  savedPollIntr = true;
  /**
   * Whose translations the TLB holds after a #VMEXIT to a TypeScript host:
   * that guest's ASID, nCR3 and CR3 (tlbAsid -1: nobody's). Such a host runs
   * no x86 code, so the guest's entries can stay, as ASID-tagged entries do
   * across world switches (APM 15.16); a different ASID, nCR3 or CR3, or a
   * TLB_CONTROL flush, empties the TLB at the next VMRUN.
   */
  tlbAsid = -1;
  tlbNCr3 = 0;
  tlbCr3 = 0;

  // ---- a #VMEXIT being recorded ----
  exitCode = 0;
  exitInfo1 = 0;
  exitInfo1High = 0;
  exitInfo2 = 0;
  /** An instruction intercept: nRIP (and IOIO's EXITINFO2) is exitNextEip, the EIP after the instruction. */
  exitIsInstruction = false;
  exitNextEip = 0;
  /** The IOIO EXITINFO1 still needs the instruction's decoded form (string, REP, address size). */
  exitNeedsDecode = false;

  // ---- event delivery in the guest, for EXITINTINFO ----
  intInfo = 0;
  intErrorCode = 0;
  intEip = 0;
  intLength = 0;
  /** The next interrupt through the guest seam is an EVENTINJ injection (not subject to exception intercepts). */
  injecting = false;

  reset(): void {
    this.efer = 0;
    this.vmCr = 0;
    this.hsavePa = 0;
    this.hsavePaHigh = 0;
    this.gif = true;
    this.guest = false;
    this.embedderHost = false;
    this.npt = null;
    this.tlbAsid = -1;
    this.hiddenMsrs.fill(0);
  }
}
