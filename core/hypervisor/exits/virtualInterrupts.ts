/**
 * How the domain's interrupt controller reaches its vCPU (vendor-neutral).
 *
 * The domain's PIC is a device model of the hypervisor; its INTR output is
 * wired to the processor's INTR pin while the guest runs, so a device that
 * raises an interrupt makes the processor leave the guest (external-interrupt
 * exiting; the exit acknowledges the controller and reports the vector). The
 * hypervisor then holds that vector and injects it on a VM entry at which the
 * guest can take it (EFLAGS.IF = 1, no STI or MOV SS shadow); until then it
 * asks the processor for an interrupt-window exit. While a vector is held,
 * the INTR pin is kept low, so a second request waits in the controller
 * (where the guest's own PIC programming decides its priority) instead of
 * exiting again.
 */

/** The domain's interrupt controller as the hypervisor sees it (Pic satisfies it). */
export interface InterruptSource {
  hasInterrupt(): boolean;
  acknowledge(): number;
}

export class VirtualInterrupts {
  /** The vector taken from the controller and not yet injected, or -1. */
  private held = -1;
  /** The controller's INTR output level. */
  private requested = false;
  private readonly source: InterruptSource;
  /** Drives the processor's INTR pin. */
  private readonly pin: (level: boolean) => void;

  constructor(source: InterruptSource, pin: (level: boolean) => void) {
    this.source = source;
    this.pin = pin;
  }

  /** The controller's INTR output changed (its onIntr callback). */
  setRequest(level: boolean): void {
    this.requested = level;
    this.pin(level && this.held < 0);
  }

  /** A vector the processor acknowledged on a VM exit. */
  hold(vector: number): void {
    this.held = vector & 0xff;
    this.pin(false);
  }

  /** Whether an interrupt waits for the guest (held, or requested by the controller now). */
  /**
   * SVM's INTR intercept leaves the interrupt at the controller (the
   * processor does not acknowledge it on the exit, as VT-x's
   * acknowledge-on-exit does): the hypervisor acknowledges it itself and
   * holds the vector, which lowers the pin. False when the controller has
   * nothing to give (its request went away) or a vector is already held.
   */
  acknowledgeAndHold(): boolean {
    if (this.held >= 0 || !this.source.hasInterrupt()) return false;
    this.hold(this.source.acknowledge());
    return true;
  }

  get pending(): boolean {
    return this.held >= 0 || this.source.hasInterrupt();
  }

  get heldVector(): number {
    return this.held;
  }

  /**
   * The vector to inject now: the held one, else one acknowledged from the
   * controller by the hypervisor itself (the vCPU was not in the guest when
   * it was raised, e.g. halted). -1 when nothing is pending.
   */
  take(): number {
    let v = this.held;
    if (v < 0 && this.source.hasInterrupt()) v = this.source.acknowledge() & 0xff;
    this.held = -1;
    this.pin(this.requested && this.source.hasInterrupt());
    return v;
  }

  /** Power-on: nothing held. */
  reset(): void {
    this.held = -1;
    this.requested = false;
    this.pin(false);
  }
}
