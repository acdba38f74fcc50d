/**
 * Two `popek run` processes on one host, each a Tiny Linux with a virtio-net
 * adapter on internal network "wire": the processes find each other through
 * the host-wide network (core/host/hostNetwork.ts) in a private runtime
 * folder (POPEK_RUNTIME_DIR), the guests ping each other and move a file
 * with nc. Real clocks (a deterministic clock is per process; the other
 * process answers in host time), so only outcomes are asserted, never
 * times. Addresses from the documentation range 192.0.2.0/24.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bringUpEth0, pingEachOther, sendRandomFile, type NetworkGuest } from '../machine/guestNetwork.ts';

const POPEK = join(import.meta.dirname, '../../bin/popek.mjs');
const TINY = join(import.meta.dirname, '../../resources/guests/tiny-linux');
const PROMPT = /\n# (\x1b\[6n)?$/;

/** One `popek run` child with its console. */
class RunProcess {
  readonly child: ChildProcessWithoutNullStreams;
  output = '';
  stderr = '';

  constructor(runtime: string, mac: string) {
    this.child = spawn(
      process.execPath,
      [POPEK, 'run', '--kernel', join(TINY, 'bzImage'), '--initrd', join(TINY, 'initramfs.cpio.gz'), '--append', 'console=ttyS0', '--memory', '64', '--nic', `internal=wire,mac=${mac}`, '--timeout', '300'],
      { env: { ...process.env, POPEK_RUNTIME_DIR: runtime } },
    );
    this.child.stdout.setEncoding('utf8').on('data', (s: string) => (this.output += s));
    this.child.stderr.setEncoding('utf8').on('data', (s: string) => (this.stderr += s));
  }

  async waitFor(pattern: RegExp, from = 0, seconds = 240): Promise<string> {
    const deadline = performance.now() + seconds * 1000;
    while (!pattern.test(this.output.slice(from))) {
      if (this.child.exitCode !== null) throw new Error(`popek run exited ${this.child.exitCode}: ${this.stderr}\n${this.output.slice(-2000)}`);
      if (performance.now() > deadline) throw new Error(`timed out waiting for ${pattern}; output:\n${this.output.slice(-2000)}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return this.output.slice(from);
  }

  /** Types `line` and returns what the command printed before the next prompt. */
  async command(line: string, seconds = 120): Promise<string> {
    const from = this.output.length;
    this.child.stdin.write(line + '\n');
    const text = await this.waitFor(PROMPT, from, seconds);
    return text.slice(text.indexOf('\n') + 1).replace(/# (\x1b\[6n)?$/, '').replace(/\r\n/g, '\n');
  }

  exited(): Promise<number | null> {
    return this.child.exitCode !== null ? Promise.resolve(this.child.exitCode) : new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }
}

describe('two popek run processes on one internal network', () => {
  let runtime: string;
  let a: RunProcess;
  let b: RunProcess;
  /** The processes' guests with their addresses on "wire". */
  let aOnWire: NetworkGuest;
  let bOnWire: NetworkGuest;

  beforeAll(async () => {
    runtime = mkdtempSync(join(tmpdir(), 'popek-run-net-'));
    spawnSync(process.execPath, [POPEK, 'run', '--help']); // the core bundle built once here, not by both children at once
    a = new RunProcess(runtime, '52:54:00:00:02:0a');
    b = new RunProcess(runtime, '52:54:00:00:02:0b');
    aOnWire = { shell: a, ip: '192.0.2.20' };
    bOnWire = { shell: b, ip: '192.0.2.21' };
    for (const vm of [a, b]) {
      await vm.waitFor(/POPEK-READY\r\n/);
      await vm.waitFor(PROMPT);
    }
  }, 600_000);

  afterAll(() => {
    for (const vm of [a, b]) if (vm && vm.child.exitCode === null) vm.child.kill('SIGKILL');
    rmSync(runtime, { recursive: true, force: true });
  });

  it('lists both processes as endpoints of the network', () => {
    expect(readdirSync(join(runtime, 'net', 'wire')).sort()).toEqual(
      [a, b].map((vm) => vm.child.pid!).sort((x, y) => x - y).map((pid) => expect.stringMatching(new RegExp(`^${pid}-\\d+$`))),
    );
  });

  it('pings from one process guest to the other and back', async () => {
    await bringUpEth0(aOnWire, 120);
    await bringUpEth0(bOnWire, 120);
    await pingEachOther(aOnWire, bOnWire, { there: 3, back: 2 }, 120);
  }, 120_000);

  it('moves a file from one guest to the other with nc, byte for byte', async () => {
    await sendRandomFile(aOnWire, bOnWire, { kib: 128, port: 5000 }, 120);
  }, 120_000);

  it('cleans up after a process killed with SIGKILL: the other one removes its endpoint file', async () => {
    a.child.kill('SIGKILL');
    await a.exited();
    const deadline = performance.now() + 30_000; // the survivor checks its peers' pids every second
    while (readdirSync(join(runtime, 'net', 'wire')).length !== 1 && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(readdirSync(join(runtime, 'net', 'wire'))).toEqual([expect.stringMatching(new RegExp(`^${b.child.pid}-\\d+$`))]);
    expect(await b.command('ping -c 1 -W 2 192.0.2.20')).toContain('1 packets transmitted, 0 packets received, 100% packet loss');
  }, 60_000);

  it('removes its own endpoint file when its guest powers off', async () => {
    b.child.stdin.write('poweroff -f\n');
    expect(await b.exited()).toBe(0);
    expect(readdirSync(join(runtime, 'net', 'wire'))).toEqual([]);
  }, 60_000);
});
