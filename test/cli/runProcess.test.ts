/** `popek run` as a process: real machine, real files, exit statuses and stderr lines. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assembleKernel } from '../machine/assembleKernel.ts';

const POPEK = join(import.meta.dirname, '../../bin/popek.mjs');

function popekRun(args: string[], input = ''): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [POPEK, 'run', ...args], { input, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('popek run as a process', () => {
  let dir: string;
  const kernel = (name: string): string => {
    const path = join(dir, `${name}.bin`);
    writeFileSync(path, assembleKernel(name));
    return path;
  };
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'popek-cli-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints the guest console on stdout and exits 0 when the guest powers off', () => {
    const r = popekRun(['--kernel', kernel('multibootHello'), '--memory', '32']);
    expect(r.stdout).toBe(`Hello from Multiboot, mem_upper=0x${(32 * 1024 - 1024 - 64).toString(16).padStart(8, '0')}\n`);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('exits 2 with the CS:EIP of a triple fault', () => {
    const r = popekRun(['--kernel', kernel('tripleFault'), '--clock', 'deterministic']);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/^triple fault \(shutdown\) at 0010:00100027: .+\n$/);
  });

  it('exits 0 and prints where the guest halted for good', () => {
    const r = popekRun(['--kernel', kernel('haltNoInterrupts')]);
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('halted at 0010:00100044\n');
  });

  it('exits 0 on a guest reboot with --no-reboot', () => {
    const r = popekRun(['--kernel', kernel('rebootCounter'), '--no-reboot']);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe('1');
    expect(r.stderr).toBe('guest reboot (port 0xCF9 hard reset); not restarting because of --no-reboot\n');
  });

  it('exits 124 after --timeout', () => {
    const r = popekRun(['--kernel', kernel('spin'), '--timeout', '0.5']);
    expect(r.status).toBe(124);
    expect(r.stderr).toBe('timeout after 0.5 s\n');
  });

  it('appends port writes to --port-log files', () => {
    const log = join(dir, 'post.bin');
    writeFileSync(log, Uint8Array.of(0xee));
    const r = popekRun(['--kernel', kernel('multibootHello'), '--port-log', `0x190=${log}`]);
    expect(r.status).toBe(0);
    expect(Array.from(readFileSync(log))).toEqual([0xee, 0x42, 0x43]);
  });

  it('reports a non-kernel file with one line and exit 1', () => {
    const junk = join(dir, 'junk');
    writeFileSync(junk, new Uint8Array(4096));
    const r = popekRun(['--kernel', junk]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('popek run: not a kernel Popek can boot: no bzImage HdrS signature and no Multiboot header\n');
  });
});
