import { describe, expect, it } from 'vitest';
import { parseRunArgs, UsageError } from '../../core/cli/runArgs.ts';

describe('popek run argument parsing', () => {
  it('applies the defaults', () => {
    expect(parseRunArgs(['--kernel', 'bzImage'])).toEqual({
      kernel: 'bzImage',
      memoryMiB: 128,
      clock: 'realtime',
      noReboot: false,
      portLogs: [],
      acceleration: 'vtx',
      nestedPaging: true,
      stats: false,
      help: false,
    });
  });

  it('reads every option, in both --opt value and --opt=value forms', () => {
    const args = parseRunArgs([
      '--kernel=k', '--initrd', 'i', '--append', 'console=ttyS0 quiet', '--memory=256', '--clock', 'deterministic',
      '--no-reboot', '--timeout', '2.5', '--port-log', '0x190=post.bin', '--port-log=128=p80.bin',
      '--accel', 'none', '--nested-paging=on', '--stats',
    ]);
    expect(args).toEqual({
      kernel: 'k',
      initrd: 'i',
      append: 'console=ttyS0 quiet',
      memoryMiB: 256,
      clock: 'deterministic',
      noReboot: true,
      timeoutSeconds: 2.5,
      portLogs: [
        { port: 0x190, file: 'post.bin' },
        { port: 128, file: 'p80.bin' },
      ],
      acceleration: 'none',
      nestedPaging: true,
      stats: true,
      help: false,
    });
  });

  it('refuses acceleration modes this build cannot run, naming the issue that brings them', () => {
    expect(parseRunArgs(['--kernel', 'k', '--accel', 'vtx']).acceleration).toBe('vtx');
    expect(parseRunArgs(['--kernel', 'k', '--accel=none']).acceleration).toBe('none');
    expect(parseRunArgs(['--kernel', 'k', '--accel', 'svm']).acceleration).toBe('svm');
    expect(parseRunArgs(['--kernel', 'k', '--accel', 'svm', '--nested-paging', 'off']).nestedPaging).toBe(false);
    expect(() => parseRunArgs(['--rom', 'r', '--accel', 'svm', '--nested-paging', 'off'])).toThrow(
      new UsageError('--nested-paging off needs --kernel: firmware starts in real mode, which would run paged on shadow page tables, and the processor refuses paged real mode'),
    );
    expect(parseRunArgs(['--kernel', 'k', '--accel=bt']).acceleration).toBe('bt');
    expect(parseRunArgs(['--kernel', 'k', '--accel', 'trap']).acceleration).toBe('trap');
    // Firmware under the software monitor: its real-mode code runs in the monitor's emulator (core/hypervisor/software/realModeEmulator.ts).
    expect(parseRunArgs(['--rom', 'r', '--accel', 'trap']).acceleration).toBe('trap');
    expect(parseRunArgs(['--accel', 'bt']).acceleration).toBe('bt');
    expect(() => parseRunArgs(['--kernel', 'k', '--accel', 'kvm'])).toThrow(new UsageError("bad --accel value 'kvm': expected none, vtx, svm, bt, trap"));
    expect(() => parseRunArgs(['--kernel', 'k', '--accel'])).toThrow(new UsageError('--accel needs a value'));
  });

  it('takes --nested-paging off for a vtx or svm kernel guest (shadow paging), refuses it elsewhere, and values other than on/off', () => {
    expect(parseRunArgs(['--kernel', 'k', '--accel', 'vtx', '--nested-paging', 'off']).nestedPaging).toBe(false);
    expect(() => parseRunArgs(['--kernel', 'k', '--accel', 'none', '--nested-paging', 'off'])).toThrow(
      new UsageError('--nested-paging off needs --accel vtx or svm (nested paging is a hardware-assist setting)'),
    );
    expect(() => parseRunArgs(['--rom', 'r', '--accel', 'vtx', '--nested-paging', 'off'])).toThrow(
      new UsageError('--nested-paging off needs --kernel: firmware starts in real mode, which VT-x runs only as an unrestricted guest, under EPT'),
    );
    expect(() => parseRunArgs(['--kernel', 'k', '--nested-paging', 'yes'])).toThrow(
      new UsageError("bad --nested-paging value 'yes': expected on or off"),
    );
  });

  it('takes --apic with none, vtx and svm, and refuses it with the software monitor, which does not emulate the local APIC', () => {
    for (const accel of ['none', 'vtx', 'svm']) expect(parseRunArgs(['--kernel', 'k', '--accel', accel, '--apic']).apic).toBe(true);
    expect(() => parseRunArgs(['--kernel', 'k', '--accel', 'bt', '--apic'])).toThrow(
      new UsageError('--apic: The I/O APIC cannot be used with Binary translation: the software monitor does not emulate the local APIC, and its guests keep the 8259 PIC'),
    );
    expect(() => parseRunArgs(['--accel', 'trap', '--apic'])).toThrow(/^--apic: The I\/O APIC cannot be used with Trap-and-emulate only: /);
  });

  it('takes at most one of --kernel and --rom (neither: the bundled firmware)', () => {
    const none = parseRunArgs([]);
    expect([none.kernel, none.rom]).toEqual([undefined, undefined]);
    expect(() => parseRunArgs(['--append', 'x'])).toThrow(new UsageError('--initrd and --append need --kernel'));
    expect(() => parseRunArgs(['--accel', 'vtx', '--nested-paging', 'off'])).toThrow(/--nested-paging off needs --kernel/);
    expect(() => parseRunArgs(['--kernel', 'k', '--rom', 'r'])).toThrow(new UsageError('--kernel and --rom cannot be used together'));
    expect(() => parseRunArgs(['--rom', 'r', '--append', 'x'])).toThrow(new UsageError('--initrd and --append need --kernel'));
  });

  it('rejects bad --memory values with one line', () => {
    for (const bad of ['0', '1', 'abc', '12.5', '-4', '1793']) {
      expect(() => parseRunArgs(['--kernel', 'k', '--memory', bad])).toThrow(
        new UsageError(`bad --memory value '${bad}': expected a whole number of MiB from 2 to 1792`),
      );
    }
    expect(parseRunArgs(['--kernel', 'k', '--memory', '1792']).memoryMiB).toBe(1792);
  });

  it('rejects bad --clock, --timeout and --port-log values', () => {
    expect(() => parseRunArgs(['--kernel', 'k', '--clock', 'fast'])).toThrow(/bad --clock value 'fast'/);
    expect(() => parseRunArgs(['--kernel', 'k', '--timeout', '0'])).toThrow(/bad --timeout value '0'/);
    expect(() => parseRunArgs(['--kernel', 'k', '--port-log', '0x10000=f'])).toThrow(/bad --port-log value '0x10000=f'/);
    expect(() => parseRunArgs(['--kernel', 'k', '--port-log', '0x80'])).toThrow(/expected PORT=FILE/);
  });

  it('rejects a missing value and unknown options', () => {
    expect(() => parseRunArgs(['--kernel'])).toThrow(new UsageError('--kernel needs a value'));
    expect(() => parseRunArgs(['--kernel', 'k', '--fast'])).toThrow(new UsageError("unknown option '--fast' (popek run --help lists them)"));
  });

  it('accepts --help alone', () => {
    expect(parseRunArgs(['--help']).help).toBe(true);
  });
});
