/**
 * The host's SSE/SSE2 unit as the reference for randomized SSE tests
 * (MMX included: MMX operations move their operands through MOVDQ2Q and
 * their result back through MOVQ2DQ, then EMMS):
 * builds sseOracle.c with the host gcc (x86-64 hosts only; null elsewhere)
 * with one CASE per operation of OPS (generated here, so the C program and
 * the emulated ROM run the same instruction text), and runs the same cases
 * on the emulated CPU as a real-mode ROM that loops over them in memory
 * exactly as the C program runs each: LDMXCSR, XMM0 = A, XMM1 = B, EAX = B0,
 * the instruction, then STMXCSR, XMM0, EAX and EFLAGS stored.
 * Operands come from a seeded generator of every value class (zeros,
 * denormals, normals at the exponent extremes, infinities, QNaNs and SNaNs
 * with payloads, integers near the int32 limits), under every rounding
 * control with DAZ and FTZ on and off, with all exceptions masked (the
 * masked responses) or some unmasked (then #XM on both sides: the host
 * program's SIGFPE handler and the ROM's #XM handler report the state the
 * fault left).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { arch, tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAsm } from './harness.ts';

/** How a lane of an operand is generated. */
export type Kind = 'ps' | 'pd' | 'ss' | 'sd' | 'dq' | 'int' | 'bits' | 'count';

export interface OpSpec {
  insn: string;
  a: Kind;
  b: Kind;
  /** EFLAGS are part of the result (COMIS/UCOMIS). */
  flags?: boolean;
}

export const OPS: Record<string, OpSpec> = {};
const fp = (name: string, kind: Kind, insn = `${name} xmm0, xmm1`) => { OPS[name] = { insn, a: kind, b: kind }; };
for (const op of ['add', 'sub', 'mul', 'div', 'min', 'max', 'sqrt']) {
  fp(`${op}ps`, 'ps'); fp(`${op}ss`, 'ss'); fp(`${op}pd`, 'pd'); fp(`${op}sd`, 'sd');
}
for (let p = 0; p < 8; p++) {
  for (const s of ['ps', 'ss', 'pd', 'sd'] as const) OPS[`cmp${s}${p}`] = { insn: `cmp${s} xmm0, xmm1, ${p}`, a: s, b: s };
}
for (const s of ['ss', 'sd'] as const) {
  OPS[`comi${s}`] = { insn: `comi${s} xmm0, xmm1`, a: s, b: s, flags: true };
  OPS[`ucomi${s}`] = { insn: `ucomi${s} xmm0, xmm1`, a: s, b: s, flags: true };
}
const cvt = (name: string, a: Kind, b: Kind, insn = `${name} xmm0, xmm1`) => { OPS[name] = { insn, a, b }; };
cvt('cvtss2sd', 'sd', 'ss'); cvt('cvtsd2ss', 'ss', 'sd'); cvt('cvtps2pd', 'pd', 'ps'); cvt('cvtpd2ps', 'ps', 'pd');
cvt('cvtdq2ps', 'ps', 'dq'); cvt('cvtps2dq', 'dq', 'ps'); cvt('cvttps2dq', 'dq', 'ps');
cvt('cvtdq2pd', 'pd', 'dq'); cvt('cvtpd2dq', 'dq', 'pd'); cvt('cvttpd2dq', 'dq', 'pd');
cvt('cvtsi2ss', 'ss', 'int', 'cvtsi2ss xmm0, eax'); cvt('cvtsi2sd', 'sd', 'int', 'cvtsi2sd xmm0, eax');
cvt('cvtss2si', 'bits', 'ss', 'cvtss2si eax, xmm1'); cvt('cvttss2si', 'bits', 'ss', 'cvttss2si eax, xmm1');
cvt('cvtsd2si', 'bits', 'sd', 'cvtsd2si eax, xmm1'); cvt('cvttsd2si', 'bits', 'sd', 'cvttsd2si eax, xmm1');
const int = (name: string, insn = `${name} xmm0, xmm1`, b: Kind = 'bits') => { OPS[name] = { insn, a: 'bits', b }; };
for (const name of [
  'paddb', 'paddw', 'paddd', 'paddq', 'psubb', 'psubw', 'psubd', 'psubq', 'paddsb', 'paddsw', 'paddusb', 'paddusw',
  'psubsb', 'psubsw', 'psubusb', 'psubusw', 'pmullw', 'pmulhw', 'pmulhuw', 'pmuludq', 'pmaddwd', 'pavgb', 'pavgw',
  'pminub', 'pmaxub', 'pminsw', 'pmaxsw', 'psadbw', 'pand', 'pandn', 'por', 'pxor', 'pcmpeqb', 'pcmpeqw', 'pcmpeqd',
  'pcmpgtb', 'pcmpgtw', 'pcmpgtd', 'packsswb', 'packssdw', 'packuswb', 'punpcklbw', 'punpcklwd', 'punpckldq',
  'punpcklqdq', 'punpckhbw', 'punpckhwd', 'punpckhdq', 'punpckhqdq', 'andps', 'andnps', 'orps', 'xorps', 'andpd',
  'andnpd', 'orpd', 'xorpd', 'unpcklps', 'unpckhps', 'unpcklpd', 'unpckhpd', 'movss', 'movsd', 'movhlps', 'movlhps',
  'movq', 'movaps', 'movdqa',
]) int(name);
for (const name of ['psllw', 'pslld', 'psllq', 'psrlw', 'psrld', 'psrlq', 'psraw', 'psrad']) {
  int(name, undefined, 'count');
  for (const n of [0, 1, 7, 15, 16, 31, 33, 63, 64, 200]) int(`${name}_${n}`, `${name} xmm0, ${n}`);
}
for (const n of [0, 1, 5, 15, 16]) { int(`pslldq_${n}`, `pslldq xmm0, ${n}`); int(`psrldq_${n}`, `psrldq xmm0, ${n}`); }
for (const imm of [0x1b, 0x4e, 0xe4, 0x00, 0xff, 0x93]) {
  int(`pshufd_${imm}`, `pshufd xmm0, xmm1, ${imm}`); int(`pshufhw_${imm}`, `pshufhw xmm0, xmm1, ${imm}`);
  int(`pshuflw_${imm}`, `pshuflw xmm0, xmm1, ${imm}`); int(`shufps_${imm}`, `shufps xmm0, xmm1, ${imm}`);
  int(`shufpd_${imm & 3}`, `shufpd xmm0, xmm1, ${imm & 3}`);
}
for (const w of [0, 3, 7]) { int(`pextrw_${w}`, `pextrw eax, xmm1, ${w}`); int(`pinsrw_${w}`, `pinsrw xmm0, eax, ${w}`); }
int('pmovmskb', 'pmovmskb eax, xmm1'); int('movmskps', 'movmskps eax, xmm1'); int('movmskpd', 'movmskpd eax, xmm1');
int('movd_to', 'movd xmm0, eax'); int('movd_from', 'movd eax, xmm1');
OPS.rcpps_bound = { insn: 'rcpps xmm0, xmm1', a: 'ps', b: 'ps' };

// MMX and the SSE/SSE2 forms on MMX registers: MM0 = A's and MM1 = B's low qwords (MOVDQ2Q), the result back through MOVQ2DQ, then EMMS.
const mmx = (name: string, body: string, a: Kind = 'bits', b: Kind = 'bits') => {
  OPS[`mmx_${name}`] = { insn: `movdq2q mm0, xmm0\nmovdq2q mm1, xmm1\n${body}\nmovq2dq xmm0, mm0\nemms`, a, b };
};
for (const name of [
  'paddb', 'paddw', 'paddd', 'paddq', 'psubb', 'psubw', 'psubd', 'psubq', 'paddsb', 'paddsw', 'paddusb', 'paddusw',
  'psubsb', 'psubsw', 'psubusb', 'psubusw', 'pmullw', 'pmulhw', 'pmulhuw', 'pmuludq', 'pmaddwd', 'pavgb', 'pavgw',
  'pminub', 'pmaxub', 'pminsw', 'pmaxsw', 'psadbw', 'pand', 'pandn', 'por', 'pxor', 'pcmpeqb', 'pcmpeqw', 'pcmpeqd',
  'pcmpgtb', 'pcmpgtw', 'pcmpgtd', 'packsswb', 'packssdw', 'packuswb', 'punpcklbw', 'punpcklwd', 'punpckldq',
  'punpckhbw', 'punpckhwd', 'punpckhdq', 'movq',
]) mmx(name, `${name} mm0, mm1`);
for (const name of ['psllw', 'pslld', 'psllq', 'psrlw', 'psrld', 'psrlq', 'psraw', 'psrad']) {
  mmx(name, `${name} mm0, mm1`, 'bits', 'count');
  for (const n of [0, 1, 15, 16, 31, 33, 63, 64]) mmx(`${name}_${n}`, `${name} mm0, ${n}`);
}
for (const imm of [0x1b, 0x4e, 0xe4, 0x93]) mmx(`pshufw_${imm}`, `pshufw mm0, mm1, ${imm}`);
for (const w of [0, 1, 2, 3]) { mmx(`pextrw_${w}`, `pextrw eax, mm1, ${w}`); mmx(`pinsrw_${w}`, `pinsrw mm0, eax, ${w}`); }
mmx('pmovmskb', 'pmovmskb eax, mm1'); mmx('movd_to', 'movd mm0, eax'); mmx('movd_from', 'movd eax, mm1');
OPS.mmx_cvtpi2ps = { insn: 'movdq2q mm1, xmm1\ncvtpi2ps xmm0, mm1\nemms', a: 'ps', b: 'dq' };
OPS.mmx_cvtpi2pd = { insn: 'movdq2q mm1, xmm1\ncvtpi2pd xmm0, mm1\nemms', a: 'pd', b: 'dq' };
for (const [name, b] of [['cvtps2pi', 'ps'], ['cvttps2pi', 'ps'], ['cvtpd2pi', 'pd'], ['cvttpd2pi', 'pd']] as const) {
  OPS[`mmx_${name}`] = { insn: `${name} mm0, xmm1\nmovq2dq xmm0, mm0\nemms`, a: 'bits', b };
}

const ORACLE_SOURCE = new URL('./sseOracle.c', import.meta.url).pathname;

function header(): string {
  return Object.entries(OPS).map(([name, s]) => `CASE("${name}", "${s.insn.replaceAll('\n', '\\n')}")`).join('\n') + '\n';
}

/** Builds the oracle; null when the host cannot (not x86-64, no gcc). */
export function buildOracle(): string | null {
  if (arch() !== 'x64') return null;
  const source = readFileSync(ORACLE_SOURCE);
  const ops = header();
  const dir = join(tmpdir(), 'popek-sse-oracle');
  mkdirSync(dir, { recursive: true });
  const bin = join(dir, createHash('sha256').update(source).update(ops).digest('hex').slice(0, 16));
  if (existsSync(bin)) return bin;
  try {
    const tag = `${process.pid}`;
    const inc = join(dir, `inc-${tag}`);
    mkdirSync(inc, { recursive: true });
    writeFileSync(join(inc, 'sseOracleOps.h'), ops);
    const tmp = `${bin}.${tag}.tmp`; // concurrent runs never share a half-written binary
    execFileSync('gcc', ['-O1', '-msse2', '-I', inc, '-o', tmp, ORACLE_SOURCE], { stdio: 'ignore' });
    renameSync(tmp, bin);
  } catch {
    return null;
  }
  return bin;
}

export interface Case {
  op: string;
  mxcsr: number;
  a: number[];
  b: number[];
}

/** R0-R3, EAX, MXCSR, EFLAGS (OF SF ZF AF PF CF; bit 31: the instruction raised #XM). */
export type Outcome = number[];

const hex = (v: number) => (v >>> 0).toString(16).padStart(8, '0');

export function runOracle(bin: string, cases: Case[]): Outcome[] {
  const input = cases.map((c) => [c.op, hex(c.mxcsr), ...c.a.map(hex), ...c.b.map(hex)].join(' ')).join('\n') + '\n';
  const out = execFileSync(bin, { input, maxBuffer: 64 << 20 }).toString().trim().split('\n');
  return out.map((line) => line.split(' ').map((w) => parseInt(w, 16) >>> 0));
}

/** Cases live at 0x10000 + 64 n: A, B, MXCSR in, op index in / EFLAGS out, MXCSR out, EAX out, XMM0 out. */
const CASE_BASE = 0x10000;
/**
 * Memory-source forms, run only on the emulated side (`NAME@m`: the
 * operation with its XMM1 source replaced by the case's B in memory, DS:16,
 * 16-byte aligned) and compared with the host's register form: the same
 * result, read through the memory operand path. Left out: the moves whose
 * memory form means something else (MOVSS/MOVSD/MOVQ clear the upper
 * elements, MOVHLPS/MOVLHPS become MOVLPS/MOVHPS) and the register-only
 * forms (PEXTRW, PMOVMSKB, MOVMSKPS/PD).
 */
export const MEM_FORMS: Record<string, string> = {};
const NO_MEMORY_FORM = /^(movss|movsd|movq|movhlps|movlhps|pextrw|pmovmskb|movmskp|movd|cvtsi2s|rcpps|mmx_)/;
for (const [name, spec] of Object.entries(OPS)) {
  if (NO_MEMORY_FORM.test(name) || !/\bxmm1\b/.test(spec.insn)) continue;
  MEM_FORMS[`${name}@m`] = name;
}
const insnOf = (name: string): string => (MEM_FORMS[name] !== undefined ? OPS[MEM_FORMS[name]].insn.replace(/\bxmm1\b/, '[16]') : OPS[name].insn);
const OP_NAMES = [...Object.keys(OPS), ...Object.keys(MEM_FORMS)];

/** The ROM: every operation of OPS behind a jump table, run on each case in turn. */
function emulatedRom(): string {
  const bodies = OP_NAMES.map((name, k) => `op_${k}: ${insnOf(name)}\n        jmp after_op`).join('\n');
  const table = OP_NAMES.map((_n, k) => `dw op_${k}`).join('\n');
  return `%include "rom.inc"
start:  cli
        xor ax, ax
        mov ss, ax
        mov ds, ax
        mov sp, 0x7000
        mov eax, cr0
        and eax, ~0xC           ; EM = TS = 0
        or eax, 2               ; MP = 1
        mov cr0, eax
        mov eax, cr4
        or eax, 0x600           ; OSFXSR, OSXMMEXCPT
        mov cr4, eax
        mov word [19 * 4], xm_handler
        mov word [19 * 4 + 2], 0xF000
        mov ecx, [0x500]
        mov ax, ${CASE_BASE >> 4}
next_case: mov ds, ax
        mov bx, [36]
        add bx, bx
        ldmxcsr [32]
        movdqu xmm0, [0]
        movdqu xmm1, [16]
        mov eax, [16]
        jmp [cs:optable + bx]
after_op: stmxcsr [40]
        mov [44], eax
        movdqu [48], xmm0
        pushfd
        pop eax
        mov [36], eax
next_step:
        mov ax, ds
        add ax, 4
        dec ecx
        jnz next_case
        hlt
xm_handler:                     ; #XM: the state the fault left, and the marker 80000000H for EFLAGS
        add sp, 6
        stmxcsr [40]
        mov [44], eax
        movdqu [48], xmm0
        mov dword [36], 0x80000000
        jmp next_step
${bodies}
optable:
${table}
        ROM_END
`;
}

/** Cases per ROM run: what fits below 1 MiB (real-mode addressing) above CASE_BASE, under the ROM shadow at 0xF0000. */
const CHUNK = 14_000;

/** Runs cases (any mix of operations) on the emulated CPU. */
export function runEmulated(cases: Case[]): Outcome[] {
  const outcomes: Outcome[] = [];
  for (let k = 0; k < cases.length; k += CHUNK) outcomes.push(...runChunk(cases.slice(k, k + CHUNK)));
  return outcomes;
}

function runChunk(cases: Case[]): Outcome[] {
  const index = new Map(OP_NAMES.map((n, k) => [n, k]));
  const run = runAsm(emulatedRom(), {
    memoryMiB: 2,
    maxInstructions: 40 * cases.length + 1000,
    setup(bus) {
      bus.write32(0x500, cases.length);
      cases.forEach((c, n) => {
        const base = CASE_BASE + 64 * n;
        for (let k = 0; k < 4; k++) {
          bus.write32(base + 4 * k, c.a[k]);
          bus.write32(base + 16 + 4 * k, c.b[k]);
        }
        bus.write32(base + 32, c.mxcsr);
        bus.write32(base + 36, index.get(c.op)!);
      });
    },
  });
  if (run.stop !== 'halt') throw new Error(`the ROM stopped with ${run.stop} (${run.shutdownDetail ?? ''})`);
  const outcomes: Outcome[] = [];
  cases.forEach((_c, n) => {
    const base = CASE_BASE + 64 * n;
    const r = [0, 1, 2, 3].map((k) => run.bus.read32(base + 48 + 4 * k) >>> 0);
    outcomes.push([...r, run.bus.read32(base + 44) >>> 0, run.bus.read32(base + 40) >>> 0, (run.bus.read32(base + 36) & 0x8000_08d5) >>> 0]);
  });
  return outcomes;
}

/** A seeded generator (xorshift32) of operands of every class. */
export class Gen {
  private s: number;
  constructor(seed: number) {
    this.s = seed | 1;
  }
  u32(): number {
    let x = this.s;
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    this.s = x;
    return x >>> 0;
  }
  below(n: number): number {
    return this.u32() % n;
  }

  /** A binary32 bit pattern of a random class. */
  single(): number {
    const sign = (this.u32() & 1) << 31;
    const frac = this.u32() & 0x7f_ffff;
    switch (this.below(12)) {
      case 0: return sign;
      case 1: return (sign | frac || 1) >>> 0; // denormal
      case 2: return (sign | (1 << 23) | frac) >>> 0; // smallest binade
      case 3: return (sign | (254 << 23) | frac) >>> 0; // largest binade
      case 4: return (sign | (0xff << 23)) >>> 0; // infinity
      case 5: return (sign | (0xff << 23) | 0x40_0000 | (frac & 0x3f_ffff)) >>> 0; // QNaN
      case 6: return (sign | (0xff << 23) | ((frac & 0x3f_ffff) || 1)) >>> 0; // SNaN
      case 7: return (sign | ((1 + this.below(40)) << 23) | frac) >>> 0; // near the bottom
      case 8: return (sign | ((127 + 20 + this.below(20)) << 23) | frac) >>> 0; // near the int32 limits
      case 9: return (sign | ((127 + this.below(24)) << 23) | (frac & ~((1 << (23 - this.below(24))) - 1))) >>> 0; // few-bit values
      default: return (sign | ((1 + this.below(254)) << 23) | frac) >>> 0;
    }
  }

  /** A binary64 bit pattern as [low, high]. */
  double(): [number, number] {
    const sign = (this.u32() & 1) << 31;
    const hi = this.u32() & 0xf_ffff, lo = this.u32();
    switch (this.below(12)) {
      case 0: return [0, sign >>> 0];
      case 1: return [lo || 1, (sign | hi) >>> 0];
      case 2: return [lo, (sign | (1 << 20) | hi) >>> 0];
      case 3: return [lo, (sign | (2046 << 20) | hi) >>> 0];
      case 4: return [0, (sign | (0x7ff << 20)) >>> 0];
      case 5: return [lo, (sign | (0x7ff << 20) | 0x8_0000 | (hi & 0x7_ffff)) >>> 0];
      case 6: return [lo, (sign | (0x7ff << 20) | (hi & 0x7_ffff)) >>> 0 | (lo === 0 && (hi & 0x7_ffff) === 0 ? 1 : 0)];
      case 7: return [lo, (sign | ((1 + this.below(60)) << 20) | hi) >>> 0];
      case 8: return [lo, (sign | ((1023 + 20 + this.below(20)) << 20) | hi) >>> 0];
      case 9: return [lo & ~((1 << this.below(32)) - 1), (sign | ((1023 + this.below(40)) << 20) | (hi & ~0xff)) >>> 0];
      case 10: { // single-range values (for the narrowing conversions)
        return [lo & (this.below(2) ? 0xe000_0000 : 0xffff_ffff), (sign | ((1023 - 150 + this.below(300)) << 20) | hi) >>> 0];
      }
      default: return [lo, (sign | ((1 + this.below(2046)) << 20) | hi) >>> 0];
    }
  }

  int32(): number {
    switch (this.below(4)) {
      case 0: return (this.u32() >> this.below(32)) >>> 0;
      case 1: return [0, 1, 0xffff_ffff, 0x8000_0000, 0x7fff_ffff, 0x100_0001, 0xff00_0001][this.below(7)];
      default: return this.u32();
    }
  }

  operand(kind: Kind, other: number[] | null): number[] {
    switch (kind) {
      case 'ps': return [this.single(), this.single(), this.single(), this.single()];
      case 'ss': return [this.single(), this.u32(), this.u32(), this.u32()];
      case 'pd': return [...this.double(), ...this.double()];
      case 'sd': return [...this.double(), this.u32(), this.u32()];
      case 'dq': return [this.int32(), this.int32(), this.int32(), this.int32()];
      case 'int': return [this.int32(), this.u32(), this.u32(), this.u32()];
      case 'count': return [this.below(5) === 0 ? this.u32() : this.below(70), this.below(8) === 0 ? 1 : 0, this.u32(), this.u32()];
      default: {
        // Raw bits; sometimes equal to the other operand (for compares and saturation edges).
        if (other !== null && this.below(6) === 0) return [...other];
        return [this.int32(), this.int32(), this.int32(), this.int32()];
      }
    }
  }

  /**
   * An MXCSR with every exception masked, a random RC, DAZ and FTZ, and PE
   * already set in half the cases (the condition of the arithmetic fast
   * paths, sse/fastPath.ts, which round to nearest without DAZ/FTZ: a third
   * of the cases).
   */
  mxcsr(): number {
    if (this.below(3) === 0) return 0x1fa0;
    return 0x1f80 | (this.below(4) << 13) | (this.below(3) === 0 ? 0x40 : 0) | (this.below(3) === 0 ? 0x8000 : 0) | (this.below(2) === 0 ? 0x20 : 0);
  }

  /** An MXCSR with a random set of exceptions unmasked (and random RC, DAZ, FTZ, PE). */
  unmaskedMxcsr(): number {
    return (this.mxcsr() & ~(this.u32() & 0x1f80)) >>> 0;
  }

  cases(op: string, n: number, unmasked = false): Case[] {
    const spec = OPS[op];
    const out: Case[] = [];
    for (let k = 0; k < n; k++) {
      const b = this.operand(spec.b, null);
      let a = this.operand(spec.a, b);
      // Close operands for cancellation and ordering: a = b with its low bits changed.
      if (spec.a === spec.b && spec.a !== 'bits' && this.below(5) === 0) a = b.map((v, j) => (j % 2 === 0 ? (v ^ this.below(16)) >>> 0 : v));
      out.push({ op, mxcsr: unmasked ? this.unmaskedMxcsr() : this.mxcsr(), a, b });
    }
    return out;
  }
}

export function show(o: Outcome): string {
  return o.map(hex).join(' ');
}
