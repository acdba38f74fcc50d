/**
 * The bundled SeaBIOS under the software monitor: its real-mode and 16-bit
 * code (reset vector, POST's 16-bit parts, its INT 10h/13h/19h services,
 * the boot sector) in the monitor's emulator, its 32-bit C code
 * ring-compressed on the monitor's processor ('trap'; translated under
 * 'bt'), its PAM routine called through the ROM alias below 4 GiB and its
 * virtio-blk driver's MMIO in the emulator too (realModeEmulator.ts,
 * emulatorEntry.ts). What COM1 shows is exactly what it shows on the bare PC
 * (test/machine/seabios.test.ts), and the boot sector stops at the same HLT.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Acceleration } from '../../../core/machine/acceleration.ts';
import type { MachineOptions } from '../../../core/machine/types.ts';
import { BANNER, bootSeaBios, MBR, SERCON_INIT, VGA_BIOS, writeMbrImage } from '../../machine/seabiosBoot.ts';

/** Runs the bundled SeaBIOS (bootSeaBios, no debug port); then the software monitor's counters. */
function boot(acceleration: Acceleration, options: Partial<MachineOptions>, until: RegExp) {
  const { out, result, machine } = bootSeaBios(acceleration, options, until);
  return { out, result, monitor: machine.stats().hypervisor?.monitor };
}

describe('SeaBIOS under the software monitor', () => {
  const dir = mkdtempSync(join(tmpdir(), 'popek-seabios-monitor-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('trap: prints its banner, tries the floppy and the disk, finds nothing to boot', () => {
    const { out, result, monitor } = boot('trap', {}, /No bootable device\..*\r\n/);
    expect(result).toEqual({ kind: 'running' });
    expect(out).toBe(
      SERCON_INIT + BANNER +
        'Booting from Floppy...\r\nBoot failed: could not read the boot disk\r\n\n' +
        'Booting from Hard Disk...\r\nBoot failed: could not read the boot disk\r\n\n' +
        'No bootable device.  Retrying in 60 seconds.\r\n',
    );
    // Its 32-bit code ran on the monitor's processor (its port I/O trapped there), the rest in the emulator. The run
    // stops at a host-time slice after the last line, while SeaBIOS waits to retry, so the counts are bounds
    // (measured: 245 to 248 hand-overs each way, 86650 port I/O traps).
    expect(monitor!.emulatorExits).toBeGreaterThanOrEqual(200);
    expect(Math.abs(monitor!.emulatorEntries - monitor!.emulatorExits)).toBeLessThanOrEqual(1);
    expect(monitor!.traps['in/out']).toBeGreaterThanOrEqual(80_000);
  }, 60_000);

  it('trap: runs the VGA BIOS, whose text and the boot sector\'s show on the VGA screen', () => {
    // The domain has RAM behind 0xA0000-0xBFFFF (as under VT-x/AMD-V): the VGA BIOS's real-mode INT 10h code (in the
    // monitor's emulator) stores the text there, and the adapter reads the screen from that RAM (core/devices/vga/vga.ts).
    const disk = writeMbrImage(dir, 'mbr-vga.raw');
    const { out, result, machine } = bootSeaBios('trap', { disks: [{ path: disk, format: 'raw' }], vga: true, vgaBios: new Uint8Array(VGA_BIOS) }, /(?!)/);
    expect(result.kind).toBe('stopped');
    expect(out).toBe(
      SERCON_INIT + BANNER +
        'Booting from Hard Disk...\r\n' +
        'POPEK-MBR: loaded by the firmware, printing through INT 10h\r\n' +
        'POPEK-MBR: writing to the UART at 0x3F8\r\n',
    );
    const screen = machine.takeScreen?.() ?? null;
    expect(screen?.mode).toBe('text');
    const lines = screen?.mode === 'text' ? screen.lines.map((l) => l.trimEnd()) : [];
    expect(lines.slice(0, 4)).toEqual([
      'SeaBIOS (version 1.16.2-debian-1.16.2-1)',
      'Booting from Hard Disk...',
      'POPEK-MBR: loaded by the firmware, printing through INT 10h',
      '',
    ]);
  }, 60_000);

  it('bt: boots the boot sector of a raw image on virtio-blk, which prints through the BIOS and on the UART', () => {
    const disk = writeMbrImage(dir, 'mbr.raw');
    const { out, result, monitor } = boot('bt', { disks: [{ path: disk, format: 'raw' }] }, /(?!)/);
    expect(out).toBe(
      SERCON_INIT + BANNER +
        'Booting from Hard Disk...\r\n' +
        'POPEK-MBR: loaded by the firmware, printing through INT 10h\r\n' +
        'POPEK-MBR: writing to the UART at 0x3F8\r\n',
    );
    // Stopped at the boot sector's final CLI; HLT (in the emulator: real mode), EIP just past the HLT, as on the bare PC.
    const cliHlt = MBR.findIndex((b, i) => b === 0xfa && MBR[i + 1] === 0xf4 && MBR[i + 2] === 0xeb);
    expect(result).toEqual({ kind: 'stopped', reason: { kind: 'halt', cs: 0, eip: 0x7c00 + cliHlt + 2 } });
    // It ends in the emulator (real mode): each of the 115 hand-backs to the processor was followed by a hand-over to the emulator.
    // Its GDT shares a page with data its 32-bit code writes: 16 of those writes trap ('gdt write', the monitor's write
    // protection of the guest's GDT), then the page is no longer watched (descriptorTables.ts gdtWriteTrapped); that
    // moves the deterministic clock a little (8 more port I/O polls than without the watch).
    expect([monitor!.emulatorEntries, monitor!.emulatorExits, monitor!.emulatedInstructions, monitor!.traps['in/out'], monitor!.traps['gdt write']]).toEqual([115, 115, 55546, 86801, 16]);
    expect(monitor!.gdtPagesUnwatched).toBe(1);
  }, 60_000);
});
