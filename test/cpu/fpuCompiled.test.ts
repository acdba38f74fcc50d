/**
 * Compiler-generated x87 code on the bare CPU: a small freestanding C
 * program built with gcc -m32 -mfpmath=387 -march=i686 (FUCOMI/FCMOV,
 * FNSTCW/FLDCW truncation around FISTP, FILD/FISTP m64 copies, float
 * narrowing), run in protected mode from RAM. Expected values are the
 * host's binary64 results (for these operands the x87's 64-bit
 * intermediates round to the same doubles; fpuLongDouble.test.ts compares
 * extended results with the host's x87 itself) and the exact 64-bit
 * integer copy; the inline libm sequences of -ffast-math against the
 * host's Math within a few ulps. Skipped when no 32-bit gcc toolchain
 * exists.
 */
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hex, runPm } from './pmodeRun.ts';
import { f32, f64, toF64 } from './fpuTestUtil.ts';

const C_SOURCE = String.raw`
__asm__(".globl _start\n_start:\n call entry\n lret\n");
typedef unsigned int u32;
static inline void report(u32 v) { __asm__ volatile("outl %0, $0xF0" :: "a"(v)); }
static void rep64(double d) { union { double d; u32 w[2]; } u; u.d = d; report(u.w[0]); report(u.w[1]); }
volatile double in[4] = { 1.5, -2.25, 3.0e10, 0.1 };
volatile long long big = 0x7123456789abcdefLL;
void entry(void) {
  double a = in[0], b = in[1], c = in[2], d = in[3];
  rep64(a * b + c / d);
  rep64(__builtin_sqrt(c));
  long long ll = (long long)(c * 3.7);
  report((u32)ll); report((u32)(ll >> 32));
  int i = (int)(b * 10.3); report((u32)i);
  unsigned u = (unsigned)(c / 7); report(u);
  report(a < b); report(d > 0.05);
  double m = a > b ? a : b; rep64(m);
  rep64((double)ll);
  long long copy = big; report((u32)copy); report((u32)(copy >> 32));
  float f = (float)d; union { float f; u32 w; } uf; uf.f = f; report(uf.w);
}
`;

const MATH_SOURCE = String.raw`
__asm__(".globl _start\n_start:\n call entry\n lret\n");
typedef unsigned int u32;
static inline void report(u32 v) { __asm__ volatile("outl %0, $0xF0" :: "a"(v)); }
static void rep64(double d) { union { double d; u32 w[2]; } u; u.d = d; report(u.w[0]); report(u.w[1]); }
volatile double in[3] = { 0.7, 2.5, -1.3 };
void entry(void) {
  double x = in[0], y = in[1], z = in[2];
  rep64(__builtin_sin(x));
  rep64(__builtin_cos(y));
  rep64(__builtin_tan(x));
  rep64(__builtin_atan2(z, y));
  rep64(__builtin_log(y));
  rep64(__builtin_log10(y));
  rep64(__builtin_exp(z));
  rep64(__builtin_floor(z));
  rep64(__builtin_fmod(y, x));
  rep64(__builtin_rint(y));
}
`;

/** Builds a program as a flat binary linked at 0x10000; null without a toolchain. */
function build(source: string, extraFlags: string[] = []): string | null {
  const dir = join(tmpdir(), 'popek-fpu-c-' + createHash('sha256').update(source).update(extraFlags.join(' ')).digest('hex').slice(0, 12));
  mkdirSync(dir, { recursive: true });
  const c = join(dir, 'prog.c'), o = join(dir, 'prog.o'), elf = join(dir, 'prog.elf'), bin = join(dir, 'prog.bin');
  try {
    writeFileSync(c, source);
    execFileSync('gcc', ['-m32', '-O2', '-march=i686', '-mfpmath=387', '-ffreestanding', '-fno-pic', '-fno-stack-protector',
      '-fno-asynchronous-unwind-tables', '-fno-toplevel-reorder', '-fno-math-errno', ...extraFlags, '-c', c, '-o', o], { stdio: 'ignore' });
    execFileSync('ld', ['-m', 'elf_i386', '-N', '-Ttext', '0x10000', '-e', '_start', '-o', elf, o], { stdio: 'ignore' });
    execFileSync('objcopy', ['-O', 'binary', elf, bin], { stdio: 'ignore' });
  } catch {
    return null;
  }
  // The binary's hash goes into the path so the assembler cache never serves a stale ROM.
  const final = join(dir, createHash('sha256').update(readFileSync(bin)).digest('hex').slice(0, 12) + '.bin');
  writeFileSync(final, readFileSync(bin));
  return final;
}

/** Runs a built program: copies it to 0x10000 and far-calls it through a flat code segment. */
function runProgram(binary: string): number[] {
  const run = runPm(`
test_main:
        SET_DESC SEL_FREE, 0, 0xFFFFF, 0x9A, 0xC     ; flat 32-bit code segment for the RAM copy
        mov esi, CODE_BASE + blob
        mov edi, 0x10000
        mov ecx, (blob_end - blob + 3) / 4
        cld
        rep movsd
        fninit
        call SEL_FREE:0x10000
        PM_DONE
        align 4
blob:   incbin "${binary}"
blob_end:
`);
  expect(run.stop).toBe('halt');
  return run.values;
}

function doubles(values: number[]): number[] {
  const out: number[] = [];
  for (let k = 0; k + 1 < values.length; k += 2) out.push(toF64(values[k], values[k + 1]));
  return out;
}

function expectWithinUlps(got: number, want: number, ulps: number): void {
  const ulp = 2 ** (Math.floor(Math.log2(Math.abs(want))) - 52);
  expect(Math.abs(got - want)).toBeLessThanOrEqual(ulps * ulp);
}

const binary = build(C_SOURCE);
const mathBinary = build(MATH_SOURCE, ['-ffast-math']);

describe('x87 code generated by gcc', () => {
  it.skipIf(binary === null)('computes what binary64 arithmetic gives, and copies 64-bit integers exactly', () => {
    const values = runProgram(binary!);
    const a = 1.5, b = -2.25, c = 3.0e10, d = 0.1;
    const ll = Math.trunc(c * 3.7);
    expect(hex(values)).toEqual(hex([
      ...f64(a * b + c / d),
      ...f64(Math.sqrt(c)),
      ll % 2 ** 32, Math.floor(ll / 2 ** 32),
      Math.trunc(b * 10.3) >>> 0,
      Math.trunc(c / 7) >>> 0,
      0, 1,
      ...f64(1.5),
      ...f64(ll),
      0x89ab_cdef, 0x7123_4567,
      f32(d),
    ]));
  });

  it.skipIf(mathBinary === null)('inline libm sequences (-ffast-math: FSIN, FPTAN, FPATAN, FYL2X, F2XM1/FSCALE, FPREM, FRNDINT)', () => {
    const got = doubles(runProgram(mathBinary!));
    const x = 0.7, y = 2.5, z = -1.3;
    // Single instructions: within 1 ulp. Composed sequences (constant * log2, 2^(i+f) via F2XM1 and
    // FSCALE) round several times: within 4 ulps of the binary64 value.
    expectWithinUlps(got[0], Math.sin(x), 1);
    expectWithinUlps(got[1], Math.cos(y), 1);
    expectWithinUlps(got[2], Math.tan(x), 1);
    expectWithinUlps(got[3], Math.atan2(z, y), 1);
    expectWithinUlps(got[4], Math.log(y), 4);
    expectWithinUlps(got[5], Math.log10(y), 4);
    expectWithinUlps(got[6], Math.exp(z), 4);
    expect(got.slice(7)).toEqual([-2, y % x, 2]); // floor, fmod (exact), rint (ties to even)
  });
});
