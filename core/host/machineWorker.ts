/**
 * The body of a machine worker: builds one machine and runs it in slices,
 * between which it handles the host's messages (serial input, pause, reset,
 * power) and posts serial output batches, statistics and the stop reason.
 *
 * Transport agnostic: `WorkerChannel` is implemented over worker_threads by
 * ./machineWorkerThread.ts (and could be over Electron's utilityProcess
 * parentPort). Slices are chained with setImmediate so incoming messages are
 * handled between two slices, never during one.
 */
import { readFile } from 'node:fs/promises';
import type { MachineApi, MachineHooks, MachineOptions, SerialIndex } from '../machine/types.ts';
import type { FromWorker, ToWorker, WorkerInit } from './workerProtocol.ts';

export interface WorkerChannel {
  post(message: FromWorker, transfer?: ArrayBuffer[]): void;
  onMessage(listener: (message: ToWorker) => void): void;
  /** Ends the worker once the last message is posted. */
  close(): void;
}

export type CreateMachine = (options: MachineOptions, hooks: MachineHooks) => MachineApi;

/** Loads `createMachine` from a module URL. */
export async function importCreateMachine(url: string): Promise<CreateMachine> {
  const mod = (await import(url)) as { createMachine?: unknown };
  if (typeof mod.createMachine !== 'function') throw new Error(`${url} does not export createMachine`);
  return mod.createMachine as CreateMachine;
}

/** How long an idle (halted) guest lets the host sleep between slices. */
const IDLE_SLEEP_MS = 1;

/** Least time between two screen pictures posted to the host (about 30 per second, a display's pace). */
export const SCREEN_INTERVAL_MS = 33;

/** Most output one port may accumulate within one slice; beyond it bytes are dropped (a UART cannot produce that much). */
const MAX_PENDING_BYTES = 1 << 20;

/** Collects a port's output during a slice without allocating per byte. */
class OutputBuffer {
  private buf = new Uint8Array(4096);
  length = 0;

  append(bytes: Uint8Array): void {
    const need = this.length + bytes.length;
    if (need > this.buf.length) {
      if (need > MAX_PENDING_BYTES) bytes = bytes.subarray(0, Math.max(0, MAX_PENDING_BYTES - this.length));
      const grown = new Uint8Array(Math.min(MAX_PENDING_BYTES, Math.max(this.buf.length * 2, this.length + bytes.length)));
      grown.set(this.buf.subarray(0, this.length));
      this.buf = grown;
    }
    this.buf.set(bytes, this.length);
    this.length += bytes.length;
  }

  /** The pending bytes as a fresh, transferable array; empties the buffer. */
  take(): Uint8Array {
    const out = this.buf.slice(0, this.length);
    this.length = 0;
    return out;
  }
}

async function readBootFile(path: string | undefined, what: string): Promise<Uint8Array | undefined> {
  if (path === undefined) return undefined;
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    throw new Error(`cannot read the ${what} ${path}: ${(e as Error).message}`);
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export async function runMachineWorker(init: WorkerInit, channel: WorkerChannel, load: (url: string) => Promise<CreateMachine> = importCreateMachine): Promise<void> {
  const output: [OutputBuffer, OutputBuffer] = [new OutputBuffer(), new OutputBuffer()];
  /** Per VirtIO console port (hvc0, hvc1, ...). */
  const consoleOutput: OutputBuffer[] = Array.from({ length: init.virtioConsolePorts ?? 0 }, () => new OutputBuffer());
  let machine: MachineApi | undefined;
  let running = false;
  let finished = false;
  let scheduled = false;
  let lastStatsAt = 0;
  let lastScreenAt = -Infinity;
  const pendingMessages: ToWorker[] = [];

  const flushOutput = () => {
    for (const port of [0, 1] as SerialIndex[]) {
      if (output[port].length === 0) continue;
      const data = output[port].take();
      channel.post({ type: 'serial', port, data }, [data.buffer as ArrayBuffer]);
    }
    consoleOutput.forEach((buffer, port) => {
      if (buffer.length === 0) return;
      const data = buffer.take();
      channel.post({ type: 'virtioConsole', port, data }, [data.buffer as ArrayBuffer]);
    });
  };

  /** The display's picture when it changed, throttled to SCREEN_INTERVAL_MS (the adapter keeps the change until asked). */
  const postScreen = (force = false) => {
    if (!machine?.takeScreen) return;
    const now = performance.now();
    if (!force && now - lastScreenAt < SCREEN_INTERVAL_MS) return;
    const screen = machine.takeScreen();
    if (!screen) return;
    lastScreenAt = now;
    channel.post({ type: 'screen', screen });
  };

  const postStats = () => {
    if (!machine) return;
    lastStatsAt = performance.now();
    channel.post({ type: 'stats', stats: machine.stats(), sampledAt: lastStatsAt });
  };

  const finish = (message: FromWorker) => {
    if (finished) return;
    finished = true;
    running = false;
    try {
      flushOutput();
      postScreen(true);
      postStats();
    } catch {
      // the machine is broken; the final message matters more than its last stats
    }
    channel.post(message);
    channel.close();
  };

  /** `idle`: the guest is halted waiting for an event, so give the host CPU back for a moment. */
  const schedule = (idle = false) => {
    if (scheduled || !running || finished) return;
    scheduled = true;
    // An idle guest with a network adapter dom0 serves waits blocked on dom0's wake word, so a frame for it ends the sleep.
    if (idle && !machine?.waitIdle?.(IDLE_SLEEP_MS)) setTimeout(slice, IDLE_SLEEP_MS);
    else setImmediate(slice);
  };

  const slice = () => {
    scheduled = false;
    if (!running || finished || !machine) return;
    let idle = false;
    try {
      const sliceStart = performance.now();
      const result = machine.run(init.sliceMs);
      // run() returns early when the guest halted and waits for an interrupt.
      idle = result.kind === 'running' && performance.now() - sliceStart < init.sliceMs / 2;
      flushOutput();
      postScreen();
      if (result.kind === 'stopped') {
        if (result.reason.kind === 'reset') {
          // Only reported when the machine was told not to reboot; a PC reboots.
          machine.reset();
        } else {
          finish({ type: 'stopped', reason: result.reason });
          return;
        }
      }
      if (performance.now() - lastStatsAt >= init.statsIntervalMs) postStats();
    } catch (e) {
      finish({ type: 'failed', message: `the machine crashed: ${errorText(e)}` });
      return;
    }
    schedule(idle);
  };

  const handle = (message: ToWorker) => {
    if (finished) return;
    if (!machine) {
      pendingMessages.push(message);
      return;
    }
    try {
      switch (message.type) {
        case 'serialInput':
          if (message.port === 0 || message.port === 1) machine.serialInput(message.port, message.data);
          break;
        case 'virtioConsoleInput':
          machine.virtioConsoleInput?.(message.data, message.port);
          break;
        case 'keys':
          machine.keyEvents?.(message.events);
          break;
        case 'pause':
          if (running) {
            running = false;
            machine.pause();
            postScreen(true);
            postStats();
          }
          break;
        case 'resume':
          if (!running) {
            running = true;
            machine.resume();
            schedule();
          }
          break;
        case 'reset':
          machine.reset();
          if (!running) {
            running = true;
            machine.resume();
            schedule();
          }
          break;
        case 'powerButton':
          machine.powerButton();
          break;
        case 'balloonTarget':
          machine.setBalloonTarget?.(message.pages);
          break;
        case 'frame':
          machine.networkInput?.(message.network, message.data);
          break;
        case 'translationCache':
          channel.post({ type: 'reply', requestId: message.requestId, value: machine.translationCache?.() ?? null });
          break;
        case 'inspectTranslatedBlock':
          channel.post({ type: 'reply', requestId: message.requestId, value: machine.inspectTranslatedBlock?.(message.blockId) ?? null });
          break;
        case 'powerOff':
          finish({ type: 'exited' });
          break;
      }
    } catch (e) {
      finish({ type: 'failed', message: `the machine crashed handling ${message.type}: ${errorText(e)}` });
    }
  };
  channel.onMessage(handle);

  try {
    const createMachine = await load(init.machineModuleUrl);
    const [kernel, initrd, rom, vgaBios] = await Promise.all([
      readBootFile(init.kernelPath, 'kernel'),
      readBootFile(init.initrdPath, 'initrd'),
      readBootFile(init.romPath, 'ROM image'),
      readBootFile(init.vgaBiosPath, 'VGA BIOS'),
    ]);
    if (finished) return; // powered off while loading
    const options: MachineOptions = { memoryMiB: init.memoryMiB, clock: init.clock, cpus: init.cpus, acceleration: init.acceleration, nestedPaging: init.nestedPaging };
    if (kernel) options.kernel = kernel;
    if (initrd) options.initrd = initrd;
    if (init.cmdline !== undefined) options.cmdline = init.cmdline;
    if (rom) options.rom = rom;
    if (init.disks) options.disks = init.disks;
    if (init.cdroms) options.cdroms = init.cdroms;
    if (init.vga) options.vga = true;
    if (vgaBios) options.vgaBios = vgaBios;
    if (init.bootOrder) options.bootOrder = init.bootOrder;
    if (init.machineMemory) options.machineMemory = init.machineMemory;
    if (init.nics) options.nics = init.nics;
    if (init.balloon) options.virtioBalloon = true;
    if (init.apic) options.apic = true;
    if (init.virtioConsolePorts) {
      options.virtioConsole = true;
      options.virtioConsolePorts = init.virtioConsolePorts;
    }
    machine = createMachine(options, {
      onSerialOutput(port, bytes) {
        if (port === 0 || port === 1) output[port].append(bytes);
      },
      onVirtioConsoleOutput(bytes, port) {
        consoleOutput[port]?.append(bytes);
      },
      onNetworkFrame(network, frame) {
        channel.post({ type: 'frame', network, data: frame }, [frame.buffer as ArrayBuffer]);
      },
    });
  } catch (e) {
    finish({ type: 'failed', message: errorText(e) });
    return;
  }
  // The target at start: the guest's driver reads it when it binds.
  if (init.balloon && init.balloon.targetPages > 0) machine.setBalloonTarget?.(init.balloon.targetPages);
  channel.post({ type: 'started' });
  running = true;
  postStats();
  for (const m of pendingMessages.splice(0)) handle(m);
  schedule();
}
