/**
 * Host-side helpers for the x87 tests: exact binary64/binary32 bit patterns
 * computed with the host's IEEE arithmetic (independent of the emulated CPU).
 */
import { readFileSync } from 'node:fs';
import { ASM_DIR } from './harness.ts';

const buf = new DataView(new ArrayBuffer(8));

/** [low dword, high dword] of a binary64 value. */
export function f64(x: number): [number, number] {
  buf.setFloat64(0, x, true);
  return [buf.getUint32(0, true), buf.getUint32(4, true)];
}

/** The binary32 bit pattern of a value rounded to nearest. */
export function f32(x: number): number {
  buf.setFloat32(0, x, true);
  return buf.getUint32(0, true);
}

/** The binary64 value of a [low, high] pair. */
export function toF64(lo: number, hi: number): number {
  buf.setUint32(0, lo, true);
  buf.setUint32(4, hi, true);
  return buf.getFloat64(0, true);
}

/** Values as hex strings, for readable diffs. */
export function hex(values: number[]): string[] {
  return values.map((v) => '0x' + (v >>> 0).toString(16));
}

/**
 * A complete test ROM source: rom.inc, the x87 helpers (inlined, so the
 * assembler cache key covers them), FPU_SETUP, the body, HLT and ROM_END.
 */
export function fpuRom(body: string, data = ''): string {
  const helpers = readFileSync(ASM_DIR + 'fpu.inc', 'utf8');
  return `%include "rom.inc"\n${helpers}\nstart:\n        FPU_SETUP\n${body}\n        cli\n        hlt\n${data}\n        ROM_END\n`;
}
