/**
 * Segment registers: descriptor caches, the derived access ranges the memory
 * accessors check, descriptor-table reads, and the data/stack segment loads of
 * real, V86 and protected mode (SDM Vol. 3 §5.4-5.5, MOV/POP Sreg pseudo-code).
 * Code-segment loads (far transfers, gates, IRET, task switches) live in
 * protected/.
 */
import type { Cpu } from './cpu.ts';
import {
  CS, EXC_GP, EXC_NP, EXC_SS, LDTR, SEG_ACCESSED, SEG_CE, SEG_CODE, SEG_DB, SEG_DPL_SHIFT, SEG_P, SEG_RW, SEG_S, SS,
} from './regs.ts';
import { TLB_SUPERVISOR } from './tlb.ts';

/** Writes a descriptor cache and recomputes what depends on it. */
export function setSegmentCache(cpu: Cpu, seg: number, sel: number, base: number, limit: number, attr: number): void {
  cpu.segSel[seg] = sel;
  cpu.segBase[seg] = base | 0;
  cpu.segLimit[seg] = limit >>> 0;
  cpu.segAttr[seg] = attr;
  if (seg < 6) cpu.refreshSegment(seg);
}

/**
 * True when segment `seg`'s cache already holds exactly these values. A
 * protected-mode load that would write them again may skip the write: the
 * access ranges and the CS/SS flags derived from a cache are recomputed on
 * every cache write and on every change of CR0.PE, and leaving or entering
 * V86 mode reloads all six caches, so in protected mode they already match.
 * (Linux reloads DS and ES with the selector they hold on every system call
 * and returns; an outer-ring return re-nulls an already null FS or GS.)
 */
export function cacheHolds(cpu: Cpu, seg: number, sel: number, base: number, limit: number, attr: number): boolean {
  return cpu.segSel[seg] === sel && cpu.segBase[seg] === (base | 0) && cpu.segLimit[seg] === limit >>> 0 && cpu.segAttr[seg] === attr;
}

/**
 * Valid offset ranges for reads and writes through segment `seg`, from its
 * cache. Real and V86 mode check only limits; protected mode checks type too.
 * An unusable segment (null selector, not present) gets an empty range.
 */
export function refreshSegmentRanges(cpu: Cpu, seg: number): void {
  const attr = cpu.segAttr[seg];
  const limit = cpu.segLimit[seg];
  let lo = 0;
  let hi = limit;
  if ((attr & SEG_CODE) === 0 && (attr & SEG_CE) !== 0 && (attr & SEG_S) !== 0) {
    // Expand-down data: valid offsets are above the limit.
    lo = limit + 1;
    hi = (attr & SEG_DB) !== 0 ? 0xffff_ffff : 0xffff;
  }
  let readable = true;
  let writable = true;
  if ((attr & SEG_P) === 0 || (attr & SEG_S) === 0) {
    readable = writable = false;
  } else if ((cpu.cr0 & 1) !== 0 && !cpu.v86Mode) {
    if ((attr & SEG_CODE) !== 0) {
      readable = (attr & SEG_RW) !== 0;
      writable = false;
    } else {
      writable = (attr & SEG_RW) !== 0;
    }
  }
  cpu.segRLo[seg] = readable ? lo : 0xffff_ffff;
  cpu.segRHi[seg] = readable ? hi : 0;
  cpu.segWLo[seg] = writable ? lo : 0xffff_ffff;
  cpu.segWHi[seg] = writable ? hi : 0;
}

/**
 * Bits of Cpu.flatMask, which the block compiler (jit/translate.ts) reads to
 * leave out checks that cannot fail: a flat segment (base 0, every offset
 * valid) needs no limit check and no base added, so a memory access is the
 * TLB lookup alone, as on a processor whose segments are all flat (Linux's
 * user and kernel code and data segments; FS and GS have bases).
 */
/** `FLAT_READ << seg`: base 0 and every offset 0..4 GiB-1 readable through `seg`. */
export const FLAT_READ = 1;
/** `FLAT_WRITE << seg`: base 0 and every offset writable through `seg`. */
export const FLAT_WRITE = 1 << 8;
/** CS's limit is 4 GiB-1: no near branch's target can exceed it. */
export const FLAT_CS_LIMIT = 1 << 16;
/** SS's B bit is set: the stack pointer is ESP (ss32). */
export const FLAT_STACK32 = 1 << 17;

/** Recomputes `seg`'s bits of cpu.flatMask from its cache and access ranges (after refreshSegmentRanges). */
export function refreshFlatBits(cpu: Cpu, seg: number): void {
  const base0 = cpu.segBase[seg] === 0;
  let bits = 0;
  if (base0 && cpu.segRLo[seg] === 0 && cpu.segRHi[seg] === 0xffff_ffff) bits |= FLAT_READ << seg;
  if (base0 && cpu.segWLo[seg] === 0 && cpu.segWHi[seg] === 0xffff_ffff) bits |= FLAT_WRITE << seg;
  let mask = cpu.flatMask & ~((FLAT_READ | FLAT_WRITE) << seg);
  if (seg === CS) mask = (mask & ~FLAT_CS_LIMIT) | (cpu.segLimit[CS] === 0xffff_ffff ? FLAT_CS_LIMIT : 0);
  if (seg === SS) mask = (mask & ~FLAT_STACK32) | (cpu.ss32 ? FLAT_STACK32 : 0);
  cpu.flatMask = mask | bits;
}

/** Recomputes all six segments' ranges (after a mode change: CR0.PE, EFLAGS.VM). */
export function refreshAllSegments(cpu: Cpu): void {
  for (let s = 0; s < 6; s++) cpu.refreshSegment(s);
}

/**
 * Real mode: base = selector << 4; limit and attributes stay as cached, which
 * is how "unreal mode" works. The segment becomes a present data segment.
 * V86 mode: the whole cache is defined (64 KiB, DPL 3 data).
 */
export function loadSegmentReal(cpu: Cpu, seg: number, sel: number): void {
  sel &= 0xffff;
  if (cpu.v86Mode) {
    setSegmentCache(cpu, seg, sel, sel << 4, 0xffff, 0xf3);
    return;
  }
  const keepFlags = cpu.segAttr[seg] & 0xf000;
  setSegmentCache(cpu, seg, sel, sel << 4, cpu.segLimit[seg], keepFlags | 0x93);
}

/** A fetched descriptor (two dwords). Module-level scratch: no allocation per load. */
export const desc = { lo: 0, hi: 0, addr: 0 };

/**
 * Reads the descriptor for `sel` from the GDT or LDT into `desc`.
 * Raises #GP(selector) (or `vector` if given, e.g. #TS during task switches)
 * when the index lies beyond the table limit.
 */
export function fetchDescriptor(cpu: Cpu, sel: number, vector = EXC_GP): void {
  const index = sel & ~7;
  let base: number, limit: number;
  if ((sel & 4) !== 0) {
    if ((cpu.segAttr[LDTR] & SEG_P) === 0 || cpu.segSel[LDTR] < 4) cpu.fault(vector, sel & 0xfffc, true);
    base = cpu.segBase[LDTR];
    limit = cpu.segLimit[LDTR];
  } else {
    base = cpu.gdtBase;
    limit = cpu.gdtLimit;
  }
  if (index + 7 > limit) cpu.fault(vector, sel & 0xfffc, true);
  const addr = (base + index) | 0;
  desc.addr = addr;
  readDescriptorWords(cpu, addr, desc);
}

/**
 * The two dwords of the descriptor (or gate) at `addr` as two readSys32 would
 * read them, into out.lo and out.hi: with one TLB look-up when the entry is
 * 8-byte aligned (so inside one page) and readSys32's fast path would serve
 * both (a supervisor-readable TLB entry, no data breakpoints armed).
 */
export function readDescriptorWords(cpu: Cpu, addr: number, out: { lo: number; hi: number }): void {
  const e = cpu.tlbRead[addr >>> 12];
  if ((e & TLB_SUPERVISOR) !== 0 && (addr & 7) === 0 && !cpu.dataBreakpoints) {
    const w = ((e & ~0xfff) | (addr & 0xfff)) >> 2;
    out.lo = cpu.i32[w];
    out.hi = cpu.i32[w + 1];
    return;
  }
  out.lo = cpu.readSys32(addr);
  out.hi = cpu.readSys32((addr + 4) | 0);
}

export function descBase(lo: number, hi: number): number {
  return ((lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff00_0000)) | 0;
}

export function descLimit(lo: number, hi: number): number {
  const raw = (lo & 0xffff) | (hi & 0x000f_0000);
  return (hi & (1 << 23)) !== 0 ? ((raw << 12) | 0xfff) >>> 0 : raw;
}

/** The cache attribute word (access byte + flags nibble) of a descriptor's high dword. */
export function descAttr(hi: number): number {
  return ((hi >>> 8) & 0xff) | ((hi >>> 8) & 0xf000);
}

export function descDpl(hi: number): number {
  return (hi >>> (8 + SEG_DPL_SHIFT)) & 3;
}

/** Sets the accessed bit of the descriptor last fetched, if clear (a locked write in hardware). */
export function markAccessed(cpu: Cpu): void {
  if ((desc.hi & (SEG_ACCESSED << 8)) === 0) {
    desc.hi |= SEG_ACCESSED << 8;
    cpu.writeSys32((desc.addr + 4) | 0, desc.hi);
  }
}

/**
 * MOV/POP to DS, ES, FS, GS, SS in protected mode, with every check of the
 * SDM's pseudo-code and the architected error codes.
 */
export function loadSegmentProtected(cpu: Cpu, seg: number, sel: number): void {
  sel &= 0xffff;
  const rpl = sel & 3;
  if ((sel & 0xfffc) === 0) {
    if (seg === SS) cpu.raiseGP(0);
    // A null selector loads an unusable segment; accesses through it fault.
    if (!cacheHolds(cpu, seg, sel, 0, 0, 0)) setSegmentCache(cpu, seg, sel, 0, 0, 0);
    return;
  }
  fetchDescriptor(cpu, sel);
  const hi = desc.hi;
  const attr = descAttr(hi);
  const dpl = descDpl(hi);
  const err = sel & 0xfffc;
  if ((attr & SEG_S) === 0) cpu.raiseGP(err);
  if (seg === SS) {
    if (rpl !== cpu.cpl || dpl !== cpu.cpl) cpu.raiseGP(err);
    if ((attr & SEG_CODE) !== 0 || (attr & SEG_RW) === 0) cpu.raiseGP(err);
    if ((attr & SEG_P) === 0) cpu.fault(EXC_SS, err, true);
  } else {
    const code = (attr & SEG_CODE) !== 0;
    if (code && (attr & SEG_RW) === 0) cpu.raiseGP(err); // execute-only code
    const conforming = code && (attr & SEG_CE) !== 0;
    if (!conforming && (rpl > dpl || cpu.cpl > dpl)) cpu.raiseGP(err);
    if ((attr & SEG_P) === 0) cpu.fault(EXC_NP, err, true);
  }
  markAccessed(cpu);
  const base = descBase(desc.lo, desc.hi);
  const limit = descLimit(desc.lo, desc.hi);
  const cached = descAttr(desc.hi);
  if (!cacheHolds(cpu, seg, sel, base, limit, cached)) setSegmentCache(cpu, seg, sel, base, limit, cached);
}

/** MOV/POP Sreg in any mode. CS is not loadable this way (#UD at decode). */
export function loadSegment(cpu: Cpu, seg: number, sel: number): void {
  if (seg === CS) cpu.raiseUD();
  if ((cpu.cr0 & 1) === 0 || cpu.v86Mode) loadSegmentReal(cpu, seg, sel);
  else loadSegmentProtected(cpu, seg, sel);
}
