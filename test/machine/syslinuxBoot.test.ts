/**
 * Guest test: Tiny Linux booted the way a PC boots it, through a real boot
 * loader from the IDE hard disk. The test's set-up makes a partitioned disk
 * image with Debian's SYSLINUX on a FAT16 partition (bootMedia/syslinuxDisk.ts);
 * the bundled SeaBIOS runs the disk's MBR, SYSLINUX reads the bundled kernel
 * and initramfs through INT 13h (from the PIIX3 IDE disk) and starts the
 * kernel with its command line; the initramfs is the root, and its shell
 * answers on COM1. Bare PC, deterministic clock.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GuestConsole, PROMPT, TINY_LINUX } from '../../scripts/guestConsole.ts';
import { writeSyslinuxDisk } from './bootMedia/syslinuxDisk.ts';

const BIOS = readFileSync(new URL('../../resources/firmware/seabios/bios.bin', import.meta.url));

describe('Tiny Linux through SYSLINUX from the IDE disk', () => {
  let dir: string;
  let guest: GuestConsole;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'popek-syslinux-'));
    const disk = writeSyslinuxDisk(dir, 'disk.raw', {
      kernel: TINY_LINUX + 'bzImage',
      initrd: TINY_LINUX + 'initramfs.cpio.gz',
      append: 'console=ttyS0 popek.loader=syslinux',
    });
    guest = new GuestConsole({
      memoryMiB: 128,
      clock: 'deterministic',
      acceleration: 'none',
      rom: new Uint8Array(BIOS),
      ideDisks: [{ path: disk, format: 'raw' }],
    });
    // Host seconds: the boot costs about 30 s of CPU time; generous for a machine shared with other work.
    await guest.waitFor(PROMPT, 540);
  }, 600_000);

  afterAll(() => {
    guest?.machine.pause();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the firmware boots the disk and SYSLINUX loads the kernel and the initramfs', () => {
    // COM1 before the kernel's first line: SeaBIOS's serial console mirrors its own and SYSLINUX's INT 10h output.
    // The kernel's real-mode set-up sets the video mode through INT 10h, which clears the screen (sercon's
    // reset sequence) before SYSLINUX's last "ok" left the console buffer.
    const beforeLinux = guest.output.slice(0, guest.output.indexOf('[    0.000000] Linux version'));
    expect(beforeLinux).toBe(
      '\x1bc\x1b[?7l\x1b[2J\x1b[0mSeaBIOS (version 1.16.2-debian-1.16.2-1)\r\n' +
        'Booting from Hard Disk...\r\n' +
        '\nSYSLINUX 6.04 EDD 20210613 Copyright (C) 1994-2015 H. Peter Anvin et al\r\n' +
        'Loading BZIMAGE... ok\r\n' +
        'Loading INITRD.GZ...o\x1bc\x1b[?7l\x1b[2J',
    );
  });

  it('the kernel runs with the command line SYSLINUX gave it, the initramfs as its root, to the shell', async () => {
    expect(await guest.command('cat /proc/cmdline')).toBe('BOOT_IMAGE=BZIMAGE console=ttyS0 popek.loader=syslinux initrd=INITRD.GZ\n');
    expect(guest.output).toMatch(/^\[ *[0-9.]+\] RAMDISK: \[mem 0x[0-9a-f]+-0x[0-9a-f]+\]\r$/m);
    expect(await guest.command('ls /')).toBe(
      'bin      etc      linuxrc  proc     run      sys      usr\n' + 'dev      init     mnt      root     sbin     tmp      var\n',
    );
    expect(guest.output).not.toMatch(/Oops|BUG|WARNING|Kernel panic/);
  });
});
