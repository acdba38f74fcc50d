/**
 * popek run --boot: the firmware's boot order from the command line, parsed
 * and refused as the user would see it, and handed to the machine
 * (MachineOptions.bootOrder; SeaBIOS honouring it is test/machine/bootMedia.test.ts).
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { runCommand, type CreateMachine } from '../../core/cli/run.ts';
import { parseRunArgs, UsageError } from '../../core/cli/runArgs.ts';
import type { MachineOptions } from '../../core/machine/types.ts';

describe('popek run --boot', () => {
  it('parses the devices in order and refuses unknown, repeated and network devices, and --boot with --kernel', () => {
    expect(parseRunArgs(['--boot', 'cdrom,disk']).bootOrder).toEqual(['cdrom', 'disk']);
    expect(parseRunArgs(['--boot=disk']).bootOrder).toEqual(['disk']);
    expect(parseRunArgs([]).bootOrder).toBeUndefined();
    expect(() => parseRunArgs(['--boot', 'floppy'])).toThrow(new UsageError("bad --boot device 'floppy': expected disk or cdrom"));
    expect(() => parseRunArgs(['--boot', 'disk,disk'])).toThrow(new UsageError('--boot lists disk twice'));
    expect(() => parseRunArgs(['--boot', 'network'])).toThrow(new UsageError('--boot network: booting from the network is not implemented yet'));
    expect(() => parseRunArgs(['--kernel', 'k', '--boot', 'disk'])).toThrow(new UsageError("--boot is the firmware's boot order: a --kernel guest is loaded directly"));
  });

  it('hands the order to the machine that boots the bundled firmware', async () => {
    let seen: MachineOptions | undefined;
    const create: CreateMachine = (options) => {
      seen = options;
      return {
        run: () => ({ kind: 'stopped', reason: { kind: 'poweroff' } }),
        serialInput: () => {},
        powerButton: () => {},
        reset: () => {},
        pause: () => {},
        resume: () => {},
        stats: () => ({ instructions: 0, interrupts: 0, exceptions: 0, guestNs: 0 }),
        memory: new SharedArrayBuffer(8),
      };
    };
    const quiet = { write: () => true };
    const code = await runCommand(['--memory', '16', '--boot', 'cdrom,disk'], { stdin: new PassThrough(), stdout: quiet, stderr: quiet, createMachine: create, handleSignals: false });
    expect(code).toBe(0);
    expect(seen?.bootOrder).toEqual(['cdrom', 'disk']);
    expect(seen?.rom).toBeDefined();
  });
});
