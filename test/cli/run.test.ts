import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { csEip, describeStop, runCommand, type CreateMachine } from '../../core/cli/run.ts';
import type { MachineApi, MachineHooks, MachineOptions, RunResult } from '../../core/machine/types.ts';
import { fakeBzImage } from '../machine/boot/fakeBzImage.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'popek-run-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface Captured {
  code: number;
  stdout: string;
  stderr: string;
  options?: MachineOptions;
}

/** A scripted machine: each run() returns the next result; the hooks are kept for the script. */
function scripted(script: (hooks: MachineHooks, machine: { input: number[]; resets: number }) => RunResult[]): {
  create: CreateMachine;
  seen: { options?: MachineOptions; input: number[]; resets: number };
} {
  const seen: { options?: MachineOptions; input: number[]; resets: number } = { input: [], resets: 0 };
  const create: CreateMachine = (options, hooks) => {
    seen.options = options;
    const results = script(hooks, seen);
    let i = 0;
    const api: MachineApi = {
      run: () => results[Math.min(i++, results.length - 1)],
      serialInput: (_port, bytes) => seen.input.push(...bytes),
      powerButton: () => {},
      reset: () => {
        seen.resets++;
      },
      pause: () => {},
      resume: () => {},
      stats: () => ({ instructions: 0, interrupts: 0, exceptions: 0, guestNs: 0 }),
      memory: new SharedArrayBuffer(8),
    };
    return api;
  };
  return { create, seen };
}

async function run(argv: string[], create?: CreateMachine, stdin = new PassThrough()): Promise<Captured> {
  let stdout = '';
  let stderr = '';
  const code = await runCommand(argv, {
    stdin,
    stdout: { write: (d: Uint8Array | string) => (stdout += typeof d === 'string' ? d : Buffer.from(d).toString('latin1')) },
    stderr: { write: (d: string) => (stderr += d) },
    createMachine: create,
    handleSignals: false,
  });
  return { code, stdout, stderr };
}

function kernelFile(): string {
  const path = join(dir, 'bzImage');
  writeFileSync(path, fakeBzImage());
  return path;
}

describe('popek run error lines', () => {
  it('reports a missing kernel file with exit 1', async () => {
    const r = await run(['--kernel', join(dir, 'nope')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`popek run: cannot read the kernel '${join(dir, 'nope')}': no such file\n`);
  });

  it('reports a ROM whose size is not a multiple of 64 KiB with exit 1', async () => {
    const rom = join(dir, 'bios.bin');
    writeFileSync(rom, new Uint8Array(1000));
    const r = await run(['--rom', rom]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('popek run: ROM image size 1000 bytes is not a multiple of 64 KiB\n');
  });

  it('reports a bad --memory value with exit 1', async () => {
    const r = await run(['--kernel', 'k', '--memory', 'lots']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe("popek run: bad --memory value 'lots': expected a whole number of MiB from 2 to 1792\n");
  });

  it('prints usage for --help with exit 0', async () => {
    const r = await run(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^usage: popek run/);
  });
});

describe('popek run exit statuses', () => {
  it('passes the options to the machine, forwards COM1 output, exits 0 on power-off', async () => {
    const { create, seen } = scripted((hooks) => {
      hooks.onSerialOutput!(0, new TextEncoder().encode('hello\n'));
      hooks.onSerialOutput!(1, new TextEncoder().encode('com2'));
      return [{ kind: 'stopped', reason: { kind: 'poweroff' } }];
    });
    const r = await run(['--kernel', kernelFile(), '--append', 'console=ttyS0', '--memory', '64', '--no-reboot'], create);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('hello\n');
    expect(r.stderr).toBe('');
    expect(seen.options!.memoryMiB).toBe(64);
    expect(seen.options!.cmdline).toBe('console=ttyS0');
    expect(seen.options!.noReboot).toBe(true);
    expect(seen.options!.kernel!.length).toBe(fakeBzImage().length);
  });

  it('passes the acceleration mode to the machine and prints the counters at exit with --stats', async () => {
    const { create, seen } = scripted(() => [{ kind: 'stopped', reason: { kind: 'poweroff' } }]);
    const r = await run(['--kernel', kernelFile(), '--accel', 'none', '--stats'], create);
    expect(r.code).toBe(0);
    expect(seen.options!.acceleration).toBe('none');
    expect(r.stderr).toBe(
      '--- stats ---\nacceleration  None (emulated PC)\nguest time    0.000 s\ninstructions  0\ninterrupts    0\nexceptions    0\n',
    );
  });

  it('exits 0 and names CS:EIP when the guest halts for good', async () => {
    const { create } = scripted(() => [{ kind: 'running' }, { kind: 'stopped', reason: { kind: 'halt', cs: 0x10, eip: 0x100005 } }]);
    const r = await run(['--kernel', kernelFile()], create);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('halted at 0010:00100005\n');
  });

  it('exits 2 on a triple fault', async () => {
    const { create } = scripted(() => [{ kind: 'stopped', reason: { kind: 'shutdown', cs: 0x10, eip: 0x1234, detail: 'triple fault: #GP' } }]);
    const r = await run(['--kernel', kernelFile()], create);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('triple fault (shutdown) at 0010:00001234: triple fault: #GP\n');
  });

  it('exits 0 on a guest reboot with --no-reboot', async () => {
    const { create } = scripted(() => [{ kind: 'stopped', reason: { kind: 'reset', cause: 'port 0xCF9' } }]);
    const r = await run(['--kernel', kernelFile(), '--no-reboot'], create);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/guest reboot \(port 0xCF9\)/);
  });

  it('restarts the machine on a reboot without --no-reboot', async () => {
    const { create, seen } = scripted(() => [
      { kind: 'stopped', reason: { kind: 'reset', cause: 'triple' } },
      { kind: 'stopped', reason: { kind: 'poweroff' } },
    ]);
    const r = await run(['--kernel', kernelFile()], create);
    expect(r.code).toBe(0);
    expect(seen.resets).toBe(1);
  });

  it('exits 124 when --timeout expires', async () => {
    const { create } = scripted(() => [{ kind: 'running' }]);
    const r = await run(['--kernel', kernelFile(), '--timeout', '0.05'], create);
    expect(r.code).toBe(124);
    expect(r.stderr).toBe('timeout after 0.05 s\n');
  });

  it('feeds piped stdin to COM1', async () => {
    const stdin = new PassThrough();
    let calls = 0;
    const { create, seen } = scripted(() => []);
    const wrapped: CreateMachine = (o, h) => {
      const m = create(o, h);
      return { ...m, run: () => (++calls > 5 && seen.input.length === 3 ? { kind: 'stopped', reason: { kind: 'poweroff' } } : { kind: 'running' }) };
    };
    stdin.write(Buffer.from([0x61, 0x01, 0x78]));
    const r = await run(['--kernel', kernelFile()], wrapped, stdin);
    expect(r.code).toBe(0);
    expect(seen.input).toEqual([0x61, 0x01, 0x78]); // piped: no Ctrl-A escape
  });

  it('appends bytes written to logged ports to their files', async () => {
    const log = join(dir, 'post.bin');
    writeFileSync(log, Uint8Array.from([0xaa]));
    const { create, seen } = scripted((hooks) => {
      hooks.onPortByte!(0x190, 0x12);
      hooks.onPortByte!(0x190, 0x34);
      return [{ kind: 'stopped', reason: { kind: 'poweroff' } }];
    });
    const r = await run(['--kernel', kernelFile(), '--port-log', `0x190=${log}`], create);
    expect(r.code).toBe(0);
    expect(seen.options!.logPorts).toEqual([0x190]);
    expect(Array.from(readFileSync(log))).toEqual([0xaa, 0x12, 0x34]);
  });

  it('with neither --kernel nor --rom, hands the machine the bundled SeaBIOS image', async () => {
    const { create, seen } = scripted(() => [{ kind: 'stopped', reason: { kind: 'poweroff' } }]);
    const r = await run(['--memory', '32'], create);
    expect(r.code).toBe(0);
    const bundled = readFileSync(new URL('../../resources/firmware/seabios/bios.bin', import.meta.url));
    expect(seen.options!.kernel).toBeUndefined();
    expect(Buffer.from(seen.options!.rom!).equals(bundled)).toBe(true);
  });

  it('formats stop reasons', () => {
    expect(csEip(0xf000, 0xfff0)).toBe('f000:0000fff0');
    expect(describeStop({ kind: 'error', message: 'boom' })).toEqual({ code: 3, message: 'emulator error: boom' });
  });
});
