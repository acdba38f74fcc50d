/**
 * x87 FPU architectural state: the eight data registers, TOP, tags, status
 * and control words, the last-instruction pointers, and the exception
 * signalling rules shared by every x87 instruction (fpu/*.ts).
 *
 * Registers hold double-extended values (ext80.ts): the 80-bit images,
 * as three words per physical register in a typed array (`regs`), so the
 * state stays plain data. Every encoding is kept as loaded (NaN payloads,
 * denormals, pseudo-denormals, unnormals); the arithmetic decides what an
 * encoding means. A register's tag (valid / zero / special) is derived from
 * its image whenever the tag word is read; only empty vs. non-empty is
 * stored.
 *
 * Error reporting (SDM Vol. 1 8.7 / Appendix D, Vol. 3 "Assertion of the
 * FERR# Pin"): an unmasked exception sets ES and B in the status word.
 * - CR0.NE=1 (native): the next waiting x87 instruction (or WAIT) raises #MF.
 * - CR0.NE=0 (MS-DOS compatibility): as on P6, FERR# (`onFerr(true)`) is
 *   asserted on completion of the instruction that caused the exception; the
 *   board routes it to IRQ 13. The next waiting x87 instruction does not
 *   execute while the error is pending and the IGNNE# input (`ignne`) is not
 *   asserted: the processor stays on it (EIP unchanged, interrupts still
 *   recognized) until the handler clears the error (FNCLEX/FNINIT/FNSAVE/
 *   FLDENV..., which deasserts FERR# through `onFerr(false)`) or the chipset
 *   asserts IGNNE# (on a PC, a write to port 0F0H: the board sets
 *   `ignne = true`; deasserting FERR# clears it). A board that does not
 *   route FERR# leaves `ferrConnected` false: errors are then ignored at
 *   NE=0 (IGNNE# tied active) instead of freezing the processor.
 */

import type { X80 } from './ext80.ts';

// Status word bits.
export const SW_IE = 0x0001;
export const SW_DE = 0x0002;
export const SW_ZE = 0x0004;
export const SW_OE = 0x0008;
export const SW_UE = 0x0010;
export const SW_PE = 0x0020;
export const SW_SF = 0x0040;
export const SW_ES = 0x0080;
export const SW_C0 = 0x0100;
export const SW_C1 = 0x0200;
export const SW_C2 = 0x0400;
export const SW_TOP_SHIFT = 11;
export const SW_C3 = 0x4000;
export const SW_B = 0x8000;
export const SW_CC = SW_C0 | SW_C1 | SW_C2 | SW_C3;
/** The six exception flags (also the six mask bits of the control word). */
export const EXC_MASK = 0x3f;

// Control word fields.
export const CW_PC_SHIFT = 8;
export const CW_RC_SHIFT = 10;
export const RC_NEAREST = 0, RC_DOWN = 1, RC_UP = 2, RC_CHOP = 3;

// Tag values (two bits per register in the tag word).
export const TAG_VALID = 0, TAG_ZERO = 1, TAG_SPECIAL = 2, TAG_EMPTY = 3;

export interface FpuState {
  regs: number[]; // R0..R7 as 80-bit images: significand low, high, sign/exponent per register
  empty: number;
  top: number;
  control: number;
  status: number;
  fip: number;
  fcs: number;
  fdp: number;
  fds: number;
  fop: number;
  ferr: boolean;
  ignne: boolean;
}

export class Fpu {
  /** Physical registers R0..R7 (ST(i) is R[(top + i) & 7]): significand low, high, sign/exponent words per register. */
  readonly regs = new Uint32Array(24);
  /** Bit k set: physical register Rk is empty. */
  empty = 0;
  top = 0;
  control = 0x037f;
  /** Status word without the TOP field (see `statusWord`). */
  status = 0;
  /** Last non-control instruction: EIP offset, CS selector, 11-bit opcode; last memory operand: offset, selector. */
  fip = 0;
  fcs = 0;
  fdp = 0;
  fds = 0;
  fop = 0;
  /** FERR# output is asserted (CR0.NE=0 error reporting). */
  ferr = false;
  /** IGNNE# input (driven by the board): errors are ignored while FERR# is asserted. */
  ignne = false;
  /**
   * The board routes FERR# to an interrupt (IRQ 13). Until it says so, a
   * pending error at CR0.NE=0 is ignored as if IGNNE# were tied active, so
   * an unwired machine never freezes on an x87 error.
   */
  ferrConnected = false;
  /** Called when FERR# changes; the board routes it to IRQ 13. */
  onFerr: (asserted: boolean) => void = () => {};
  /** CR0.NE as of the current x87 instruction (set by the instruction gate; selects #MF vs FERR#). */
  nativeErrors = false;
  /** The processor running the current x87 instruction (set by the gate): asserting FERR# ends its block so IRQ 13 is recognized at the next boundary. */
  runner: { exitBlock: boolean } | null = null;

  /** Power-on / RESET state (SDM Vol. 3 Table 9-1): CW 0040H, SW 0, TW 5555H, registers +0. */
  reset(): void {
    this.regs.fill(0);
    this.empty = 0;
    this.top = 0;
    this.control = 0x0040;
    this.status = 0;
    this.fip = this.fcs = this.fdp = this.fds = this.fop = 0;
    this.setFerr(false);
    this.ignne = false;
  }

  /** FNINIT: CW 037FH, SW 0, all registers empty, pointers cleared (registers keep their contents). */
  init(): void {
    this.control = 0x037f;
    this.status = 0;
    this.top = 0;
    this.empty = 0xff;
    this.fip = this.fcs = this.fdp = this.fds = this.fop = 0;
    this.setFerr(false);
  }

  // ---- stack ----

  phys(i: number): number {
    return (this.top + i) & 7;
  }
  isEmpty(i: number): boolean {
    return ((this.empty >> ((this.top + i) & 7)) & 1) !== 0;
  }
  /** The 80-bit image of ST(i). */
  get(i: number): X80 {
    return this.physValue((this.top + i) & 7);
  }
  physValue(p: number): X80 {
    return { se: this.regs[3 * p + 2], hi: this.regs[3 * p + 1], lo: this.regs[3 * p] };
  }
  /** ST(i) ← x (and in use). */
  set(i: number, x: X80): void {
    this.setPhys((this.top + i) & 7, x);
  }
  setPhys(p: number, x: X80): void {
    this.regs[3 * p] = x.lo;
    this.regs[3 * p + 1] = x.hi;
    this.regs[3 * p + 2] = x.se & 0xffff;
    this.empty &= ~(1 << p);
  }
  /** Copies ST(from) to ST(to), bit for bit. */
  copy(to: number, from: number): void {
    this.set(to, this.get(from));
  }
  /** Exchanges ST(a) and ST(b) (values; tags follow the values). */
  swap(a: number, b: number): void {
    const pa = (this.top + a) & 7, pb = (this.top + b) & 7;
    for (let k = 0; k < 3; k++) {
      const t = this.regs[3 * pa + k];
      this.regs[3 * pa + k] = this.regs[3 * pb + k];
      this.regs[3 * pb + k] = t;
    }
  }
  /** FCHS (flip) / FABS (clear): sign-bit operations. */
  changeSign(i: number, flip: boolean): void {
    const p = (this.top + i) & 7;
    if (flip) this.regs[3 * p + 2] ^= 0x8000;
    else this.regs[3 * p + 2] &= 0x7fff;
  }
  push(x: X80): void {
    this.top = (this.top - 1) & 7;
    this.setPhys(this.top, x);
  }
  pop(): void {
    this.empty |= 1 << this.top;
    this.top = (this.top + 1) & 7;
  }
  /** ST(i) ← the default QNaN ("real indefinite"). */
  setIndefinite(i: number): void {
    this.set(i, { se: 0xffff, hi: 0xc000_0000, lo: 0 });
  }

  // ---- exceptions ----

  /**
   * Records exception flags; an unmasked one sets ES and B. Returns true when
   * an unmasked exception is among them (the caller then leaves its
   * destination untouched for IE/DE/ZE).
   */
  signal(flags: number): boolean {
    this.status |= flags;
    if ((flags & ~this.control & EXC_MASK) !== 0) {
      this.status |= SW_ES | SW_B;
      if (!this.nativeErrors) this.setFerr(true);
      return true;
    }
    return false;
  }

  /** Stack overflow (push onto a full register) or underflow (read of an empty one): IE + SF, C1 = direction. */
  stackFault(overflow: boolean): boolean {
    this.status = (this.status & ~SW_C1) | (overflow ? SW_C1 : 0);
    return this.signal(SW_IE | SW_SF);
  }

  setCC(c3c2c1c0: number): void {
    this.status = (this.status & ~SW_CC) | c3c2c1c0;
  }
  clearC1(): void {
    this.status &= ~SW_C1;
  }

  /** Re-derives ES/B from the exception flags and masks (after FLDCW, FLDENV, FRSTOR). */
  updateSummary(): void {
    if ((this.status & ~this.control & EXC_MASK) !== 0) {
      this.status |= SW_ES | SW_B;
      if (!this.nativeErrors) this.setFerr(true);
    } else {
      this.status &= ~(SW_ES | SW_B);
      this.setFerr(false);
    }
  }

  /** FNCLEX: clears the exception flags, SF, ES and B; deasserts FERR#. */
  clearExceptions(): void {
    this.status &= ~(EXC_MASK | SW_SF | SW_ES | SW_B);
    this.setFerr(false);
  }

  setFerr(level: boolean): void {
    if (this.ferr === level) return;
    this.ferr = level;
    if (!level) this.ignne = false;
    else if (this.runner !== null) this.runner.exitBlock = true;
    this.onFerr(level);
  }

  get rc(): number {
    return (this.control >> CW_RC_SHIFT) & 3;
  }

  // ---- architectural words ----

  statusWord(): number {
    return (this.status & ~(7 << SW_TOP_SHIFT)) | (this.top << SW_TOP_SHIFT);
  }

  /** Loads a status word image (FLDENV/FRSTOR): TOP and the flags. */
  loadStatusWord(sw: number): void {
    this.top = (sw >> SW_TOP_SHIFT) & 7;
    this.status = sw & ~(7 << SW_TOP_SHIFT) & 0xffff;
  }

  /** Tag of physical register p, derived from its 80-bit image. */
  physTag(p: number): number {
    if ((this.empty >> p) & 1) return TAG_EMPTY;
    const exp = this.regs[3 * p + 2] & 0x7fff;
    if (exp === 0x7fff) return TAG_SPECIAL;
    if (exp === 0) return (this.regs[3 * p] | this.regs[3 * p + 1]) === 0 ? TAG_ZERO : TAG_SPECIAL;
    return (this.regs[3 * p + 1] & 0x8000_0000) !== 0 ? TAG_VALID : TAG_SPECIAL;
  }

  tagWord(): number {
    let t = 0;
    for (let p = 0; p < 8; p++) t |= this.physTag(p) << (2 * p);
    return t;
  }

  /** Loads a tag word image: only "empty" (11) is kept; the other tags follow from the values. */
  loadTagWord(tw: number): void {
    let e = 0;
    for (let p = 0; p < 8; p++) if (((tw >> (2 * p)) & 3) === TAG_EMPTY) e |= 1 << p;
    this.empty = e;
  }

  saveState(): FpuState {
    return {
      regs: Array.from(this.regs),
      empty: this.empty,
      top: this.top,
      control: this.control,
      status: this.status,
      fip: this.fip, fcs: this.fcs, fdp: this.fdp, fds: this.fds, fop: this.fop,
      ferr: this.ferr,
      ignne: this.ignne,
    };
  }

  /** Restores saveState() output; malformed fields read as 0 (a snapshot is untrusted input too). */
  loadState(s: unknown): void {
    const o = (s ?? {}) as Partial<FpuState>;
    const n = (v: unknown) => Number(v ?? 0) | 0;
    if (Array.isArray(o.regs)) {
      for (let k = 0; k < 24; k++) this.regs[k] = Number(o.regs[k] ?? 0) >>> 0;
      for (let p = 0; p < 8; p++) this.regs[3 * p + 2] &= 0xffff;
    } else {
      this.loadLegacyRegisters(s as LegacyRegisters);
    }
    this.empty = n(o.empty) & 0xff;
    this.top = n(o.top) & 7;
    this.control = n(o.control) & 0xffff;
    this.status = n(o.status) & 0xffff & ~(7 << SW_TOP_SHIFT);
    this.fip = n(o.fip); this.fcs = n(o.fcs) & 0xffff; this.fdp = n(o.fdp); this.fds = n(o.fds) & 0xffff; this.fop = n(o.fop) & 0x7ff;
    this.ferr = o.ferr === true; // the board re-derives its IRQ 13 line from this after a restore
    this.ignne = o.ignne === true;
  }

  /**
   * Snapshots from before the 80-bit registers held binary64 values (`st`,
   * raw words) and exact 80-bit images where `exactMask` has the bit: each
   * register becomes its exact image, else its binary64 value widened.
   */
  private loadLegacyRegisters(o: LegacyRegisters): void {
    const st = Array.isArray(o?.st) ? o.st : [];
    const ex = Array.isArray(o?.exact) ? o.exact : [];
    const mask = Number(o?.exactMask ?? 0) | 0;
    for (let p = 0; p < 8; p++) {
      if ((mask >> p) & 1) {
        this.regs[3 * p] = Number(ex[3 * p] ?? 0) >>> 0;
        this.regs[3 * p + 1] = Number(ex[3 * p + 1] ?? 0) >>> 0;
        this.regs[3 * p + 2] = (Number(ex[3 * p + 2] ?? 0) >>> 0) & 0xffff;
      } else {
        const x = widenDouble(Number(st[2 * p + 1] ?? 0) >>> 0, Number(st[2 * p] ?? 0) >>> 0);
        this.regs[3 * p] = x.lo;
        this.regs[3 * p + 1] = x.hi;
        this.regs[3 * p + 2] = x.se;
      }
    }
  }
}

interface LegacyRegisters {
  st?: unknown[];
  exact?: unknown[];
  exactMask?: unknown;
}

/** A binary64 bit pattern as an 80-bit image (exact; NaN payloads kept). */
function widenDouble(hi: number, lo: number): X80 {
  const sign = (hi >>> 16) & 0x8000;
  const exp = (hi >>> 20) & 0x7ff;
  let fhi = hi & 0xf_ffff, flo = lo;
  if (exp === 0 && (fhi | flo) === 0) return { se: sign, hi: 0, lo: 0 };
  let e = exp === 0x7ff ? 0x7fff : exp - 1023 + 16383;
  if (exp === 0) {
    e = 1 - 1023 + 16383;
    while ((fhi & 0x10_0000) === 0) {
      fhi = (fhi << 1) | (flo >>> 31);
      flo = (flo << 1) >>> 0;
      e--;
    }
    fhi &= 0xf_ffff;
  }
  return { se: sign | e, hi: (0x8000_0000 | (fhi << 11) | (flo >>> 21)) >>> 0, lo: (flo << 11) >>> 0 };
}
