/**
 * `popek run`: runs one machine headless on the main thread, COM1 (or with
 * --console hvcK a port of its virtio console) on stdin/stdout. The machine
 * runs in slices interleaved with I/O through the event loop, so typing and
 * output stay responsive; when a slice comes back early (the guest is idle in
 * HLT on the realtime clock) the loop sleeps a millisecond instead of spinning
 * (blocked on dom0's wake word when the guest has a network adapter dom0
 * serves, so a frame for it ends the sleep: MachineApi.waitIdle).
 *
 * The machine's internal networks join the host-wide ones
 * (core/host/hostNetwork.ts, through a NetworkHub as `popek serve` does):
 * other `popek run` and `popek serve` processes of this user whose VMs name
 * the same network are on the same Ethernet segment.
 *
 * Exit statuses: 0 guest power-off, reboot with --no-reboot, or HLT with
 * nothing to wake it; 1 bad arguments or files; 2 triple fault; 3 emulator
 * error; 124 --timeout; 130/143 interrupted by SIGINT/SIGTERM (piped mode).
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { BootError } from '../machine/boot/bootError.ts';
import { validateRomImage } from '../machine/firmware/romImage.ts';
import { SEABIOS_FILE, findBundledSeabios } from '../machine/firmware/bundledFirmware.ts';
import type { MachineApi, MachineHooks, MachineOptions, StopReason } from '../machine/types.ts';
import { NetworkHub, type NetworkLink } from '../host/networkHub.ts';
import { ConsoleEscape, ESCAPE_HELP } from './consoleEscape.ts';
import { RUN_USAGE, UsageError, parseRunArgs, type RunArgs } from './runArgs.ts';
import { formatRunStats } from './runStats.ts';
import { formatTcDump, terminalTcDump } from './tcDump.ts';

export const EXIT_OK = 0;
export const EXIT_USAGE = 1;
export const EXIT_TRIPLE_FAULT = 2;
export const EXIT_EMULATOR_ERROR = 3;
export const EXIT_TIMEOUT = 124;
const SLICE_MS = 20;

export type CreateMachine = (options: MachineOptions, hooks: MachineHooks) => MachineApi;

/** The process streams and the machine factory; replaceable for tests. */
export interface RunEnvironment {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?(mode: boolean): unknown };
  stdout: { write(data: Uint8Array | string): unknown };
  stderr: { write(data: string): unknown };
  createMachine?: CreateMachine;
  /** Installs signal handlers (off in tests). */
  handleSignals: boolean;
}

export async function runCommand(argv: string[], env: Partial<RunEnvironment> = {}): Promise<number> {
  const io: RunEnvironment = {
    stdin: env.stdin ?? process.stdin,
    stdout: env.stdout ?? process.stdout,
    stderr: env.stderr ?? process.stderr,
    createMachine: env.createMachine,
    handleSignals: env.handleSignals ?? true,
  };
  const fail = (message: string): number => {
    io.stderr.write(`popek run: ${message}\n`);
    return EXIT_USAGE;
  };

  let args: RunArgs;
  try {
    args = parseRunArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) return fail(e.message);
    throw e;
  }
  if (args.help) {
    io.stdout.write(RUN_USAGE);
    return EXIT_OK;
  }

  let options: MachineOptions;
  try {
    options = await machineOptions(args);
  } catch (e) {
    if (e instanceof BootError) return fail(e.message);
    throw e;
  }

  const logs = new PortLogs();
  try {
    for (const log of args.portLogs) logs.open(log.port, log.file);
  } catch (e) {
    logs.close();
    return fail((e as Error).message);
  }

  // The machine's uplink of each internal network, a port on the host-wide network's switch here.
  const networks = new NetworkHub({
    hostWide: {},
    onHostNetworkError: (network, e) => io.stderr.write(`popek run: internal network "${network}" stays inside this process: ${e.message}\n`),
  });
  const links = new Map<string, NetworkLink>();
  let machine: MachineApi | undefined;
  for (const nic of args.nics ?? []) {
    const network = nic.network;
    if (network !== undefined && !links.has(network)) links.set(network, networks.attach(network, (frame) => machine?.networkInput?.(network, frame)));
  }
  await networks.hostEndpoints();

  const create = io.createMachine ?? (await import('../machine/machine.ts')).createMachine;
  try {
    machine = create(options, {
      onSerialOutput: (port, bytes) => {
        if (port === 0 && args.consolePort === undefined) io.stdout.write(bytes);
      },
      onVirtioConsoleOutput: (bytes, port) => {
        if (port === args.consolePort) io.stdout.write(bytes);
      },
      onPortByte: (port, byte) => logs.record(port, byte),
      onNetworkFrame: (network, frame) => links.get(network)?.send(frame),
    });
  } catch (e) {
    logs.close();
    await networks.close();
    if (e instanceof BootError) return fail(e.message);
    return fail(`cannot create the machine: ${(e as Error).message}`);
  }
  // 4 KiB pages; the guest's driver reads the target when it binds.
  if (args.balloonMiB) machine.setBalloonTarget?.(args.balloonMiB * 256);

  try {
    return await driveMachine(machine, args, io, logs);
  } finally {
    await networks.close();
  }
}

async function machineOptions(args: RunArgs): Promise<MachineOptions> {
  const options: MachineOptions = {
    memoryMiB: args.memoryMiB,
    clock: args.clock,
    noReboot: args.noReboot,
    logPorts: args.portLogs.map((l) => l.port),
    acceleration: args.acceleration,
  };
  if (!args.nestedPaging) options.nestedPaging = false;
  if (args.apic) options.apic = true;
  if (args.jit !== undefined) options.jit = args.jit;
  if (args.rom !== undefined) {
    options.rom = await readInput(args.rom, 'ROM image');
    validateRomImage(options.rom);
  } else if (args.kernel === undefined) {
    // Neither a kernel nor a ROM: the PC boots the way a PC does, through its firmware.
    const bundled = findBundledSeabios();
    if (bundled === null) throw new BootError(`the bundled firmware (resources/${SEABIOS_FILE}) is missing: give --kernel or --rom, or restore it with resources/firmware/seabios/extract.sh`);
    options.rom = await readInput(bundled, 'bundled firmware');
    validateRomImage(options.rom);
  }
  if (args.kernel !== undefined) options.kernel = await readInput(args.kernel, 'kernel');
  if (args.initrd !== undefined) options.initrd = await readInput(args.initrd, 'initrd');
  if (args.append !== undefined) options.cmdline = args.append;
  if (args.disks) options.disks = args.disks;
  if (args.ideDisks) options.ideDisks = args.ideDisks;
  if (args.cdroms) options.cdroms = args.cdroms.map((path) => ({ path }));
  if (args.bootOrder) options.bootOrder = args.bootOrder;
  if (args.nics) options.nics = args.nics;
  if (args.balloonMiB !== undefined) options.virtioBalloon = true;
  if (args.virtioConsolePorts !== undefined) {
    options.virtioConsole = true;
    options.virtioConsolePorts = args.virtioConsolePorts;
  }
  return options;
}

async function readInput(path: string, what: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (e) {
    throw new BootError(`cannot read the ${what} '${path}': ${describeFsError(e)}`);
  }
}

function describeFsError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'is a directory';
  if (code === 'EACCES') return 'permission denied';
  return (e as Error).message;
}

/** What the process reports and returns for a machine that stopped for good. */
export function describeStop(reason: StopReason): { code: number; message?: string } {
  switch (reason.kind) {
    case 'poweroff':
      return { code: EXIT_OK };
    case 'reset':
      return { code: EXIT_OK, message: `guest reboot (${reason.cause}); not restarting because of --no-reboot` };
    case 'halt':
      return { code: EXIT_OK, message: `halted at ${csEip(reason.cs, reason.eip)}` };
    case 'shutdown':
      return { code: EXIT_TRIPLE_FAULT, message: `triple fault (shutdown) at ${csEip(reason.cs, reason.eip)}: ${reason.detail}` };
    case 'error': {
      const where = reason.cs !== undefined && reason.eip !== undefined ? ` at ${csEip(reason.cs, reason.eip)}` : '';
      return { code: EXIT_EMULATOR_ERROR, message: `emulator error${where}: ${reason.message}` };
    }
  }
}

export function csEip(cs: number, eip: number): string {
  return `${(cs & 0xffff).toString(16).padStart(4, '0')}:${(eip >>> 0).toString(16).padStart(8, '0')}`;
}

function driveMachine(machine: MachineApi, args: RunArgs, io: RunEnvironment, logs: PortLogs): Promise<number> {
  const stdin = io.stdin;
  const raw = stdin.isTTY === true && typeof stdin.setRawMode === 'function';
  const escape = new ConsoleEscape();
  const deadline = args.timeoutSeconds !== undefined ? performance.now() + args.timeoutSeconds * 1000 : Infinity;

  return new Promise<number>((resolve) => {
    let done = false;
    const restoreTerminal = (): void => {
      if (raw) stdin.setRawMode!(false);
    };
    // Typing goes to the console stdout shows: COM1, or the virtio console port of --console.
    const toGuest = (bytes: Uint8Array): void => {
      if (args.consolePort === undefined) machine.serialInput(0, bytes);
      else machine.virtioConsoleInput?.(bytes, args.consolePort);
    };
    const onData = (chunk: Buffer | string): void => {
      const bytes = typeof chunk === 'string' ? new TextEncoder().encode(chunk) : new Uint8Array(chunk);
      if (!raw) {
        toGuest(bytes);
        return;
      }
      const { guest, actions } = escape.filter(bytes);
      if (guest.length > 0) toGuest(guest);
      for (const action of actions) {
        if (action === 'help') io.stderr.write(ESCAPE_HELP);
        else if (action === 'tcDump') io.stderr.write(terminalTcDump(machine, args));
        else finish(EXIT_OK, 'quit (Ctrl-A x)');
      }
    };
    const onSigint = (): void => finish(130, 'interrupted');
    const onSigterm = (): void => finish(143, 'terminated');

    function finish(code: number, message?: string): void {
      if (done) return;
      done = true;
      logs.flush();
      logs.close();
      stdin.off('data', onData);
      restoreTerminal();
      stdin.pause();
      process.off('exit', restoreTerminal);
      if (io.handleSignals) {
        process.off('SIGINT', onSigint);
        process.off('SIGTERM', onSigterm);
      }
      if (message !== undefined) io.stderr.write(`${raw ? '\r\n' : ''}${message}\n`);
      if (args.stats) io.stderr.write(formatRunStats(args.acceleration, machine.stats()));
      if (args.tcDump !== undefined) io.stderr.write(formatTcDump(machine, args.tcDump));
      resolve(code);
    }

    const slice = (): void => {
      if (done) return;
      if (performance.now() >= deadline) {
        finish(EXIT_TIMEOUT, `timeout after ${args.timeoutSeconds} s`);
        return;
      }
      const started = performance.now();
      let result;
      try {
        result = machine.run(SLICE_MS);
      } catch (e) {
        finish(EXIT_EMULATOR_ERROR, `emulator error: ${(e as Error).stack ?? String(e)}`);
        return;
      }
      logs.flush();
      if (result.kind === 'stopped') {
        if (result.reason.kind === 'reset' && !args.noReboot) {
          machine.reset(); // a PC reboots
        } else {
          const stop = describeStop(result.reason);
          finish(stop.code, stop.message);
          return;
        }
      }
      // A slice that came back early means the guest is idle: wait instead of spinning, for a frame dom0
      // writes into its buffers (MachineApi.waitIdle, ending at once when one comes), else sleep.
      if (performance.now() - started >= SLICE_MS / 4) setImmediate(slice);
      else if (machine.waitIdle?.(1)) setImmediate(slice);
      else setTimeout(slice, 1);
    };

    if (raw) stdin.setRawMode!(true);
    process.on('exit', restoreTerminal);
    if (io.handleSignals) {
      process.on('SIGINT', onSigint);
      process.on('SIGTERM', onSigterm);
    }
    stdin.on('data', onData);
    stdin.resume();
    setImmediate(slice);
  });
}

/** Files that collect the bytes the guest writes to chosen I/O ports. */
class PortLogs {
  private readonly fds = new Map<number, number[]>();
  private readonly pending = new Map<number, number[]>();

  open(port: number, file: string): void {
    let fd: number;
    try {
      fd = openSync(file, 'a');
    } catch (e) {
      throw new Error(`cannot open the port log '${file}': ${describeFsError(e)}`);
    }
    const list = this.fds.get(port) ?? [];
    list.push(fd);
    this.fds.set(port, list);
    this.pending.set(port, []);
  }

  record(port: number, byte: number): void {
    this.pending.get(port)?.push(byte & 0xff);
  }

  flush(): void {
    for (const [port, bytes] of this.pending) {
      if (bytes.length === 0) continue;
      const data = Uint8Array.from(bytes);
      bytes.length = 0;
      for (const fd of this.fds.get(port) ?? []) writeSync(fd, data);
    }
  }

  close(): void {
    for (const list of this.fds.values()) for (const fd of list) closeSync(fd);
    this.fds.clear();
    this.pending.clear();
  }
}
