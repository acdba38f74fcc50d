/**
 * `popek run --accel bt --tc-dump N|all`: the translation cache printed at
 * exit, with the detector guest (test/guests/detector, a Multiboot kernel
 * that powers off by itself) on the deterministic clock, so every byte is
 * fixed.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { runCommand } from '../../core/cli/run.ts';
import { parseRunArgs } from '../../core/cli/runArgs.ts';
import { assemble } from '../../scripts/nasm.ts';

const DETECTOR_DIR = join(import.meta.dirname, '../guests/detector');
const dir = mkdtempSync(join(tmpdir(), 'popek-tcdump-'));
const kernel = join(dir, 'detector.bin');
writeFileSync(kernel, assemble(readFileSync(join(DETECTOR_DIR, 'detector.asm'), 'utf8'), [DETECTOR_DIR]));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A Multiboot kernel that runs a loop of sensitive instructions 3 times, prints R on COM1, then spins. */
const loopKernel = join(dir, 'loop.bin');
writeFileSync(loopKernel, assemble(`bits 32
org 0x100000
mb: dd 0x1BADB002, 0x00010000, -(0x1BADB002 + 0x00010000), mb, mb, 0, 0, start
start:
  mov esp, 0x90000
  mov ecx, 3
.loop:
  pushf
  popf
  sgdt [gdtr]
  loop .loop
  mov dx, 0x3f8
  mov al, 'R'
  out dx, al
.spin:
  jmp .spin
align 4096
gdtr: dq 0
`));

async function runDetector(extra: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const code = await runCommand(['--kernel', kernel, '--accel', 'bt', '--clock', 'deterministic', '--memory', '16', ...extra], {
    stdin: new PassThrough(),
    stdout: { write: () => true },
    stderr: { write: (d: string) => (stderr += d) },
    handleSignals: false,
  });
  return { code, stderr };
}

describe('popek run --tc-dump', () => {
  it('prints the cache on Ctrl-A t while the guest runs, with the terminal\'s CR LF line ends', async () => {
    let stdout = '';
    let stderr = '';
    const stdin = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => stdin });
    const code = await runCommand(['--kernel', loopKernel, '--accel', 'bt', '--clock', 'deterministic', '--memory', '16', '--tc-dump', 'all'], {
      stdin,
      stdout: {
        write: (d: Uint8Array | string) => {
          stdout += typeof d === 'string' ? d : Buffer.from(d).toString('latin1');
          // The guest printed R after its loop: ask for the cache, then quit.
          if (stdout === 'R') setImmediate(() => stdin.write(Uint8Array.from([0x01, 0x74, 0x01, 0x78])));
          return true;
        },
      },
      stderr: { write: (d: string) => (stderr += d) },
      handleSignals: false,
    });
    expect(code).toBe(0);
    const dump = stderr.slice(0, stderr.indexOf('\r\nquit (Ctrl-A x)'));
    expect(dump).not.toMatch(/[^\r]\n/); // raw terminal: every line ends CR LF
    const lines = dump.split('\r\n');
    expect(lines.slice(0, 3)).toEqual(['', '--- translation cache ---', '93 of 262144 bytes used, 5 blocks since the last flush (0 invalidated):']);
    expect(lines.filter((l) => l.startsWith('block #'))).toEqual([
      'block #1 guest 00100020 (frame 100) -> TC ffd40000, 32 bytes',
      'block #2 guest 0010002a (frame 100) -> TC ffd40020, 22 bytes',
      'block #3 guest 0010002c (frame 100) -> TC ffd40036, 18 bytes',
      'block #4 guest 00100035 (frame 100) -> TC ffd40048, 14 bytes',
      'block #5 guest 0010003c (frame 100) -> TC ffd40056, 7 bytes',
    ]);
    expect(dump).toContain('sgdt [0x101000]');
    expect(dump).toContain('; callout sgdt');
    // --tc-dump all prints it again at exit.
    expect(stderr.split('--- translation cache ---').length).toBe(3);
  });

  it('is refused outside binary translation, and with a bad count', async () => {
    expect(() => parseRunArgs(['--kernel', 'k', '--accel', 'trap', '--tc-dump', '2'])).toThrow('--tc-dump needs --accel bt: only the binary translator has a translation cache');
    expect(() => parseRunArgs(['--kernel', 'k', '--accel', 'bt', '--tc-dump', '0'])).toThrow("bad --tc-dump value '0': expected a number of blocks (1 or more) or all");
    expect(parseRunArgs(['--kernel', 'k', '--accel', 'bt', '--tc-dump=all']).tcDump).toBe('all');
  });

  it('prints the cache and the latest blocks, guest code beside translation, for the detector under bt', async () => {
    const { code, stderr } = await runDetector(['--tc-dump', '2']);
    expect(code).toBe(0);
    expect(stderr.slice(stderr.indexOf('--- translation cache ---'))).toBe(
      [
        '--- translation cache ---',
        '1630 of 262144 bytes used, 82 blocks since the last flush (0 invalidated); the latest 2:',
        '',
        'block #81 guest 00100422 (frame 100) -> TC ffd40643, 17 bytes',
        '00100422  66 ba 04 06          mov dx, 0x604                  | ffd40643  66 ba 04 06          mov dx, 0x604               ; copy',
        '00100426  66 b8 00 34          mov ax, 0x3400                 | ffd40647  66 b8 00 34          mov ax, 0x3400              ; copy',
        '0010042a  66 ef                out dx, ax                     | ffd4064b  66 ef                out dx, ax                  ; copy',
        '                                                              | ffd4064d  e9 00 00 00 00       jmp 0xffd40652              ; branch',
        '                                                              | ffd40652  cd 1f                int 0x1f                    ; exit stub -> guest 0010042c',
        '',
        'block #82 guest 0010042c (frame 100) -> TC ffd40654, 10 bytes',
        '0010042c  fa                   cli                            | ffd40654  cd 1f                int 0x1f                    ; callout cli',
        '0010042d  f4                   hlt                            | ffd40656  f4                   hlt                         ; copy',
        '                                                              | ffd40657  e9 00 00 00 00       jmp 0xffd4065c              ; branch',
        '                                                              | ffd4065c  cd 1f                int 0x1f                    ; exit stub -> guest 0010042e',
        '',
      ].join('\n'),
    );
  });

  it('prints every block with all, and --stats the translator\'s counters', async () => {
    const { stderr } = await runDetector(['--tc-dump', 'all', '--stats']);
    expect(stderr).toContain('1630 of 262144 bytes used, 82 blocks since the last flush (0 invalidated):\n');
    expect(stderr.match(/^block #\d+ /gm)?.length).toBe(82);
    // The detector's SGDT check, translated into a callout.
    expect(stderr).toMatch(/^[0-9a-f]{8} {2}0f 01 05 [0-9a-f ]{11} +sgdt \[0x[0-9a-f]+\] +\| [0-9a-f]{8} {2}cd 1f +int 0x1f +; callout sgdt$/m);
    const rows = stderr.split('\n').map((l) => l.replace(/\s+/g, ' ').trim());
    for (const row of ['TC blocks translated 82', 'TC guest instructions 279', 'TC chained jumps 68', 'TC bytes used 1630 of 262144', 'TC flushes 0', 'TC sections reused 0', 'TC blocks evicted 0', 'callout sgdt 2', 'callout pushf 9', 'callout exit 68']) {
      expect(rows).toContain(row);
    }
  });
});
