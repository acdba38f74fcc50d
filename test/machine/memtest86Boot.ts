/**
 * Debian's memtest86+ (package memtest86+, its unmodified i386 ISO) booted
 * from the IDE CD-ROM through the bundled SeaBIOS (El Torito floppy
 * emulation) with the VGA BIOS, on a bare PC of 8 MiB with the deterministic
 * clock; and what its text screen must show once it has moved on to its
 * fourth test (Test #3). Shared by the guest test (memtest86.test.ts) and the
 * manual tool that prints the screen (tools/memtest86.ts).
 *
 * Only what does not depend on where the run stops is checked: the machine
 * runs in slices of host time and the screen is read after each, so the
 * progress bars, the address range under test, the pattern and even the test
 * number (a fast host can finish Test #3 and #4 within one slice) differ from
 * run to run; the header, the memory found, a test of number 3 or more, the
 * status and the error count do not.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createMachine } from '../../core/machine/machine.ts';
import type { RunResult } from '../../core/machine/types.ts';

export const MEMTEST86_ISO = '/usr/lib/memtest86+/memtest86+ia32.iso';
const FIRMWARE = new URL('../../resources/firmware/seabios/', import.meta.url);
/** SeaBIOS's serial console (sercon) first: reset, no line wrap, clear screen, default attributes; then its banner and the CD-ROM boot. */
const FIRMWARE_BOOTS_CD = '\x1bc\x1b[?7l\x1b[2J\x1b[0mSeaBIOS (version 1.16.2-debian-1.16.2-1)\r\nBooting from DVD/CD...';

export interface Memtest86Run {
  /** The text screen's rows, trailing spaces removed (empty if the VGA was never in a text mode). */
  screen: string[];
  /** What reached COM1 (SeaBIOS's sercon). */
  serial: string;
  result: RunResult;
  guestSeconds: number;
  hostSeconds: number;
}

/** The number of the test memtest86+ shows as running ('Test #5  [Moving inversions...'), or -1. */
export function memtest86TestNumber(screen: string[]): number {
  for (const line of screen) {
    const m = /Test #(\d+) /.exec(line);
    if (m) return Number(m[1]);
  }
  return -1;
}

/**
 * Boots memtest86+ and runs it until its screen shows Test #3 (or a later one) or `maxGuestSeconds`
 * of guest time have passed (it gets there after about 3.4). Throws if the
 * ISO is not installed.
 */
export function runMemtest86(maxGuestSeconds = 10): Memtest86Run {
  if (!existsSync(MEMTEST86_ISO)) throw new Error(`${MEMTEST86_ISO} is missing (apt-get install memtest86+)`);
  let serial = '';
  const machine = createMachine(
    {
      memoryMiB: 8,
      clock: 'deterministic',
      acceleration: 'none',
      noReboot: true,
      rom: new Uint8Array(readFileSync(new URL('bios.bin', FIRMWARE))),
      vga: true,
      vgaBios: new Uint8Array(readFileSync(new URL('vgabios-isavga.bin', FIRMWARE))),
      cdroms: [{ path: MEMTEST86_ISO }],
      bootOrder: ['cdrom'],
    },
    { onSerialOutput: (port, bytes) => port === 0 && (serial += Buffer.from(bytes).toString('latin1')) },
  );
  const rows = (): string[] => {
    const picture = machine.takeScreen?.();
    return picture?.mode === 'text' ? picture.lines.map((l) => l.trimEnd()) : [];
  };
  const start = performance.now();
  const maxGuestNs = maxGuestSeconds * 1e9;
  let result: RunResult = { kind: 'running' };
  let screen: string[] = [];
  while (result.kind === 'running' && machine.stats().guestNs < maxGuestNs) {
    result = machine.run(50);
    screen = rows();
    if (memtest86TestNumber(screen) >= 3) break;
  }
  return { screen, serial, result, guestSeconds: machine.stats().guestNs / 1e9, hostSeconds: (performance.now() - start) / 1000 };
}

/** Each thing the run must show, with whether it does. */
export function memtest86Checks(run: Memtest86Run): { what: string; ok: boolean }[] {
  const { screen } = run;
  const text = screen.join('\n');
  return [
    { what: 'SeaBIOS boots the CD-ROM (COM1)', ok: run.serial.startsWith(FIRMWARE_BOOTS_CD) },
    { what: 'the machine still runs', ok: run.result.kind === 'running' },
    { what: 'memtest86+ 6.10 is on the screen', ok: /Memtest86\+ v6\.10/.test(screen[0] ?? '') },
    { what: 'it found 8 MiB', ok: text.includes('Memory  :    8MB') },
    { what: 'it reached Test #3', ok: memtest86TestNumber(screen) >= 3 },
    { what: 'Status: Testing', ok: text.includes('Status: Testing') },
    { what: 'Pass: 0, Errors: 0', ok: /Pass:\s+0\s+Errors: 0\b/.test(text) },
    // The rows between the status box and the footer list errors when there are any; the one line there
    // now is memtest86+'s name of the board, from the SMBIOS tables (SeaBIOS's defaults: vendor and product 'Bochs').
    { what: 'no error rows', ok: screen.length === 25 && screen.slice(10, 23).every((l) => l === '' || l.trim() === 'Bochs Bochs') },
  ];
}
