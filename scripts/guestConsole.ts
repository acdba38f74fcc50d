/**
 * Drives a machine's COM1 like a person at a serial terminal: boots it
 * in-process, waits for output patterns, types commands. Used by the
 * guest-level tests, which boot real kernels, and by the benchmarks.
 */
import { readFileSync } from 'node:fs';
import { createMachine } from '../core/machine/machine.ts';
import type { MachineApi, MachineOptions, StopReason } from '../core/machine/types.ts';

export const TINY_LINUX = new URL('../resources/guests/tiny-linux/', import.meta.url).pathname;

/**
 * The command line the guest tests give Debian's kernels: without the crypto
 * manager's boot-time self-tests (a documented kernel parameter; the kernel
 * prints "alg: self-tests disabled"). Sampled on the bare PC (deterministic
 * clock), 31.6 of the 41 guest seconds to Debian 686's /init went to one of
 * them, the Diffie-Hellman test's modular exponentiations (cryptomgr_test ->
 * alg_test_kpp -> dh_compute_value -> mpi_powm), and the built-in X.509
 * certificate check waited for them (5.6 s more): one boot took 461 s of host
 * time to /init with the tests and 60 s without. The kernel is unchanged, and
 * a user's VM runs the tests (`npm run bench -- debian-686` boots that way).
 */
export const DEBIAN_TEST_CMDLINE = 'console=ttyS0 cryptomgr.notests';
/** The shell prompt of the bundled initramfs, optionally followed by busybox's cursor-position query. */
export const PROMPT = /\r?\n# (\x1b\[6n)?$/;

export class GuestConsole {
  readonly machine: MachineApi;
  output = '';
  /** What the guest wrote to its virtio console (hvc0), when the machine has one. */
  virtioConsoleOutput = '';
  /** What the guest wrote to each virtio console port (index n: hvc<n>). */
  readonly virtioConsolePortOutput: string[] = [];
  stopped: StopReason | null = null;
  /**
   * What the waits' limits (`hostSeconds`) count: host wall time, or the CPU
   * time this process got ('cpu', the benchmarks: on a loaded machine this
   * process gets a share of a core, and a wall-time limit fails a guest that
   * is only slow; a stuck guest spins, so CPU time still ends its wait).
   */
  limitClock: 'wall' | 'cpu' = 'wall';
  /**
   * Machines that run in turns with this one while it waits (each for a
   * shorter slice after each of this one's): two VMs on one internal network
   * in one process, so that frames from either side are answered while one
   * of them waits for its command.
   */
  companions: GuestConsole[] = [];
  private readonly decoder = new TextDecoder('latin1');

  constructor(options: MachineOptions) {
    this.machine = createMachine(options, {
      onSerialOutput: (port, bytes) => {
        if (port === 0) this.output += this.decoder.decode(bytes);
      },
      onVirtioConsoleOutput: (bytes, port) => {
        const text = this.decoder.decode(bytes);
        this.virtioConsolePortOutput[port] = (this.virtioConsolePortOutput[port] ?? '') + text;
        if (port === 0) this.virtioConsoleOutput += text;
      },
    });
  }

  static tinyLinux(overrides: Partial<MachineOptions> = {}, kernelPath = TINY_LINUX + 'bzImage'): GuestConsole {
    return new GuestConsole({
      memoryMiB: 128,
      clock: 'deterministic',
      kernel: new Uint8Array(readFileSync(kernelPath)),
      initrd: new Uint8Array(readFileSync(TINY_LINUX + 'initramfs.cpio.gz')),
      cmdline: 'console=ttyS0',
      ...overrides,
    });
  }

  /** Guest time in seconds. */
  get guestSeconds(): number {
    return this.machine.stats().guestNs / 1e9;
  }

  /**
   * Runs until the output (from `from` on) matches `pattern`; returns the
   * matching text. Fails after `hostSeconds` of host time (see `limitClock`) or if the machine stops.
   */
  async waitFor(pattern: RegExp | string, hostSeconds = 120, from = 0): Promise<string> {
    const deadline = this.limitNow() + hostSeconds * 1000;
    for (;;) {
      const text = this.output.slice(from);
      const hit = typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text);
      if (hit) return text;
      if (this.stopped) throw new Error(`machine stopped (${JSON.stringify(this.stopped)}) before ${pattern}; output:\n${this.tail()}`);
      if (this.limitNow() > deadline) throw new Error(`timed out waiting for ${pattern} (${hostSeconds} s of ${this.limitClock} time); output:\n${this.tail()}`);
      this.runSlice();
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Runs until the machine stops by itself. */
  async waitForStop(hostSeconds = 60): Promise<StopReason> {
    const deadline = this.limitNow() + hostSeconds * 1000;
    while (!this.stopped) {
      if (this.limitNow() > deadline) throw new Error(`machine did not stop; output:\n${this.tail()}`);
      this.runSlice();
      await new Promise((resolve) => setImmediate(resolve));
    }
    return this.stopped;
  }

  /** One slice of this machine, then one of each companion's. */
  private runSlice(): void {
    const r = this.machine.run(50);
    if (r.kind === 'stopped') this.stopped = r.reason;
    for (const other of this.companions) {
      if (other.stopped) throw new Error(`companion machine stopped (${JSON.stringify(other.stopped)}); its output:\n${other.tail()}`);
      const o = other.machine.run(20);
      if (o.kind === 'stopped') other.stopped = o.reason;
    }
  }

  /** Milliseconds on the clock the limits count. */
  private limitNow(): number {
    if (this.limitClock === 'wall') return performance.now();
    const { user, system } = process.cpuUsage();
    return (user + system) / 1000;
  }

  type(text: string): void {
    this.machine.serialInput(0, new TextEncoder().encode(text));
  }

  /**
   * Types a command line at the prompt and returns its output: the text
   * between the echoed command line and the next prompt, with CR LF as LF.
   */
  async command(line: string, hostSeconds = 120): Promise<string> {
    const from = this.output.length;
    this.type(line + '\n');
    const text = await this.waitFor(PROMPT, hostSeconds, from);
    const body = text.replace(/# (\x1b\[6n)?$/, '').replace(/\r\n/g, '\n');
    const echo = body.indexOf('\n');
    return echo < 0 ? '' : body.slice(echo + 1);
  }

  tail(chars = 3000): string {
    return this.output.slice(-chars);
  }
}
