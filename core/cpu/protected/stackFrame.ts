/**
 * Writing a stack frame before a control transfer commits: far CALL, call
 * gates with a stack switch, interrupt/exception delivery. Every push is
 * limit-checked against the target stack segment and written to memory (so
 * #SS and #PF happen here), while the architectural ESP/SS stay untouched
 * until the caller commits. A fault therefore leaves the registers as they
 * were, and the instruction or event restarts cleanly; only bytes below the
 * live stack pointer may have been written, which is invisible to software.
 */
import type { Cpu } from '../cpu.ts';
import { EXC_SS, SEG_CE, SEG_CODE, SEG_DB, SEG_P, SEG_S, SS } from '../regs.ts';
import { descAttr, descBase, descLimit } from '../segments.ts';
import type { Descriptor } from './descriptors.ts';
import { TLB_SUPERVISOR } from '../tlb.ts';
import { pinned } from '../pinnedArrays.ts';

class PendingStack {
  base = 0;
  /** Valid offset range (expand-down aware). */
  lo = 0;
  hi = 0;
  /** 32-bit stack pointer (SS.B). */
  big = false;
  /** The stack pointer as it will be after the pushes so far (full 32 bits). */
  esp = 0;
  /** Accesses are user-mode (CPL 3) accesses; otherwise implicit supervisor. */
  user = false;
  /** #SS error code when a push does not fit. */
  faultCode = 0;
}

/** The one frame under construction (transfers do not nest while building). */
export const pending = new PendingStack();

function setRange(attr: number, limit: number): void {
  if ((attr & SEG_P) === 0 || (attr & SEG_S) === 0) {
    pending.lo = 1;
    pending.hi = 0;
    return;
  }
  if ((attr & SEG_CODE) === 0 && (attr & SEG_CE) !== 0) {
    pending.lo = limit + 1;
    pending.hi = (attr & SEG_DB) !== 0 ? 0xffff_ffff : 0xffff;
  } else {
    pending.lo = 0;
    pending.hi = limit;
  }
}

/** Starts a frame on the current stack (same-privilege transfers). */
export function beginOnCurrentStack(cpu: Cpu, faultCode: number): void {
  pending.base = cpu.segBase[SS];
  pending.lo = cpu.segWLo[SS];
  pending.hi = cpu.segWHi[SS];
  pending.big = cpu.ss32;
  pending.esp = cpu.regs[4];
  pending.user = cpu.cpl === 3;
  pending.faultCode = faultCode;
}

/** Starts a frame on a new (inner-ring) stack described by `d`, at `esp`. */
export function beginOnNewStack(d: Descriptor, esp: number, faultCode: number): void {
  const attr = descAttr(d.hi);
  pending.base = descBase(d.lo, d.hi);
  setRange(attr, descLimit(d.lo, d.hi));
  pending.big = (attr & SEG_DB) !== 0;
  pending.esp = esp | 0;
  pending.user = false;
  pending.faultCode = faultCode;
}

/** Pushes a word or dword onto the pending frame. */
export function pushPending(cpu: Cpu, value: number, size: 2 | 4): void {
  const p = pending;
  const sp = p.big ? (p.esp - size) >>> 0 : (p.esp - size) & 0xffff;
  if (sp < p.lo || sp + size - 1 > p.hi) cpu.fault(EXC_SS, p.faultCode, true);
  const lin = (p.base + sp) | 0;
  if (size === 4) {
    if (p.user) cpu.writeLin32(lin, value);
    else cpu.writeSys32(lin, value);
  } else if (p.user) cpu.writeLin16(lin, value & 0xffff);
  else cpu.writeSys16(lin, value & 0xffff);
  p.esp = p.big ? sp | 0 : (p.esp & ~0xffff) | sp;
}

/** A frame's values in push order, for pushFrame. */
export const frameValues = pinned(Int32Array, 10);

/**
 * Pushes frameValues[0..count) as `count` pushPending calls would. When the
 * whole frame lies inside the stack's range below a 32-bit stack pointer that
 * does not wrap, every push would pass its limit check, so one check serves
 * them all (the frame is one contiguous range, each push a part of it); the
 * writes go in push order, so a page fault stops at the same push. Otherwise
 * it pushes one by one and #SS comes from the push the SDM says.
 */
export function pushFrame(cpu: Cpu, count: number, size: 2 | 4): void {
  const p = pending;
  const top = p.esp >>> 0;
  const bytes = count * size;
  if (p.big && top >= bytes && top - bytes >= p.lo && top - 1 <= p.hi) {
    const low = (p.base + top - bytes) | 0;
    if (size === 4 && !p.user && (low & 3) === 0 && (low & 0xfff) + bytes <= 0x1000 && !cpu.dataBreakpoints) {
      // An implicit supervisor frame in one page: writeSys32's fast path for every dword, one TLB look-up.
      const e = cpu.tlbWrite[low >>> 12];
      if ((e & TLB_SUPERVISOR) !== 0) {
        const w = ((e & ~0xfff) | (low & 0xfff)) >> 2;
        for (let k = 0; k < count; k++) cpu.i32[w + count - 1 - k] = frameValues[k];
        p.esp = (top - bytes) | 0;
        return;
      }
    }
    for (let k = 0; k < count; k++) {
      const lin = (p.base + top - (k + 1) * size) | 0;
      const value = frameValues[k];
      if (size === 4) {
        if (p.user) cpu.writeLin32(lin, value);
        else cpu.writeSys32(lin, value);
      } else if (p.user) cpu.writeLin16(lin, value & 0xffff);
      else cpu.writeSys16(lin, value & 0xffff);
    }
    p.esp = (top - bytes) | 0;
    return;
  }
  for (let k = 0; k < count; k++) pushPending(cpu, frameValues[k], size);
}
