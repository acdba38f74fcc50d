/**
 * Where binary translation (core/hypervisor/software/bt/, the translator's
 * area) plugs into the monitor. The monitor works without one (acceleration
 * 'trap': trap-and-emulate only); with one ('bt') it asks the translator
 * before guest kernel code runs, and hands it the callouts of translated code.
 */
import type { Cpu } from '../../cpu/cpu.ts';
import type { VirtualCpu } from './virtualCpu.ts';

/** What the monitor offers a translator's callouts. */
export interface MonitorServices {
  readonly cpu: Cpu;
  readonly vcpu: VirtualCpu;
  /** Guest-linear memory through the shadows (shadow fills hidden; a guest #PF throws the processor's fault). */
  readLinear32(linear: number): number;
  writeLinear32(linear: number, value: number): void;
  /** Sets virtual IF; held interrupts are delivered when it becomes 1. */
  setInterruptFlag(on: boolean): void;
  /** Reflects an exception or interrupt into the guest through the guest's IDT (kind: INT_* of core/cpu/interrupts.ts). */
  reflect(vector: number, kind: number, errorCode: number, hasErrorCode: boolean): void;
  /** Emulates, as a trap would, the privileged instruction at the guest's CS:EIP (false: not one the monitor knows). */
  emulateAt(): boolean;
}

export interface Translator {
  /**
   * The guest is entering virtual CPL 0 at guest EIP `eip` (a reflected
   * event, an emulated IRET to the kernel, the first entry): the EIP (and,
   * when it changes, processor CS selector) to run instead, or null to run
   * the guest's code untranslated.
   */
  entryFor(monitor: MonitorServices, eip: number): { eip: number; cs?: number } | null;
  /**
   * A software interrupt raised at linear address `linear` (the INT n's own
   * address): true when it is a callout of translated code, which the
   * translator has handled; false for a guest INT n (the monitor reflects it).
   */
  callout(monitor: MonitorServices, vector: number, linear: number): boolean;
  /** Guest-physical page `gfn` was written (drop translations of it). */
  guestPageWritten?(gfn: number): void;
  /** Everything is to be dropped (guest reset, CR0/CR3 mode changes the translator cares about). */
  reset?(): void;
  /** The guest EIP the processor's EIP stands for (it may be inside the translation cache), when the guest leaves the monitor's processor for its emulator. */
  currentGuestEip?(monitor: MonitorServices): number;
}
