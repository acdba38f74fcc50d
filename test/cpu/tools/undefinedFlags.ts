/**
 * Undefined-flags probe: runs every instruction whose flags the SDM calls
 * "undefined" (MUL/IMUL, DIV/IDIV, shifts and rotates by CL, SHLD/SHRD,
 * BSF/BSR, BT*, AAA/AAS/DAA/DAS/AAM/AAD) over a grid of operands, each with
 * the six arithmetic flags all clear and all set on entry, natively on this
 * host (nasm -f elf32 + gcc -m32) and on Popek's processor, and prints per
 * instruction which flags (or registers) differ and how often, with one
 * example each. The host's vendor decides what "native" means: on an Intel
 * host this is the check that Popek follows Intel; on an AMD host it shows
 * where AMD parts differ (the table in test/cpu/undefinedFlags.test.ts).
 *
 *   npx tsx test/cpu/tools/undefinedFlags.ts [--out DIR]
 *
 * Needs nasm and gcc-multilib (x86 hosts only). About a minute.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAsm } from '../harness.ts';

export interface Case { insn: string; a: number; b: number; c: number; d: number; flags: number }

const ARITH = 0x8d5;
const FLAG_NAMES: [number, string][] = [[0x800, 'O'], [0x80, 'S'], [0x40, 'Z'], [0x10, 'A'], [0x4, 'P'], [0x1, 'C']];

/** True if the divide does not fault (#DE): the probe runs in user space on the host. */
function divideFits(insn: string, a: number, b: number, d: number): boolean {
  const [op, reg] = insn.split(' ') as [string, string];
  const bits = BigInt(reg === 'bl' ? 8 : reg === 'bx' ? 16 : 32);
  const low = BigInt(a >>> 0), high = BigInt(d >>> 0);
  const n = bits === 8n ? low & 0xffffn : bits === 16n ? ((high & 0xffffn) << 16n) | (low & 0xffffn) : (high << 32n) | low;
  const dv = BigInt(b >>> 0) & ((1n << bits) - 1n);
  if (dv === 0n) return false;
  if (op === 'div') return n / dv < 1n << bits;
  const sn = n >= 1n << (2n * bits - 1n) ? n - (1n << (2n * bits)) : n;
  const sd = dv >= 1n << (bits - 1n) ? dv - (1n << bits) : dv;
  const q = sn / sd; // truncates toward zero, as IDIV does
  return q >= -(1n << (bits - 1n)) && q < 1n << (bits - 1n);
}

export function probeCases(): Case[] {
  const out: Case[] = [];
  const add = (insn: string, a: number, b = 0, c = 0, d = 0) => {
    if (/^i?div /.test(insn) && !divideFits(insn, a, b, d)) return;
    for (const flags of [0x002, 0x002 | ARITH]) out.push({ insn, a: a >>> 0, b: b >>> 0, c: c >>> 0, d: d >>> 0, flags });
  };
  const mulOperands = [0, 1, 2, 3, 0x10, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x10000, 0x12345678, 0x7fffffff, 0x80000000, 0xffffffff];
  for (const a of mulOperands) for (const b of mulOperands) {
    for (const insn of ['mul ebx', 'imul ebx', 'imul eax, ebx', 'mul bl', 'imul bl', 'mul bx', 'imul bx', 'imul ax, bx']) add(insn, a, b);
  }
  const divs: [number, number, number][] = [[0, 100, 7], [0, 0, 5], [0, 0xffffffff, 1], [0, 0xffffffff, 0xffffffff], [1, 0, 2],
    [0, 0x12345678, 0x1234], [0, 7, 0xfffffff9], [0xffffffff, 0xfffffff0, 3], [0, 0x80, 3], [0, 0xfe, 0xff]];
  for (const [d, a, b] of divs) for (const insn of ['div ebx', 'idiv ebx']) add(insn, a, b, 0, d);
  for (const [a, b] of [[100, 7], [0, 5], [0xff, 1], [0xfe, 0xff], [0x1234, 0x80], [0x10, 0x10], [0xfff0, 0xfe]] as const) {
    for (const insn of ['div bl', 'idiv bl', 'div bx', 'idiv bx']) add(insn, a, b);
  }
  const shifted = [0x1, 0x40, 0x80, 0x81, 0x4000, 0x8000, 0xc001, 0x40000000, 0x80000000, 0xc0000001, 0x12345678, 0xffffffff, 0x5a5a5a5a];
  const counts = [0, 1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33];
  for (const op of ['shl', 'shr', 'sar', 'rol', 'ror', 'rcl', 'rcr']) for (const reg of ['eax', 'ax', 'al']) {
    for (const a of shifted) for (const c of counts) add(`${op} ${reg}, cl`, a, 0, c);
  }
  for (const op of ['shld', 'shrd']) for (const [dst, src] of [['eax', 'ebx'], ['ax', 'bx']]) {
    for (const [a, b] of [[0x12345678, 0x9abcdef0], [0x80000001, 0x7fffffff], [0xffff0000, 0x0000ffff], [0x8001, 0x4002]]) {
      for (const c of [0, 1, 2, 4, 8, 15, 16, 17, 20, 24, 31, 32]) add(`${op} ${dst}, ${src}, cl`, a!, b!, c);
    }
  }
  for (const op of ['bsf', 'bsr']) for (const [dst, src] of [['ebx', 'eax'], ['bx', 'ax']]) {
    for (const a of [0, 1, 2, 0x80, 0x8000, 0x80000000, 0x10001, 0x12345678, 0xffffffff, 0x00f00000, 0x0a00]) add(`${op} ${dst}, ${src}`, a, 0xdeadbeef);
  }
  for (const op of ['bt', 'bts', 'btr', 'btc']) for (const a of [0, 0xffffffff, 0x12345678, 0x80000001]) {
    for (const c of [0, 1, 3, 7, 31, 63]) { add(`${op} eax, ecx`, a, 0, c); add(`${op} ax, cx`, a, 0, c); }
  }
  for (let al = 0; al < 256; al++) for (const ah of [0, 0x12]) for (const insn of ['aaa', 'aas', 'daa', 'das']) add(insn, (ah << 8) | al);
  for (const al of [0, 1, 9, 10, 0x3f, 0x7f, 0x80, 0x99, 0xff]) for (const ah of [0, 1, 9, 0x7f, 0xff]) {
    for (const insn of ['aam', 'aad', 'aam 7', 'aad 7', 'aam 0x10', 'aad 0x10']) add(insn, (ah << 8) | al);
  }
  return out;
}

const caseLine = (k: Case) => `        CASE {${k.insn}}, ${k.a}, ${k.b}, ${k.c}, ${k.d}, ${k.flags}`;

/** One case: load EAX, EBX, ECX, EDX and EFLAGS, run the instruction, record the four registers and the arithmetic flags. */
const CASE_MACRO = `%macro CASE 6
        mov eax, %2
        mov ebx, %3
        mov ecx, %4
        mov edx, %5
        push dword %6
        popfd
        %1
        pushfd
        RECORD eax
        RECORD ebx
        RECORD ecx
        RECORD edx
        pop esi
        and esi, ${ARITH}
        RECORD esi
%endmacro
`;

/** The cases run natively (nasm -f elf32, gcc -m32) in `dir`; the same values as runPopek. */
export function runHost(cases: Case[], dir: string): number[] {
  writeFileSync(join(dir, 'probe.asm'), `        bits 32
        section .note.GNU-stack noalloc noexec nowrite progbits
        section .text
        global probe
%macro RECORD 1
        mov [edi], %1
        add edi, 4
%endmacro
${CASE_MACRO}
probe:  push ebp
        push ebx
        push esi
        push edi
        mov edi, [esp + 20]
${cases.map(caseLine).join('\n')}
        pop edi
        pop esi
        pop ebx
        pop ebp
        ret
`);
  writeFileSync(join(dir, 'main.c'), `#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
extern void probe(uint32_t *out);
int main(void) {
  uint32_t *out = calloc(${cases.length * 5}, 4);
  probe(out);
  for (int i = 0; i < ${cases.length * 5}; i++) printf("%u\\n", out[i]);
  return 0;
}
`);
  execFileSync('nasm', ['-f', 'elf32', '-o', join(dir, 'probe.o'), join(dir, 'probe.asm')]);
  execFileSync('gcc', ['-m32', '-o', join(dir, 'probe'), join(dir, 'main.c'), join(dir, 'probe.o')]);
  return execFileSync(join(dir, 'probe'), { maxBuffer: 64 << 20 }).toString().trim().split('\n').map(Number);
}

/** The same cases on Popek, in ROM-sized chunks (real mode, 32-bit operands through prefixes). */
export function runPopek(cases: Case[]): number[] {
  const values: number[] = [];
  const CHUNK = 700;
  for (let i = 0; i < cases.length; i += CHUNK) {
    const v = runAsm(`%include "rom.inc"
%macro RECORD 1
        mov eax, %1
        out 0xF0, eax
%endmacro
${CASE_MACRO}
start:  xor ax, ax
        mov ss, ax
        mov ds, ax
        mov sp, 0x7000
${cases.slice(i, i + CHUNK).map(caseLine).join('\n')}
        cli
        hlt
        ROM_END
`).values;
    values.push(...v);
  }
  return values;
}

function flagNames(bits: number): string {
  return FLAG_NAMES.map(([b, n]) => (bits & b ? n : '-')).join('');
}

function main(): void {
  const outAt = process.argv.indexOf('--out');
  const dir = outAt > 0 ? process.argv[outAt + 1]! : mkdtempSync(join(tmpdir(), 'undefined-flags-'));
  const cases = probeCases();
  const host = runHost(cases, dir);
  const popek = runPopek(cases);
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.+)$`, 'm').exec(cpuinfo)?.[1] ?? 'unknown';
  // Family and model too: AMD generations differ among themselves (BSF/BSR flags: Zen 2/3 keep them, Zen 4 does not).
  console.log(`host: ${field('vendor_id')}, ${field('model name')} (family ${field('cpu family')} model ${field('model')}); ${cases.length} cases`);
  const byInsn = new Map<string, { total: number; diffs: Map<string, { n: number; example: string }> }>();
  const hex = (v: number) => (v >>> 0).toString(16);
  cases.forEach((k, i) => {
    const name = k.insn.replace(/,.*$/, '');
    const entry = byInsn.get(name) ?? { total: 0, diffs: new Map() };
    byInsn.set(name, entry);
    entry.total++;
    const h = host.slice(i * 5, i * 5 + 5), p = popek.slice(i * 5, i * 5 + 5);
    const regs = h.slice(0, 4).some((v, r) => v !== p[r]);
    const flags = (h[4]! ^ p[4]!) & ARITH;
    if (!regs && !flags) return;
    const key = `${regs ? 'regs ' : ''}${flagNames(flags)}`;
    const d = entry.diffs.get(key) ?? { n: 0, example: '' };
    d.n++;
    if (!d.example) {
      d.example = `${k.insn} a=${hex(k.a)} b=${hex(k.b)} c=${hex(k.c)} d=${hex(k.d)} flags in ${flagNames(k.flags)}: ` +
        `host ${h.slice(0, 4).map(hex).join(' ')} ${flagNames(h[4]!)}, popek ${p.slice(0, 4).map(hex).join(' ')} ${flagNames(p[4]!)}`;
    }
    entry.diffs.set(key, d);
  });
  for (const [name, e] of byInsn) {
    if (e.diffs.size === 0) { console.log(`${name.padEnd(12)} ${String(e.total).padStart(5)} same`); continue; }
    console.log(`${name.padEnd(12)} ${String(e.total).padStart(5)} differ: ${[...e.diffs].map(([k, d]) => `${k} x${d.n}`).join(', ')}`);
    for (const d of e.diffs.values()) console.log(`      e.g. ${d.example}`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) main();
