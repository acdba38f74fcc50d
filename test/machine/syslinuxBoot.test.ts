/**
 * Guest test: Tiny Linux booted the way a PC boots it, through a real boot
 * loader from the IDE hard disk. The test's set-up makes a partitioned disk
 * image with Debian's SYSLINUX on a FAT16 partition (bootMedia/syslinuxDisk.ts);
 * the bundled SeaBIOS runs the disk's MBR, SYSLINUX reads the bundled kernel
 * and initramfs through INT 13h (from the PIIX3 IDE disk) and starts the
 * kernel with its command line; the initramfs is the root, and its shell
 * answers on COM1. Bare PC, deterministic clock.
 *
 * The board has the local APIC and I/O APIC (`apic: true`), as a PC booting
 * from its disk would: SeaBIOS writes the MP table, the ACPI tables it loads
 * carry the MADT, and the bundled kernel (built with X86_UP_APIC and
 * X86_UP_IOAPIC) takes both over. The same kernel on the 8259-only board is
 * test/machine/tinyLinux.test.ts's.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GuestConsole, PROMPT, TINY_LINUX } from '../../scripts/guestConsole.ts';
import { writeSyslinuxDisk } from './bootMedia/syslinuxDisk.ts';

const BIOS = readFileSync(new URL('../../resources/firmware/seabios/bios.bin', import.meta.url));

/** The numbered rows of /proc/interrupts: IRQ, count, chip, pin and trigger, name. */
function irqRows(text: string): { irq: number; count: number; chip: string; pin: string; name: string }[] {
  return [...text.matchAll(/^ *(\d+): +(\d+) +(\S+) +(\S+) +(\S+)$/gm)].map(([, irq, count, chip, pin, name]) => ({ irq: Number(irq), count: Number(count), chip, pin, name }));
}

/** The local APIC timer's count, the LOC row of /proc/interrupts. */
function localTimerCount(text: string): number {
  return Number(text.match(/^LOC: +(\d+) +Local timer interrupts$/m)?.[1]);
}

describe('Tiny Linux through SYSLINUX from the IDE disk, on a board with the APICs', () => {
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
      apic: true,
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

  it('takes over the local APIC and the I/O APIC the firmware described (MP table, MADT)', async () => {
    expect(guest.output).toMatch(/^\[ *[0-9.]+\] found SMP MP-table at \[mem 0x000f[0-9a-f]{4}-0x000f[0-9a-f]{4}\]\r$/m);
    expect(guest.output).toMatch(/^\[ *[0-9.]+\] IOAPIC\[0\]: apic_id 1, version 17, address 0xfec00000, GSI 0-23\r$/m);
    expect(guest.output).toMatch(/^\[ *[0-9.]+\] Enabling APIC mode:  Flat\.  Using 1 I\/O APICs\r$/m);
    // check_timer(): the PIT's IRQ 0 reaches the I/O APIC on its pin 2, as the firmware's tables say.
    expect(guest.output).toMatch(/^\[ *[0-9.]+\] \.\.TIMER: vector=0x30 apic1=0 pin1=2 apic2=-1 pin2=-1\r$/m);
    expect(guest.output).toMatch(/^\[ *[0-9.]+\] ACPI: Using IOAPIC for interrupt routing\r$/m);
    expect(await guest.command('grep -o -w apic /proc/cpuinfo')).toBe('apic\n');
    expect(await guest.command('cat /sys/devices/system/clockevents/clockevent0/current_device')).toBe('lapic\n');
  });

  it('counts its interrupts on the I/O APIC and its tick on the local APIC timer', async () => {
    const first = await guest.command('cat /proc/interrupts');
    const second = await guest.command('cat /proc/interrupts');
    // Every ISA interrupt the kernel requested, each on the I/O APIC pin the MADT gave it (ACPI's SCI level-triggered).
    expect(irqRows(first).map(({ irq, chip, pin, name }) => `${irq} ${chip} ${pin} ${name}`)).toEqual([
      '0 IO-APIC 2-edge timer',
      '1 IO-APIC 1-edge i8042',
      '4 IO-APIC 4-edge ttyS0',
      '8 IO-APIC 8-edge rtc0',
      '9 IO-APIC 9-fasteoi acpi',
      '12 IO-APIC 12-edge i8042',
    ]);
    const count = (text: string, name: string) => irqRows(text).find((row) => row.name === name)!.count;
    // The serial port's interrupts arrive through the I/O APIC (the shell's output between the two reads).
    expect(count(second, 'ttyS0')).toBeGreaterThan(count(first, 'ttyS0'));
    // The tick is the local APIC timer's: LOC grows, the PIT's line stays where the boot's calibration left it.
    expect(localTimerCount(first)).toBeGreaterThan(0);
    expect(localTimerCount(second)).toBeGreaterThan(localTimerCount(first));
    expect(count(first, 'timer')).toBeGreaterThan(0);
    expect(count(second, 'timer')).toBe(count(first, 'timer'));
  });
});
