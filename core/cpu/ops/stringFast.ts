/**
 * Bulk paths for forward REP MOVS / REP STOS (memcpy/memset in every OS).
 *
 * A chunk is done in one typed-array operation only when that is provably
 * identical to running the elements one by one:
 * - every element lies within one linear page on each side (no page
 *   crossing), and a 16-bit index does not wrap inside the chunk;
 * - the whole chunk passes the segment checks the element loop would do;
 * - the pages are in the TLB with the permission the element loop would use
 *   (`tlbRead` / `tlbWrite` with `cpu.tlbBit`). Such entries exist only for
 *   RAM/ROM reads and for RAM writes to dirty pages holding no decoded code,
 *   so MMIO, ROM writes and self-modifying code all take the element loop;
 * - for MOVS, a destination just above the source (overlap that the element
 *   loop would replicate) limits the chunk so no element reads a byte written
 *   earlier in the same chunk.
 * Each function returns the number of elements done (0: use the element
 * loop), having updated ESI/EDI/ECX as the loop would.
 */
import type { Cpu } from '../cpu.ts';
import type { Insn } from '../insn.ts';
import { EAX, ECX, EDI, ES, ESI } from '../regs.ts';

/** Elements (at most n) from `off` up to the end of the 16-bit index space and of the linear page. */
function room(off: number, lin: number, a32: boolean, size: number, n: number): number {
  // size is 1, 2 or 4: size >> 1 is its log2, so the divisions are shifts.
  const shift = size >> 1;
  let k = (0x1000 - (lin & 0xfff)) >> shift;
  if (!a32) k = Math.min(k, (0x1_0000 - off) >> shift);
  else if (off >>> 0 > 0xffff_f000) k = Math.min(k, Math.floor((0x1_0000_0000 - (off >>> 0)) / size));
  return Math.min(k, n);
}

function commit(cpu: Cpu, a32: boolean, bytes: number, k: number, movesSource: boolean): void {
  const r = cpu.regs;
  if (a32) {
    if (movesSource) r[ESI] = (r[ESI] + bytes) | 0;
    r[EDI] = (r[EDI] + bytes) | 0;
    r[ECX] = (r[ECX] - k) | 0;
  } else {
    if (movesSource) r[ESI] = (r[ESI] & ~0xffff) | ((r[ESI] + bytes) & 0xffff);
    r[EDI] = (r[EDI] & ~0xffff) | ((r[EDI] + bytes) & 0xffff);
    r[ECX] = (r[ECX] & ~0xffff) | ((r[ECX] - k) & 0xffff);
  }
}

/** Chunks up to this many bytes are copied by a dword loop rather than copyWithin. */
const SMALL_COPY = 256;

export function movsChunk(cpu: Cpu, i: Insn, size: number, n: number): number {
  const a32 = i.a32;
  const seg = i.seg;
  const si = a32 ? cpu.regs[ESI] >>> 0 : cpu.regs[ESI] & 0xffff;
  const di = a32 ? cpu.regs[EDI] >>> 0 : cpu.regs[EDI] & 0xffff;
  const srcLin = (cpu.segBase[seg] + si) | 0;
  const dstLin = (cpu.segBase[ES] + di) | 0;
  let k = Math.min(room(si, srcLin, a32, size, n), room(di, dstLin, a32, size, n));
  if (k === 0) return 0;
  let bytes = k * size;
  if (si < cpu.segRLo[seg] || si + bytes - 1 > cpu.segRHi[seg]) return 0;
  if (di < cpu.segWLo[ES] || di + bytes - 1 > cpu.segWHi[ES]) return 0;
  const er = cpu.tlbRead[srcLin >>> 12];
  const ew = cpu.tlbWrite[dstLin >>> 12];
  if ((er & cpu.tlbBit) === 0 || (ew & cpu.tlbBit) === 0) return 0;
  const ps = (er & ~0xfff) | (srcLin & 0xfff);
  const pd = (ew & ~0xfff) | (dstLin & 0xfff);
  const distance = pd - ps;
  if (distance > 0 && distance < bytes) {
    k = Math.floor(distance / size);
    if (k === 0) return 0;
    bytes = k * size;
  }
  if (bytes <= SMALL_COPY && ((pd | ps | bytes) & 3) === 0) {
    // Dword-aligned and short (Linux's entry and exit copy a 68-byte frame between its stacks):
    // a loop beats copyWithin's call into the runtime. Copying upward is what the element loop
    // does, and the overlap check above leaves no element reading a dword written before it.
    const m = cpu.i32;
    for (let s = ps >> 2, d = pd >> 2, end = (ps + bytes) >> 2; s < end; s++, d++) m[d] = m[s];
  } else {
    cpu.u8.copyWithin(pd, ps, ps + bytes);
  }
  commit(cpu, a32, bytes, k, true);
  return k;
}

// A 16-bit view of guest memory for word fills, made once per memory buffer.
let viewBuffer: ArrayBufferLike | null = null;
let u16: Uint16Array = new Uint16Array(0);

function wordView(cpu: Cpu): Uint16Array {
  if (cpu.u8.buffer !== viewBuffer) {
    viewBuffer = cpu.u8.buffer;
    u16 = new Uint16Array(viewBuffer, cpu.u8.byteOffset, cpu.u8.length >>> 1);
  }
  return u16;
}

export function stosChunk(cpu: Cpu, i: Insn, size: number, n: number): number {
  const a32 = i.a32;
  const di = a32 ? cpu.regs[EDI] >>> 0 : cpu.regs[EDI] & 0xffff;
  const dstLin = (cpu.segBase[ES] + di) | 0;
  const k = room(di, dstLin, a32, size, n);
  if (k === 0) return 0;
  const bytes = k * size;
  if (di < cpu.segWLo[ES] || di + bytes - 1 > cpu.segWHi[ES]) return 0;
  const ew = cpu.tlbWrite[dstLin >>> 12];
  if ((ew & cpu.tlbBit) === 0) return 0;
  const pd = (ew & ~0xfff) | (dstLin & 0xfff);
  const v = cpu.regs[EAX];
  const m = cpu.u8;
  if (size === 1) {
    m.fill(v & 0xff, pd, pd + bytes);
  } else if (size === 2) {
    if (((v ^ (v >> 8)) & 0xff) === 0) m.fill(v & 0xff, pd, pd + bytes);
    else if ((pd & 1) === 0 && (m.byteOffset & 1) === 0) wordView(cpu).fill(v & 0xffff, pd >>> 1, (pd + bytes) >>> 1);
    else for (let p = pd; p < pd + bytes; p += 2) { m[p] = v; m[p + 1] = v >> 8; }
  } else if ((pd & 3) === 0) {
    cpu.i32.fill(v, pd >>> 2, (pd + bytes) >>> 2);
  } else {
    for (let p = pd; p < pd + bytes; p += 4) { m[p] = v; m[p + 1] = v >> 8; m[p + 2] = v >> 16; m[p + 3] = v >> 24; }
  }
  commit(cpu, a32, bytes, k, false);
  return k;
}
