/**
 * The processor side for the software modes (acceleration 'trap', and 'bt':
 * the same with the binary translator plugged in): one domain run by the software monitor
 * (core/hypervisor/software) on the plain IA-32 processor, no VMX or SVM.
 * As under the hardware-assisted hypervisor, the processor's bus holds
 * machine memory only (the monitor's structures, the shadow page tables, the
 * domain's frames); the chipset sits on the domain's own device bus, reached
 * through the monitor's emulation of IN/OUT.
 *
 * A kernel entered in protected mode (Linux's 32-bit boot, Multiboot), or a
 * firmware image (`rom`) from the reset vector: its real-mode and 16-bit code
 * runs in the monitor's emulator (core/hypervisor/software/realModeEmulator.ts).
 */
import { Cpu } from '../cpu/cpu.ts';
import { GuestClock } from '../cpu/clock.ts';
import type { InterruptController } from '../cpu/cpu.ts';
import type { GuestRamMap } from '../dom0/grantCheck.ts';
import { HypervisorCounters } from '../hypervisor/counters.ts';
import { DomainMemory } from '../hypervisor/memory/domainMemory.ts';
import { FRAME_SIZE } from '../hypervisor/memory/frameAllocator.ts';
import { MachineMemory } from '../hypervisor/memory/machineMemory.ts';
import type { BinaryTranslator } from '../hypervisor/software/bt/binaryTranslator.ts';
import { MonitorTranslator } from '../hypervisor/software/bt/monitorTranslator.ts';
import { SoftwareVcpu } from '../hypervisor/software/softwareVcpu.ts';
import type { VcpuRun } from '../hypervisor/vcpuRun.ts';
import { MemoryBus } from '../memory/bus.ts';
import { PhysicalMemory } from '../memory/physicalMemory.ts';
import { BootError } from './boot/bootError.ts';
import { bootKernel } from './boot/kernelBoot.ts';
import type { Chipset } from './chipset.ts';
import { biosShadow } from './firmware/romImage.ts';
import type { ProcessorSide } from './processorSide.ts';
import type { MachineOptions, MachineStats } from './types.ts';

const MiB = 1024 * 1024;
const FOUR_GIB = 0x1_0000_0000;
/**
 * Machine frames for the shadow page tables (they start over when these run out), the monitor's own 68 (its slot's
 * table and its tables in two views, monitorSpace.ts), the top window's 2 and, under bt, the translation cache's 64:
 * about 986 left for the shadows, as before the user view took 32 more.
 */
const MONITOR_FRAMES = 1024 + 64 + 32;

export class SoftwareProcessor implements ProcessorSide {
  readonly cpu: Cpu;
  readonly clock: GuestClock;
  readonly memory: SharedArrayBuffer;
  readonly deviceBus: MemoryBus;
  readonly guestRam: GuestRamMap;
  readonly ramBytes: number;
  readonly counters = new HypervisorCounters();
  private readonly options: MachineOptions;
  private readonly domainMemory: DomainMemory;
  private vcpu: SoftwareVcpu | null = null;
  /** 'bt' only: the translator plugged into the monitor (its counters and translation cache are shown by the app and the CLI). */
  private monitorTranslator: MonitorTranslator | null = null;
  private intrController: InterruptController | null = null;

  constructor(options: MachineOptions) {
    this.options = options;
    if (!options.kernel && !options.rom) {
      throw new BootError('the software monitor (trap-and-emulate, binary translation) runs a kernel (Linux or Multiboot) or a firmware image: neither was given');
    }
    this.ramBytes = options.memoryMiB * MiB;
    const poolBytes = this.ramBytes + (options.rom?.length ?? 0) + MONITOR_FRAMES * FRAME_SIZE;
    const machine = MachineMemory.create(poolBytes, poolBytes);
    this.memory = machine.buffer;
    const processorBus = new MemoryBus(new PhysicalMemory(machine.byteLength, 0, machine.adoptable()));
    this.clock = new GuestClock(options.clock);
    this.cpu = new Cpu(processorBus, this.clock);
    if (options.jit !== undefined) this.cpu.jit.configure({ enabled: options.jit });
    this.cpu.onShutdown = () => this.cpu.requestStop();
    this.domainMemory = new DomainMemory(machine);
    this.domainMemory.populateRam(0, this.ramBytes);
    // Firmware at 4 GiB only: the BIOS area below 1 MiB is RAM, shadowed at power-on (firmware/romImage.ts says why).
    if (options.rom) this.domainMemory.mapRom(options.rom, [{ base: FOUR_GIB - options.rom.length, size: options.rom.length }]);
    this.deviceBus = new MemoryBus(new PhysicalMemory(FRAME_SIZE));
    this.guestRam = this.domainMemory.ramMap((offset, length) => processorBus.notifyDmaWrite(offset, length));
  }

  setIntr(level: boolean): void {
    this.cpu.intrLine = level;
  }

  connect(chipset: Chipset): void {
    // The chipset's INTR source (its local APIC on a board with one, else the PIC): the processor acknowledges it, the monitor holds or reflects the vector.
    const board = chipset as unknown as { interruptController?: InterruptController; pic: InterruptController };
    this.intrController = board.interruptController ?? board.pic;
    this.cpu.pollIntr = false;
    this.cpu.interruptController = this.intrController;
    // 'bt': the same monitor with the binary translator plugged in (core/hypervisor/software/bt); 'trap': none.
    const translator = this.options.acceleration === 'bt' ? new MonitorTranslator() : null;
    this.monitorTranslator = translator;
    const devices = { bus: this.deviceBus, interrupts: this.intrController };
    this.vcpu = new SoftwareVcpu(this.cpu, { memory: this.domainMemory, ports: this.deviceBus }, this.counters, translator, devices);
    (this.domainMemory as { onP2mChange?: ((gfn: number) => void) | null }).onP2mChange = () => this.vcpu?.monitor.shadow.p2mChanged();
  }

  run(budget: number): VcpuRun {
    const vcpu = this.vcpu!;
    const result = vcpu.run(budget);
    // The monitor's and the translator's counters are plain objects of theirs: copied into the shared counters the app reads.
    this.counters.softwareMonitor(vcpu.monitor.counters);
    const bt = this.monitorTranslator?.translator;
    if (bt) this.counters.translator(bt.counters, bt.cache.used, bt.cache.region.size);
    return result;
  }

  /** The binary translator ('bt', once the guest kernel first ran translated), for inspecting its translation cache; else null. */
  get translator(): BinaryTranslator | null {
    return this.monitorTranslator?.translator ?? null;
  }

  interruptPending(): boolean {
    return this.intrController?.hasInterrupt() ?? false;
  }

  powerOn(): void {
    this.domainMemory.clearRam();
    if (!this.options.kernel) {
      const shadow = biosShadow(this.options.rom!);
      this.domainMemory.write(shadow.base, shadow.bytes);
      this.vcpu!.startAtReset(this.cpu.model.signature);
      return;
    }
    const scratch = { u8: new Uint8Array(this.ramBytes), ramSize: this.ramBytes };
    const { entry } = bootKernel(scratch, { kernel: this.options.kernel!, initrd: this.options.initrd, cmdline: this.options.cmdline, vgaText: this.options.vga });
    this.domainMemory.writeNonZeroPages(0, scratch.u8);
    this.vcpu!.startAtEntry(entry);
  }

  requestStop(): void {
    this.cpu.requestStop();
    this.vcpu?.requestStop();
  }

  stats(): Pick<MachineStats, 'interrupts' | 'hypervisor'> {
    return { interrupts: this.cpu.interruptsDelivered, hypervisor: this.counters.snapshot() };
  }

  where(): undefined {
    return undefined;
  }
}
