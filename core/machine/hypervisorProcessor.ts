/**
 * The processor side for the hypervisor's modes: one domain run by Popek's
 * hypervisor on the emulated processor's VT-x (the Intel part) or AMD-V
 * (acceleration 'svm': the AMD part, core/hypervisor/svm).
 *
 * The processor's bus holds machine memory only (the hypervisor's pool: its
 * own structures, the EPT or nested page tables, the domain's frames); the
 * guest reaches its memory through EPT / NPT built from the domain's p2m. The
 * chipset sits on the domain's own device bus: port I/O reaches it through
 * I/O exits, its MMIO regions (the virtio functions' BARs) through EPT
 * violations / #NPF that the hypervisor's instruction emulator completes. The domain's PIC drives the
 * processor's INTR pin; interrupts reach the guest by injection on VM entry
 * (hypervisor/exits/virtualInterrupts.ts).
 *
 * Machine memory is the host's pool shared by every running VM
 * (MachineOptions.machineMemory, core/host/machinePool.ts), or, without one
 * (tests, `popek run`), a pool sized for this one domain.
 */
import { Cpu } from '../cpu/cpu.ts';
import { GuestClock } from '../cpu/clock.ts';
import { AMD_SVM_MODEL } from '../cpu/processorModel.ts';
import type { GuestRamMap } from '../dom0/grantCheck.ts';
import { HypervisorCounters } from '../hypervisor/counters.ts';
import { VirtualInterrupts } from '../hypervisor/exits/virtualInterrupts.ts';
import { DomainMemory } from '../hypervisor/memory/domainMemory.ts';
import { EptTables } from '../hypervisor/memory/eptTables.ts';
import { FRAME_SIZE } from '../hypervisor/memory/frameAllocator.ts';
import { MachineMemory, type MachineMemoryShare } from '../hypervisor/memory/machineMemory.ts';
import { NptTables } from '../hypervisor/memory/nptTables.ts';
import { enterSvmHost, type SvmHostEnvironment } from '../hypervisor/svm/hostMode.ts';
import { SvmShadowPaging } from '../hypervisor/svm/shadowPagingSvm.ts';
import { SvmVcpu } from '../hypervisor/svm/vcpu.ts';
import type { Vcpu, VcpuRun } from '../hypervisor/vcpuRun.ts';
import { enterVmxRoot, type HostEnvironment } from '../hypervisor/vmx/rootMode.ts';
import { VmxShadowPaging } from '../hypervisor/vmx/shadowPagingVmx.ts';
import { VmxVcpu } from '../hypervisor/vmx/vcpu.ts';
import { MemoryBus } from '../memory/bus.ts';
import { PhysicalMemory } from '../memory/physicalMemory.ts';
import { BootError } from './boot/bootError.ts';
import { bootKernel } from './boot/kernelBoot.ts';
import type { Chipset } from './chipset.ts';
import { biosShadow } from './firmware/romImage.ts';
import { apicTables, type ProcessorSide } from './processorSide.ts';
import { CPUID_EDX_APIC } from '../cpu/system.ts';
import type { MachineOptions, MachineStats } from './types.ts';

const MiB = 1024 * 1024;
/** Largest machine memory the processor's bus maps (PhysicalMemory's limit). */
export const MACHINE_MEMORY_MAX = 0x7000_0000;
const FOUR_GIB = 0x1_0000_0000;

/** Frames the hypervisor needs besides the guest's: host environment, VMCS, EPT tables, with room to spare. */
function hypervisorFrames(ramBytes: number, romBytes: number): number {
  const ptFrames = Math.ceil(ramBytes / (2 * MiB)) + 2 * Math.ceil(Math.max(romBytes, 1) / (2 * MiB)) + 2;
  return 7 + 1 + 2 + 4 + ptFrames + 32;
}

/** Machine frames set aside for shadow page tables when nested paging is off (4 MiB; the shadows start over when they are used up). */
const SHADOW_FRAMES = 1024;

/** The host's pool, when this domain's RAM and the hypervisor's share for it fit in what is free. */
function adoptPool(lease: { share: MachineMemoryShare; owner: number }, neededBytes: number): MachineMemory {
  const pool = MachineMemory.adopt(lease.share, lease.owner);
  if (pool.byteLength > MACHINE_MEMORY_MAX) throw new BootError(`the machine memory pool is larger than the processor maps (${MACHINE_MEMORY_MAX / MiB} MiB)`);
  const free = pool.allocator.availableFrames * FRAME_SIZE;
  if (free < neededBytes) {
    throw new BootError(
      `not enough machine memory for this VM: it needs ${Math.ceil(neededBytes / MiB)} MiB (its RAM and what the hypervisor keeps for it); ` +
        `${Math.floor(free / MiB)} MiB of the machine's ${pool.limitBytes / MiB} MiB are free, the other running VMs hold the rest`,
    );
  }
  return pool;
}

export class HypervisorProcessor implements ProcessorSide {
  readonly cpu: Cpu;
  readonly clock: GuestClock;
  readonly memory: SharedArrayBuffer;
  readonly deviceBus: MemoryBus;
  readonly guestRam: GuestRamMap;
  readonly ramBytes: number;
  readonly counters = new HypervisorCounters();
  private readonly options: MachineOptions;
  private readonly machineMemory: MachineMemory;
  private readonly domainMemory: DomainMemory;
  /** AMD-V (acceleration 'svm') rather than VT-x. */
  private readonly svm: boolean;
  private readonly host: HostEnvironment | SvmHostEnvironment;
  /** EPTP under VT-x, N_CR3 under AMD-V (0 with shadow paging). */
  private readonly eptp: number;
  private readonly shadowPaging: boolean;
  private interrupts: VirtualInterrupts | null = null;
  private vcpu: Vcpu | null = null;
  /** The vCPU as the p2m's follower (the same object as `vcpu`). */
  private vcpuP2m: { p2mChanged(): void } | null = null;

  constructor(options: MachineOptions) {
    this.options = options;
    this.ramBytes = options.memoryMiB * MiB;
    const romBytes = options.rom?.length ?? 0;
    // Nested paging off: shadow page tables (core/hypervisor/shadow), and only guests that start in protected mode.
    this.shadowPaging = options.nestedPaging === false;
    this.svm = options.acceleration === 'svm';
    const vendor = this.svm ? 'AMD-V' : 'VT-x';
    if (this.shadowPaging && !options.kernel) {
      throw new BootError(this.svm
        ? 'AMD-V without nested paging runs only a kernel (Linux or Multiboot) entered in protected mode: firmware starts in real mode, which would run paged on shadow page tables, and the processor refuses paged real mode'
        : 'VT-x without nested paging runs only a kernel (Linux or Multiboot) entered in protected mode: firmware starts in real mode, which needs unrestricted guest and so EPT');
    }
    const poolBytes = this.ramBytes + romBytes + (hypervisorFrames(this.ramBytes, romBytes) + (this.shadowPaging ? SHADOW_FRAMES : 0)) * FRAME_SIZE;
    if (poolBytes > MACHINE_MEMORY_MAX) {
      const most = Math.floor((MACHINE_MEMORY_MAX - romBytes - hypervisorFrames(MACHINE_MEMORY_MAX, romBytes) * FRAME_SIZE) / MiB);
      throw new BootError(`under ${vendor} the guest's RAM and the hypervisor's own memory must fit in ${MACHINE_MEMORY_MAX / MiB} MiB of machine memory: at most ${most} MiB of RAM`);
    }

    // ---- machine memory, the processor, VMX root or SVM host mode ----
    this.machineMemory = options.machineMemory ? adoptPool(options.machineMemory, poolBytes) : MachineMemory.create(poolBytes, poolBytes);
    this.memory = this.machineMemory.buffer;
    const processorBus = new MemoryBus(new PhysicalMemory(this.machineMemory.byteLength, 0, this.machineMemory.adoptable()));
    this.clock = new GuestClock(options.clock);
    this.cpu = this.svm ? new Cpu(processorBus, this.clock, AMD_SVM_MODEL) : new Cpu(processorBus, this.clock);
    if (options.jit !== undefined) this.cpu.jit.configure({ enabled: options.jit });
    this.cpu.onShutdown = () => this.cpu.requestStop();
    this.host = this.svm ? enterSvmHost(this.cpu, this.machineMemory) : enterVmxRoot(this.cpu, this.machineMemory);

    // ---- the domain's memory and its EPT / NPT ----
    this.domainMemory = new DomainMemory(this.machineMemory);
    this.domainMemory.populateRam(0, this.ramBytes);
    if (options.rom) {
      // Only at 4 GiB: the BIOS area below 1 MiB is RAM, shadowed at power-on (firmware/romImage.ts says why).
      this.domainMemory.mapRom(options.rom, [{ base: FOUR_GIB - options.rom.length, size: options.rom.length }]);
    }
    this.eptp = 0;
    let tables: NptTables | EptTables | null = null;
    if (!this.shadowPaging && this.svm) {
      const npt = new NptTables(this.machineMemory);
      npt.build(this.domainMemory.p2m);
      this.eptp = npt.nCr3;
      tables = npt;
    } else if (!this.shadowPaging) {
      const ept = new EptTables(this.machineMemory);
      ept.build(this.domainMemory.p2m);
      this.eptp = ept.eptp;
      tables = ept;
    }
    // The balloon moves frames while the domain runs: the tables follow the p2m, the vCPU flushes what the processor cached.
    this.domainMemory.onP2mChange = (gfn) => {
      tables?.update(gfn, this.domainMemory.p2m);
      this.vcpuP2m?.p2mChanged();
    };
    // The domain's device bus: its device models' ports and MMIO regions (and a 4 KiB stand-in memory nothing maps).
    this.deviceBus = new MemoryBus(new PhysicalMemory(FRAME_SIZE));
    this.guestRam = this.domainMemory.ramMap((offset, length) => processorBus.notifyDmaWrite(offset, length));
  }

  setIntr(level: boolean): void {
    this.interrupts?.setRequest(level);
  }

  connect(chipset: Chipset): void {
    this.interrupts = new VirtualInterrupts(chipset.interruptController, (level) => {
      this.cpu.intrLine = level;
    });
    this.cpu.pollIntr = false;
    // VT-x acknowledges the domain's controller on an external-interrupt exit; under AMD-V the hypervisor does.
    this.cpu.interruptController = chipset.interruptController;
    // The domain's virtual local APIC: the APIC bit in the CPUID the guest sees (passed through by exits/cpuid.ts), its base MSR on RDMSR/WRMSR exits.
    this.cpu.boardCpuidEdx = chipset.apics ? CPUID_EDX_APIC : 0;
    // Port 0x80 (POST codes, Linux's I/O delay) goes through without an exit unless it is logged.
    const passThrough = (this.options.logPorts ?? []).includes(0x80) ? [] : [0x80];
    const domain = { memory: this.domainMemory, ports: this.deviceBus, mmio: this.deviceBus, interrupts: this.interrupts };
    if (this.svm) {
      const shadow = this.shadowPaging ? new SvmShadowPaging(this.domainMemory) : null;
      const vcpu = new SvmVcpu(this.cpu, domain, this.host as SvmHostEnvironment, this.eptp, this.counters, passThrough, shadow);
      if (chipset.apics) vcpu.msrs.board = chipset.apics.lapic;
      this.vcpu = this.vcpuP2m = vcpu;
    } else {
      const shadow = this.shadowPaging ? new VmxShadowPaging(this.domainMemory) : null;
      const vcpu = new VmxVcpu(this.cpu, domain, this.host as HostEnvironment, this.eptp, this.counters, passThrough, shadow);
      if (chipset.apics) vcpu.msrs.board = chipset.apics.lapic;
      this.vcpu = this.vcpuP2m = vcpu;
    }
  }

  run(budget: number): VcpuRun {
    return this.vcpu!.run(budget);
  }

  interruptPending(): boolean {
    return this.interrupts?.pending ?? false;
  }

  /**
   * Cold start of the domain: its RAM cleared, boot images loaded into it
   * through the p2m, the vCPU's VMCS loaded with the boot state. The
   * processor stays in VMX root operation / SVM host mode across guest
   * reboots (it is the hypervisor's, not the guest's).
   */
  powerOn(): void {
    this.interrupts!.reset();
    this.domainMemory.clearRam();
    if (this.options.rom) {
      const shadow = biosShadow(this.options.rom);
      this.domainMemory.write(shadow.base, shadow.bytes);
    }
    if (this.options.kernel) {
      const scratch = { u8: new Uint8Array(this.ramBytes), ramSize: this.ramBytes };
      const { entry } = bootKernel(scratch, { kernel: this.options.kernel, initrd: this.options.initrd, cmdline: this.options.cmdline, vgaText: this.options.vga, ...apicTables(this.cpu, this.options) });
      this.domainMemory.writeNonZeroPages(0, scratch.u8);
      this.vcpu!.startAtEntry(entry);
    } else {
      this.vcpu!.startAtReset(this.cpu.model.signature);
    }
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
