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

  beforeAll(async () => {
    runtime = mkdtempSync(join(tmpdir(), 'popek-run-net-'));
    spawnSync(process.execPath, [POPEK, 'run', '--help']); // the core bundle built once here, not by both children at once
    a = new RunProcess(runtime, '52:54:00:00:02:0a');
    b = new RunProcess(runtime, '52:54:00:00:02:0b');
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
    expect(await a.command('ip addr add 192.0.2.20/24 dev eth0 && ip link set eth0 up && echo ok')).toBe('ok\n');
    expect(await b.command('ip addr add 192.0.2.21/24 dev eth0 && ip link set eth0 up && echo ok')).toBe('ok\n');
    expect(await a.command('ping -c 3 192.0.2.21')).toContain('3 packets transmitted, 3 packets received, 0% packet loss');
    expect(await b.command('ping -c 2 192.0.2.20')).toContain('2 packets transmitted, 2 packets received, 0% packet loss');
  }, 120_000);

  it('moves a file from one guest to the other with nc, byte for byte', async () => {
    expect(await b.command('nc -l -p 5000 > /tmp/got & echo listening')).toMatch(/listening\n$/);
    // Commands shorter than the console's 80 columns: a longer one comes back wrapped in the echo.
    expect(await a.command('dd if=/dev/urandom of=/tmp/file bs=1k count=128 2>/dev/null')).toBe('');
    const sum = (await a.command('md5sum < /tmp/file')).split(' ')[0];
    expect(sum).toMatch(/^[0-9a-f]{32}$/);
    expect(await a.command('nc 192.0.2.21 5000 < /tmp/file; echo sent')).toMatch(/sent\n$/);
    await b.command('wait');
    expect(await b.command('md5sum < /tmp/got')).toBe(`${sum}  -\n`);
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
