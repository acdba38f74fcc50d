/**
 * Guest-level test: Debian's SeaBIOS (the bundled resources/firmware/seabios/
 * bios.bin) boots on Popek's PC: on the bare emulated processor, and as a
 * domain of Popek's hypervisor under VT-x (real mode as an unrestricted
 * guest, EPT) and under AMD-V (NPT); deterministic clock.
 *
 * Without disks it gets to its boot attempts and gives up ("No bootable
 * device."); with a raw disk on virtio-blk whose first sector is a boot
 * sector built here with nasm, it drives the virtio-blk function with its own
 * driver (modern virtio 1.0), loads the sector and runs it. Its console
 * output reaches COM1 through the fw_cfg file etc/sercon-port.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Acceleration } from '../../core/machine/acceleration.ts';
import type { MachineOptions } from '../../core/machine/types.ts';
import { BANNER, bootSeaBios, MBR, SERCON_INIT, VGA_BIOS, writeMbrImage } from './seabiosBoot.ts';

/** Runs the bundled SeaBIOS (bootSeaBios) with its debug log on port 0x402, found by its 0xE9 readback; then its memory and screen. */
function boot(acceleration: Acceleration, options: Partial<MachineOptions>, until: RegExp) {
  const { out, debug, result, machine } = bootSeaBios(acceleration, { logPorts: [0x402], ...options }, until);
  const screen = machine.takeScreen?.() ?? null;
  return { out, debug, result, memory: new Uint8Array(machine.memory), screen };
}

/** The ACPI tables an OS finds: the RSDP in the BIOS area, and the tables it points to (bare board: memory is guest-physical). */
function acpiSignatures(memory: Uint8Array) {
  const text = (at: number, n: number) => Buffer.from(memory.subarray(at, at + n)).toString('latin1');
  const u32 = (at: number) => new DataView(memory.buffer, at, 4).getUint32(0, true);
  for (let at = 0xe0000; at < 0x100000; at += 16) {
    if (text(at, 8) !== 'RSD PTR ') continue;
    const rsdt = u32(at + 16);
    const fadt = u32(rsdt + 36);
    return { oem: text(at + 9, 6), rsdt: text(rsdt, 4), rsdtOem: text(rsdt + 10, 6), fadt: text(fadt, 4), dsdt: text(u32(fadt + 40), 4), facs: text(u32(fadt + 36), 4) };
  }
  return null;
}

describe.each<Acceleration>(['none', 'vtx', 'svm'])('SeaBIOS on the PC board (acceleration %s)', (acceleration) => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'popek-seabios-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('prints its banner on COM1, tries the floppy and the hard disk it always lists, and finds nothing to boot', () => {
    const { out, debug, result } = boot(acceleration, {}, /No bootable device\..*\r\n/);
    expect(result).toEqual({ kind: 'running' });
    // Its debug log (port 0x402, found by its 0xE9 readback): the board is a QEMU PC, fw_cfg with DMA gives the RAM.
    expect(debug).toContain('Running on QEMU (i440fx)\nFound QEMU fw_cfg\nQEMU fw_cfg DMA interface supported\n');
    expect(debug).toContain('qemu/e820: addr 0x0000000000000000 len 0x0000000004000000 [RAM]\n');
    expect(debug).toContain('sercon: using ioport 0x3f8\n');
    expect(out).toBe(
      SERCON_INIT + BANNER +
        'Booting from Floppy...\r\nBoot failed: could not read the boot disk\r\n\n' +
        'Booting from Hard Disk...\r\nBoot failed: could not read the boot disk\r\n\n' +
        'No bootable device.  Retrying in 60 seconds.\r\n',
    );
  }, 300_000);


  it('boots the boot sector of a raw image on virtio-blk, which prints through the BIOS and on the UART', () => {
    const disk = writeMbrImage(dir, 'mbr.raw');
    const { out, result } = boot(acceleration, { disks: [{ path: disk, format: 'raw' }] }, /(?!)/);
    expect(out).toBe(
      SERCON_INIT + BANNER +
        'Booting from Hard Disk...\r\n' +
        'POPEK-MBR: loaded by the firmware, printing through INT 10h\r\n' +
        'POPEK-MBR: writing to the UART at 0x3F8\r\n',
    );
    // Stopped at the boot sector's final CLI; HLT: EIP is just past the HLT.
    const cliHlt = MBR.findIndex((b, i) => b === 0xfa && MBR[i + 1] === 0xf4 && MBR[i + 2] === 0xeb);
    expect(result).toEqual({ kind: 'stopped', reason: { kind: 'halt', cs: 0, eip: 0x7c00 + cliHlt + 2 } });
  }, 300_000);

  it('runs the VGA BIOS handed over through fw_cfg: its text and the boot sector\'s show on the VGA screen too', () => {
    const disk = writeMbrImage(dir, 'mbr-vga.raw');
    const { out, debug, result, screen } = boot(acceleration, { disks: [{ path: disk, format: 'raw' }], vga: true, vgaBios: new Uint8Array(VGA_BIOS) }, /(?!)/);
    expect(result.kind).toBe('stopped');
    expect(debug).toContain('Start SeaVGABIOS (version 1.16.2-debian-1.16.2-1)\n');
    expect(debug).toContain('sercon: configuring in splitmode');
    // COM1 gets the same text as without a screen (sercon in split mode mirrors the VGA BIOS's output).
    expect(out).toBe(
      SERCON_INIT + BANNER +
        'Booting from Hard Disk...\r\n' +
        'POPEK-MBR: loaded by the firmware, printing through INT 10h\r\n' +
        'POPEK-MBR: writing to the UART at 0x3F8\r\n',
    );
    expect(screen?.mode).toBe('text');
    const lines = screen?.mode === 'text' ? screen.lines.map((l) => l.trimEnd()) : [];
    expect(lines.slice(0, 4)).toEqual([
      'SeaBIOS (version 1.16.2-debian-1.16.2-1)',
      'Booting from Hard Disk...',
      'POPEK-MBR: loaded by the firmware, printing through INT 10h',
      '',
    ]);
  }, 300_000);
});

describe('SeaBIOS and the boot order (MachineOptions.bootOrder: CMOS bytes and fw_cfg bootorder)', () => {
  let dir: string;
  let disk: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'popek-seabios-order-'));
    disk = writeMbrImage(dir, 'mbr.raw');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // An empty IDE CD-ROM drive (primary master) and the boot sector on a virtio disk.
  const machine = (bootOrder?: ('disk' | 'cdrom')[]) => boot('none', { cdroms: [{}], disks: [{ path: disk, format: 'raw' }], ...(bootOrder ? { bootOrder } : {}) }, /No bootable device\..*\r\n/);
  const CD_FAILS = 'Booting from DVD/CD...\r\nBoot failed: Could not read from CDROM (code 0003)\r\n';
  const DISK_BOOTS = 'Booting from Hard Disk...\r\nPOPEK-MBR: loaded by the firmware, printing through INT 10h\r\nPOPEK-MBR: writing to the UART at 0x3F8\r\n';

  it('CD-ROM first, then disk: tries the empty drive, then boots the disk', () => {
    const { out, debug } = machine(['cdrom', 'disk']);
    expect(out).toBe(SERCON_INIT + BANNER + CD_FAILS + DISK_BOOTS);
    expect(debug).toContain('Searching bootorder for: /pci@i0cf8/*@1,1/drive@0/disk@0\n');
  }, 300_000);

  it('disk only, and the default (disk, then CD-ROM): boots the disk without trying the drive', () => {
    expect(machine(['disk']).out).toBe(SERCON_INIT + BANNER + DISK_BOOTS);
    expect(machine().out).toBe(SERCON_INIT + BANNER + DISK_BOOTS);
  }, 300_000);

  it('CD-ROM only: the disk is not booted even though it could be', () => {
    const { out, result } = machine(['cdrom']);
    expect(result).toEqual({ kind: 'running' });
    expect(out).toBe(SERCON_INIT + BANNER + CD_FAILS + 'No bootable device.  Retrying in 60 seconds.\r\n');
  }, 300_000);
});

describe('SeaBIOS and ACPI', () => {
  // On the bare board the machine's memory is guest-physical, so the test can read the tables where an OS finds them.
  it('installs the ACPI tables Popek hands it through etc/table-loader (not tables of its own)', () => {
    const { memory } = boot('none', {}, /No bootable device\./);
    expect(acpiSignatures(memory)).toEqual({ oem: 'POPEK ', rsdt: 'RSDT', rsdtOem: 'POPEK ', fadt: 'FACP', dsdt: 'DSDT', facs: 'FACS' });
  }, 300_000);
});
