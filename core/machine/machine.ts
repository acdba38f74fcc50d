/**
 * The PC board: memory, CPU, chipset devices and the run loop, assembled from
 * MachineOptions. One instance per thread; its driver (the `popek run` CLI or
 * the host's machine worker) calls `run(sliceMs)` repeatedly.
 *
 * Run loop: devices with their own time (TimedDevice) are advanced to the
 * current guest time and report their next event; the CPU then runs in a
 * chunk that ends at that event (deterministic clock: a number of
 * instructions; realtime clock: a fixed small chunk, after which the host
 * clock is read again). HLT is resolved here: with interrupts disabled and no
 * NMI source the machine stops ('halt'); otherwise a deterministic clock skips
 * to the next event and a realtime clock returns from `run` early so the
 * driver can sleep.
 *
 * Guest resets (keyboard controller 0xFE, port 0x92 bit 0, 0xCF9) restart the
 * machine from its boot images unless `noReboot` asks to stop with 'reset'.
 * A triple fault stops the machine with 'shutdown' so the report is not lost.
 */
import { Cpu, STOP_HALT, STOP_SHUTDOWN } from '../cpu/cpu.ts';
import { GuestClock, NS_PER_INSTRUCTION } from '../cpu/clock.ts';
import { CS, IF } from '../cpu/regs.ts';
import { A20Gate } from '../devices/a20Gate.ts';
import { ACPI_SCI_IRQ, AcpiPm } from '../devices/acpiPm.ts';
import type { Device, TimedDevice } from '../devices/device.ts';
import { I8042 } from '../devices/i8042.ts';
import { Pci } from '../devices/pci.ts';
import { Pic } from '../devices/pic.ts';
import { FpuErrorPort } from '../devices/fpuErrorPort.ts';
import { Pit } from '../devices/pit.ts';
import { Port80 } from '../devices/port80.ts';
import { Port92 } from '../devices/port92.ts';
import { ResetControl } from '../devices/resetControl.ts';
import { Rtc } from '../devices/rtc.ts';
import { SystemControlPort } from '../devices/systemControlPort.ts';
import { Uart16550 } from '../devices/uart16550.ts';
import { MemoryBus } from '../memory/bus.ts';
import { PhysicalMemory } from '../memory/physicalMemory.ts';
import { accelerationProblem } from './acceleration.ts';
import { createVtxMachine } from './vtxMachine.ts';
import { BootError } from './boot/bootError.ts';
import { bootKernel } from './boot/kernelBoot.ts';
import { mapRomImage, validateRomImage } from './firmware/romImage.ts';
import { attachLogPort } from './logPort.ts';
import { SerialInputQueue, SerialOutputBuffer } from './serialOutput.ts';
import { VirtioBoard } from './virtioBoard.ts';
import type { MachineApi, MachineHooks, MachineOptions, MachineStats, RunResult, SerialIndex, StopReason } from './types.ts';

const MiB = 1024 * 1024;
/** Longest deterministic CPU chunk between device checks (keeps a slice close to its sliceMs). */
const MAX_CHUNK = 20_000;
/** Realtime chunk between host clock reads and device checks (tens of microseconds at the CPU's 40-70 MIPS). */
const REALTIME_CHUNK = 2_000;
/** Wall-clock time the RTC shows at guest time 0 on the deterministic clock (2025-01-01T00:00:00Z), so runs repeat exactly. */
export const DETERMINISTIC_EPOCH_MS = Date.UTC(2025, 0, 1);

export function createMachine(options: MachineOptions, hooks: MachineHooks): MachineApi {
  const acceleration = options.acceleration ?? 'none';
  const accelProblem = accelerationProblem(acceleration, true);
  if (accelProblem !== undefined) throw new BootError(accelProblem);
  // 'vtx': a domain run by the hypervisor on the processor's VT-x (vtxMachine.ts); 'none': the bare PC below.
  if (acceleration === 'vtx') return createVtxMachine(options, hooks);
  return new Machine(options, hooks);
}

class Machine implements MachineApi {
  readonly memory: SharedArrayBuffer;
  private readonly options: MachineOptions;
  private readonly hooks: MachineHooks;
  private readonly physical: PhysicalMemory;
  private readonly bus: MemoryBus;
  private readonly clock: GuestClock;
  private readonly cpu: Cpu;
  private readonly devices: Device[] = [];
  private readonly timed: TimedDevice[] = [];
  private readonly pic: Pic;
  private readonly a20: A20Gate;
  private readonly acpiPm: AcpiPm;
  private readonly uarts: Uart16550[] = [];
  private readonly serialOut: SerialOutputBuffer[] = [];
  private readonly serialIn = [new SerialInputQueue(), new SerialInputQueue()];
  private readonly virtio: VirtioBoard;
  private stopped: StopReason | null = null;
  /** Set by device callbacks during a CPU chunk; acted on between chunks. */
  private pendingReset: string | null = null;
  private pendingPowerOff = false;

  constructor(options: MachineOptions, hooks: MachineHooks) {
    this.options = options;
    this.hooks = hooks;
    if ((options.cpus ?? 1) !== 1) throw new BootError('only 1 CPU is supported');
    if (!Number.isInteger(options.memoryMiB) || options.memoryMiB < 2 || options.memoryMiB > 1792) {
      throw new BootError(`memory must be a whole number of MiB from 2 to 1792, got ${options.memoryMiB}`);
    }
    if (options.rom) validateRomImage(options.rom);
    if (!options.rom && !options.kernel) throw new BootError('the machine needs a kernel or a ROM image to boot');
    if (options.rom && options.kernel) throw new BootError('a machine boots either a ROM image or a kernel, not both');

    this.physical = new PhysicalMemory(options.memoryMiB * MiB, options.rom?.length ?? 0);
    this.memory = this.physical.buffer;
    this.bus = new MemoryBus(this.physical);
    this.clock = new GuestClock(options.clock);
    this.cpu = new Cpu(this.bus, this.clock);
    if (options.jit !== undefined) this.cpu.jit.configure({ enabled: options.jit });
    this.cpu.onShutdown = () => this.cpu.requestStop();

    // ---- chipset ----
    this.pic = this.add(new Pic(this.bus, { onIntr: (level) => { this.cpu.intrLine = level; } }));
    this.cpu.pollIntr = false;
    const fpuError = this.add(new FpuErrorPort(this.bus, this.pic.irqLine(13), () => { this.cpu.fpu.ignne = true; }));
    this.cpu.fpu.ferrConnected = true;
    this.cpu.fpu.onFerr = (level) => fpuError.ferr(level);
    this.cpu.interruptController = this.pic;
    const pit = this.addTimed(new Pit(this.bus, this.clock, this.pic.irqLine(0), { onReschedule: () => this.cpu.requestStop() }));
    this.add(new SystemControlPort(this.bus, this.clock, pit));
    this.addTimed(
      new Rtc(this.bus, this.clock, this.pic.irqLine(8), {
        ramBytes: this.physical.ramSize,
        epochMs: options.clock === 'deterministic' ? DETERMINISTIC_EPOCH_MS : Date.now(),
        onReschedule: () => this.cpu.requestStop(),
      }),
    );
    const uartPorts: [number, number][] = [[0x3f8, 4], [0x2f8, 3]];
    uartPorts.forEach(([base, irq], index) => {
      const out = new SerialOutputBuffer((bytes) => this.hooks.onSerialOutput?.(index as SerialIndex, bytes));
      this.serialOut.push(out);
      const uart = new Uart16550(this.bus, this.clock, base, this.pic.irqLine(irq), {
        name: `com${index + 1}`,
        onTransmit: (byte) => out.push(byte),
        onReschedule: () => this.cpu.requestStop(),
      });
      this.uarts.push(this.addTimed(uart));
    });

    this.a20 = new A20Gate(this.bus);
    this.add(new Port92(this.bus, this.a20, { onReset: () => this.requestReset('port 0x92 fast reset') }));
    this.add(
      new I8042(this.bus, this.pic.irqLine(1), this.pic.irqLine(12), {
        a20: this.a20,
        onReset: () => this.requestReset('keyboard controller reset'),
      }),
    );
    const logged = new Set(options.logPorts ?? []);
    this.add(new Port80(this.bus, { onWrite: (code) => logged.has(0x80) && this.hooks.onPortByte?.(0x80, code) }));
    const resetControl = this.add(new ResetControl({ onReset: (cause) => this.requestReset(`port 0xCF9 ${cause === 'cf9-hard' ? 'hard' : 'soft'} reset`) }));
    const pci = this.add(new Pci(this.bus, { setIsaIrq: (irq, level) => this.pic.setIrq(irq, level), cf9: resetControl }));
    this.virtio = new VirtioBoard(this.bus, pci, options, (bytes) => this.hooks.onVirtioConsoleOutput?.(bytes));
    this.acpiPm = this.addTimed(
      new AcpiPm(this.bus, this.clock, this.pic.irqLine(ACPI_SCI_IRQ), {
        onPowerOff: () => this.requestPowerOff(),
        onReschedule: () => this.cpu.requestStop(),
      }),
    );

    // Ports whose writes the driver wants to see; a device that owns such a port reports them itself (0x80).
    for (const port of logged) {
      if (port === 0x80) continue;
      if (!Number.isInteger(port) || port < 0 || port > 0xffff) throw new BootError(`cannot log I/O port ${port}`);
      try {
        attachLogPort(this.bus, port, (p, byte) => this.hooks.onPortByte?.(p, byte));
      } catch (e) {
        throw new BootError(`cannot log I/O port 0x${port.toString(16)}: ${(e as Error).message}`);
      }
    }

    if (options.rom) mapRomImage(this.physical, this.bus, options.rom);
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
      return this.stop({ kind: 'error', message, cs: this.cpu.segSel[CS], eip: this.cpu.eip >>> 0 });
    } finally {
      for (const out of this.serialOut) out.flush();
    }
  }

  /** The body of `run`: CPU chunks between device events until the slice is used up or the machine stops. */
  private runChunks(started: number, sliceMs: number, deterministic: boolean): RunResult {
    for (;;) {
      const now = this.clock.nowNs();
      const next = this.advanceDevices(now);
      let budget = REALTIME_CHUNK;
      if (deterministic) budget = Math.max(1, Math.min(MAX_CHUNK, Math.ceil((next - now) / NS_PER_INSTRUCTION)));
      // Realtime: guest time may not run past the next event before it is processed (no lost ticks).
      else this.clock.setHorizon(next);
      const code = this.cpu.run(budget);

      if (this.pendingPowerOff) return this.stop({ kind: 'poweroff' });
      if (this.pendingReset !== null) {
        const cause = this.pendingReset;
        this.pendingReset = null;
        if (this.options.noReboot) return this.stop({ kind: 'reset', cause });
        this.powerOn();
      } else if (code === STOP_SHUTDOWN) {
        const detail = this.cpu.shutdownDetail ?? 'triple fault';
        return this.stop({ kind: 'shutdown', cs: this.cpu.segSel[CS], eip: this.cpu.eip >>> 0, detail });
      } else if (code === STOP_HALT) {
        if ((this.cpu.flags & IF) === 0 && !this.cpu.nmiPending) {
          return this.stop({ kind: 'halt', cs: this.cpu.segSel[CS], eip: this.cpu.eip >>> 0 });
        }
        const wake = this.advanceDevices(this.clock.nowNs());
        if (this.pic.hasInterrupt()) continue;
        if (!deterministic) {
          // Guest time that lags the host catches up here: an event already due by host time is processed now.
          if (wake <= this.clock.hostGuestNs()) {
            this.clock.setHorizon(wake);
            continue;
          }
          // Otherwise let the driver sleep until host time reaches it.
          this.clock.setHorizon(wake);
          return { kind: 'running' };
        }
        // Deterministic with nothing scheduled: only host input can wake it.
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

  virtioConsoleInput(bytes: Uint8Array): void {
    this.virtio.consoleInput(bytes);
  }

  setBalloonTarget(pages: number): void {
    this.virtio.setBalloonTarget(pages);
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
      ...(this.virtio.empty ? {} : { virtio: this.virtio.stats() }),
      ...(this.virtio.balloonStats() ? { balloon: this.virtio.balloonStats()! } : {}),
    };
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

  /** Fires due device events; returns the guest time of the earliest next one. */
  private advanceDevices(now: number): number {
    let next = Infinity;
    for (let i = 0; i < this.timed.length; i++) {
      const t = this.timed[i].advance(now);
      if (t < next) next = t;
    }
    return next;
  }

  /** A guest-requested reset (device callbacks); acted on after the current CPU chunk. */
  private requestReset(cause: string): void {
    this.pendingReset ??= cause;
    this.cpu.requestStop();
  }

  private requestPowerOff(): void {
    this.pendingPowerOff = true;
    this.cpu.requestStop();
  }

  /** Cold start: devices and CPU to power-on state, RAM cleared, boot images loaded again. */
  private powerOn(): void {
    for (const d of this.devices) d.reset();
    // A20 on, as the keyboard controller's output port comes out of reset (and as the boot protocols require).
    this.a20.set('kbc', true);
    this.physical.u8.fill(0, 0, this.physical.ramSize);
    this.cpu.reset();
    if (this.options.kernel) {
      const { entry } = bootKernel(this.physical, {
        kernel: this.options.kernel,
        initrd: this.options.initrd,
        cmdline: this.options.cmdline,
      });
      this.cpu.loadEntryState(entry);
    }
  }

  private stop(reason: StopReason): RunResult {
    this.stopped = reason;
    return { kind: 'stopped', reason };
  }
}
