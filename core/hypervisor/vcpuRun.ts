/**
 * What a virtual CPU's run loop reports to its board, whatever the vendor
 * extension under it (VT-x: vmx/vcpu.ts; AMD-V: svm/).
 */
import type { EntryState } from '../machine/boot/entryState.ts';
import type { HypervisorCounters } from './counters.ts';

/** Why the vCPU loop returned. */
export type VcpuRun =
  | { kind: 'budget' } // the instruction budget is used; the guest may still be loaded
  | { kind: 'request' } // a device asked the processor to stop (reset, power-off, reschedule)
  | { kind: 'halted' } // blocked in HLT, waiting for an interrupt
  | { kind: 'stopped'; reason: VcpuStop };

export type VcpuStop =
  | { kind: 'halt'; cs: number; eip: number }
  | { kind: 'shutdown'; cs: number; eip: number; detail: string }
  | { kind: 'error'; message: string; cs?: number; eip?: number };

/** The surface a board drives, the same for every vendor's vCPU. */
export interface Vcpu {
  readonly counters: HypervisorCounters;
  /** Runs the guest for at most `budget` instructions of guest time. */
  run(budget: number): VcpuRun;
  /** Loads the guest state for a boot protocol's 32-bit entry. */
  startAtEntry(entry: EntryState): void;
  /** Loads the processor's reset state (real mode at F000:FFF0) for a firmware guest. */
  startAtReset(signature: number): void;
  /** Asks the loop to return before it enters the guest again. */
  requestStop(): void;
}
