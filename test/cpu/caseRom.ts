/**
 * Helpers for table-driven instruction tests: a real-mode frame (stack at
 * 0:7000, DS = ES = 0) around a test body, data tables in the ROM, and the
 * flag masks the tests compare.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runAsm, type RomRun, type RomRunOptions } from './harness.ts';

/** The six arithmetic flags. */
export const ARITH = 0x8d5;
export const CF = 0x001, PF = 0x004, AF = 0x010, ZF = 0x040, SF = 0x080, OF = 0x800;

/** Wraps `body` (16-bit real-mode code; may define labels and data after its code) into a ROM program. */
export function program(body: string): string {
  return `%include "rom.inc"
start:
        cli
        xor ax, ax
        mov ss, ax
        mov ds, ax
        mov es, ax
        mov sp, 0x7000
        cld
${body}
finish:
        cli
        hlt
        ROM_END
`;
}

let dumped = 0;

/**
 * Runs a test body. With POPEK_DUMP_ROMS=<dir>, also writes each program and
 * the values it reported here, for cross-checking the same ROM on another
 * emulator (test/cpu/tools/crossCheck.ts).
 */
export function runProgram(body: string, opts: RomRunOptions = {}): RomRun {
  const source = program(body);
  const run = runAsm(source, { maxInstructions: 5_000_000, ...opts });
  if (run.stop !== 'halt') throw new Error(`test ROM did not halt: ${run.stop} ${run.shutdownDetail ?? ''}`);
  const dir = process.env.POPEK_DUMP_ROMS;
  if (dir) {
    mkdirSync(dir, { recursive: true });
    const name = `${process.pid}-${dumped++}`;
    writeFileSync(join(dir, `${name}.asm`), source);
    writeFileSync(join(dir, `${name}.json`), JSON.stringify(run.values));
  }
  return run;
}

/** `dd` lines for a list of 32-bit values. */
export function dwords(values: number[]): string {
  const out: string[] = [];
  for (let k = 0; k < values.length; k += 8) out.push(`        dd ${values.slice(k, k + 8).map((v) => '0x' + (v >>> 0).toString(16)).join(', ')}`);
  return out.join('\n');
}

/** Even parity of the low byte, as PF. */
export function parity(v: number): number {
  let x = v & 0xff;
  x ^= x >> 4;
  x ^= x >> 2;
  x ^= x >> 1;
  return x & 1 ? 0 : PF;
}

/** SF/ZF/PF of a `bits`-wide result. */
export function szp(bits: number, res: number): number {
  const m = bits === 32 ? 0xffffffff : (1 << bits) - 1;
  const r = (res & m) >>> 0;
  return (r === 0 ? ZF : 0) | ((r >>> (bits - 1)) & 1 ? SF : 0) | parity(r);
}

export function hex(v: number): string {
  return '0x' + (v >>> 0).toString(16);
}
