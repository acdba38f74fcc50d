/**
 * Runs a protected-mode test program built on asm/pmode.inc. The harness
 * caches assembled ROMs by source + rom.inc; pmode.inc's own hash is added to
 * the source so an edit to the include re-assembles.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ASM_DIR, runAsm, type RomRun, type RomRunOptions } from './harness.ts';

const pmodeHash = createHash('sha256').update(readFileSync(join(ASM_DIR, 'pmode.inc'))).digest('hex').slice(0, 16);

let dumped = 0;

/**
 * Assembles `body` (32-bit code starting at `test_main`, ending with PM_DONE)
 * inside the pmode.inc frame and runs it. With POPEK_DUMP_ROMS=<dir>, also
 * writes the program and the values it reported, for running the same ROM on
 * Bochs (test/cpu/tools/crossCheck.ts <dir> bochs32).
 */
export function runPm(body: string, opts?: RomRunOptions): RomRun {
  const source = `; pmode.inc ${pmodeHash}
%include "rom.inc"
%include "pmode.inc"
        bits 32
${body}
        bits 16
        ROM_END
`;
  const run = runAsm(source, { maxInstructions: 2_000_000, ...opts });
  const dir = process.env.POPEK_DUMP_ROMS;
  if (dir) {
    mkdirSync(dir, { recursive: true });
    const name = `pm-${process.pid}-${dumped++}`;
    writeFileSync(join(dir, `${name}.asm`), source);
    writeFileSync(join(dir, `${name}.json`), JSON.stringify(run.values));
  }
  return run;
}

/** Hex rendering of reported values, for readable failure messages. */
export const hex = (values: number[]): string[] => values.map((v) => '0x' + (v >>> 0).toString(16));
