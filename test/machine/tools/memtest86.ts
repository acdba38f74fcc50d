/**
 * Manual guest check (kept out of the suite for its cost: about 3.3 s of guest
 * time, 10-40 s of host CPU): Debian's memtest86+ (package memtest86+, its
 * unmodified i386 ISO /usr/lib/memtest86+/memtest86+ia32.iso) boots from the
 * IDE CD-ROM through the bundled SeaBIOS (El Torito floppy emulation) with the
 * VGA BIOS, finds the board's 8 MiB and tests them. Runs until memtest86+ has
 * moved on to its fourth test (Test #3), within a bounded guest time, then
 * checks the text screen: memtest86+'s header, the memory size, "Status:
 * Testing" and "Errors: 0", and an empty error area. Prints the screen; exit
 * status 0 when all hold.
 *
 *   apt-get install memtest86+
 *   npx tsx test/machine/tools/memtest86.ts [max guest seconds, default 10]
 */
import { existsSync, readFileSync } from 'node:fs';
import { createMachine } from '../../../core/machine/machine.ts';
import type { RunResult } from '../../../core/machine/types.ts';

const ISO = '/usr/lib/memtest86+/memtest86+ia32.iso';
const root = new URL('../../../', import.meta.url).pathname;
const maxGuestNs = Number(process.argv[2] ?? 10) * 1e9;
if (!existsSync(ISO)) {
  console.error(`${ISO} is missing: apt-get install memtest86+`);
  process.exit(2);
}

let serial = '';
const machine = createMachine(
  {
    memoryMiB: 8,
    clock: 'deterministic',
    acceleration: 'none',
    noReboot: true,
    rom: new Uint8Array(readFileSync(`${root}resources/firmware/seabios/bios.bin`)),
    vga: true,
    vgaBios: new Uint8Array(readFileSync(`${root}resources/firmware/seabios/vgabios-isavga.bin`)),
    cdroms: [{ path: ISO }],
    bootOrder: ['cdrom'],
  },
  { onSerialOutput: (port, bytes) => port === 0 && (serial += Buffer.from(bytes).toString('latin1')) },
);
const lines = (): string[] => {
  const screen = machine.takeScreen?.();
  return screen?.mode === 'text' ? screen.lines.map((l) => l.trimEnd()) : [];
};

const start = performance.now();
let result: RunResult = { kind: 'running' };
let screen: string[] = [];
for (let i = 0; result.kind === 'running' && machine.stats().guestNs < maxGuestNs; i++) {
  result = machine.run(50);
  if (i % 10 !== 0) continue;
  screen = lines();
  if (screen.some((l) => l.includes('Test #3 '))) break;
}
const guestSeconds = machine.stats().guestNs / 1e9;
console.log(screen.join('\n'));
console.log(`\nguest ${guestSeconds.toFixed(2)} s, host ${((performance.now() - start) / 1000).toFixed(1)} s, machine ${JSON.stringify(result)}`);

const text = screen.join('\n');
const checks: [string, boolean][] = [
  ['SeaBIOS boots the CD-ROM (COM1)', serial.startsWith('\x1bc\x1b[?7l\x1b[2J\x1b[0mSeaBIOS (version 1.16.2-debian-1.16.2-1)\r\nBooting from DVD/CD...')],
  ['the machine still runs', result.kind === 'running'],
  ['memtest86+ 6.10 is on the screen', /Memtest86\+ v6\.10/.test(screen[0] ?? '')],
  ['it found 8 MiB', text.includes('Memory  :    8MB')],
  ['it reached Test #3', text.includes('Test #3 ')],
  ['Status: Testing', text.includes('Status: Testing')],
  ['Pass: 0, Errors: 0', /Pass:\s+0\s+Errors: 0\b/.test(text)],
  // The rows between the status box and the footer list errors when there are any.
  ['no error rows', screen.slice(10, 23).every((l) => l === '' || l.trim() === 'Bochs Bochs')],
];
for (const [what, ok] of checks) console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
process.exit(checks.every(([, ok]) => ok) ? 0 : 1);
