/**
 * Descriptor helpers for the protected-mode transfers (far JMP/CALL/RET,
 * IRET, interrupt gates, task switches): reading a descriptor into a caller
 * owned scratch object (several are alive at once during a call through a
 * gate), decoding its fields, and loading CS/SS caches from it.
 *
 * Descriptor words are kept exactly as in memory: `lo` is bytes 0-3, `hi`
 * bytes 4-7 (SDM Vol. 3 §3.4.5).
 */
import type { Cpu } from '../cpu.ts';
import { CS, DS, ES, FS, GS, LDTR, SEG_P } from '../regs.ts';
import { cacheHolds, descAttr, descBase, descLimit, readDescriptorWords, setSegmentCache } from '../segments.ts';

/** System descriptor types (S = 0), SDM Table 3-2. */
export const SYS_TSS16 = 1;
export const SYS_LDT = 2;
export const SYS_TSS16_BUSY = 3;
export const SYS_CALL_GATE16 = 4;
export const SYS_TASK_GATE = 5;
export const SYS_INT_GATE16 = 6;
export const SYS_TRAP_GATE16 = 7;
export const SYS_TSS32 = 9;
export const SYS_TSS32_BUSY = 11;
export const SYS_CALL_GATE32 = 12;
export const SYS_INT_GATE32 = 14;
export const SYS_TRAP_GATE32 = 15;

/** Busy bit of a TSS descriptor type (type 1/9 available, 3/11 busy). */
export const TSS_BUSY_BIT = 2;

/** One fetched descriptor. Allocated once per use site at module load, never per instruction. */
export class Descriptor {
  lo = 0;
  hi = 0;
  /** Linear address of the descriptor (for accessed/busy bit updates). */
  addr = 0;
}

/**
 * Reads the descriptor of `sel` (GDT or LDT by TI) into `out`. If its 8 bytes
 * are not inside the table's limit (or TI = 1 with no usable LDT), raises
 * `vector` with error code `code`.
 */
export function readDescriptor(cpu: Cpu, sel: number, out: Descriptor, vector: number, code: number): void {
  const index = sel & 0xfff8;
  let base: number, limit: number;
  if ((sel & 4) !== 0) {
    if ((cpu.segAttr[LDTR] & SEG_P) === 0 || (cpu.segSel[LDTR] & 0xfffc) === 0) cpu.fault(vector, code, true);
    base = cpu.segBase[LDTR];
    limit = cpu.segLimit[LDTR];
  } else {
    base = cpu.gdtBase;
    limit = cpu.gdtLimit;
  }
  if (index + 7 > limit) cpu.fault(vector, code, true);
  const addr = (base + index) | 0;
  out.addr = addr;
  readDescriptorWords(cpu, addr, out);
}

// ---- field decoding (all take the high dword) ----
export const isSegment = (hi: number): boolean => (hi & (1 << 12)) !== 0; // S: code/data
export const isCode = (hi: number): boolean => (hi & (1 << 12)) !== 0 && (hi & (1 << 11)) !== 0;
export const isData = (hi: number): boolean => (hi & (1 << 12)) !== 0 && (hi & (1 << 11)) === 0;
export const isConforming = (hi: number): boolean => (hi & (1 << 10)) !== 0;
/** Readable (code) or writable (data). */
export const isRw = (hi: number): boolean => (hi & (1 << 9)) !== 0;
export const isPresent = (hi: number): boolean => (hi & (1 << 15)) !== 0;
export const dplOf = (hi: number): number => (hi >>> 13) & 3;
export const systemType = (hi: number): number => (hi >>> 8) & 0xf;
export const isWritableData = (hi: number): boolean => isData(hi) && isRw(hi);

/** Sets the accessed bit in memory if clear (a locked read-modify-write on hardware). */
export function setAccessed(cpu: Cpu, d: Descriptor): void {
  if ((d.hi & (1 << 8)) === 0 && isSegment(d.hi)) {
    d.hi |= 1 << 8;
    cpu.writeSys32((d.addr + 4) | 0, d.hi);
  }
}

/** Loads a segment register's cache from a fetched descriptor. */
export function loadSegmentFromDescriptor(cpu: Cpu, seg: number, sel: number, d: Descriptor): void {
  setSegmentCache(cpu, seg, sel & 0xffff, descBase(d.lo, d.hi), descLimit(d.lo, d.hi), descAttr(d.hi));
}

/** Loads CS with RPL = `cpl` and makes `cpl` the current privilege level. */
export function loadCodeSegment(cpu: Cpu, sel: number, d: Descriptor, cpl: number): void {
  loadSegmentFromDescriptor(cpu, CS, (sel & 0xfffc) | cpl, d);
  cpu.setCpl(cpl);
  cpu.exitBlock = true;
}

/** Loads an unusable (null) cache: accesses through it fault. */
export function loadNullSegment(cpu: Cpu, seg: number, sel: number): void {
  setSegmentCache(cpu, seg, sel & 0xffff, 0, 0, 0);
}

/** Limit of a descriptor, byte-granular (as LSL reports it). */
export function limitOf(d: Descriptor): number {
  return descLimit(d.lo, d.hi);
}

const DATA_SEGS = [ES, DS, FS, GS];

/**
 * After a return to an outer privilege level (RET far, IRET): data segment
 * registers the new CPL may not use (data or non-conforming code with
 * DPL < CPL) are loaded with a null selector, so the outer ring cannot keep
 * using inner-ring segments (SDM RET/IRET pseudo-code, Bochs validate_seg_reg).
 */
export function hideInaccessibleDataSegments(cpu: Cpu): void {
  for (let k = 0; k < 4; k++) {
    const seg = DATA_SEGS[k];
    const attr = cpu.segAttr[seg];
    const dpl = (attr >>> 5) & 3;
    if (dpl >= cpu.cpl) continue;
    const conformingCode = (attr & 0x10) !== 0 && (attr & 0x08) !== 0 && (attr & 0x04) !== 0;
    // A register that is null already (selector 0, the unusable cache) stays as it is.
    if (((attr & 0x10) === 0 || !conformingCode) && !cacheHolds(cpu, seg, 0, 0, 0, 0)) loadNullSegment(cpu, seg, 0);
  }
}
