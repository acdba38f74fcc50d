/**
 * The board for acceleration 'vtx': one domain run by Popek's hypervisor on
 * the emulated processor's VT-x.
 *
 * The processor's bus holds machine memory only (the hypervisor's pool:
 * its own structures, the EPT tables, the domain's frames); the guest reaches
 * its memory through EPT built from the domain's p2m, and its devices (the
 * same chipset models as the bare PC: PIC, PIT, RTC/CMOS, UARTs, i8042,
 * ports 0x61/0x92/0x80/0xCF9, PCI host bridge, ACPI PM) sit on the domain's
 * own device bus, reached through I/O exits. The domain's PIC drives the
 * processor's INTR pin; interrupts reach the guest by injection on VM entry
 * (hypervisor/exits/virtualInterrupts.ts).
 *
 * The run loop is the bare board's (machine.ts): devices are advanced to the
 * guest time and report their next event, the vCPU runs up to it, HLT blocks
 * the vCPU until an interrupt is pending while the driver sleeps (realtime)
 * or guest time skips to the next event (deterministic).
 *
 * The chipset wiring repeats machine.ts's on purpose for now: the bare board
 * is being extended in parallel (virtio devices), and its devices are not yet
 * reachable from a domain; one shared chipset builder is the next step.
 * Machine memory is sized for this one domain at creation (a pool shared by
 * every VM of the host is what MachineMemory supports; the host does not
 * share one yet).
 */
import { Cpu } from '../cpu/cpu.ts';
import { GuestClock, NS_PER_INSTRUCTION } from '../cpu/clock.ts';
import { CPUID_SIGNATURE } from '../cpu/system.ts';
import { A20Gate } from '../devices/a20Gate.ts';
import { ACPI_SCI_IRQ, AcpiPm } from '../devices/acpiPm.ts';
import type { Device, TimedDevice } from '../devices/device.ts';
import { FpuErrorPort } from '../devices/fpuErrorPort.ts';
import { I8042 } from '../devices/i8042.ts';
import { Pci } from '../devices/pci.ts';
import { Pic } from '../devices/pic.ts';
import { Pit } from '../devices/pit.ts';
import { Port80 } from '../devices/port80.ts';
import { Port92 } from '../devices/port92.ts';
import { ResetControl } from '../devices/resetControl.ts';
import { Rtc } from '../devices/rtc.ts';
import { SystemControlPort } from '../devices/systemControlPort.ts';
import { Uart16550 } from '../devices/uart16550.ts';
import { HypervisorCounters, type CounterSnapshot } from '../hypervisor/counters.ts';
import { VirtualInterrupts } from '../hypervisor/exits/virtualInterrupts.ts';
import { DomainMemory } from '../hypervisor/memory/domainMemory.ts';
import { EptTables } from '../hypervisor/memory/eptTables.ts';
import { FRAME_SIZE } from '../hypervisor/memory/frameAllocator.ts';
import { MachineMemory } from '../hypervisor/memory/machineMemory.ts';
import { enterVmxRoot } from '../hypervisor/vmx/rootMode.ts';
import { VmxShadowPaging } from '../hypervisor/vmx/shadowPagingVmx.ts';
import { VmxVcpu } from '../hypervisor/vmx/vcpu.ts';
import type { VcpuStop } from '../hypervisor/vcpuRun.ts';
import { MemoryBus } from '../memory/bus.ts';
import { PhysicalMemory } from '../memory/physicalMemory.ts';
import { BootError } from './boot/bootError.ts';
import { bootKernel } from './boot/kernelBoot.ts';
import { LOW_ROM_WINDOW } from './firmware/romImage.ts';
import { attachLogPort } from './logPort.ts';
import { DETERMINISTIC_EPOCH_MS } from './machine.ts';
import { SerialInputQueue, SerialOutputBuffer } from './serialOutput.ts';
import type { MachineApi, MachineHooks, MachineOptions, MachineStats, RunResult, SerialIndex, StopReason } from './types.ts';

const MiB = 1024 * 1024;
const MAX_CHUNK = 20_000;
const REALTIME_CHUNK = 2_000;
/** Largest machine memory the processor's bus maps (PhysicalMemory's limit). */
const MACHINE_MEMORY_MAX = 0x7000_0000;
const FOUR_GIB = 0x1_0000_0000;

/** Frames the hypervisor needs besides the guest's: host environment, VMCS, EPT tables, with room to spare. */
function hypervisorFrames(ramBytes: number, romBytes: number): number {
  const ptFrames = Math.ceil(ramBytes / (2 * MiB)) + 2 * Math.ceil(Math.max(romBytes, 1) / (2 * MiB)) + 2;
  return 7 + 1 + 2 + 4 + ptFrames + 32;
}

/** Machine frames set aside for shadow page tables when nested paging is off (4 MiB; the shadows start over when they are used up). */
const SHADOW_FRAMES = 1024;

export function createVtxMachine(options: MachineOptions, hooks: MachineHooks): MachineApi {
  return new VtxMachine(options, hooks);
}

class VtxMachine implements MachineApi {
  readonly memory: SharedArrayBuffer;
  private readonly options: MachineOptions;
  private readonly hooks: MachineHooks;
  private readonly machineMemory: MachineMemory;
  private readonly domainMemory: DomainMemory;
  private readonly ramBytes: number;
  private readonly clock: GuestClock;
  private readonly cpu: Cpu;
  /** The domain's device bus: its device models' ports (and a 4 KiB stand-in memory nothing maps). */
  private readonly deviceBus: MemoryBus;
  private readonly devices: Device[] = [];
  private readonly timed: TimedDevice[] = [];
  private readonly pic: Pic;
  private readonly a20: A20Gate;
  private readonly acpiPm: AcpiPm;
  private readonly uarts: Uart16550[] = [];
  private readonly serialOut: SerialOutputBuffer[] = [];
  private readonly serialIn = [new SerialInputQueue(), new SerialInputQueue()];
  private readonly interrupts: VirtualInterrupts;
  private readonly vcpu: VmxVcpu;
  readonly counters = new HypervisorCounters();
  private stopped: StopReason | null = null;
  private pendingReset: string | null = null;
  private pendingPowerOff = false;

  constructor(options: MachineOptions, hooks: MachineHooks) {
    this.options = options;
    this.hooks = hooks;
    this.ramBytes = options.memoryMiB * MiB;
    // The bare board's virtio devices (MachineOptions disks, virtioConsole, virtioRng) are not on this board yet.
    const virtio = options as { disks?: unknown[]; virtioConsole?: boolean; virtioRng?: boolean };
    if ((virtio.disks?.length ?? 0) > 0 || virtio.virtioConsole || virtio.virtioRng) {
      throw new BootError('virtio devices are not on the VT-x board yet: run with acceleration none to use them');
    }
    const romBytes = options.rom?.length ?? 0;
    // Nested paging off: shadow page tables (core/hypervisor/shadow), and only guests that start in protected mode.
    const shadowPaging = options.nestedPaging === false;
    if (shadowPaging && !options.kernel) {
      throw new BootError('VT-x without nested paging runs only a kernel (Linux or Multiboot) entered in protected mode: firmware starts in real mode, which needs unrestricted guest and so EPT');
    }
    const poolBytes = this.ramBytes + romBytes + (hypervisorFrames(this.ramBytes, romBytes) + (shadowPaging ? SHADOW_FRAMES : 0)) * FRAME_SIZE;
    if (poolBytes > MACHINE_MEMORY_MAX) {
      const most = Math.floor((MACHINE_MEMORY_MAX - romBytes - hypervisorFrames(MACHINE_MEMORY_MAX, romBytes) * FRAME_SIZE) / MiB);
      throw new BootError(`under VT-x the guest's RAM and the hypervisor's own memory must fit in ${MACHINE_MEMORY_MAX / MiB} MiB of machine memory: at most ${most} MiB of RAM`);
    }

    // ---- machine memory, the processor, VMX root ----
    this.machineMemory = MachineMemory.create(poolBytes, poolBytes);
    this.memory = this.machineMemory.buffer;
    const physical = new PhysicalMemory(poolBytes, 0, this.machineMemory.buffer);
    const processorBus = new MemoryBus(physical);
    this.clock = new GuestClock(options.clock);
    this.cpu = new Cpu(processorBus, this.clock);
    this.cpu.onShutdown = () => this.cpu.requestStop();
    const host = enterVmxRoot(this.cpu, this.machineMemory);

    // ---- the domain's memory and its EPT ----
    this.domainMemory = new DomainMemory(this.machineMemory);
    this.domainMemory.populateRam(0, this.ramBytes);
    if (options.rom) {
      const low = Math.min(LOW_ROM_WINDOW, options.rom.length);
      this.domainMemory.mapRom(options.rom, [
        { base: FOUR_GIB - options.rom.length, size: options.rom.length },
        { base: 0x100000 - low, size: low },
      ]);
    }
    let eptp = 0;
    if (!shadowPaging) {
      const ept = new EptTables(this.machineMemory);
      ept.build(this.domainMemory.p2m);
      eptp = ept.eptp;
    }

    // ---- the domain's device models ----
    this.deviceBus = new MemoryBus(new PhysicalMemory(FRAME_SIZE));
    const bus = this.deviceBus;
    this.pic = this.add(new Pic(bus, { onIntr: (level) => this.interrupts?.setRequest(level) }));
    this.interrupts = new VirtualInterrupts(this.pic, (level) => {
      this.cpu.intrLine = level;
    });
    this.cpu.pollIntr = false;
    // The processor acknowledges the domain's controller on an external-interrupt exit.
    this.cpu.interruptController = this.pic;
    const fpuError = this.add(new FpuErrorPort(bus, this.pic.irqLine(13), () => { this.cpu.fpu.ignne = true; }));
    this.cpu.fpu.ferrConnected = true;
    this.cpu.fpu.onFerr = (level) => fpuError.ferr(level);
    const pit = this.addTimed(new Pit(bus, this.clock, this.pic.irqLine(0), { onReschedule: () => this.cpu.requestStop() }));
    this.add(new SystemControlPort(bus, this.clock, pit));
    this.addTimed(
      new Rtc(bus, this.clock, this.pic.irqLine(8), {
        ramBytes: this.ramBytes,
        epochMs: options.clock === 'deterministic' ? DETERMINISTIC_EPOCH_MS : Date.now(),
        onReschedule: () => this.cpu.requestStop(),
      }),
    );
    const uartPorts: [number, number][] = [[0x3f8, 4], [0x2f8, 3]];
    uartPorts.forEach(([base, irq], index) => {
      const out = new SerialOutputBuffer((bytes) => this.hooks.onSerialOutput?.(index as SerialIndex, bytes));
      this.serialOut.push(out);
      const uart = new Uart16550(bus, this.clock, base, this.pic.irqLine(irq), {
        name: `com${index + 1}`,
        onTransmit: (byte) => out.push(byte),
        onReschedule: () => this.cpu.requestStop(),
      });
      this.uarts.push(this.addTimed(uart));
    });
    // The guest's A20 gate is a device register only: EPT maps the domain's memory without the 1 MiB wrap.
    this.a20 = new A20Gate(bus);
    this.add(new Port92(bus, this.a20, { onReset: () => this.requestReset('port 0x92 fast reset') }));
    this.add(new I8042(bus, this.pic.irqLine(1), this.pic.irqLine(12), { a20: this.a20, onReset: () => this.requestReset('keyboard controller reset') }));
    const logged = new Set(options.logPorts ?? []);
    this.add(new Port80(bus, { onWrite: (code) => logged.has(0x80) && this.hooks.onPortByte?.(0x80, code) }));
    const resetControl = this.add(new ResetControl({ onReset: (cause) => this.requestReset(`port 0xCF9 ${cause === 'cf9-hard' ? 'hard' : 'soft'} reset`) }));
    this.add(new Pci(bus, { setIsaIrq: (irq, level) => this.pic.setIrq(irq, level), cf9: resetControl }));
    this.acpiPm = this.addTimed(
      new AcpiPm(bus, this.clock, this.pic.irqLine(ACPI_SCI_IRQ), {
        onPowerOff: () => this.requestPowerOff(),
        onReschedule: () => this.cpu.requestStop(),
      }),
    );
    for (const port of logged) {
      if (port === 0x80) continue;
      if (!Number.isInteger(port) || port < 0 || port > 0xffff) throw new BootError(`cannot log I/O port ${port}`);
      try {
        attachLogPort(bus, port, (p, byte) => this.hooks.onPortByte?.(p, byte));
      } catch (e) {
        throw new BootError(`cannot log I/O port 0x${port.toString(16)}: ${(e as Error).message}`);
      }
    }

    // Port 0x80 (POST codes, Linux's I/O delay) goes through without an exit unless it is logged.
    const passThrough = logged.has(0x80) ? [] : [0x80];
    this.vcpu = new VmxVcpu(this.cpu, { memory: this.domainMemory, ports: bus, interrupts: this.interrupts }, host, eptp, this.counters, passThrough, shadowPaging ? new VmxShadowPaging(this.domainMemory) : null);
    this.powerOn();
  }

  // ---- MachineApi ----------------------------------------------------------

  run(sliceMs: number): RunResult {
    if (this.stopped) return { kind: 'stopped', reason: this.stopped };
    const started = performance.now();
    const deterministic = this.clock.mode === 'deterministic';
    for (let i = 0; i < this.uarts.length; i++) this.serialIn[i].drain((bytes) => this.uarts[i].receive(bytes));
    try {
      return this.runChunks(started, sliceMs, deterministic);
    } catch (e) {
      const message = e instanceof Error ? (e.stack ?? e.message) : String(e);
      return this.stop({ kind: 'error', message });
    } finally {
      for (const out of this.serialOut) out.flush();
    }
  }

  private runChunks(started: number, sliceMs: number, deterministic: boolean): RunResult {
    for (;;) {
      const now = this.clock.nowNs();
      const next = this.advanceDevices(now);
      let budget = REALTIME_CHUNK;
      if (deterministic) budget = Math.max(1, Math.min(MAX_CHUNK, Math.ceil((next - now) / NS_PER_INSTRUCTION)));
      else this.clock.setHorizon(next);
      const r = this.vcpu.run(budget);

      if (this.pendingPowerOff) return this.stop({ kind: 'poweroff' });
      if (this.pendingReset !== null) {
        const cause = this.pendingReset;
        this.pendingReset = null;
        if (this.options.noReboot) return this.stop({ kind: 'reset', cause });
        this.powerOn();
      } else if (r.kind === 'stopped') {
        return this.stop(stopReasonOf(r.reason));
      } else if (r.kind === 'halted') {
        const wake = this.advanceDevices(this.clock.nowNs());
        if (this.interrupts.pending) continue;
        if (!deterministic) {
          if (wake <= this.clock.hostGuestNs()) {
            this.clock.setHorizon(wake);
            continue;
          }
          this.clock.setHorizon(wake);
          return { kind: 'running' };
        }
        if (wake === Infinity) return { kind: 'running' };
        this.clock.skipTo(wake);
      }
      if (performance.now() - started >= sliceMs) return { kind: 'running' };
    }
  }

  serialInput(port: SerialIndex, bytes: Uint8Array): void {
    const queue = this.serialIn[port];
    if (!queue) return;
    queue.push(bytes);
    queue.drain((b) => this.uarts[port].receive(b));
  }

  powerButton(): void {
    this.acpiPm.pressPowerButton();
  }

  reset(): void {
    this.stopped = null;
    this.pendingReset = null;
    this.pendingPowerOff = false;
    this.powerOn();
  }

  pause(): void {
    this.clock.pause();
  }

  resume(): void {
    this.clock.resume();
  }

  stats(): MachineStats {
    return {
      instructions: this.clock.retired,
      interrupts: this.cpu.interruptsDelivered,
      exceptions: this.cpu.exceptionsRaised,
      guestNs: this.clock.nowNs(),
      hypervisor: this.counters.snapshot(),
    };
  }

  /** The hypervisor's counters now. */
  hypervisorCounters(): CounterSnapshot {
    return this.counters.snapshot();
  }

  // ---- board internals -----------------------------------------------------

  private add<T extends Device>(device: T): T {
    this.devices.push(device);
    return device;
  }

  private addTimed<T extends TimedDevice>(device: T): T {
    this.timed.push(device);
    return this.add(device);
  }

  private advanceDevices(now: number): number {
    let next = Infinity;
    for (let i = 0; i < this.timed.length; i++) {
      const t = this.timed[i].advance(now);
      if (t < next) next = t;
    }
    return next;
  }

  private requestReset(cause: string): void {
    this.pendingReset ??= cause;
    this.cpu.requestStop();
    this.vcpu?.requestStop();
  }

  private requestPowerOff(): void {
    this.pendingPowerOff = true;
    this.cpu.requestStop();
    this.vcpu?.requestStop();
  }

  /**
   * Cold start of the domain: device models reset, the domain's RAM cleared,
   * boot images loaded into it through the p2m, the vCPU's VMCS loaded with
   * the boot state. The processor stays in VMX root operation across guest
   * reboots (it is the hypervisor's, not the guest's).
   */
  private powerOn(): void {
    for (const d of this.devices) d.reset();
    this.a20.set('kbc', true);
    this.interrupts.reset();
    this.domainMemory.clearRam();
    if (this.options.kernel) {
      const scratch = { u8: new Uint8Array(this.ramBytes), ramSize: this.ramBytes };
      const { entry } = bootKernel(scratch, { kernel: this.options.kernel, initrd: this.options.initrd, cmdline: this.options.cmdline });
      this.copyIntoDomain(scratch.u8);
      this.vcpu.startAtEntry(entry);
    } else {
      this.vcpu.startAtReset(CPUID_SIGNATURE);
    }
  }

  /** Copies the loaders' image of guest RAM into the domain's frames, page by page, skipping pages left zero. */
  private copyIntoDomain(image: Uint8Array): void {
    const words = new Int32Array(image.buffer, image.byteOffset, image.length >>> 2);
    for (let page = 0; page < image.length; page += FRAME_SIZE) {
      let used = false;
      for (let w = page >>> 2, end = (page + FRAME_SIZE) >>> 2; w < end; w++) {
        if (words[w] !== 0) {
          used = true;
          break;
        }
      }
      if (used) this.domainMemory.write(page, image.subarray(page, page + FRAME_SIZE));
    }
  }

  private stop(reason: StopReason): RunResult {
    this.stopped = reason;
    return { kind: 'stopped', reason };
  }
}

function stopReasonOf(stop: VcpuStop): StopReason {
  return stop;
}
