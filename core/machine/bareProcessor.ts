/**
 * The bare PC's processor side (acceleration 'none'): the emulated processor
 * runs the guest directly on the PC's physical memory, with no hypervisor;
 * the chipset sits on the processor's own bus. HLT with interrupts disabled
 * and no NMI source stops the machine, as on real hardware nothing could
 * wake it.
 */
import { Cpu, STOP_BUDGET, STOP_HALT, STOP_REQUEST, STOP_SHUTDOWN } from '../cpu/cpu.ts';
import { GuestClock } from '../cpu/clock.ts';
import { CS, IF } from '../cpu/regs.ts';
import { busRamMap, type GuestRamMap } from '../dom0/grantCheck.ts';
import type { VcpuRun } from '../hypervisor/vcpuRun.ts';
import { MemoryBus } from '../memory/bus.ts';
import { PhysicalMemory } from '../memory/physicalMemory.ts';
import { bootKernel } from './boot/kernelBoot.ts';
import type { Chipset } from './chipset.ts';
import { biosShadow, mapFirmware } from './firmware/romImage.ts';
import { apicTables, type ProcessorSide } from './processorSide.ts';
import { CPUID_EDX_APIC } from '../cpu/system.ts';
import type { MachineOptions, MachineStats } from './types.ts';

const MiB = 1024 * 1024;

export class BareProcessor implements ProcessorSide {
  readonly cpu: Cpu;
  readonly clock: GuestClock;
  readonly memory: SharedArrayBuffer;
  readonly deviceBus: MemoryBus;
  readonly guestRam: GuestRamMap;
  readonly ramBytes: number;
  private readonly physical: PhysicalMemory;
  private readonly options: MachineOptions;
  private chipset: Chipset | null = null;

  constructor(options: MachineOptions) {
    this.options = options;
    this.ramBytes = options.memoryMiB * MiB;
    this.physical = new PhysicalMemory(this.ramBytes, options.rom?.length ?? 0);
    this.memory = this.physical.buffer;
    this.deviceBus = new MemoryBus(this.physical);
    this.guestRam = busRamMap(this.deviceBus);
    this.clock = new GuestClock(options.clock);
    this.cpu = new Cpu(this.deviceBus, this.clock);
    if (options.jit !== undefined) this.cpu.jit.configure({ enabled: options.jit });
    this.cpu.onShutdown = () => this.cpu.requestStop();
  }

  setIntr(level: boolean): void {
    this.cpu.intrLine = level;
  }

  nmi(): void {
    this.cpu.nmiPending = true;
  }

  /**
   * A soft reset's INIT: the processor restarts at its reset vector, where
   * firmware (or a ROM guest) tells a warm start from a cold one, and a
   * hypervisor running on this board sees it as a VM exit. A kernel the
   * board loaded has nothing at the reset vector to run: the board restarts
   * the VM from its boot images instead, as a firmware's POST would.
   */
  init(): boolean {
    if (!this.options.rom || this.options.kernel) return false;
    this.cpu.initPending = true;
    return true;
  }

  connect(chipset: Chipset): void {
    this.chipset = chipset;
    this.cpu.pollIntr = false;
    this.cpu.interruptController = chipset.interruptController;
    // The local APIC is on the processor's bus: its base MSR and CPUID's APIC bit.
    this.cpu.boardMsrs = chipset.apics?.lapic ?? null;
    this.cpu.boardCpuidEdx = chipset.apics ? CPUID_EDX_APIC : 0;
    if (this.options.rom) mapFirmware(this.physical, this.deviceBus, this.options.rom);
  }

  run(budget: number): VcpuRun {
    const cpu = this.cpu;
    switch (cpu.run(budget)) {
      case STOP_BUDGET:
        return { kind: 'budget' };
      case STOP_REQUEST:
        return { kind: 'request' };
      case STOP_SHUTDOWN:
        return { kind: 'stopped', reason: { kind: 'shutdown', cs: cpu.segSel[CS], eip: cpu.eip >>> 0, detail: cpu.shutdownDetail ?? 'triple fault' } };
      case STOP_HALT:
        if ((cpu.flags & IF) === 0 && !cpu.nmiPending) return { kind: 'stopped', reason: { kind: 'halt', cs: cpu.segSel[CS], eip: cpu.eip >>> 0 } };
        return { kind: 'halted' };
      default:
        return { kind: 'stopped', reason: { kind: 'error', message: 'the processor stopped for an unknown reason', ...this.where() } };
    }
  }

  interruptPending(): boolean {
    return this.chipset?.interruptController.hasInterrupt() ?? false;
  }

  powerOn(): void {
    this.physical.u8.fill(0, 0, this.physical.ramSize);
    if (this.options.rom) {
      // The BIOS area comes out of reset shadowed in RAM (firmware/romImage.ts says why).
      const shadow = biosShadow(this.options.rom);
      this.physical.u8.set(shadow.bytes, shadow.base);
    }
    this.cpu.reset();
    if (this.options.kernel) {
      const { entry } = bootKernel(this.physical, { kernel: this.options.kernel, initrd: this.options.initrd, cmdline: this.options.cmdline, vgaText: this.options.vga, ...apicTables(this.cpu, this.options) });
      this.cpu.loadEntryState(entry);
    }
  }

  requestStop(): void {
    this.cpu.requestStop();
  }

  stats(): Pick<MachineStats, 'interrupts' | 'hypervisor'> {
    return { interrupts: this.cpu.interruptsDelivered };
  }

  where(): { cs: number; eip: number } {
    return { cs: this.cpu.segSel[CS], eip: this.cpu.eip >>> 0 };
  }
}
