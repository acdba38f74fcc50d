/**
 * Inline translations of the string moves and stores compiled code called
 * through their handlers on the Tiny Linux shell loop (handlerCalls.ts, warm,
 * per iteration: REP STOSB 9.0, REP MOVSB 8.0; musl's memcpy and memset, the
 * kernel's copies), on getppid (REP MOVSD 2.0 per call: the entry's frame
 * copy) and at boot (MOVSW 921 k per boot): MOVSB, MOVSD, STOSB, STOSD with
 * 32-bit addressing, with and without REP (F3 or F2: both repeat MOVS and
 * STOS), and MOVSW, STOSW without REP.
 *
 * Each has an inline fast path for the case the interpreter (ops/string.ts,
 * stringFast.ts) finishes in one step without an observable stop, and
 * otherwise calls the handler (translate.ts fastOrHandler), which keeps
 * every other case exact by construction: DF set, single-stepping or debug
 * registers active, a count of 0, a segment limit or a TLB miss (faults
 * mid-string resume at the element, as the handler's loop does), a page
 * crossing, a device or a page holding decoded code (neither is in the TLB
 * entries the fast path uses), and the REP budget (an interrupt point).
 * - REP MOVS: the whole count lies in one page on each side, inside the
 *   segments' limits, both pages in the TLB (read, write), and the
 *   destination is not just above the source within the copy (the overlap
 *   the element loop replicates). That is exactly the case in which
 *   movsChunk copies all `ECX` elements as one chunk, one work unit of the
 *   handler's REP_BUDGET, so the handler would finish in that call too. The
 *   copy goes upward (a byte loop for a short one, copyWithin beyond, which
 *   is the same without that overlap); ESI and EDI advance, ECX becomes 0.
 * - REP STOS: likewise for the destination (stosChunk); a dword store also
 *   needs a dword-aligned linear address (i32.fill).
 * - MOVS, STOS (no REP): one element with DF clear, each side inside one
 *   page (a dword aligned too) and in the TLB, inside the limits (a word as
 *   two bytes: the block's code sees memory as bytes and dwords).
 * - LODSB, SCASB (no REP; the boot's strcmp and strncmp, 1.7 M handler
 *   calls each from compiled code): a byte read like any other r/m8
 *   operand's, its slow path the interpreter's accessor, DF either way
 *   (loadOrScan); no handler.
 * No string instruction changes the arithmetic flags.
 *
 * Measured (3 Dec, handlerCalls.ts: compiled code's handler calls counted at
 * run time; with this file, sseLoadForm, DIV/IDIV r32, XADD m32, BTS/BTR/BTC
 * imm8, SHLD/SHRD and the r16 ALU group, all added together): warm shell loop
 * 38.35 -> 0.00 per iteration (of ~17,250 instructions: the calls were 0.2%
 * of them); fork loop 2630 -> 926-965 per fork, 268 with irqFlagForms.ts
 * (left: STI 228, MOV m16, imm16 39); getppid 14.2 -> 12.2 per
 * call (left: segment register loads, pushes and pops, CLI, STI, IRET); the
 * boot 1.45 M -> 0.50 M (left: IN/OUT imm8 179 k each, INVLPG 50 k, PAUSE,
 * LFENCE, RDTSC 27 k each: a delay loop). Time (a scratch script holding the
 * old and the new compiler in one process beside the interpreter, three
 * Tiny Linux machines, 5000-iteration shell loop rounds rotating the order,
 * CPU time, load ~8): new / old summed over rounds 2-8 0.93, 1.03, 1.00 in
 * three runs (per warm round 0.86-1.26); against the interpreter old
 * 0.53/0.48/0.52, new 0.50/0.50/0.51. So no gain measurable beyond the
 * noise: the handler calls were 0.2% of the loop's instructions, and the
 * shell loop's remaining cost against v86 is not in them (jit.ts: the run
 * loop's cache misses, entries into region functions, V8's warm-up).
 */
import type { Insn } from '../insn.ts';
import { REP_NONE } from '../insn.ts';
import { DF, EAX, ECX, EDI, ES, ESI, TF } from '../regs.ts';

/** What a string translation needs of the block writer (translate.ts BlockWriter). */
export interface StringWriter {
  /** A general register's local (loaded at entry). */
  r(n: number): string;
  /** A statement setting a general register's local. */
  setR(n: number, v: string): string;
  /** Inline `body` when `cond` holds, else the handler (translate.ts fastOrHandler). */
  fastOrHandler(cond: string, body: string): void;
  emit(s: string): void;
  /** `m` = the byte at seg:off (the block writer's inline read; the interpreter's accessor, state synced, on its slow path). */
  read8(seg: number, off: string): void;
  /** After an instruction that went to memory: leaves where the interpreter would stop. */
  exitCheck(eipAfter: number): void;
  /** The flags are now the 8-bit LAZY_SUB of the locals fa, fb, fr (CMP r8, r/m8). */
  flagsSub8(): void;
}

/** Translates `i` into `w` when it is one of this file's forms; false (nothing emitted) otherwise. */
export function stringForm(i: Insn, w: StringWriter): boolean {
  const op = i.opcode;
  if ((op === 0xac || op === 0xae) && i.rep === REP_NONE && i.a32 && !i.lock) {
    loadOrScan(i, w);
    return true;
  }
  if ((op !== 0xa4 && op !== 0xa5 && op !== 0xaa && op !== 0xab) || !i.a32 || i.lock) return false;
  const size = (op & 1) === 0 ? 1 : i.o32 ? 4 : 2;
  if (size === 2 && i.rep !== REP_NONE) return false; // REP MOVSW, REP STOSW: left to the handler
  const movs = op < 0xaa;
  if (i.rep === REP_NONE) single(i, w, size, movs);
  else repeated(i, w, size, movs);
  return true;
}

/** The segment and TLB checks of `bytes` (an expression) at offset `off` of `seg`, setting `o` and `lin` and the TLB entry into `entry`. */
function inPage(seg: number, off: string, bytes: string, write: boolean, o: string, lin: string, entry: string): string {
  const [lo, hi, tlb] = write ? ['sWL', 'sWH', 'tlbW'] : ['sRL', 'sRH', 'tlbR'];
  return `(${o} = ${off} >>> 0) >= ${lo}[${seg}] && ${o} + ${bytes} - 1 <= ${hi}[${seg}]`
    + ` && ((${lin} = (sB[${seg}] + ${o}) | 0) & 0xfff) + ${bytes} <= 0x1000 && ((${entry} = ${tlb}[${lin} >>> 12]) & tb) !== 0`;
}

/** REP MOVS / REP STOS: the whole count in one step (see the file comment). */
function repeated(i: Insn, w: StringWriter, size: number, movs: boolean): void {
  const bytes = size === 1 ? 'x' : 'x * 4';
  // x = the count; the handler stops after each element with TF or debug registers (budget 1), and runs
  // the element loop downward with DF.
  let cond = `(x = ${w.r(ECX)} >>> 0) !== 0 && (cpu.flags & ${DF | TF}) === 0 && !cpu.debugActive`;
  // Destination: t its offset, m its linear address, p its TLB entry, then its host address.
  cond += ` && ${inPage(ES, w.r(EDI), bytes, true, 't', 'm', 'p')}`;
  let body: string;
  if (movs) {
    // Source: o, lin, e, then its host address; the destination not inside the copy above the source.
    cond += ` && ${inPage(i.seg, w.r(ESI), bytes, false, 'o', 'lin', 'e')}`
      + ` && ((p = (p & ~0xfff) | (m & 0xfff)) <= (e = (e & ~0xfff) | (lin & 0xfff)) || p - e >= ${bytes})`;
    body = `if (${bytes} <= 64) { for (o = 0; o < ${bytes}; o++) u8[p + o] = u8[e + o]; } else u8.copyWithin(p, e, e + ${bytes}); `
      + w.setR(ESI, `(r${ESI} + ${bytes}) | 0`);
  } else {
    if (size === 4) cond += ' && (m & 3) === 0';
    body = 'p = (p & ~0xfff) | (m & 0xfff); '
      + (size === 1 ? `u8.fill(${w.r(0)} & 0xff, p, p + x);` : `i32.fill(${w.r(0)}, p >> 2, (p >> 2) + x);`);
  }
  body += ` ${w.setR(EDI, `(r${EDI} + ${bytes}) | 0`)} ${w.setR(ECX, '0')}`;
  w.fastOrHandler(cond, body);
}

/**
 * MOVS / STOS without REP: one element upward, inside one page on each side
 * (a dword also aligned, for the i32 view), through the TLB; a word as two
 * bytes, both read before either is written (a destination one byte above
 * the source).
 */
function single(i: Insn, w: StringWriter, size: number, movs: boolean): void {
  const align = size === 4 ? ' && (m & 3) === 0' : '';
  let cond = `(cpu.flags & ${DF}) === 0 && ${inPage(ES, w.r(EDI), String(size), true, 't', 'm', 'p')}${align}`;
  const dst = size === 1 ? 'u8[(p & ~0xfff) | (m & 0xfff)]' : size === 4 ? 'i32[((p & ~0xfff) | (m & 0xfff)) >> 2]' : '';
  let body: string;
  if (movs) {
    cond += ` && ${inPage(i.seg, w.r(ESI), String(size), false, 'o', 'lin', 'e')}${size === 4 ? ' && (lin & 3) === 0' : ''}`;
    const src = size === 1 ? 'u8[(e & ~0xfff) | (lin & 0xfff)]' : 'i32[((e & ~0xfff) | (lin & 0xfff)) >> 2]';
    body = size === 2
      ? 'o = (p & ~0xfff) | (m & 0xfff); t = (e & ~0xfff) | (lin & 0xfff); x = u8[t]; t = u8[t + 1]; u8[o] = x; u8[o + 1] = t; '
      : `${dst} = ${src}; `;
    body += w.setR(ESI, `(r${ESI} + ${size}) | 0`);
  } else {
    body = size === 2 ? `o = (p & ~0xfff) | (m & 0xfff); u8[o] = ${w.r(0)}; u8[o + 1] = ${w.r(0)} >> 8;`
      : `${dst} = ${size === 1 ? `${w.r(0)} & 0xff` : w.r(0)};`;
  }
  body += ` ${w.setR(EDI, `(r${EDI} + ${size}) | 0`)}`;
  w.fastOrHandler(cond, body);
}

/**
 * LODSB, SCASB without REP (ops/string.ts lodsOne, scasOne): the byte at
 * DS:ESI (or the prefix's segment) into AL, or AL compared with the byte at
 * ES:EDI (the flags of CMP AL, m8: LAZY_SUB of 8 bits, as scasOne records
 * them); then the index steps by 1 or, with DF set, by -1. The read is the
 * block writer's (its fast path, else the accessor, which faults before any
 * change or stops the block after the instruction), so no handler is needed.
 */
function loadOrScan(i: Insn, w: StringWriter): void {
  const lods = i.opcode === 0xac;
  const index = lods ? ESI : EDI;
  w.read8(lods ? i.seg : ES, w.r(index));
  if (lods) w.emit(w.setR(EAX, `(r${EAX} & ~0xff) | m`));
  else {
    w.emit(`fa = ${w.r(EAX)} & 0xff; fb = m; fr = (fa - fb) | 0;`);
    w.flagsSub8();
  }
  w.emit(w.setR(index, `(r${index} + ((cpu.flags & ${DF}) === 0 ? 1 : -1)) | 0`));
  w.exitCheck(i.nextEip);
}
