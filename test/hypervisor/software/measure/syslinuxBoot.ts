/**
 * Not a test (it takes over a minute): Tiny Linux booted the way a PC boots
 * it, SeaBIOS -> the disk's MBR -> SYSLINUX -> the kernel's real-mode set-up
 * -> its 32-bit kernel, under the software monitor, with its real-mode and
 * 16-bit stretches in the monitor's emulator (core/hypervisor/software/
 * realModeEmulator.ts). Prints host seconds to the shell prompt, two
 * commands' answers, COM1 before the kernel's first line, and the monitor's
 * counters. The disk is test/machine/syslinuxBoot.test.ts's (Debian's
 * SYSLINUX packages needed); no APIC (the monitor hides it).
 *
 *   npx tsx test/hypervisor/software/measure/syslinuxBoot.ts bt     (or trap, none)
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Acceleration } from '../../../../core/machine/acceleration.ts';
import { GuestConsole, PROMPT, TINY_LINUX } from '../../../../scripts/guestConsole.ts';
import { writeSyslinuxDisk } from '../../../machine/bootMedia/syslinuxDisk.ts';

async function main(acceleration: Acceleration): Promise<void> {
  const bios = readFileSync(new URL('../../../../resources/firmware/seabios/bios.bin', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'popek-syslinux-monitor-'));
  try {
    const disk = writeSyslinuxDisk(dir, 'disk.raw', { kernel: TINY_LINUX + 'bzImage', initrd: TINY_LINUX + 'initramfs.cpio.gz', append: 'console=ttyS0 popek.loader=syslinux' });
    const started = Date.now();
    const guest = new GuestConsole({ memoryMiB: 128, clock: 'deterministic', acceleration, rom: new Uint8Array(bios), ideDisks: [{ path: disk, format: 'raw' }] });
    await guest.waitFor(PROMPT, 900);
    console.log(`shell prompt after ${Math.round((Date.now() - started) / 1000)} s of host time (${acceleration})`);
    console.log(`cat /proc/cmdline: ${JSON.stringify(await guest.command('cat /proc/cmdline'))}`);
    console.log(`uname -a: ${JSON.stringify(await guest.command('uname -a'))}`);
    const out = guest.output;
    console.log(`COM1 before Linux: ${JSON.stringify(out.slice(0, out.indexOf('[    0.000000] Linux version')))}`);
    const m = guest.machine.stats().hypervisor?.monitor;
    if (m) {
      const traps = Object.fromEntries(Object.entries(m.traps).filter(([, n]) => n > 0));
      console.log(`monitor: emulated instructions ${m.emulatedInstructions}, to the emulator ${m.emulatorEntries}, back ${m.emulatorExits}; traps ${JSON.stringify(traps)}`);
    }
    guest.machine.pause();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main((process.argv[2] ?? 'bt') as Acceleration).then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
