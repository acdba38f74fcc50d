/**
 * The seam between the PC board (machine.ts) and what runs its guest: the
 * bare emulated processor (bareProcessor.ts) or a vCPU of Popek's hypervisor
 * (hypervisorProcessor.ts: VT-x today, AMD-V next). The board owns the
 * chipset, the run loop, resets and the driver's API; a side owns memory,
 * the processor, boot-image loading and how the chipset's interrupt line and
 * device bus reach the guest.
 */
import type { BinaryTranslator } from '../hypervisor/software/bt/binaryTranslator.ts';
import type { Cpu } from '../cpu/cpu.ts';
import type { GuestClock } from '../cpu/clock.ts';
import type { GuestRamMap } from '../dom0/grantCheck.ts';
import type { VcpuRun } from '../hypervisor/vcpuRun.ts';
import type { MemoryBus } from '../memory/bus.ts';
import type { Chipset } from './chipset.ts';
import { CPUID_EDX, CPUID_EDX_APIC } from '../cpu/system.ts';
import type { KernelBootInput } from './boot/kernelBoot.ts';
import { boardHasApics } from './apicOption.ts';
import type { MachineOptions, MachineStats } from './types.ts';

/** What a kernel boot writes about the APICs (the MADT and MP table), on a board that has them. */
export function apicTables(cpu: Cpu, options: MachineOptions): Pick<KernelBootInput, 'apic'> {
  return !boardHasApics(options) ? {} : { apic: { cpuSignature: cpu.model.signature, cpuFeatures: CPUID_EDX | CPUID_EDX_APIC } };
}

export interface ProcessorSide {
  readonly cpu: Cpu;
  readonly clock: GuestClock;
  /** The memory shared with other threads: the PC's physical memory, or the hypervisor's machine memory. */
  readonly memory: SharedArrayBuffer;
  /** The bus the chipset's device models live on. */
  readonly deviceBus: MemoryBus;
  /** The guest's RAM for the virtio devices' grant check. */
  readonly guestRam: GuestRamMap;
  readonly ramBytes: number;
  /** The chipset's INTR output (the local APIC's, or the PIC's on a board without APICs). */
  setIntr(level: boolean): void;
  /** An NMI from the local APIC; absent where the side cannot deliver one yet (the hypervisor's vCPU). */
  nmi?(): void;
  /**
   * The INIT signal of a soft reset (port 0xCF9). True when the processor
   * takes it; false, or absent, when the side restarts the VM instead.
   */
  init?(): boolean;
  /** Called once the chipset exists: the interrupt controller and devices become reachable from the guest. */
  connect(chipset: Chipset): void;
  /** Runs the guest for at most `budget` instructions of guest time. */
  run(budget: number): VcpuRun;
  /** An interrupt is waiting that wakes a halted guest. */
  interruptPending(): boolean;
  /** Cold start: RAM cleared, boot images loaded again, the processor at its start state. */
  powerOn(): void;
  /** Makes the current `run` return soon (a device event, reset or power-off). */
  requestStop(): void;
  /** The side's own figures: interrupts delivered, and the hypervisor's counters when there is one. */
  stats(): Pick<MachineStats, 'interrupts' | 'hypervisor'>;
  /** Where the guest is, for error reports. */
  where(): { cs: number; eip: number } | undefined;
  /** The binary translator ('bt' only, once the guest kernel first ran translated), for inspecting its translation cache. */
  readonly translator?: BinaryTranslator | null;
}
