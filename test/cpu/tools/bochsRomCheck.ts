/**
 * Shared body of the developer tools test/cpu/vmx/bochsCheck.ts and
 * test/cpu/svm/bochsCheck.ts (not tests): runs the ROMs that the tests dumped
 * (POPEK_DUMP_ROMS=<dir>) on Bochs with a CPU model that has the extension and
 * lists where its reports differ from ours.
 *
 * The ROMs are assembled with test/cpu/tools/bochs32/rom.inc (reports as hex
 * lines on port 0xE9, HLT ends the simulation), so guest code halts with
 * GUEST_HLT.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assemble } from '../../../scripts/nasm.ts';

export interface BochsRomCheck {
  /** Dumped ROMs are `<prefix>-*.asm` with their values in `<prefix>-*.json`. */
  prefix: string;
  /** The Bochs CPU model used when the command line names none. */
  defaultModel: string;
  /** The folder with the extension's include file (vmx.inc, svm.inc). */
  includeDir: string;
}

export function compareRomsWithBochs({ prefix, defaultModel, includeDir }: BochsRomCheck, argv: string[]): void {
  const [dir, model = defaultModel] = argv;
  if (!dir) throw new Error('usage: bochsCheck.ts <dump dir> [cpu model]');
  const bochsInc = new URL('./bochs32/', import.meta.url).pathname;
  const asmDir = new URL('../asm/', import.meta.url).pathname;
  const work = process.env.BOCHS_WORK ?? mkdtempSync(join(tmpdir(), `popek-${prefix}-bochs-`));
  const romPath = join(work, 'rom.bin');

  const runBochs = (): string => {
    const rc = join(work, 'bochsrc'), cmds = join(work, 'cmds');
    writeFileSync(rc, [
      'megs: 16',
      `cpu: model=${model}`,
      `romimage: file=${romPath}, address=0xffff0000`,
      'display_library: rfb, options="timeout=0"',
      'port_e9_hack: enabled=1',
      `log: ${join(work, 'bochs.log')}`,
      'panic: action=fatal', 'error: action=report', 'info: action=ignore', 'debug: action=ignore',
      'clock: sync=none, time0=local',
      'speaker: enabled=0',
      'plugin_ctrl: speaker=0, sb16=0, es1370=0',
    ].join('\n') + '\n');
    writeFileSync(cmds, 'c\n');
    try {
      return execFileSync('bochs', ['-q', '-f', rc, '-rc', cmds], { timeout: 120_000, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 28 }).toString();
    } catch (e) {
      return (e as { stdout?: Buffer }).stdout?.toString() ?? '';
    }
  };

  for (const name of readdirSync(dir).filter((n) => n.startsWith(`${prefix}-`) && n.endsWith('.asm')).sort()) {
    const ours: number[] = JSON.parse(readFileSync(join(dir, name.replace(/\.asm$/, '.json')), 'utf8'));
    writeFileSync(romPath, assemble(readFileSync(join(dir, name), 'utf8'), [bochsInc, asmDir, includeDir]));
    const theirs = runBochs().split('\n').map((l) => l.trim()).filter((l) => /^[0-9A-F]{8}$/.test(l)).map((l) => parseInt(l, 16));
    const diffs: string[] = [];
    for (let k = 0; k < Math.max(ours.length, theirs.length); k++) {
      if (ours[k] !== theirs[k]) diffs.push(`#${k}: ours ${ours[k]?.toString(16)} bochs ${theirs[k]?.toString(16)}`);
    }
    console.log(`${name}: ${ours.length} values, bochs ${theirs.length}, ${diffs.length} differ`);
    for (const d of diffs.slice(0, 60)) console.log('  ' + d);
  }
}
