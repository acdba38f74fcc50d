/**
 * String instructions: MOVS A4/A5, CMPS A6/A7, STOS AA/AB, LODS AC/AD,
 * SCAS AE/AF, INS 6C/6D, OUTS 6E/6F, with REP / REPE / REPNE.
 *
 * - The address size picks SI/DI/CX (16-bit, wrapping within 64 KiB; the
 *   upper halves of ESI/EDI/ECX are kept) or ESI/EDI/ECX.
 * - The source segment is DS or the override; the destination is always ES.
 * - REP forms update the index and count registers after every element, so a
 *   fault in the middle restarts at the faulting element. A handler call does
 *   a bounded amount of work (REP_BUDGET), then points EIP back at the
 *   instruction and ends the block: interrupts are recognized between
 *   iterations, as on hardware. With TF set each call does one element (the
 *   single-step trap comes after each iteration).
 * - REP MOVS / REP STOS forward over RAM go a page-chunk at a time through
 *   stringFast.ts, which only acts where the result is provably the same as
 *   the element loop.
 * - INS/OUTS check I/O permission first (CPL/IOPL and the TSS bitmap), then
 *   go through the seam. INS checks its destination before reading the port,
 *   so a faulting INS does not consume device data.
 */
import type { Cpu } from '../cpu.ts';
import type { Exec, Insn } from '../insn.ts';
import { REP_E, REP_NONE } from '../insn.ts';
import { defineOp, IMM_NONE, op } from '../opcodeTable.ts';
import { getFlag, LAZY_SUB, setLazy } from '../flags.ts';
import { DF, EAX, ECX, EDI, EDX, ES, ESI, RF, TF, ZF } from '../regs.ts';
import type { AccessSize } from '../../memory/bus.ts';
import { checkIoPermission } from '../protected/ioPermission.ts';
import { movsChunk, stosChunk } from './stringFast.ts';

/** Work units per handler call: one per element, FAST_CHUNK_COST per page-chunk. */
export const REP_BUDGET = 4096;
const FAST_CHUNK_COST = 16;

// ---- index / counter registers by address size ----

export function indexOf(cpu: Cpu, reg: number, a32: boolean): number {
  return a32 ? cpu.regs[reg] : cpu.regs[reg] & 0xffff;
}

export function advanceIndex(cpu: Cpu, reg: number, a32: boolean, delta: number): void {
  const r = cpu.regs;
  if (a32) r[reg] = (r[reg] + delta) | 0;
  else r[reg] = (r[reg] & ~0xffff) | ((r[reg] + delta) & 0xffff);
}

/** The REP count (unsigned). */
export function countOf(cpu: Cpu, a32: boolean): number {
  return a32 ? cpu.regs[ECX] >>> 0 : cpu.regs[ECX] & 0xffff;
}

function readSized(cpu: Cpu, seg: number, off: number, size: number): number {
  if (size === 1) return cpu.read8(seg, off);
  return size === 2 ? cpu.read16(seg, off) : cpu.read32(seg, off);
}

function writeSized(cpu: Cpu, seg: number, off: number, size: number, v: number): void {
  if (size === 1) cpu.write8(seg, off, v);
  else if (size === 2) cpu.write16(seg, off, v);
  else cpu.write32(seg, off, v);
}

function accumulator(cpu: Cpu, size: number): number {
  const v = cpu.regs[EAX];
  return size === 1 ? v & 0xff : size === 2 ? v & 0xffff : v;
}

function setAccumulator(cpu: Cpu, size: number, v: number): void {
  if (size === 1) cpu.set8(EAX, v);
  else if (size === 2) cpu.set16(EAX, v);
  else cpu.regs[EAX] = v;
}

function stepOf(cpu: Cpu, size: number): number {
  return (cpu.flags & DF) !== 0 ? -size : size;
}

function budgetOf(cpu: Cpu): number {
  // Single-stepping and breakpoints report after each element, as on hardware.
  return (cpu.flags & TF) !== 0 || cpu.debugActive ? 1 : REP_BUDGET;
}

/**
 * Stops a REP instruction between elements; it resumes at the same EIP.
 * RF is set, as a processor does when an event arrives after an iteration
 * other than the last (SDM Vol. 3B 17.3.1.1): an interrupt or a single-step
 * trap taken here pushes RF = 1, so an instruction breakpoint on the REP
 * instruction does not fire again when it resumes. RF is cleared again as
 * the instruction restarts (Cpu.stepOne).
 */
function resumeLater(cpu: Cpu, i: Insn): void {
  cpu.eip = i.eip;
  cpu.exitBlock = true;
  cpu.flags |= RF;
}

// ---- one element of each instruction ----

function movsOne(cpu: Cpu, i: Insn, size: number, step: number): void {
  const a32 = i.a32;
  const v = readSized(cpu, i.seg, indexOf(cpu, ESI, a32), size);
  writeSized(cpu, ES, indexOf(cpu, EDI, a32), size, v);
  advanceIndex(cpu, ESI, a32, step);
  advanceIndex(cpu, EDI, a32, step);
}

function stosOne(cpu: Cpu, i: Insn, size: number, step: number): void {
  writeSized(cpu, ES, indexOf(cpu, EDI, i.a32), size, accumulator(cpu, size));
  advanceIndex(cpu, EDI, i.a32, step);
}

function lodsOne(cpu: Cpu, i: Insn, size: number, step: number): void {
  setAccumulator(cpu, size, readSized(cpu, i.seg, indexOf(cpu, ESI, i.a32), size));
  advanceIndex(cpu, ESI, i.a32, step);
}

function cmpsOne(cpu: Cpu, i: Insn, size: number, step: number): void {
  const a32 = i.a32;
  const a = readSized(cpu, i.seg, indexOf(cpu, ESI, a32), size);
  const b = readSized(cpu, ES, indexOf(cpu, EDI, a32), size);
  setLazy(cpu, LAZY_SUB, size * 8, a, b, a - b);
  advanceIndex(cpu, ESI, a32, step);
  advanceIndex(cpu, EDI, a32, step);
}

function scasOne(cpu: Cpu, i: Insn, size: number, step: number): void {
  const a = accumulator(cpu, size);
  const b = readSized(cpu, ES, indexOf(cpu, EDI, i.a32), size);
  setLazy(cpu, LAZY_SUB, size * 8, a, b, a - b);
  advanceIndex(cpu, EDI, i.a32, step);
}

function insOne(cpu: Cpu, i: Insn, size: number, step: number): void {
  const port = cpu.regs[EDX] & 0xffff;
  const lin = cpu.rmwAddress(ES, indexOf(cpu, EDI, i.a32), size);
  const v = cpu.seam.portIn(cpu, port, size as AccessSize);
  cpu.matchIoBreakpoints(port, size);
  if (size === 1) cpu.writeLin8(lin, v);
  else if (size === 2) cpu.writeLin16(lin, v);
  else cpu.writeLin32(lin, v);
  advanceIndex(cpu, EDI, i.a32, step);
}

function outsOne(cpu: Cpu, i: Insn, size: number, step: number): void {
  const port = cpu.regs[EDX] & 0xffff;
  const v = readSized(cpu, i.seg, indexOf(cpu, ESI, i.a32), size);
  cpu.seam.portOut(cpu, port, size as AccessSize, size === 4 ? v >>> 0 : v);
  cpu.matchIoBreakpoints(port, size);
  advanceIndex(cpu, ESI, i.a32, step);
}

type Element = (cpu: Cpu, i: Insn, size: number, step: number) => void;
type Chunk = (cpu: Cpu, i: Insn, size: number, n: number) => number;

/**
 * An instruction without REP condition (MOVS, STOS, LODS, INS, OUTS): with
 * any REP prefix it repeats ECX/CX times.
 */
function repeated(one: Element, size: number, chunk: Chunk | null, io: boolean): Exec {
  return (cpu, i) => {
    const step = stepOf(cpu, size);
    if (i.rep === REP_NONE) {
      if (io) checkIoPermission(cpu, cpu.regs[EDX] & 0xffff, size);
      one(cpu, i, size, step);
      return;
    }
    const a32 = i.a32;
    let n = countOf(cpu, a32);
    // A REP with a zero count does nothing at all, not even the I/O permission check.
    if (io && n !== 0) checkIoPermission(cpu, cpu.regs[EDX] & 0xffff, size);
    let work = budgetOf(cpu);
    const fast = chunk !== null && step > 0 && work > 1;
    while (n !== 0) {
      if (work <= 0) {
        resumeLater(cpu, i);
        return;
      }
      const k = fast ? chunk(cpu, i, size, n) : 0;
      if (k > 0) {
        n -= k;
        work -= FAST_CHUNK_COST;
        continue;
      }
      one(cpu, i, size, step);
      n--;
      advanceIndex(cpu, ECX, a32, -1);
      work--;
      // A device request or a write to decoded code ends the block: stop between elements.
      if (cpu.exitBlock && n !== 0) {
        resumeLater(cpu, i);
        return;
      }
    }
  };
}

/** CMPS / SCAS: REPE (F3) repeats while equal, REPNE (F2) while not equal. */
function conditional(one: Element, size: number): Exec {
  return (cpu, i) => {
    const step = stepOf(cpu, size);
    if (i.rep === REP_NONE) {
      one(cpu, i, size, step);
      return;
    }
    const a32 = i.a32;
    const whileZero = i.rep === REP_E;
    let n = countOf(cpu, a32);
    let work = budgetOf(cpu);
    while (n !== 0) {
      if (work <= 0) {
        resumeLater(cpu, i);
        return;
      }
      one(cpu, i, size, step);
      n--;
      advanceIndex(cpu, ECX, a32, -1);
      work--;
      if ((getFlag(cpu, ZF) !== 0) !== whileZero) return;
    }
  };
}

function defineString(opcode: number, name: string, make: (size: number) => Exec, extra: { endsBlock?: boolean } = {}): void {
  const h1 = make(1), h2 = make(2), h4 = make(4);
  defineOp(opcode, op(`${name}b`, false, IMM_NONE, () => h1, extra));
  defineOp(opcode + 1, op(`${name}v`, false, IMM_NONE, (i) => (i.o32 ? h4 : h2), extra));
}

defineString(0xa4, 'movs', (s) => repeated(movsOne, s, movsChunk, false));
defineString(0xaa, 'stos', (s) => repeated(stosOne, s, stosChunk, false));
defineString(0xac, 'lods', (s) => repeated(lodsOne, s, null, false));
defineString(0xa6, 'cmps', (s) => conditional(cmpsOne, s));
defineString(0xae, 'scas', (s) => conditional(scasOne, s));
defineString(0x6c, 'ins', (s) => repeated(insOne, s, null, true), { endsBlock: true });
defineString(0x6e, 'outs', (s) => repeated(outsOne, s, null, true), { endsBlock: true });
