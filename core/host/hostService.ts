/**
 * The host service: implements the host API (./api.ts) over the VM library,
 * the lifecycle state machine and one machine worker per running VM. Both
 * transports (Electron IPC, HTTP + WebSocket) wrap one instance of it.
 *
 * Everything arriving here is treated as untrusted (it comes from a renderer
 * or a browser): ids, ports and byte arrays are checked before use, and a
 * failing VM or a throwing listener never takes the host down.
 */
import { createHash } from 'node:crypto';
import {
  HostError,
  type AccessibleVm,
  type ConfigResult,
  type CreateDiskRequest,
  type CreateDiskResult,
  type CreateVmRequest,
  type DiskInspection,
  type FieldError,
  type GuestPreset,
  type HostBridge,
  type HostInfo,
  type HostKeyEvent,
  type ScreenSnapshot,
  type SerialIndex,
  type Unsubscribe,
  type VmConfig,
  type VmConfigDraft,
  type VmEntry,
  type VmStateEvent,
  type BalloonStats,
  type HypervisorStats,
  type InternalNetworkStats,
  type VmStats,
  type VmStatus,
} from './api.ts';
import { existsSync } from 'node:fs';
import { BALLOON_PAGES_PER_MIB, balloonTargetMaxMiB, DISK_MIB_MAX } from '../machine/config.ts';
import { vgaBiosBesideGuests } from '../machine/firmware/bundledFirmware.ts';
import type { MachineStats, StopReason } from '../machine/types.ts';
import type { LibraryEntry, VmLibrary } from './library.ts';
import { VmLifecycle, type LifecycleAction } from './lifecycle.ts';
import { workerThreadRunnerFactory, type MachineRunner, type RunnerFactory } from './machineRunner.ts';
import { listPresets } from './presets.ts';
import { FileSerialBackend, TcpSerialBackend, type SerialBackend } from './serialBackends.ts';
import { DEFAULT_SCROLLBACK_BYTES, SerialStream, type SerialSubscriber } from './serialStream.ts';
import { validateDraft } from './validation.ts';
import { ScreenChannel } from './screenChannel.ts';
import { createDisk, inspectDisk } from './diskOperations.ts';
import { accelerationProblem } from '../machine/acceleration.ts';
import type { CounterSnapshot } from '../hypervisor/counters.ts';
import { exitName } from '../hypervisor/exitNames.ts';
import type { FromWorker, ToWorker, WorkerInit, WorkerReply } from './workerProtocol.ts';
import { WorkerRequests } from './workerRequests.ts';
import type { InspectedBlock, TranslationCacheView } from '../machine/translationCacheView.ts';
import { monitorStats, shadowPagingStats, translatorStats } from './softwareMonitorStats.ts';
import { MachinePool } from './machinePool.ts';
import type { HostNetworkOptions } from './hostNetwork.ts';
import { NetworkHub, type NetworkLink } from './networkHub.ts';
import { isConsolePort, MAX_VIRTIO_CONSOLE_PORTS, virtioConsoleIndex, type ConsolePort } from './consolePort.ts';

export interface HostServiceOptions {
  library: VmLibrary;
  mode: HostInfo['mode'];
  version: string;
  /** How machine workers are started (default: worker threads from the TypeScript tree). */
  runnerFactory?: RunnerFactory;
  /** Module exporting createMachine (default: core/machine/machine.ts beside this tree). */
  machineModuleUrl?: string;
  sliceMs?: number;
  statsIntervalMs?: number;
  scrollbackBytes?: number;
  /** How long a powered-off worker gets to exit by itself before it is terminated. */
  powerOffGraceMs?: number;
  /** Diagnostics for the operator (full emulator error reports); default: stderr. */
  log?: (message: string) => void;
  /** The machine memory every VM under the hypervisor shares (default: the processor's limit, 1792 MiB). */
  machineMemoryBytes?: number;
  /** Where the internal networks meet other processes' (core/host/hostNetwork.ts); false keeps them inside this process. Default: the user's runtime folder. */
  hostNetwork?: HostNetworkOptions | false;
}

/** Largest serial input accepted in one call. */
export const MAX_SERIAL_INPUT_BYTES = 64 * 1024;
/** Most key events accepted in one call, and the longest key name (KeyboardEvent.code values are short). */
export const MAX_KEY_EVENTS = 256;
const MAX_KEY_CODE_LENGTH = 32;

/** Fields that may change while a VM runs (everything else needs it powered off). */
const LIVE_EDITABLE: ReadonlySet<string> = new Set(['name', 'description']);

/** One power-on of a VM: its worker and its serial port backends. */
interface Run {
  runner?: MachineRunner;
  /** Set once the worker is being stopped on purpose; its late messages are ignored. */
  stopping: boolean;
  backends: (SerialBackend | undefined)[];
  /** Resolves when the worker is gone and the backends are closed. */
  done: Promise<void>;
  /** Resolves when the worker has exited. */
  workerGone: Promise<void>;
  /** The worker's ports on the internal networks its adapters name. */
  links: Map<string, NetworkLink>;
  /** Questions to the worker awaiting its reply (the translation cache's contents). */
  requests: WorkerRequests<WorkerReply>;
  /** The largest balloon target (MiB) the run's machine takes; absent when it has no balloon. */
  balloonMaxMiB?: number;
}

/** What the host keeps per VM beyond its config: status, current run, streams. */
interface VmRuntime {
  id: string;
  name: string;
  lifecycle: VmLifecycle;
  serial: [SerialStream, SerialStream];
  /** Per VirtIO console port (hvc0, hvc1, ...) that has been used. */
  virtioConsoles: Map<number, SerialStream>;
  screen: ScreenChannel;
  run?: Run;
  stats: VmStats | null;
  lastSample?: { instructions: number; at: number };
  /** Settles startVm once the worker reports started or failed. */
  startWaiter?: { resolve: (s: VmStatus) => void; reject: (e: Error) => void };
}

export class HostService implements HostBridge {
  readonly library: VmLibrary;
  private readonly options: HostServiceOptions;
  private readonly runnerFactory: RunnerFactory;
  private readonly machinePool: MachinePool;
  private readonly networks: NetworkHub;
  private readonly runtimes = new Map<string, VmRuntime>();
  private readonly stateListeners = new Set<(e: VmStateEvent) => void>();
  private readonly statsListeners = new Set<(s: VmStats) => void>();
  private readonly libraryListeners = new Set<() => void>();
  private mutations: Promise<void> = Promise.resolve();

  constructor(options: HostServiceOptions) {
    this.options = options;
    this.library = options.library;
    this.runnerFactory = options.runnerFactory ?? workerThreadRunnerFactory();
    this.machinePool = new MachinePool(options.machineMemoryBytes);
    this.networks = new NetworkHub({
      hostWide: options.hostNetwork === false ? undefined : (options.hostNetwork ?? {}),
      onHostNetworkError: (network, e) => this.log(`internal network "${network}" stays inside this process: ${e.message}`),
    });
  }

  // ---- HostApi: library ----------------------------------------------------------

  async getHostInfo(): Promise<HostInfo> {
    return { mode: this.options.mode, version: this.options.version, libraryFolder: this.library.folder, guestsFolder: this.library.guestsFolder };
  }

  async listPresets(): Promise<GuestPreset[]> {
    return listPresets(this.library.guestsFolder);
  }

  async listVms(): Promise<VmEntry[]> {
    const entries = await this.library.list();
    return entries.map((e) => this.toVmEntry(e));
  }

  async getVm(id: string): Promise<VmEntry> {
    return this.toVmEntry(await this.requireEntry(id));
  }

  async validateVm(draft: unknown, forId?: string): Promise<FieldError[]> {
    if (forId !== undefined) checkId(forId);
    const result = await validateDraft(this.library, draft, { forId, knownGuestTypes: await this.knownGuestTypes() });
    return result.ok ? [] : result.errors;
  }

  createVm(request: CreateVmRequest): Promise<ConfigResult> {
    return this.exclusive(() => this.createVmNow(request));
  }

  private async createVmNow(request: CreateVmRequest): Promise<ConfigResult> {
    if (request === null || typeof request !== 'object') throw new HostError('INVALID_ARGUMENT', 'createVm needs { config, newDiskMiB? }');
    const errors: FieldError[] = [];
    const disk = request.newDiskMiB;
    if (disk !== undefined && (typeof disk !== 'number' || !Number.isInteger(disk) || disk < 1 || disk > DISK_MIB_MAX)) {
      errors.push({ field: 'newDiskMiB', message: `New disk size must be a whole number of MiB from 1 to ${DISK_MIB_MAX}` });
    }
    const diskFormat = request.newDiskFormat ?? 'raw';
    if (diskFormat !== 'raw' && diskFormat !== 'qcow2') errors.push({ field: 'newDiskFormat', message: 'New disk format must be raw or qcow2' });
    const checked = await validateDraft(this.library, request.config, { knownGuestTypes: await this.knownGuestTypes() });
    if (!checked.ok) errors.unshift(...checked.errors);
    if (!checked.ok || errors.length) return { ok: false, errors };
    const config = await this.library.create(checked.value, disk, diskFormat);
    this.emitLibrary();
    return { ok: true, vm: this.toAccessible(config) };
  }

  updateVm(id: string, draft: VmConfigDraft): Promise<ConfigResult> {
    return this.exclusive(() => this.updateVmNow(id, draft));
  }

  private async updateVmNow(id: string, draft: VmConfigDraft): Promise<ConfigResult> {
    const entry = await this.requireAccessible(id);
    const checked = await validateDraft(this.library, draft, { forId: id });
    if (!checked.ok) return { ok: false, errors: checked.errors };
    const rt = this.runtimes.get(id);
    if (rt && isActive(rt)) {
      const locked = changedFields(entry.config, checked.value).filter((f) => !LIVE_EDITABLE.has(f));
      if (locked.length) {
        return { ok: false, errors: locked.map((field) => ({ field, message: 'Power off the VM to change this setting' })) };
      }
    }
    const config: VmConfig = { version: entry.config.version, id, ...checked.value };
    await this.library.update(config);
    if (rt) rt.name = config.name;
    this.emitLibrary();
    return { ok: true, vm: this.toAccessible(config) };
  }

  async inspectDisk(vmId: string | undefined, path: string): Promise<DiskInspection> {
    if (vmId !== undefined && vmId !== null) checkId(vmId);
    return inspectDisk(this.library, vmId ?? undefined, path);
  }

  createDisk(request: CreateDiskRequest): Promise<CreateDiskResult> {
    return this.exclusive(async () => {
      if (request === null || typeof request !== 'object') throw new HostError('INVALID_ARGUMENT', 'createDisk needs { vmId, path, format, sizeMiB }');
      checkId(request.vmId);
      await this.requireAccessible(request.vmId);
      return createDisk(this.library, request);
    });
  }

  removeVm(id: string): Promise<void> {
    return this.exclusive(() => this.removeVmNow(id));
  }

  private async removeVmNow(id: string): Promise<void> {
    checkId(id);
    const rt = this.runtimes.get(id);
    if (rt && isActive(rt)) throw new HostError('BUSY', `Power off VM "${rt.name}" before removing it`);
    await this.library.remove(id);
    this.runtimes.delete(id);
    this.emitLibrary();
  }

  // ---- HostApi: lifecycle -----------------------------------------------------------

  async startVm(id: string): Promise<VmStatus> {
    // Read the config and leave poweredOff atomically with respect to updates and removal.
    const { rt, config, init } = await this.exclusive(async () => {
      const entry = await this.requireAccessible(id);
      const config = entry.config;
      const rt = this.runtime(id, config.name);
      rt.lifecycle.check('start');
      const init = this.workerInit(config);
      if (config.cpus > 1) throw new HostError('UNSUPPORTED', 'Only 1 processor can run for now: multiprocessor (SMP) support is not implemented yet');
      const accelProblem = accelerationProblem(config.acceleration, config.nestedPaging, config.boot.kind === 'linux');
      if (accelProblem !== undefined) throw new HostError('UNSUPPORTED', accelProblem);
      rt.lifecycle.apply('start');
      return { rt, config, init };
    });
    const previous = rt.run;
    rt.stats = null;
    rt.lastSample = undefined;
    for (const s of rt.serial) s.clear();
    for (const s of rt.virtioConsoles.values()) s.clear();
    rt.screen.clear();
    const started = new Promise<VmStatus>((resolve, reject) => {
      rt.startWaiter = { resolve, reject };
    });

    let workerExited!: () => void;
    const run: Run = { stopping: false, backends: [], done: Promise.resolve(), workerGone: new Promise<void>((r) => (workerExited = r)), links: new Map(), requests: new WorkerRequests() };
    if (config.balloon) run.balloonMaxMiB = balloonTargetMaxMiB(config.memoryMiB);
    // Its adapters' internal networks: frames between this worker and the other VMs' go through the host's switches.
    for (const nic of init.nics ?? []) {
      const network = nic.network;
      if (!run.links.has(network)) run.links.set(network, this.networks.attach(network, (data) => run.runner?.send({ type: 'frame', network, data })));
    }
    void run.workerGone.then(() => {
      for (const link of run.links.values()) link.detach();
      run.requests.close();
    });
    // A domain of the hypervisor takes its memory from the host's pool; whatever ends its worker gives it back.
    if (config.acceleration !== 'none') {
      const lease = this.machinePool.lease();
      init.machineMemory = lease;
      void run.workerGone.then(() => this.machinePool.release(lease.owner));
    }
    rt.run = run;
    // The previous run's worker and TCP listeners must be gone before this one takes their place.
    if (previous) await previous.done;
    try {
      run.backends = await this.openBackends(rt, config);
    } catch (e) {
      workerExited();
      this.abort(rt, run, (e as Error).message);
      return started;
    }
    if (run.stopping) {
      // powered off while the backends were opening
      workerExited();
      await this.closeBackends(run);
      return started;
    }
    try {
      run.runner = this.runnerFactory(init, {
        message: (m) => this.onWorkerMessage(rt, run, m),
        error: (e) => {
          if (!run.stopping) this.abort(rt, run, `the machine worker crashed: ${e.message}`);
        },
        exit: (code) => {
          if (!run.stopping) this.abort(rt, run, `the machine worker exited unexpectedly (exit code ${code})`);
          workerExited();
        },
      });
    } catch (e) {
      workerExited();
      this.abort(rt, run, `cannot start the machine worker: ${(e as Error).message}`);
    }
    return started;
  }

  async pauseVm(id: string): Promise<VmStatus> {
    return this.simpleAction(id, 'pause', { type: 'pause' });
  }

  async resumeVm(id: string): Promise<VmStatus> {
    return this.simpleAction(id, 'resume', { type: 'resume' });
  }

  async resetVm(id: string): Promise<VmStatus> {
    return this.simpleAction(id, 'reset', { type: 'reset' });
  }

  async acpiShutdownVm(id: string): Promise<VmStatus> {
    return this.simpleAction(id, 'acpiShutdown', { type: 'powerButton' });
  }

  async powerOffVm(id: string): Promise<VmStatus> {
    const rt = await this.requireRuntime(id);
    rt.lifecycle.check('powerOff');
    const status = rt.lifecycle.apply('powerOff');
    this.settleStart(rt, new HostError('ILLEGAL_TRANSITION', `VM "${rt.name}" was powered off while starting`));
    if (rt.run) await this.stopRun(rt.run);
    return status;
  }

  async getStats(id: string): Promise<VmStats | null> {
    checkId(id);
    const rt = this.runtimes.get(id);
    return rt && (rt.lifecycle.state === 'running' || rt.lifecycle.state === 'paused') ? rt.stats : null;
  }

  async getTranslationCache(id: string): Promise<TranslationCacheView | null> {
    const ask = this.workerQuestion(id);
    return ask ? ((await ask((requestId) => ({ type: 'translationCache', requestId }))) as TranslationCacheView | null) : null;
  }

  async inspectTranslatedBlock(id: string, blockId: number): Promise<InspectedBlock | null> {
    if (!Number.isSafeInteger(blockId) || blockId < 1) throw new HostError('INVALID_ARGUMENT', 'a translated block is named by its number (1 or more)');
    const ask = this.workerQuestion(id);
    return ask ? ((await ask((requestId) => ({ type: 'inspectTranslatedBlock', requestId, blockId }))) as InspectedBlock | null) : null;
  }

  /** Asks a running or paused VM's worker something it answers with a `reply`; null when the VM is not running. */
  private workerQuestion(id: string): ((message: (requestId: number) => ToWorker) => Promise<WorkerReply>) | null {
    checkId(id);
    const rt = this.runtimes.get(id);
    const run = rt?.run?.stopping === false ? rt.run : undefined;
    const runner = run?.runner;
    if (!runner || !(rt!.lifecycle.state === 'running' || rt!.lifecycle.state === 'paused')) return null;
    return (message) => run!.requests.ask((requestId) => runner.send(message(requestId)));
  }

  async sendSerialInput(id: string, port: ConsolePort, data: Uint8Array): Promise<void> {
    checkId(id);
    checkPort(port);
    if (!(data instanceof Uint8Array)) throw new HostError('INVALID_ARGUMENT', 'serial input must be bytes');
    if (data.length > MAX_SERIAL_INPUT_BYTES) throw new HostError('INVALID_ARGUMENT', `serial input is limited to ${MAX_SERIAL_INPUT_BYTES} bytes per call`);
    const rt = this.runtimes.get(id);
    const runner = rt?.run?.stopping === false ? rt.run.runner : undefined;
    if (!runner || !(rt!.lifecycle.state === 'running' || rt!.lifecycle.state === 'paused')) return;
    const hvc = virtioConsoleIndex(port);
    if (hvc === null) runner.send({ type: 'serialInput', port: port as SerialIndex, data: data.slice() });
    else runner.send({ type: 'virtioConsoleInput', port: hvc, data: data.slice() });
  }

  async sendKeys(id: string, events: HostKeyEvent[]): Promise<void> {
    checkId(id);
    checkKeyEvents(events);
    const rt = this.runtimes.get(id);
    const runner = rt?.run?.stopping === false ? rt.run.runner : undefined;
    if (!runner || rt!.lifecycle.state !== 'running') return;
    runner.send({ type: 'keys', events: events.map((e) => ({ code: e.code, down: e.down })) });
  }

  // ---- HostEvents ----------------------------------------------------------------------

  subscribeScreen(vmId: string, listener: (screen: ScreenSnapshot) => void): Unsubscribe {
    checkId(vmId);
    return this.runtime(vmId).screen.subscribe(listener);
  }

  subscribeSerial(vmId: string, port: ConsolePort, listener: (data: Uint8Array) => void): Unsubscribe {
    return this.subscribeSerialSink(vmId, port, { deliver: listener });
  }

  /** subscribeSerial for transports that can report their backlog (WebSocket bufferedAmount). */
  subscribeSerialSink(vmId: string, port: ConsolePort, subscriber: SerialSubscriber): Unsubscribe {
    checkId(vmId);
    checkPort(port);
    return this.consoleStream(this.runtime(vmId), port).subscribe(subscriber);
  }

  /** A console's stream; a VirtIO console port's is made when first used (subscribed to, or written by the guest). */
  private consoleStream(rt: VmRuntime, port: ConsolePort): SerialStream {
    const hvc = virtioConsoleIndex(port);
    if (hvc === null) return rt.serial[port as SerialIndex];
    let stream = rt.virtioConsoles.get(hvc);
    if (!stream) {
      stream = new SerialStream(this.options.scrollbackBytes ?? DEFAULT_SCROLLBACK_BYTES);
      rt.virtioConsoles.set(hvc, stream);
    }
    return stream;
  }

  onStateChange(listener: (event: VmStateEvent) => void): Unsubscribe {
    this.stateListeners.add(listener);
    return () => void this.stateListeners.delete(listener);
  }

  onStats(listener: (stats: VmStats) => void): Unsubscribe {
    this.statsListeners.add(listener);
    return () => void this.statsListeners.delete(listener);
  }

  onLibraryChange(listener: () => void): Unsubscribe {
    this.libraryListeners.add(listener);
    return () => void this.libraryListeners.delete(listener);
  }

  /** Powers off every running VM (app quit, server shutdown). */
  async shutdown(): Promise<void> {
    const active = [...this.runtimes.values()].filter(isActive);
    await Promise.all(
      active.map(async (rt) => {
        if (isActive(rt)) rt.lifecycle.apply('powerOff');
        this.settleStart(rt, new HostError('ILLEGAL_TRANSITION', `VM "${rt.name}" was powered off: the host is shutting down`));
        if (rt.run) await this.stopRun(rt.run);
      }),
    );
    await this.networks.close();
  }

  // ---- internals ---------------------------------------------------------------------------

  /** Library mutations run one at a time, so two creates cannot both take the same name. */
  private exclusive<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.mutations.then(operation);
    this.mutations = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }

  private log(message: string): void {
    (this.options.log ?? ((m: string) => process.stderr.write(`popek: ${m}\n`)))(message);
  }

  private async knownGuestTypes(): Promise<string[]> {
    return listPresets(this.library.guestsFolder).map((p) => p.id);
  }

  private runtime(id: string, name?: string): VmRuntime {
    let rt = this.runtimes.get(id);
    if (!rt) {
      const scrollback = this.options.scrollbackBytes ?? DEFAULT_SCROLLBACK_BYTES;
      const created: VmRuntime = {
        id,
        name: name ?? id,
        lifecycle: new VmLifecycle(
          (status) => this.emitState(id, status),
          () => `VM "${created.name}"`,
        ),
        serial: [new SerialStream(scrollback), new SerialStream(scrollback)],
        virtioConsoles: new Map(),
        screen: new ScreenChannel(),
        stats: null,
      };
      rt = created;
      this.runtimes.set(id, rt);
    } else if (name !== undefined) {
      rt.name = name;
    }
    return rt;
  }

  /** The runtime of a VM that exists in the library (NOT_FOUND otherwise). */
  async setBalloonTarget(id: string, targetMiB: number): Promise<void> {
    checkId(id);
    if (typeof targetMiB !== 'number' || !Number.isInteger(targetMiB) || targetMiB < 0) {
      throw new HostError('INVALID_ARGUMENT', 'the balloon target is a whole number of MiB, 0 or more');
    }
    const rt = this.runtimes.get(id);
    const run = rt?.run?.stopping === false ? rt.run : undefined;
    if (!rt || !run?.runner || !(rt.lifecycle.state === 'running' || rt.lifecycle.state === 'paused')) {
      throw new HostError('ILLEGAL_TRANSITION', `VM ${rt ? `"${rt.name}"` : id} is not running: the balloon target is set on a running or paused VM`);
    }
    if (run.balloonMaxMiB === undefined) throw new HostError('UNSUPPORTED', `VM "${rt.name}" has no memory balloon (Settings -> System)`);
    if (targetMiB > run.balloonMaxMiB) {
      throw new HostError('INVALID_ARGUMENT', `the balloon can take at most ${run.balloonMaxMiB} MiB of this VM (the guest keeps some memory)`);
    }
    run.runner.send({ type: 'balloonTarget', pages: targetMiB * BALLOON_PAGES_PER_MIB });
  }

  private async requireRuntime(id: string): Promise<VmRuntime> {
    checkId(id);
    const rt = this.runtimes.get(id);
    if (rt && isActive(rt)) return rt;
    const entry = await this.requireEntry(id);
    return this.runtime(id, entry.accessible ? entry.config.name : undefined);
  }

  private async requireEntry(id: string): Promise<LibraryEntry> {
    checkId(id);
    const entry = await this.library.get(id);
    if (!entry) throw new HostError('NOT_FOUND', `No VM with id ${id}`);
    return entry;
  }

  private async requireAccessible(id: string): Promise<LibraryEntry & { accessible: true }> {
    const entry = await this.requireEntry(id);
    if (!entry.accessible) throw new HostError('INACCESSIBLE', `VM ${id} is inaccessible: ${entry.problem}`);
    return entry;
  }

  private toAccessible(config: VmConfig): AccessibleVm {
    const rt = this.runtime(config.id, config.name);
    return { accessible: true, id: config.id, folder: this.library.vmFolder(config.id), config, status: rt.lifecycle.status };
  }

  private toVmEntry(entry: LibraryEntry): VmEntry {
    if (entry.accessible) return this.toAccessible(entry.config);
    const rt = this.runtime(entry.id);
    return {
      accessible: false,
      id: entry.id,
      folder: entry.folder,
      problem: entry.problem,
      ...(entry.errors ? { errors: entry.errors } : {}),
      status: rt.lifecycle.status,
    };
  }

  private workerInit(config: VmConfig): WorkerInit {
    const resolve = (p: string) => this.library.resolvePath(config.id, p);
    const init: WorkerInit = {
      vmId: config.id,
      memoryMiB: config.memoryMiB,
      clock: config.clock,
      cpus: config.cpus,
      acceleration: config.acceleration,
      nestedPaging: config.nestedPaging,
      sliceMs: this.options.sliceMs ?? 10,
      statsIntervalMs: this.options.statsIntervalMs ?? 500,
      machineModuleUrl: this.options.machineModuleUrl ?? new URL('../machine/machine.ts', import.meta.url).href,
      // Every VM is a PC with a VGA: its Screen tab shows what the guest puts on it (nothing, for a serial-only guest).
      vga: true,
    };
    if (config.boot.kind === 'linux') {
      init.kernelPath = resolve(config.boot.kernel);
      if (config.boot.initrd !== undefined) init.initrdPath = resolve(config.boot.initrd);
      init.cmdline = config.boot.cmdline;
    } else {
      init.romPath = resolve(config.boot.rom);
      // Firmware finds the VGA's BIOS through fw_cfg, as on QEMU's PC: the bundled SeaVGABIOS, when it is installed.
      const vgaBios = vgaBiosBesideGuests(this.library.guestsFolder);
      if (existsSync(vgaBios)) init.vgaBiosPath = vgaBios;
      // The Boot order setting is the firmware's (direct Linux boot has no use for it).
      init.bootOrder = [...config.bootOrder];
    }
    if (config.disks.length > 0) {
      init.disks = config.disks.map((d) => ({ path: resolve(d.path), format: d.format, ...(d.readOnly ? { readOnly: true } : {}) }));
    }
    if (config.cdroms?.length) init.cdroms = config.cdroms.map((cd) => (cd.path !== undefined ? { path: resolve(cd.path) } : {}));
    if (config.nics?.length) init.nics = config.nics.map((n, i) => ({ network: n.network, mac: n.mac ?? stableMac(config.id, i) }));
    if (config.balloon) init.balloon = { targetPages: config.balloon.targetMiB * BALLOON_PAGES_PER_MIB };
    if (config.apic) init.apic = true;
    if (config.virtioConsoles) init.virtioConsolePorts = config.virtioConsoles;
    return init;
  }

  private async openBackends(rt: VmRuntime, config: VmConfig): Promise<(SerialBackend | undefined)[]> {
    const opened: (SerialBackend | undefined)[] = [];
    try {
      for (let i = 0; i < 2; i++) {
        const port = i as SerialIndex;
        const s = config.serial[port];
        if (s.enabled && s.mode === 'file' && s.path !== undefined) {
          opened.push(await FileSerialBackend.open(this.library.resolvePath(config.id, s.path)));
        } else if (s.enabled && s.mode === 'tcp' && s.port !== undefined) {
          opened.push(await TcpSerialBackend.open(s.port, (bytes) => rt.run?.runner?.send({ type: 'serialInput', port, data: bytes })));
        } else {
          opened.push(undefined);
        }
      }
    } catch (e) {
      await Promise.all(opened.map((b) => b?.close()));
      throw e;
    }
    return opened;
  }

  private async closeBackends(run: Run): Promise<void> {
    const backends = run.backends;
    run.backends = [];
    await Promise.all(backends.map((b) => b?.close().catch(() => undefined)));
  }

  private onWorkerMessage(rt: VmRuntime, run: Run, m: FromWorker): void {
    if (run.stopping || rt.run !== run) return;
    switch (m.type) {
      case 'started':
        if (rt.lifecycle.state !== 'starting') return;
        this.settleStart(rt, rt.lifecycle.apply('started'));
        return;
      case 'serial': {
        if (m.port !== 0 && m.port !== 1) return;
        rt.serial[m.port].publish(m.data);
        run.backends[m.port]?.write(m.data);
        return;
      }
      case 'virtioConsole':
        if (Number.isInteger(m.port) && m.port >= 0 && m.port < MAX_VIRTIO_CONSOLE_PORTS) this.consoleStream(rt, `hvc${m.port}`).publish(m.data);
        return;
      case 'screen':
        rt.screen.publish(m.screen);
        return;
      case 'frame':
        run.links.get(m.network)?.send(m.data);
        return;
      case 'stats':
        this.recordStats(rt, m);
        return;
      case 'reply':
        run.requests.answer(m.requestId, m.value);
        return;
      case 'stopped':
        if (m.reason.kind === 'poweroff') {
          if (rt.lifecycle.state === 'starting') rt.lifecycle.apply('started');
          rt.lifecycle.apply('guestPoweredOff');
          this.settleStart(rt, rt.lifecycle.status);
          void this.stopRun(run);
        } else {
          if (m.reason.kind === 'error') this.log(`VM "${rt.name}" (${rt.id}) stopped by an emulator error:\n${m.reason.message}`);
          this.abort(rt, run, describeStop(m.reason));
        }
        return;
      case 'failed':
        this.abort(rt, run, m.message);
        return;
      case 'exited':
        return;
    }
  }

  /** The host-wide links of the networks `run`'s adapters are on, those that are open. */
  private internalNetworkStats(run: Run | undefined): InternalNetworkStats[] {
    const out: InternalNetworkStats[] = [];
    for (const network of run?.links.keys() ?? []) {
      const link = this.networks.hostLinkStats(network);
      if (!link) continue;
      const c = link.counters;
      out.push({ network, peers: link.peers, framesSent: c.sent, bytesSent: c.sentBytes, framesReceived: c.received, bytesReceived: c.receivedBytes, dropped: c.malformed + c.strangers, sendErrors: c.sendErrors });
    }
    return out;
  }

  private recordStats(rt: VmRuntime, m: Extract<FromWorker, { type: 'stats' }>): void {
    const prev = rt.lastSample;
    const dtMs = prev ? m.sampledAt - prev.at : 0;
    const mips = prev && dtMs > 0 ? (m.stats.instructions - prev.instructions) / (dtMs * 1000) : 0;
    rt.lastSample = { instructions: m.stats.instructions, at: m.sampledAt };
    const stats: VmStats = {
      vmId: rt.id,
      instructions: m.stats.instructions,
      mips: Math.max(0, mips),
      interrupts: m.stats.interrupts,
      exceptions: m.stats.exceptions,
      guestNs: m.stats.guestNs,
      ...(m.stats.droppedNs ? { droppedNs: m.stats.droppedNs } : {}),
      sampledAt: Date.now(),
      ...(m.stats.hypervisor ? { hypervisor: hypervisorStats(m.stats.hypervisor) } : {}),
      ...(m.stats.virtio
        ? {
            devices: m.stats.virtio.map(({ name, counters: c, dropped }) => ({
              name, requests: c.requests, bytesRead: c.bytesRead, bytesWritten: c.bytesWritten, kicks: c.kicks, interrupts: c.interrupts, errors: c.errors,
              ...(dropped === undefined ? {} : { dropped }),
            })),
          }
        : {}),
      ...(m.stats.balloon ? { balloon: balloonStats(m.stats.balloon) } : {}),
    };
    const networks = this.internalNetworkStats(rt.run);
    if (networks.length > 0) stats.networks = networks;
    rt.stats = stats;
    for (const l of this.statsListeners) safeCall(() => l(stats));
  }

  /** starting|running|paused -> aborted with `reason`; the run's worker is stopped. */
  private abort(rt: VmRuntime, run: Run, reason: string): void {
    if (run.stopping) return;
    if (rt.run === run && isActive(rt)) {
      this.log(`VM "${rt.name}" (${rt.id}) aborted: ${reason}`);
      rt.lifecycle.apply('abort', reason);
      this.settleStart(rt, new HostError('INTERNAL', `VM "${rt.name}" stopped: ${reason}`));
    }
    void this.stopRun(run);
  }

  private settleStart(rt: VmRuntime, outcome: VmStatus | Error): void {
    const waiter = rt.startWaiter;
    if (!waiter) return;
    rt.startWaiter = undefined;
    if (outcome instanceof Error) waiter.reject(outcome);
    else waiter.resolve(outcome);
  }

  /**
   * Ends a run: asks its worker to exit, terminates it if it has not within
   * the grace period (a machine stuck inside one slice), closes the serial
   * backends. Idempotent; resolves when all of that is done.
   */
  private stopRun(run: Run): Promise<void> {
    if (run.stopping) return run.done;
    run.stopping = true;
    run.done = (async () => {
      const runner = run.runner;
      if (runner) {
        runner.send({ type: 'powerOff' });
        let timer: NodeJS.Timeout | undefined;
        const timedOut = new Promise<void>((r) => (timer = setTimeout(r, this.options.powerOffGraceMs ?? 1000)));
        await Promise.race([run.workerGone, timedOut]);
        clearTimeout(timer);
        await runner.terminate();
      }
      await run.workerGone;
      await this.closeBackends(run);
    })();
    return run.done;
  }

  private async simpleAction(id: string, action: LifecycleAction, message: Parameters<MachineRunner['send']>[0]): Promise<VmStatus> {
    const rt = await this.requireRuntime(id);
    rt.lifecycle.check(action);
    rt.run?.runner?.send(message);
    return rt.lifecycle.apply(action);
  }

  private emitState(vmId: string, status: VmStatus): void {
    for (const l of this.stateListeners) safeCall(() => l({ vmId, status }));
  }

  private emitLibrary(): void {
    for (const l of this.libraryListeners) safeCall(() => l());
  }
}

function isActive(rt: VmRuntime): boolean {
  const s = rt.lifecycle.state;
  return s === 'starting' || s === 'running' || s === 'paused';
}

function safeCall(f: () => void): void {
  try {
    f();
  } catch {
    // a listener's failure is its own; the host and the other listeners go on
  }
}

const ID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;

function checkId(id: unknown): asserts id is string {
  if (typeof id !== 'string' || !ID_PATTERN.test(id) || id === '.' || id === '..') {
    throw new HostError('INVALID_ARGUMENT', `not a VM id: ${JSON.stringify(id)?.slice(0, 80)}`);
  }
}

function checkPort(port: unknown): asserts port is ConsolePort {
  if (!isConsolePort(port)) throw new HostError('INVALID_ARGUMENT', `console must be serial port 0 (COM1) or 1 (COM2), or a VirtIO console port hvc0 to hvc${MAX_VIRTIO_CONSOLE_PORTS - 1}`);
}

function checkKeyEvents(events: unknown): asserts events is HostKeyEvent[] {
  if (!Array.isArray(events) || events.length > MAX_KEY_EVENTS) throw new HostError('INVALID_ARGUMENT', `key events must be a list of at most ${MAX_KEY_EVENTS}`);
  for (const e of events) {
    const event = e as Partial<HostKeyEvent> | null;
    if (event === null || typeof event !== 'object' || typeof event.code !== 'string' || event.code.length > MAX_KEY_CODE_LENGTH || typeof event.down !== 'boolean') {
      throw new HostError('INVALID_ARGUMENT', 'a key event is { code: KeyboardEvent.code, down: boolean }');
    }
  }
}

/** Top-level config fields whose values differ. */
function changedFields(before: VmConfigDraft, after: VmConfigDraft): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  keys.delete('id');
  keys.delete('version');
  const b = before as unknown as Record<string, unknown>;
  const a = after as unknown as Record<string, unknown>;
  return [...keys].filter((k) => JSON.stringify(b[k]) !== JSON.stringify(a[k]));
}

const hex = (n: number, width: number) => (n >>> 0).toString(16).padStart(width, '0');

/** The user-facing reason for a machine that stopped other than by powering off. */
export function describeStop(reason: StopReason): string {
  switch (reason.kind) {
    case 'shutdown':
      return `Triple fault at CS:EIP ${hex(reason.cs, 4)}:${hex(reason.eip, 8)}${reason.detail ? ` (${reason.detail})` : ''}`;
    case 'halt':
      return `The CPU halted with interrupts disabled at CS:EIP ${hex(reason.cs, 4)}:${hex(reason.eip, 8)}; nothing can wake it`;
    case 'error':
      // The message may carry a stack trace (logged in full by the host); the status keeps its first line.
      return `Emulator error: ${reason.message.split('\n')[0]}${reason.cs !== undefined && reason.eip !== undefined ? ` at CS:EIP ${hex(reason.cs, 4)}:${hex(reason.eip, 8)}` : ''}`;
    case 'reset':
      return `The guest asked for a reset (${reason.cause})`;
    case 'poweroff':
      return 'The guest powered off';
  }
}

/** The balloon as the app shows it: pages as the device counts them; the pool's free frames only where there is a pool. */
function balloonStats(b: NonNullable<MachineStats['balloon']>): BalloonStats {
  return { targetPages: b.targetPages, actualPages: b.actualPages, ...(b.poolFreeFrames === undefined ? {} : { poolFreeFrames: b.poolFreeFrames }) };
}

/** The hypervisor's counters as the app shows them: exits named, per-port detail left to `popek run --stats`. */
function hypervisorStats(h: CounterSnapshot): HypervisorStats {
  const exitsByReason: Record<string, number> = {};
  h.exitsByReason.forEach((n, reason) => {
    if (n > 0) exitsByReason[exitName(h.vendor, reason)] = n;
  });
  return {
    exitsByReason,
    entries: h.entries,
    injectedInterrupts: h.injectedInterrupts,
    eptViolations: h.eptViolations,
    guestMs: h.guestMs,
    hypervisorMs: h.hypervisorMs,
    ...(h.shadowPaging ? { shadowPaging: shadowPagingStats(h.shadowPaging) } : {}),
    ...(h.monitor ? { monitor: monitorStats(h.monitor) } : {}),
    ...(h.translator ? { translator: translatorStats(h.translator) } : {}),
  };
}

/** A locally administered MAC under QEMU's 52:54:00 prefix, the same for a VM's adapter at every start. */
function stableMac(vmId: string, index: number): string {
  const h = createHash('sha256').update(`${vmId}/nic${index}`).digest();
  return ['52', '54', '00', ...[h[0], h[1], h[2]].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}
