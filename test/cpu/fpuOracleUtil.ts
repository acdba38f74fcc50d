/**
 * The host x87 as the reference for randomized x87 tests: builds
 * fpuOracle.c with the host gcc (x86-64 hosts only; null elsewhere), runs
 * cases through it, and runs the same cases on the emulated CPU as a NASM
 * ROM that executes each case exactly as the C program does (FNINIT,
 * FLDCW, FLD B, FLD A, the instruction, FNSTSW, FNCLEX, two FSTP m80).
 * Case operands come from a seeded generator, so every run checks the same
 * cases and nothing is cached in the repository.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { arch, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAsm } from './harness.ts';
import { fpuRom } from './fpuTestUtil.ts';

export interface Ext {
  se: number;
  hi: number;
  lo: number;
}

export interface Case {
  op: string;
  cw: number;
  a: Ext;
  b: Ext;
}

/** One case's outcome: ST(0) (or the stored bits), ST(1), and the status word. */
export interface Outcome {
  r: Ext;
  r2: Ext;
  sw: number;
}

const ORACLE_SOURCE = new URL('./fpuOracle.c', import.meta.url).pathname;

/** Builds the oracle; null when the host cannot (not x86-64, no gcc). */
export function buildOracle(): string | null {
  if (arch() !== 'x64') return null;
  const source = readFileSync(ORACLE_SOURCE);
  const dir = join(tmpdir(), 'popek-fpu-oracle');
  mkdirSync(dir, { recursive: true });
  const bin = join(dir, createHash('sha256').update(source).digest('hex').slice(0, 16));
  if (existsSync(bin)) return bin;
  try {
    const tmp = `${bin}.${process.pid}.tmp`; // concurrent runs never share a half-written binary
    execFileSync('gcc', ['-O1', '-o', tmp, ORACLE_SOURCE], { stdio: 'ignore' });
    renameSync(tmp, bin);
  } catch {
    return null;
  }
  return bin;
}

const hex = (v: number, w: number) => (v >>> 0).toString(16).padStart(w, '0');

export function runOracle(bin: string, cases: Case[]): Outcome[] {
  const input = cases.map((c) =>
    `${c.op} ${hex(c.cw, 4)} ${hex(c.a.se, 4)} ${hex(c.a.hi, 8)} ${hex(c.a.lo, 8)} ${hex(c.b.se, 4)} ${hex(c.b.hi, 8)} ${hex(c.b.lo, 8)}`,
  ).join('\n') + '\n';
  const out = execFileSync(bin, { input, maxBuffer: 64 << 20 }).toString().trim().split('\n');
  return out.map((line) => {
    const f = line.split(' ').map((w) => parseInt(w, 16));
    return { r: { se: f[0], hi: f[1], lo: f[2] }, r2: { se: f[3], hi: f[4], lo: f[5] }, sw: f[6] };
  });
}

/** NASM spelling of each register operation (ST(0) = A, ST(1) = B). */
const REG_INSN: Record<string, string> = {
  add: 'fadd st0, st1', sub: 'fsub st0, st1', mul: 'fmul st0, st1', div: 'fdiv st0, st1',
  sqrt: 'fsqrt', prem: 'fprem', prem1: 'fprem1', rndint: 'frndint', scale: 'fscale', xtract: 'fxtract',
  com: 'fcom st1', ucom: 'fucom st1', tst: 'ftst', xam: 'fxam', sin: 'fsin', cos: 'fcos', sincos: 'fsincos',
  ptan: 'fptan', patan: 'fpatan', f2xm1: 'f2xm1', yl2x: 'fyl2x', yl2xp1: 'fyl2xp1',
};
/** Store operations: the instruction and its operand size keyword. */
const STORE_INSN: Record<string, string> = {
  st32: 'fstp dword', st64: 'fstp qword', ist16: 'fistp word', ist32: 'fistp dword', ist64: 'fistp qword', bstp: 'fbstp tword',
};
const LOAD_INSN: Record<string, string> = { ld32: 'fld dword', ld64: 'fld qword', bld: 'fbld tword' };
/** ST(0) op memory operand (B's bits); the ROM reads it at B's place in the case record. */
const MEM_INSN: Record<string, string> = {
  addm32: 'fadd dword', subrm32: 'fsubr dword', mulm64: 'fmul qword', divrm64: 'fdivr qword',
  iadd16: 'fiadd word', idiv32: 'fidiv dword', comm32: 'fcom dword', icom32: 'ficom dword',
};
/** Compares into EFLAGS; the flags (ZF PF CF, and OF SF AF preset to 1) are reported as ST(1)'s low dword. */
const EFLAGS_INSN: Record<string, string> = { comi: 'fcomi st0, st1', ucomi: 'fucomi st0, st1' };

/** Cases per ROM (22 bytes each; the ROM image is 64 KiB). */
const BATCH = 2000;

/** Runs cases of one operation on the emulated CPU. */
export function runEmulated(op: string, cases: Case[]): Outcome[] {
  const outs: Outcome[] = [];
  for (let k = 0; k < cases.length; k += BATCH) outs.push(...runBatch(op, cases.slice(k, k + BATCH)));
  return outs;
}

function runBatch(op: string, cases: Case[]): Outcome[] {
  const data = cases.map((c) =>
    `        dw 0x${hex(c.cw, 4)}\n        dd 0x${hex(c.a.lo, 8)}, 0x${hex(c.a.hi, 8)}\n        dw 0x${hex(c.a.se, 4)}\n` +
    `        dd 0x${hex(c.b.lo, 8)}, 0x${hex(c.b.hi, 8)}\n        dw 0x${hex(c.b.se, 4)}`).join('\n');
  let body: string;
  if (REG_INSN[op] !== undefined) {
    body = `
        fldcw [cs:si]
        fld tword [cs:si + 12]
        fld tword [cs:si + 2]
        ${REG_INSN[op]}
        OUT_SW
        fnclex
        fstp tword [0x600]
        OUT_M80 0x600
        fstp tword [0x600]
        OUT_M80 0x600`;
  } else if (MEM_INSN[op] !== undefined) {
    body = `
        fldcw [cs:si]
        fld tword [cs:si + 12]
        fld tword [cs:si + 2]
        ${MEM_INSN[op]} [cs:si + 12]
        OUT_SW
        fnclex
        fstp tword [0x600]
        OUT_M80 0x600
        fstp tword [0x600]
        OUT_M80 0x600`;
  } else if (EFLAGS_INSN[op] !== undefined) {
    body = `
        fldcw [cs:si]
        fld tword [cs:si + 12]
        fld tword [cs:si + 2]
        push dword 0x8D5
        popfd
        ${EFLAGS_INSN[op]}
        pushfd
        pop ebx
        and ebx, 0x8D5
        OUT_SW
        fnclex
        fstp tword [0x600]
        OUT_M80 0x600
        REPORT ebx
        REPORT 0
        REPORT 0`;
  } else if (STORE_INSN[op] !== undefined) {
    body = `
        mov dword [0x600], 0
        mov dword [0x604], 0
        mov word [0x608], 0
        fldcw [cs:si]
        fld tword [cs:si + 2]
        ${STORE_INSN[op]} [0x600]
        OUT_SW
        fnclex
        OUT_M80 0x600
        REPORT 0
        REPORT 0
        REPORT 0`;
  } else {
    body = `
        mov dword [0x600], 0
        mov dword [0x604], 0
        mov word [0x608], 0
        fldcw [cs:si]
        ${LOAD_INSN[op]} [cs:si + 2]
        OUT_SW
        fnclex
        fstp tword [0x600]
        OUT_M80 0x600
        REPORT 0
        REPORT 0
        REPORT 0`;
  }
  const r = runAsm(fpuRom(`
        mov si, cases
        mov cx, ${cases.length}
.next:
        fninit
${body}
        add si, 22
        dec cx
        jnz .next
`, `cases:\n${data}\n`), { maxInstructions: 10_000_000 });
  if (r.stop !== 'halt') throw new Error(`emulated run of ${op} stopped: ${r.stop}`);
  const v = r.values;
  const outs: Outcome[] = [];
  for (let k = 0; k < cases.length; k++) {
    const w = v.slice(7 * k, 7 * k + 7);
    let r1 = { lo: w[1], hi: w[2], se: w[3] };
    if (STORE_INSN[op] !== undefined && op !== 'bstp') r1 = { lo: w[1], hi: w[2], se: 0 };
    outs.push({ sw: w[0], r: r1, r2: { lo: w[4], hi: w[5], se: w[6] } });
  }
  return outs;
}

// ---- seeded operand generator ----

export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Gen {
  readonly rnd: () => number;
  constructor(seed: number) {
    this.rnd = prng(seed);
  }
  int(n: number): number {
    return Math.floor(this.rnd() * n);
  }
  u32(): number {
    return (this.rnd() * 4294967296) >>> 0;
  }
  /** A significand with J = 1: dense random, or sparse (long runs of 0s/1s that make ties and carries). */
  sig(): [number, number] {
    const k = this.int(4);
    if (k === 0) {
      // Only the top 24 or 53 bits (+ maybe a low bit): exercises PC ties.
      const keep = [24, 25, 53, 54, 64][this.int(5)];
      let hi = (this.u32() | 0x8000_0000) >>> 0, lo = this.u32();
      if (keep <= 32) { hi = (hi & ~((2 ** (32 - keep)) - 1)) >>> 0; lo = 0; } else { lo = (lo & ~((2 ** (64 - keep)) - 1)) >>> 0; }
      return [hi, lo];
    }
    if (k === 1) return [[0x8000_0000, 0xffff_ffff, 0xc000_0000][this.int(3)], [0, 0xffff_ffff, 1, 0x8000_0000][this.int(4)]];
    return [(this.u32() | 0x8000_0000) >>> 0, this.u32()];
  }
  /** A random operand from all classes, weighted toward ordinary values. */
  operand(): Ext {
    const sign = this.int(2) ? 0x8000 : 0;
    const k = this.int(100);
    const [hi, lo] = this.sig();
    if (k < 45) return { se: sign | (0x3fff - 40 + this.int(80)), hi, lo };
    if (k < 55) return { se: sign | (0x3fff - 16000 + this.int(32000)), hi, lo };
    if (k < 62) return { se: sign | (0x7ffe - this.int(70)), hi, lo };
    if (k < 70) return { se: sign | (1 + this.int(70)), hi, lo };
    if (k < 76) return { se: sign, hi: hi >>> (1 + this.int(40)), lo: this.u32() >>> this.int(32) }; // denormal
    if (k < 78) return { se: sign, hi, lo }; // pseudo-denormal
    if (k < 82) return { se: sign, hi: 0, lo: 0 };
    if (k < 85) return { se: sign | 0x7fff, hi: 0x8000_0000, lo: 0 };
    if (k < 88) return { se: sign | 0x7fff, hi: (hi | 0xc000_0000) >>> 0, lo }; // QNaN
    if (k < 90) return { se: sign | 0x7fff, hi: ((hi & 0xbfff_ffff) | 0x8000_0001) >>> 0, lo }; // SNaN
    if (k < 92) return { se: sign | (1 + this.int(0x7ffd)), hi: hi & 0x7fff_ffff, lo }; // unnormal
    if (k < 93) return { se: sign | 0x7fff, hi: hi & 0x7fff_ffff, lo }; // pseudo-NaN / pseudo-infinity
    // small integers
    const n = 1 + this.int(1000);
    const e = 31 - Math.clz32(n);
    return { se: sign | (0x3fff + e), hi: (n << (31 - e)) >>> 0, lo: 0 };
  }
  /** A second operand near the first one (cancellation, equal exponents, ties) or unrelated. */
  partner(a: Ext): Ext {
    const k = this.int(4);
    if (k === 0 && (a.se & 0x7fff) > 2 && (a.se & 0x7fff) < 0x7ffd) {
      const [hi, lo] = this.sig();
      return { se: (this.int(2) ? 0x8000 : 0) | ((a.se & 0x7fff) + this.int(5) - 2), hi, lo };
    }
    if (k === 1) return { se: a.se ^ (this.int(2) ? 0x8000 : 0), hi: a.hi, lo: (a.lo + this.int(3) - 1) >>> 0 };
    return this.operand();
  }
  /**
   * A control word: every PC and RC; all exceptions masked, OE/UE
   * unmasked, or (with `unmaskAll`) everything but PE unmasked.
   */
  control(unmaskAll = false): number {
    const pc = [0, 2, 3][this.int(3)], rc = this.int(4);
    const k = this.int(5);
    const masks = k === 0 ? 0x27 : k === 1 && unmaskAll ? 0x20 : 0x3f;
    return 0x40 | masks | (pc << 8) | (rc << 10);
  }
  /** Cases for `op`; `unmaskAll` for operations that leave two registers to store (no pop). */
  cases(op: string, n: number, unmaskAll = false): Case[] {
    const out: Case[] = [];
    for (let k = 0; k < n; k++) {
      const a = this.operand();
      out.push({ op, cw: this.control(unmaskAll), a, b: this.partner(a) });
    }
    return out;
  }
}

export function show(x: Ext): string {
  return `${hex(x.se, 4)}:${hex(x.hi, 8)}${hex(x.lo, 8)}`;
}
