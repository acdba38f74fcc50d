/**
 * Manual guest check (too slow for the suite: about 8 minutes of host time
 * before the first text): Debian 12's i386 kernel (CONFIG_VT and
 * CONFIG_VGA_CONSOLE, fetched by scripts/fetch-debian-kernel.sh into .cache)
 * boots on the bare PC with a VGA and `console=ttyS0 console=tty0`; Linux's
 * vgacon takes the screen (screen_info says mode 3) and prints the kernel log
 * on it, scrolling, while the same log goes to COM1. Passes when the screen
 * is full of text, every row of it appears in the serial log, and the cursor
 * sits below the last line in vgacon's underline shape.
 *
 *   npx tsx test/devices/vga/tools/debianVgacon.ts [max host seconds, default 900]
 */
import { readFileSync } from 'node:fs';
import { createMachine } from '../../../../core/machine/machine.ts';
import type { TextScreen } from '../../../../core/devices/vga/textScreen.ts';

const root = new URL('../../../../', import.meta.url).pathname;
const maxMs = Number(process.argv[2] ?? 900) * 1000;
let serial = '';
const machine = createMachine(
  {
    memoryMiB: 256,
    clock: 'deterministic',
    vga: true,
    kernel: new Uint8Array(readFileSync(`${root}.cache/debian-kernel/vmlinuz-debian-686`)),
    initrd: new Uint8Array(readFileSync(`${root}resources/guests/tiny-linux/initramfs.cpio.gz`)),
    cmdline: 'console=ttyS0 console=tty0',
  },
  { onSerialOutput: (_port, bytes) => (serial += new TextDecoder().decode(bytes)) },
);

const started = performance.now();
let screen: TextScreen | null = null;
const rowsWithText = () => screen?.lines.filter((l) => l.trim() !== '').length ?? 0;
while (performance.now() - started < maxMs) {
  const result = machine.run(100);
  if (result.kind === 'stopped') throw new Error(`the guest stopped: ${JSON.stringify(result.reason)}`);
  const picture = machine.takeScreen!();
  if (picture?.mode === 'text') screen = picture;
  if (rowsWithText() >= 24 && serial.includes('\n')) break;
}
if (!screen || rowsWithText() < 24) throw new Error(`no full screen of text within ${maxMs / 1000} s (serial ${serial.length} bytes)`);
// Let the kernel print a while longer, so the screen has scrolled.
const more = performance.now();
while (performance.now() - more < 30_000) {
  machine.run(100);
  const picture = machine.takeScreen!();
  if (picture?.mode === 'text') screen = picture;
}
const log = serial.replace(/\r/g, '');
const rows = screen.lines.map((l) => l.trimEnd());
const missing = rows.filter((r) => r !== '' && !log.includes(r));
let lastRow = rows.length - 1;
while (lastRow >= 0 && rows[lastRow] === '') lastRow--;
console.log(rows.join('\n'));
console.log(JSON.stringify(screen.cursor));
if (missing.length > 0) throw new Error(`rows on the screen that COM1 never printed:\n${missing.join('\n')}`);
if (!log.includes('Linux version 6.1.0')) throw new Error('the kernel never printed its version on COM1');
const { row, startLine, endLine, visible } = screen.cursor;
if (!visible || row !== lastRow + 1 || startLine !== 13 || endLine !== 14) throw new Error('the cursor is not vgacon\'s underline below the last line');
console.log(`OK: vgacon drove the VGA (${rowsWithText()} rows of kernel log, all on COM1 too) in ${((performance.now() - started) / 1000).toFixed(0)} s`);
