/**
 * Guest-level boot: the bundled Tiny Linux (bzImage + initramfs) boots through
 * the 32-bit boot protocol on the deterministic clock, sees the e820 map and
 * the ACPI tables, reaches its shell on COM1, runs a command and powers off
 * through ACPI S5. Slow (about a minute of host time at the CPU's current speed).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMachine } from '../../core/machine/machine.ts';
import type { RunResult } from '../../core/machine/types.ts';

const GUEST = join(import.meta.dirname, '../../resources/guests/tiny-linux');
const PROMPT = '# \x1b[6n'; // busybox ash prompt followed by its cursor-position query
const GUEST_TIME_LIMIT_NS = 60e9;

describe.runIf(existsSync(join(GUEST, 'bzImage')))('Tiny Linux on the Popek machine', () => {
  it('boots to its shell, runs a command and powers off', { timeout: 600_000 }, () => {
    let console = '';
    const machine = createMachine(
      {
        memoryMiB: 64,
        clock: 'deterministic',
        kernel: new Uint8Array(readFileSync(join(GUEST, 'bzImage'))),
        initrd: new Uint8Array(readFileSync(join(GUEST, 'initramfs.cpio.gz'))),
        cmdline: 'console=ttyS0',
      },
      { onSerialOutput: (port, bytes) => port === 0 && (console += Buffer.from(bytes).toString('latin1')) },
    );
    let typed = false;
    let result: RunResult = { kind: 'running' };
    while (result.kind === 'running' && machine.stats().guestNs < GUEST_TIME_LIMIT_NS) {
      result = machine.run(100);
      if (!typed && console.includes('POPEK-READY') && console.endsWith(PROMPT)) {
        machine.serialInput(0, new TextEncoder().encode('uname -s; poweroff\n'));
        typed = true;
      }
    }
    expect(console).toContain('BIOS-e820: [mem 0x0000000000100000-0x0000000003feffff] usable');
    expect(console).toContain('BIOS-e820: [mem 0x0000000003ff0000-0x0000000003ffffff] ACPI data');
    expect(console).toContain('ACPI: RSDP 0x00000000000F0000 000024 (v02 POPEK )');
    expect(console).toContain('ACPI: PM: (supports S0 S5)');
    expect(console).toContain('Kernel command line: console=ttyS0');
    expect(console).toContain('\r\nLinux\r\n');
    expect(console).toContain('reboot: Power down');
    expect(result).toEqual({ kind: 'stopped', reason: { kind: 'poweroff' } });
  });
});
