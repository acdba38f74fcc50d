/**
 * `popek run --virtio-console N --console hvcK`: the machine gets a virtio
 * console with N ports, and stdin/stdout are port K's instead of COM1's
 * (COM1's output is then not shown; typed bytes go to port K only).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCommand, type CreateMachine } from '../../core/cli/run.ts';
import { parseRunArgs } from '../../core/cli/runArgs.ts';
import type { MachineHooks, MachineOptions } from '../../core/machine/types.ts';
import { fakeBzImage } from '../machine/boot/fakeBzImage.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'popek-run-hvc-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('popek run --virtio-console / --console', () => {
  it('parses the port count and the console, and refuses a console no port backs', () => {
    expect(parseRunArgs(['--kernel', 'k', '--virtio-console', '2', '--console', 'hvc1'])).toMatchObject({ virtioConsolePorts: 2, consolePort: 1 });
    expect(parseRunArgs(['--kernel', 'k', '--virtio-console=1']).consolePort).toBeUndefined();
    expect(parseRunArgs(['--kernel', 'k', '--virtio-console', '1', '--console', 'hvc0', '--console', 'com1']).consolePort).toBeUndefined();
    expect(() => parseRunArgs(['--kernel', 'k', '--console', 'hvc0'])).toThrow('--console hvc0 needs --virtio-console 1 or more (ports hvc0 to hvcN-1)');
    expect(() => parseRunArgs(['--kernel', 'k', '--virtio-console', '2', '--console', 'hvc2'])).toThrow('--console hvc2 needs --virtio-console 3 or more');
    expect(() => parseRunArgs(['--kernel', 'k', '--virtio-console', '17'])).toThrow("bad --virtio-console value '17': expected 1 to 16 ports");
    expect(() => parseRunArgs(['--kernel', 'k', '--virtio-console', '0'])).toThrow("bad --virtio-console value '0': expected 1 to 16 ports");
    expect(() => parseRunArgs(['--kernel', 'k', '--console', 'ttyS1'])).toThrow("bad --console value 'ttyS1': expected com1 or hvcN");
  });

  it('connects stdin/stdout to the chosen port', async () => {
    const kernel = join(dir, 'bzImage');
    writeFileSync(kernel, fakeBzImage());
    let options: MachineOptions | undefined;
    const typed: string[] = [];
    const stdin = new PassThrough();
    let slices = 0;
    const create: CreateMachine = (o, hooks: MachineHooks) => {
      options = o;
      return {
        run: () => {
          slices++;
          if (slices === 1) {
            hooks.onSerialOutput?.(0, new TextEncoder().encode('on COM1\n'));
            hooks.onVirtioConsoleOutput?.(new TextEncoder().encode('on hvc0\n'), 0);
            hooks.onVirtioConsoleOutput?.(new TextEncoder().encode('on hvc1\n'), 1);
            stdin.write('typed\n');
          }
          // Stop once the typed line arrived (the stream delivers it between slices).
          return typed.length > 0 ? { kind: 'stopped', reason: { kind: 'poweroff' } } : { kind: 'running' };
        },
        serialInput: (port, bytes) => typed.push(`com${port + 1} ${new TextDecoder().decode(bytes)}`),
        virtioConsoleInput: (bytes, port) => typed.push(`hvc${port} ${new TextDecoder().decode(bytes)}`),
        powerButton: () => {},
        reset: () => {},
        pause: () => {},
        resume: () => {},
        stats: () => ({ instructions: 0, interrupts: 0, exceptions: 0, guestNs: 0 }),
        memory: new SharedArrayBuffer(8),
      };
    };
    let stdout = '';
    const code = await runCommand(['--kernel', kernel, '--accel', 'none', '--virtio-console', '2', '--console', 'hvc1', '--timeout', '60'], {
      stdin,
      stdout: { write: (d: Uint8Array | string) => (stdout += typeof d === 'string' ? d : new TextDecoder().decode(d)) },
      stderr: { write: () => true },
      createMachine: create,
      handleSignals: false,
    });
    expect(code).toBe(0);
    expect(options).toMatchObject({ virtioConsole: true, virtioConsolePorts: 2 });
    expect(stdout).toBe('on hvc1\n');
    expect(typed).toEqual(['hvc1 typed\n']);
  });
});
