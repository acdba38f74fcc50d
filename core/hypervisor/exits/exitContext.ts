/**
 * What a vendor-neutral exit handler needs from the vCPU that exited (KVM's
 * kvm_x86_ops, seen from x86.c): the guest's state as the exit left it,
 * whether it sits in a VMCS (VT-x) or a VMCB (AMD-V), and the few actions a
 * handler takes (move past the instruction, raise an exception on the next
 * entry, stop with a report). VmxVcpu and SvmVcpu implement it; the handlers
 * in this folder and in ../shadow/shadowExits.ts are written once against it.
 */
import type { Cpu } from '../../cpu/cpu.ts';
import type { HypervisorCounters } from '../counters.ts';
import type { ShadowPaging } from '../shadow/shadowPaging.ts';
import type { VcpuDomain } from '../vcpuLoop.ts';
import type { VcpuStop } from '../vcpuRun.ts';
import type { GuestPagingState } from './guestPaging.ts';
import type { GuestMsrState } from './msrs.ts';

/** A handler's answer: go on with the guest, or stop the VM with this report. */
export const RESUME = 0;
export type ExitAction = typeof RESUME | VcpuStop;

/** Segment registers in the processor's order (ES, CS, SS, DS, FS, GS). */
export type SegmentIndex = 0 | 1 | 2 | 3 | 4 | 5;

/**
 * An event whose delivery the exit cut short (VT-x's IDT-vectoring
 * information, SVM's EXITINTINFO), in the vendors' common terms.
 */
export interface InterruptedEvent {
  kind: 'exception' | 'external' | 'other';
  vector: number;
}

export interface ExitContext {
  readonly cpu: Cpu;
  readonly domain: VcpuDomain;
  readonly counters: HypervisorCounters;
  readonly msrs: GuestMsrState;
  /** Blocked in HLT until an interrupt is pending (set by the HLT handler). */
  halted: boolean;
  /** The shadow page tables when the domain runs with nested paging off, else null. */
  readonly shadow: ShadowPaging | null;

  /** The guest's CS selector and EIP (where reports say the guest was). */
  guestCs(): number;
  guestEip(): number;
  guestEflags(): number;
  /** A segment's base address (FS and GS included: the vendor fetches them where it keeps them). */
  segmentBase(seg: SegmentIndex): number;
  /** CS is a 32-bit code segment (D = 1). */
  code32(): boolean;
  /** The guest's paging as its own walks of its tables see it. */
  pagingState(): GuestPagingState;
  /** Length of the exiting instruction, when the exit tells it (VM-exit instruction length, nRIP - RIP). */
  instructionLength(): number;

  /** Moves the guest past the exiting instruction and ends any STI / MOV SS shadow. */
  skipInstruction(): void;
  /** Raises a hardware exception in the guest on the next entry (#GP, #UD, #PF...). */
  injectException(vector: number, errorCode: number | null): void;
  /** The guest's CR2 (a #PF the hypervisor raises for the guest sets it first). */
  setGuestCr2(linear: number): void;
  /** The event whose delivery this exit cut short, taken from re-delivery; null when none. */
  takeInterruptedEvent(): InterruptedEvent | null;
  /** A stop report naming where the guest was. */
  report(message: string): VcpuStop;
}
