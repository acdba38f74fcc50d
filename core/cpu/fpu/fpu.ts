/**
 * x87 FPU architectural state: the eight data registers, TOP, tags, status
 * and control words, the last-instruction pointers, and the exception
 * signalling rules shared by every x87 instruction (fpu/*.ts).
 *
 * Precision model (a documented deviation from an 80-bit x87):
 * - Registers hold IEEE binary64 values. The binary64 value of an 80-bit
 *   extended operand loses the low 11 bits of its 64-bit significand
 *   (rounded to nearest even); exponents beyond the binary64 range become
 *   infinity (too large) or a binary64 denormal / zero (too small). Every
 *   binary64 value converts to an exact 80-bit pattern on store.
 * - Arithmetic is binary64 (53-bit significand). Precision control: PC = 00
 *   (single) rounds FADD/FSUB/FMUL/FDIV/FSQRT results to 24 bits; PC = 10
 *   (double) is exact; PC = 11 (extended, the FNINIT default) also gives 53
 *   bits. Rounding control is honoured for FADD/FSUB/FMUL/FDIV/FSQRT (via
 *   error-free transformations), FRNDINT, integer/BCD stores and float32
 *   stores; transcendental results are round-to-nearest.
 * - NaN payloads are kept bit-exact: registers are also viewed as raw words
 *   (`bits`), so NaNs never pass through JS arithmetic that could canonicalize them.
 * - Exact 80-bit shadows: a register loaded from an m80fp, m64int or BCD
 *   operand also keeps the exact 80-bit image (`exact`), which FSTP m80fp,
 *   FISTP m64int, FBSTP and FNSAVE store instead of the binary64 value. So
 *   FLD/FSTP m80 copies (long double moves), FILD/FISTP m64 copies (64-bit
 *   atomic loads/stores on 32-bit x86) and FRSTOR/FNSAVE are bit-exact.
 *   Any other write to the register drops its shadow; arithmetic always uses
 *   the binary64 value.
 * - A register's tag (valid / zero / special) is derived from its 80-bit
 *   image (shadow, else the binary64 value) whenever the tag word is read;
 *   only empty vs. non-empty is stored. Binary64 denormals are 80-bit
 *   normals, so they tag as valid (and FXAM calls them normal).
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
  st: number[]; // raw words of R0..R7: low, high, low, high, ...
  exact: number[]; // 80-bit shadows: low, high, sign/exponent per register
  exactMask: number;
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
  private readonly buf = new ArrayBuffer(64);
  /** Physical registers R0..R7 (ST(i) is R[(top + i) & 7]). */
  readonly st = new Float64Array(this.buf);
  /** The same registers as 32-bit words (little-endian: word 2k is the low half of Rk). */
  readonly bits = new Uint32Array(this.buf);
  /** Exact 80-bit images (significand low, high, sign/exponent per register), valid where `exactMask` has the bit. */
  readonly exact = new Uint32Array(24);
  exactMask = 0;
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
    this.st.fill(0);
    this.exactMask = 0;
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
  get(i: number): number {
    return this.st[(this.top + i) & 7];
  }
  set(i: number, v: number): void {
    const p = (this.top + i) & 7;
    this.st[p] = v;
    this.empty &= ~(1 << p);
    this.exactMask &= ~(1 << p);
  }
  /** Copies ST(from) to ST(to) word by word (keeps NaN payloads and the 80-bit shadow exact). */
  copy(to: number, from: number): void {
    const t = (this.top + to) & 7, f = (this.top + from) & 7;
    this.bits[2 * t] = this.bits[2 * f];
    this.bits[2 * t + 1] = this.bits[2 * f + 1];
    this.empty &= ~(1 << t);
    if ((this.exactMask >> f) & 1) {
      this.exact[3 * t] = this.exact[3 * f];
      this.exact[3 * t + 1] = this.exact[3 * f + 1];
      this.exact[3 * t + 2] = this.exact[3 * f + 2];
      this.exactMask |= 1 << t;
    } else {
      this.exactMask &= ~(1 << t);
    }
  }
  /** Exchanges ST(a) and ST(b) (values, shadows; tags follow the values). */
  swap(a: number, b: number): void {
    const pa = (this.top + a) & 7, pb = (this.top + b) & 7;
    for (let k = 0; k < 2; k++) {
      const t = this.bits[2 * pa + k];
      this.bits[2 * pa + k] = this.bits[2 * pb + k];
      this.bits[2 * pb + k] = t;
    }
    for (let k = 0; k < 3; k++) {
      const t = this.exact[3 * pa + k];
      this.exact[3 * pa + k] = this.exact[3 * pb + k];
      this.exact[3 * pb + k] = t;
    }
    const ea = (this.exactMask >> pa) & 1, eb = (this.exactMask >> pb) & 1;
    this.exactMask = (this.exactMask & ~((1 << pa) | (1 << pb))) | (eb << pa) | (ea << pb);
  }
  /** Records the exact 80-bit image of ST(i) (after its binary64 value was written). */
  setExact(i: number, se: number, hi: number, lo: number): void {
    const p = (this.top + i) & 7;
    this.exact[3 * p] = lo;
    this.exact[3 * p + 1] = hi;
    this.exact[3 * p + 2] = se;
    this.exactMask |= 1 << p;
  }
  hasExact(i: number): boolean {
    return ((this.exactMask >> ((this.top + i) & 7)) & 1) !== 0;
  }
  /** FCHS (flip) / FABS (clear): sign-bit operations on the value and its shadow. */
  changeSign(i: number, flip: boolean): void {
    const p = (this.top + i) & 7;
    if (flip) {
      this.bits[2 * p + 1] ^= 0x8000_0000;
      this.exact[3 * p + 2] ^= 0x8000;
    } else {
      this.bits[2 * p + 1] &= 0x7fff_ffff;
      this.exact[3 * p + 2] &= 0x7fff;
    }
  }
  push(v: number): void {
    this.top = (this.top - 1) & 7;
    this.st[this.top] = v;
    this.empty &= ~(1 << this.top);
    this.exactMask &= ~(1 << this.top);
  }
  pop(): void {
    this.empty |= 1 << this.top;
    this.top = (this.top + 1) & 7;
  }
  /** ST(i) ← the raw binary64 pattern hi:lo. */
  setBits(i: number, hi: number, lo: number): void {
    const p = (this.top + i) & 7;
    this.bits[2 * p] = lo;
    this.bits[2 * p + 1] = hi;
    this.empty &= ~(1 << p);
    this.exactMask &= ~(1 << p);
  }
  /** ST(i) ← the default QNaN ("real indefinite"). */
  setIndefinite(i: number): void {
    this.setBits(i, 0xfff8_0000, 0);
  }
  hiWord(i: number): number {
    return this.bits[2 * ((this.top + i) & 7) + 1];
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

  /** Tag of physical register p, derived from its 80-bit image (exact shadow) or binary64 value. */
  physTag(p: number): number {
    if ((this.empty >> p) & 1) return TAG_EMPTY;
    if ((this.exactMask >> p) & 1) {
      const exp = this.exact[3 * p + 2] & 0x7fff;
      if (exp === 0x7fff) return TAG_SPECIAL;
      if (exp === 0) return (this.exact[3 * p] | this.exact[3 * p + 1]) === 0 ? TAG_ZERO : TAG_SPECIAL;
      return (this.exact[3 * p + 1] & 0x8000_0000) !== 0 ? TAG_VALID : TAG_SPECIAL;
    }
    const hi = this.bits[2 * p + 1], lo = this.bits[2 * p];
    if ((hi & 0x7fff_ffff) === 0 && lo === 0) return TAG_ZERO;
    if ((hi & 0x7ff0_0000) === 0x7ff0_0000) return TAG_SPECIAL;
    return TAG_VALID;
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
      st: Array.from(this.bits),
      exact: Array.from(this.exact),
      exactMask: this.exactMask,
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
    const st = Array.isArray(o.st) ? o.st : [];
    for (let k = 0; k < 16; k++) this.bits[k] = Number(st[k] ?? 0) >>> 0;
    const ex = Array.isArray(o.exact) ? o.exact : [];
    for (let k = 0; k < 24; k++) this.exact[k] = Number(ex[k] ?? 0) >>> 0;
    const n = (v: unknown) => Number(v ?? 0) | 0;
    this.exactMask = n(o.exactMask) & 0xff;
    this.empty = n(o.empty) & 0xff;
    this.top = n(o.top) & 7;
    this.control = n(o.control) & 0xffff;
    this.status = n(o.status) & 0xffff & ~(7 << SW_TOP_SHIFT);
    this.fip = n(o.fip); this.fcs = n(o.fcs) & 0xffff; this.fdp = n(o.fdp); this.fds = n(o.fds) & 0xffff; this.fop = n(o.fop) & 0x7ff;
    this.ferr = o.ferr === true; // the board re-derives its IRQ 13 line from this after a restore
    this.ignne = o.ignne === true;
  }
}
