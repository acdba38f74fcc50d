/**
 * The PC board: the chipset (chipset.ts), a processor side that runs the
 * guest (processorSide.ts: the bare emulated processor for acceleration
 * 'none', a vCPU of Popek's hypervisor for 'vtx'), and the run loop,
 * assembled from MachineOptions. One instance per thread; its driver (the
 * `popek run` CLI or the host's machine worker) calls `run(sliceMs)`
 * repeatedly.
 *
 * Run loop: devices with their own time (TimedDevice) are advanced to the
 * current guest time and report their next event; the guest then runs in a
 * chunk that ends at that event (deterministic clock: a number of
 * instructions; realtime clock: a fixed small chunk, after which the host
 * clock is read again). A halted guest waits for an interrupt: a
 * deterministic clock skips to the next event and a realtime clock returns
 * from `run` early so the driver can sleep.
 *
 * Guest resets (keyboard controller 0xFE, port 0x92 bit 0, 0xCF9) restart the
 * machine from its boot images unless `noReboot` asks to stop with 'reset'.
 * A triple fault stops the machine with 'shutdown' so the report is not lost.
 */
import { NS_PER_INSTRUCTION } from '../cpu/clock.ts';
import { accelerationProblem, apicProblem } from './acceleration.ts';
import { BareProcessor } from './bareProcessor.ts';
import { BootError } from './boot/bootError.ts';
import { Chipset } from './chipset.ts';
import { validateRomImage } from './firmware/romImage.ts';
import { HypervisorProcessor } from './hypervisorProcessor.ts';
import { SoftwareProcessor } from './softwareProcessor.ts';
import type { ProcessorSide } from './processorSide.ts';
import type { ScreenSnapshot } from '../devices/vga/textScreen.ts';
import type { HostKeyEvent } from '../devices/hostKeyboard.ts';
import type { MachineApi, MachineHooks, MachineOptions, MachineStats, RunResult, SerialIndex, StopReason } from './types.ts';
import { inspectCachedBlock, translationCacheView, type InspectedBlock, type TranslationCacheView } from './translationCacheView.ts';

export { DETERMINISTIC_EPOCH_MS } from './chipset.ts';

/** Longest deterministic CPU chunk between device checks (keeps a slice close to its sliceMs). */
const MAX_CHUNK = 20_000;
/** Realtime chunk between host clock reads and device checks (tens of microseconds at the CPU's 40-70 MIPS). */
const REALTIME_CHUNK = 2_000;

export function createMachine(options: MachineOptions, hooks: MachineHooks): MachineApi {
  const acceleration = options.acceleration ?? 'none';
  const accelProblem = accelerationProblem(acceleration, true);
  if (accelProblem !== undefined) throw new BootError(accelProblem);
  const apicRefused = options.apic ? apicProblem(acceleration) : undefined;
  if (apicRefused !== undefined) throw new BootError(apicRefused);
  return new Machine(options, hooks);
}

class Machine implements MachineApi {
  readonly memory: SharedArrayBuffer;
  private readonly options: MachineOptions;
  private readonly side: ProcessorSide;
  private readonly chipset: Chipset;
  private stopped: StopReason | null = null;
  /** Set by device callbacks during a guest run; acted on between runs. */
  private pendingReset: string | null = null;
  private pendingPowerOff = false;

  constructor(options: MachineOptions, hooks: MachineHooks) {
    this.options = options;
    if ((options.cpus ?? 1) !== 1) throw new BootError('only 1 CPU is supported');
    if (!Number.isInteger(options.memoryMiB) || options.memoryMiB < 2 || options.memoryMiB > 1792) {
      throw new BootError(`memory must be a whole number of MiB from 2 to 1792, got ${options.memoryMiB}`);
    }
    if (options.rom) validateRomImage(options.rom);
    if (!options.rom && !options.kernel) throw new BootError('the machine needs a kernel or a ROM image to boot');
    if (options.rom && options.kernel) throw new BootError('a machine boots either a ROM image or a kernel, not both');

    // 'vtx': a domain run by the hypervisor on the processor's VT-x; 'none': the bare emulated PC.
    // 'trap' and 'bt': the software monitor on the plain IA-32 processor (core/hypervisor/software).
    const accel = options.acceleration ?? 'none';
    const software = accel === 'trap' || accel === 'bt';
    const side: ProcessorSide = accel === 'none' ? new BareProcessor(options) : software ? new SoftwareProcessor(options) : new HypervisorProcessor(options);
    this.side = side;
    this.memory = side.memory;
    this.chipset = new Chipset(
      {
        bus: side.deviceBus,
        clock: side.clock,
        cpu: side.cpu,
        ramBytes: side.ramBytes,
        guestRam: side.guestRam,
        onIntr: (level) => side.setIntr(level),
        onNmi: () => side.nmi?.(),
        requestReset: (cause) => this.requestReset(cause),
        initProcessor: () => side.init?.() ?? false,
        requestPowerOff: () => this.requestPowerOff(),
        reschedule: () => side.cpu.requestStop(),
      },
      options,
      hooks,
    );
    side.connect(this.chipset);
    this.powerOn();
  }

  // ---- MachineApi ----------------------------------------------------------

  run(sliceMs: number): RunResult {
    if (this.stopped) return { kind: 'stopped', reason: this.stopped };
    const started = performance.now();
    this.chipset.drainSerialInput();
    try {
      return this.runChunks(started, sliceMs, this.side.clock.mode === 'deterministic');
    } catch (e) {
      const message = e instanceof Error ? (e.stack ?? e.message) : String(e);
      return this.stop({ kind: 'error', message, ...this.side.where() });
    } finally {
      this.chipset.flushSerialOutput();
    }
  }

  /** The body of `run`: guest chunks between device events until the slice is used up or the machine stops. */
  private runChunks(started: number, sliceMs: number, deterministic: boolean): RunResult {
    const clock = this.side.clock;
    for (;;) {
      const now = clock.nowNs();
      const next = this.chipset.advance(now);
      let budget = REALTIME_CHUNK;
      if (deterministic) budget = Math.max(1, Math.min(MAX_CHUNK, Math.ceil((next - now) / NS_PER_INSTRUCTION)));
      // Realtime: guest time may not run past the next event before it is processed (no lost ticks).
      else clock.setHorizon(next);
      const r = this.side.run(budget);

      if (this.pendingPowerOff) return this.stop({ kind: 'poweroff' });
      if (this.pendingReset !== null) {
        const cause = this.pendingReset;
        this.pendingReset = null;
        if (this.options.noReboot) return this.stop({ kind: 'reset', cause });
        this.powerOn();
      } else if (r.kind === 'stopped') {
        return this.stop(r.reason);
      } else if (r.kind === 'halted') {
        const wake = this.chipset.advance(clock.nowNs());
        if (this.side.interruptPending()) continue;
        if (!deterministic) {
          // Guest time that lags the host catches up here: an event already due by host time is processed now (lag beyond the clock's MAX_LAG_NS is dropped in setHorizon).
          if (wake <= clock.hostGuestNs()) {
            clock.setHorizon(wake);
            continue;
          }
          // A request dom0's thread is serving wakes the guest sooner than its next event: wait for it (bounded by that event and the slice).
          const waitMs = Math.min((wake - clock.hostGuestNs()) / 1e6, sliceMs - (performance.now() - started));
          if (this.chipset.virtio.awaitDom0(waitMs)) continue;
          // Otherwise let the driver sleep until host time reaches it.
          clock.setHorizon(wake);
          return { kind: 'running' };
        }
        // Deterministic with nothing scheduled: only host input can wake it.
        if (wake === Infinity) return { kind: 'running' };
        clock.skipTo(wake);
      }
      if (performance.now() - started >= sliceMs) return { kind: 'running' };
    }
  }

  waitIdle(timeoutMs: number): boolean {
    return this.chipset.virtio.awaitWake(timeoutMs) !== 'nothing-can-wake';
  }

  serialInput(port: SerialIndex, bytes: Uint8Array): void {
    this.chipset.serialInput(port, bytes);
  }

  networkInput(network: string, frame: Uint8Array): void {
    this.chipset.virtio.networkInput(network, frame);
  }

  virtioConsoleInput(bytes: Uint8Array, port = 0): void {
    this.chipset.virtio.consoleInput(bytes, port);
  }

  setBalloonTarget(pages: number): void {
    this.chipset.virtio.setBalloonTarget(pages);
  }

  powerButton(): void {
    this.chipset.acpiPm.pressPowerButton();
  }

  translationCache(): TranslationCacheView | null {
    const bt = this.side.translator;
    return bt ? translationCacheView(bt) : null;
  }

  inspectTranslatedBlock(id: number): InspectedBlock | null {
    const bt = this.side.translator;
    return bt ? inspectCachedBlock(bt, id) : null;
  }

  takeScreen(): ScreenSnapshot | null {
    return this.chipset.vga?.takeScreenIfChanged() ?? null;
  }

  keyEvents(events: readonly HostKeyEvent[]): void {
    this.chipset.hostKeyboard.keyEvents(events);
  }

  reset(): void {
    this.stopped = null;
    this.pendingReset = null;
    this.pendingPowerOff = false;
    this.powerOn();
  }

  pause(): void {
    this.side.clock.pause();
  }

  resume(): void {
    this.side.clock.resume();
  }

  stats(): MachineStats {
    const virtio = this.chipset.virtio;
    const balloon = virtio.balloonStats();
    return {
      instructions: this.side.clock.retired,
      exceptions: this.side.cpu.exceptionsRaised,
      guestNs: this.side.clock.nowNs(),
      droppedNs: this.side.clock.droppedNs,
      ...this.side.stats(),
      ...(virtio.empty ? {} : { virtio: virtio.stats() }),
      ...(balloon ? { balloon } : {}),
    };
  }

  // ---- board internals -----------------------------------------------------

  /** A guest-requested reset (device callbacks); acted on after the current guest run. */
  private requestReset(cause: string): void {
    this.pendingReset ??= cause;
    this.side.requestStop();
  }

  private requestPowerOff(): void {
    this.pendingPowerOff = true;
    this.side.requestStop();
  }

  /** Cold start: devices and processor to power-on state, RAM cleared, boot images loaded again. */
  private powerOn(): void {
    this.chipset.reset();
    this.side.powerOn();
  }

  private stop(reason: StopReason): RunResult {
    this.stopped = reason;
    return { kind: 'stopped', reason };
  }
}
