/**
 * `popek run --balloon MiB`: a virtio-balloon whose target the machine gets
 * before the guest runs (its driver reads it when it binds), bounded like the
 * app's configs (the guest keeps 4 MiB), and its figures in --stats.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCommand, type CreateMachine } from '../../core/cli/run.ts';
import { parseRunArgs } from '../../core/cli/runArgs.ts';
import type { MachineOptions } from '../../core/machine/types.ts';
import { fakeBzImage } from '../machine/boot/fakeBzImage.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'popek-run-balloon-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('popek run --balloon', () => {
  it('parses a target in MiB and refuses one that leaves the guest less than 4 MiB or is not a number', () => {
    expect(parseRunArgs(['--kernel', 'k', '--balloon', '16']).balloonMiB).toBe(16);
    expect(parseRunArgs(['--kernel', 'k', '--balloon=0']).balloonMiB).toBe(0);
    expect(parseRunArgs(['--kernel', 'k']).balloonMiB).toBeUndefined();
    expect(parseRunArgs(['--kernel', 'k', '--memory', '64', '--balloon', '60']).balloonMiB).toBe(60);
    expect(() => parseRunArgs(['--kernel', 'k', '--memory', '64', '--balloon', '61'])).toThrow('--balloon 61 leaves the guest less than 4 MiB of its 64 MiB');
    expect(() => parseRunArgs(['--kernel', 'k', '--balloon', '-1'])).toThrow("bad --balloon value '-1': expected MiB, a whole number");
    expect(() => parseRunArgs(['--kernel', 'k', '--balloon', '1.5'])).toThrow("bad --balloon value '1.5': expected MiB, a whole number");
  });

  it('gives the machine a balloon with its target before the first slice, and prints it with --stats', async () => {
    const kernel = join(dir, 'bzImage');
    writeFileSync(kernel, fakeBzImage());
    const calls: string[] = [];
    let options: MachineOptions | undefined;
    let target = 0;
    const create: CreateMachine = (o) => {
      options = o;
      return {
        run: () => {
          calls.push('run');
          return { kind: 'stopped', reason: { kind: 'poweroff' } };
        },
        setBalloonTarget: (pages) => {
          calls.push(`target ${pages}`);
          target = pages;
        },
        serialInput: () => {},
        powerButton: () => {},
        reset: () => {},
        pause: () => {},
        resume: () => {},
        stats: () => ({ instructions: 0, interrupts: 0, exceptions: 0, guestNs: 0, balloon: { targetPages: target, actualPages: 100, reclaimedPages: 100 } }),
        memory: new SharedArrayBuffer(8),
      };
    };
    let stderr = '';
    const code = await runCommand(['--kernel', kernel, '--accel', 'none', '--balloon', '8', '--stats'], {
      stdin: new PassThrough(),
      stdout: { write: () => true },
      stderr: { write: (d: string) => (stderr += d) },
      createMachine: create,
      handleSignals: false,
    });
    expect(code).toBe(0);
    expect(options!.virtioBalloon).toBe(true);
    expect(calls).toEqual(['target 2048', 'run']);
    expect(stderr).toContain('balloon target  2048 pages\nballoon actual  100 pages\n');
  });
});
