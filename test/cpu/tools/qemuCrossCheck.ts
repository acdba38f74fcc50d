/**
 * Developer tool (not a test): runs the ROMs that table-driven CPU tests
 * dumped (POPEK_DUMP_ROMS=<dir> npx vitest run test/cpu/<file>) on
 * qemu-system-i386 and lists where QEMU's reported values differ from ours.
 * QEMU TCG does not reproduce every Intel "undefined" flag, so differences
 * in such flags are expected; differences in defined results are bugs.
 *
 *   node --import tsx test/cpu/tools/qemuCrossCheck.ts <dir> [flagMask]
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { assemble } from '../../../scripts/nasm.ts';

const dir = process.argv[2];
if (!dir) throw new Error('usage: qemuCrossCheck.ts <dump dir>');
const incDir = new URL('./qemu/', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'popek-xcheck-'));

for (const name of readdirSync(dir).filter((n) => n.endsWith('.asm')).sort()) {
  const ours: number[] = JSON.parse(readFileSync(join(dir, name.replace(/\.asm$/, '.json')), 'utf8'));
  const rom = assemble(readFileSync(join(dir, name), 'utf8'), [incDir]);
  const romPath = join(work, 'rom.bin'), outPath = join(work, 'out.txt');
  writeFileSync(romPath, rom);
  writeFileSync(outPath, '');
  try {
    execFileSync('qemu-system-i386', ['-bios', romPath, '-display', 'none', '-debugcon', `file:${outPath}`,
      '-device', 'isa-debug-exit,iobase=0xf4,iosize=4', '-no-reboot', '-m', '16'], { timeout: 20_000, stdio: 'ignore' });
  } catch {
    // isa-debug-exit makes QEMU exit with a non-zero status.
  }
  const theirs = readFileSync(outPath, 'utf8').split('\n').filter((l) => /^[0-9A-F]{8}$/.test(l)).map((l) => parseInt(l, 16));
  const diffs: string[] = [];
  for (let k = 0; k < Math.max(ours.length, theirs.length); k++) {
    if (ours[k] !== theirs[k]) diffs.push(`#${k}: ours ${ours[k]?.toString(16)} qemu ${theirs[k]?.toString(16)} (xor ${((ours[k] ^ theirs[k]) >>> 0).toString(16)})`);
  }
  console.log(`${name}: ${ours.length} values, qemu ${theirs.length}, ${diffs.length} differ`);
  for (const d of diffs.slice(0, 40)) console.log('  ' + d);
}
