/**
 * The run loop every vendor's vCPU shares (KVM's vcpu_run in x86.c): enter
 * the guest, let the processor run it until an exit or the budget, handle
 * the exit, enter again; return to the board when the budget is used, the
 * vCPU halts with no interrupt pending, a device asks to stop, or the VM
 * stops. The vendor classes (vmx/vcpu.ts, svm/vcpu.ts) supply entry (event
 * placement, VMLAUNCH/VMRESUME or VMRUN), exit dispatch and their reports.
 *
 * Time is accounted both ways: host time with the processor in the guest,
 * and in the hypervisor (exit handling, entry preparation).
 */
import { STOP_BUDGET, STOP_REQUEST, STOP_VMEXIT, type Cpu } from '../cpu/cpu.ts';
import type { EntryState } from '../machine/boot/entryState.ts';
import type { HypervisorCounters } from './counters.ts';
import type { MmioBus } from './exits/mmio.ts';
import type { PortBus } from './exits/portIo.ts';
import type { VirtualInterrupts } from './exits/virtualInterrupts.ts';
import type { DomainMemory } from './memory/domainMemory.ts';
import type { Vcpu, VcpuRun, VcpuStop } from './vcpuRun.ts';

/** What a vCPU reaches of its domain: memory, device models, interrupt controller. */
export interface VcpuDomain {
  memory: DomainMemory;
  ports: PortBus;
  /** The device models' memory-mapped registers (the same bus as `ports` on the PC board). */
  mmio: MmioBus;
  interrupts: VirtualInterrupts;
}

/** The interrupt controller a kick puts on the processor: it always has the host's vector, never the domain's. */
const HOST_KICK = { hasInterrupt: () => true, acknowledge: () => 0xff };

export abstract class VcpuLoop implements Vcpu {
  readonly cpu: Cpu;
  readonly domain: VcpuDomain;
  readonly counters: HypervisorCounters;
  /** The processor is running this vCPU's guest (between an entry and its exit). */
  protected inGuest = false;
  /** Blocked in HLT until an interrupt is pending. */
  halted = false;
  /** The board wants control back (reset, power-off) before the next entry. */
  protected stopWanted = false;

  constructor(cpu: Cpu, domain: VcpuDomain, counters: HypervisorCounters) {
    this.cpu = cpu;
    this.domain = domain;
    this.counters = counters;
  }

  abstract startAtEntry(entry: EntryState): void;
  abstract startAtReset(signature: number): void;
  /** A stop report naming where the guest was. */
  abstract report(message: string): VcpuStop;
  /** Places the pending event and enters the guest; a stop on a failed entry. */
  protected abstract enter(): VcpuStop | null;
  /** Dispatches the exit the processor just took; a stop when the VM cannot go on. */
  protected abstract handleExit(): VcpuStop | null;
  /** Counts the exit a kick caused (it is dropped, not handled). */
  protected abstract countKickExit(): void;

  /** Asks the loop to return before it enters the guest again (a device model requested a reset or power-off). */
  requestStop(): void {
    this.stopWanted = true;
  }

  /**
   * Takes the vCPU out of the guest when the processor is running it (a
   * reset from outside arrives between slices). As KVM kicks a vCPU with an
   * IPI, an interrupt from the host's side is raised on the processor's INTR
   * pin: external-interrupt exiting (VT-x) or the INTR intercept (AMD-V)
   * makes the processor leave the guest at the next instruction boundary.
   * The domain's own controller is not acknowledged for it.
   */
  protected kick(): void {
    if (!this.inGuest) return;
    const cpu = this.cpu;
    const controller = cpu.interruptController;
    const pin = cpu.intrLine;
    cpu.interruptController = HOST_KICK;
    cpu.intrLine = true;
    try {
      for (let tries = 0; tries < 4 && this.inGuest; tries++) {
        if (cpu.run(1) === STOP_VMEXIT) {
          this.inGuest = false;
          this.countKickExit();
        }
      }
    } finally {
      cpu.interruptController = controller;
      cpu.intrLine = pin;
    }
    if (this.inGuest) throw new Error('the processor did not leave the guest when kicked');
  }

  /**
   * Runs the guest for at most `budget` instructions (counted by the guest
   * clock), handling exits, until the budget is used, the vCPU halts, a
   * device asks to stop, or the VM stops.
   */
  run(budget: number): VcpuRun {
    const cpu = this.cpu;
    const clock = cpu.clock;
    const startRetired = clock.retired;
    let mark = performance.now();
    for (;;) {
      if (this.halted) {
        if (!this.domain.interrupts.pending) {
          this.counters.addHypervisorMs(performance.now() - mark);
          return { kind: 'halted' };
        }
        this.halted = false;
      }
      if (!this.inGuest) {
        if (this.stopWanted) {
          this.stopWanted = false;
          this.counters.addHypervisorMs(performance.now() - mark);
          return { kind: 'request' };
        }
        const failed = this.enter();
        if (failed !== null) return { kind: 'stopped', reason: failed };
      }
      const remaining = budget - (clock.retired - startRetired);
      const now = performance.now();
      this.counters.addHypervisorMs(now - mark);
      const code = cpu.run(Math.max(1, remaining));
      mark = performance.now();
      this.counters.addGuestMs(mark - now);
      if (code === STOP_VMEXIT) {
        this.inGuest = false;
        const stop = this.handleExit();
        if (stop !== null) {
          this.counters.addHypervisorMs(performance.now() - mark);
          return { kind: 'stopped', reason: stop };
        }
        if (clock.retired - startRetired >= budget && !this.halted) {
          this.counters.addHypervisorMs(performance.now() - mark);
          return { kind: 'budget' };
        }
        continue;
      }
      this.counters.addHypervisorMs(performance.now() - mark);
      if (code === STOP_BUDGET) return { kind: 'budget' };
      if (code === STOP_REQUEST) return { kind: 'request' };
      return { kind: 'stopped', reason: this.report(`the processor stopped with code ${code} outside a VM exit`) };
    }
  }
}
