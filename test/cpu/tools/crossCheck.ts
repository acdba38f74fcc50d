/**
 * Developer tool (not a test): runs the ROMs that table-driven CPU tests
 * dumped (POPEK_DUMP_ROMS=<dir> npx vitest run test/cpu/<file>) on another
 * emulator and lists where its reported values differ from ours.
 *
 *   node --import tsx test/cpu/tools/crossCheck.ts <dir> [qemu|bochs]
 *
 * - bochs (apt-get install bochs bochsbios vgabios): the closer oracle; its
 *   CPU models P6 behaviour for many flags the SDM leaves undefined. Popek
 *   follows the later Intel parts instead for MUL/IMUL's ZF, BSF/BSR's flags
 *   with a zero source and OF of shifts/rotates by more than one
 *   (UNDEFINED_FLAGS.md), so those differ on Bochs as expected.
 * - bochs32: Bochs again, for protected-mode ROMs built on asm/pmode.inc
 *   (their reports come from 32-bit code; see bochs32/rom.inc).
 * - qemu (qemu-system-i386): TCG does not reproduce every Intel "undefined"
 *   flag (e.g. OF after multi-bit RCL/RCR, SF/ZF/PF after AAA/AAS) and does
 *   not check real-mode segment limits.
 * ROMs that need the harness's extra port devices (interrupt controller
 * mock, test ports) differ on both, as expected.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assemble } from '../../../scripts/nasm.ts';

const dir = process.argv[2];
const emulator = process.argv[3] ?? 'bochs';
if (!dir || (emulator !== 'qemu' && emulator !== 'bochs' && emulator !== 'bochs32')) {
  throw new Error('usage: crossCheck.ts <dump dir> [qemu|bochs|bochs32]');
}
const incDir = new URL(`./${emulator}/`, import.meta.url).pathname;
// pmode.inc and the other shared includes come from the test tree, after the emulator's rom.inc.
const asmDir = new URL('../asm/', import.meta.url).pathname;
const work = mkdtempSync(join(tmpdir(), 'popek-xcheck-'));
const romPath = join(work, 'rom.bin');

function runQemu(): string {
  const outPath = join(work, 'out.txt');
  writeFileSync(outPath, '');
  try {
    execFileSync('qemu-system-i386', ['-bios', romPath, '-display', 'none', '-debugcon', `file:${outPath}`,
      '-device', 'isa-debug-exit,iobase=0xf4,iosize=4', '-no-reboot', '-m', '16'], { timeout: 60_000, stdio: 'ignore' });
  } catch {
    // isa-debug-exit makes QEMU exit with a non-zero status.
  }
  return readFileSync(outPath, 'utf8');
}

function runBochs(): string {
  const rc = join(work, 'bochsrc'), cmds = join(work, 'cmds');
  writeFileSync(rc, [
    'megs: 16',
    // BOCHS_CPU=<model> picks a Bochs CPU model (e.g. core_duo_t2400_yonah for PAE and NX); default: Bochs's own.
    ...(process.env.BOCHS_CPU ? [`cpu: model=${process.env.BOCHS_CPU}`] : []),
    `romimage: file=${romPath}, address=0xffff0000`,
    'display_library: rfb, options="timeout=0"',
    'port_e9_hack: enabled=1',
    `log: ${join(work, 'bochs.log')}`,
    'panic: action=fatal', 'error: action=report', 'info: action=ignore', 'debug: action=ignore',
    'clock: sync=none, time0=local',
    'speaker: enabled=0',
    // Without a sound card on the host, Debian's Bochs 2.7 aborts in its sound plugins.
    'plugin_ctrl: speaker=0, sb16=0, es1370=0',
  ].join('\n') + '\n');
  writeFileSync(cmds, 'c\n'); // Debian's Bochs has the debugger built in: continue at once
  try {
    return execFileSync('bochs', ['-q', '-f', rc, '-rc', cmds], { timeout: 120_000, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 28 }).toString();
  } catch (e) {
    const err = e as { stdout?: Buffer };
    return err.stdout?.toString() ?? '';
  }
}

for (const name of readdirSync(dir).filter((n) => n.endsWith('.asm')).sort()) {
  const ours: number[] = JSON.parse(readFileSync(join(dir, name.replace(/\.asm$/, '.json')), 'utf8'));
  writeFileSync(romPath, assemble(readFileSync(join(dir, name), 'utf8'), [incDir, asmDir]));
  const output = emulator === 'qemu' ? runQemu() : runBochs();
  const theirs = output.split('\n').map((l) => l.trim()).filter((l) => /^[0-9A-F]{8}$/.test(l)).map((l) => parseInt(l, 16));
  const diffs: string[] = [];
  for (let k = 0; k < Math.max(ours.length, theirs.length); k++) {
    if (ours[k] !== theirs[k]) diffs.push(`#${k}: ours ${ours[k]?.toString(16)} ${emulator} ${theirs[k]?.toString(16)} (xor ${((ours[k] ^ theirs[k]) >>> 0).toString(16)})`);
  }
  console.log(`${name}: ${ours.length} values, ${emulator} ${theirs.length}, ${diffs.length} differ`);
  for (const d of diffs.slice(0, 40)) console.log('  ' + d);
}
