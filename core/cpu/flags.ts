/**
 * Lazy arithmetic flags. Most instructions only record their operands and
 * result; CF/PF/AF/ZF/SF/OF are computed when something reads them (Jcc,
 * PUSHF, ADC, ...). `cpu.lazy[LZ_MASK]` says which of the six flags are currently
 * lazy; the others are valid in `cpu.flags`.
 *
 * Flag definitions follow the SDM: CF is the unsigned carry/borrow, AF the
 * carry out of bit 3, OF the signed overflow, PF the even parity of the low
 * result byte.
 */
import type { Cpu } from './cpu.ts';
import { AF, ARITH_FLAGS, CF, OF, PF, SF, ZF } from './regs.ts';

/**
 * The lazy state's slots in `cpu.lazy` (an Int32Array over its own
 * ArrayBuffer, pinnedArrays.ts): generated code writes them as plain stores
 * at fixed addresses (jit/flagCode.ts), and the Int32Array's own conversion
 * keeps the operands int32 (as object fields, an out-of-range `a - b`
 * stored as it was turned the field into a boxed double for good).
 */
export const LZ_OP = 0; // the lazy operation kind (LAZY_*)
export const LZ_SIZE = 1; // its operand size in bits: 8, 16 or 32
export const LZ_A = 2; // first operand
export const LZ_B = 3; // second operand
export const LZ_RES = 4; // result
export const LZ_MASK = 5; // which of the six arithmetic flags are lazy; the others are valid in cpu.flags

/** Lazy operation kinds. */
export const LAZY_ADD = 0; // a + b
export const LAZY_ADC = 1; // a + b + 1 (carry in was set)
export const LAZY_SUB = 2; // a - b (also CMP, NEG with a = 0)
export const LAZY_SBB = 3; // a - b - 1 (borrow in was set)
export const LAZY_RES = 4; // SF/ZF/PF from the result; CF/AF/OF are the bits stored in `a`

/** Even-parity lookup for the low byte (PF). */
export const PARITY = new Uint8Array(256);
for (let v = 0; v < 256; v++) {
  let bits = 0;
  for (let b = 0; b < 8; b++) bits += (v >> b) & 1;
  PARITY[v] = bits & 1 ? 0 : PF;
}

export function sizeMask(bits: number): number {
  return bits === 32 ? 0xffff_ffff : (1 << bits) - 1;
}

/** Computes the lazy flags selected by `which` (a subset of ARITH_FLAGS). */
export function computeLazy(cpu: Cpu, which: number): number {
  const lz = cpu.lazy;
  const op = lz[LZ_OP];
  const bits = lz[LZ_SIZE];
  const mask = bits === 32 ? 0xffff_ffff : (1 << bits) - 1;
  const a = lz[LZ_A];
  const b = lz[LZ_B];
  const res = lz[LZ_RES];
  const top = bits - 1;
  let f = 0;
  if (which & ZF && (res & mask) === 0) f |= ZF;
  if (which & SF && ((res >>> top) & 1) !== 0) f |= SF;
  if (which & PF) f |= PARITY[res & 0xff];
  switch (op) {
    case LAZY_ADD:
    case LAZY_ADC: {
      if (which & CF) {
        const r = (res & mask) >>> 0;
        const x = (a & mask) >>> 0;
        if (op === LAZY_ADD ? r < x : r <= x) f |= CF;
      }
      if (which & AF) f |= (a ^ b ^ res) & AF;
      if (which & OF && (((a ^ res) & (b ^ res)) >>> top) & 1) f |= OF;
      break;
    }
    case LAZY_SUB:
    case LAZY_SBB: {
      if (which & CF) {
        const x = (a & mask) >>> 0;
        const y = (b & mask) >>> 0;
        if (op === LAZY_SUB ? x < y : x <= y) f |= CF;
      }
      if (which & AF) f |= (a ^ b ^ res) & AF;
      if (which & OF && (((a ^ b) & (a ^ res)) >>> top) & 1) f |= OF;
      break;
    }
    default: // LAZY_RES
      f |= a & (CF | AF | OF) & which;
  }
  return f;
}

/** Full EFLAGS value with every lazy flag materialized. */
export function readFlags(cpu: Cpu): number {
  const lazy = cpu.lazy[LZ_MASK];
  if (lazy === 0) return cpu.flags;
  return (cpu.flags & ~lazy) | computeLazy(cpu, lazy);
}

/** Materializes the lazy flags into cpu.flags. */
export function settleFlags(cpu: Cpu): void {
  const lazy = cpu.lazy[LZ_MASK];
  if (lazy !== 0) {
    cpu.flags = (cpu.flags & ~lazy) | computeLazy(cpu, lazy);
    cpu.lazy[LZ_MASK] = 0;
  }
}

/**
 * Arithmetic flags (CF, ZF, or a union such as CF | ZF) as their bits.
 * Of a union, only the bits that are lazy are computed: after INC/DEC, CF
 * is valid in `cpu.flags` while the others are lazy.
 */
export function getFlag(cpu: Cpu, flag: number): number {
  const lazy = cpu.lazy[LZ_MASK] & flag;
  if (lazy === 0) return cpu.flags & flag;
  return (cpu.flags & flag & ~lazy) | computeLazy(cpu, lazy);
}

/** Records a lazy result; all six arithmetic flags become lazy. */
export function setLazy(cpu: Cpu, op: number, bits: number, a: number, b: number, res: number): void {
  const lz = cpu.lazy;
  lz[LZ_OP] = op;
  lz[LZ_SIZE] = bits;
  lz[LZ_A] = a;
  lz[LZ_B] = b;
  lz[LZ_RES] = res;
  lz[LZ_MASK] = ARITH_FLAGS;
}

/**
 * Like setLazy, but CF keeps its current value (INC, DEC). CF is
 * materialized first because the new lazy state cannot reproduce it.
 */
export function setLazyKeepCF(cpu: Cpu, op: number, bits: number, a: number, b: number, res: number): void {
  setLazyCarry(cpu, op, bits, a, b, res, getFlag(cpu, CF));
}

/** INC/DEC's lazy state: CF is `cf` (0 or 1), the other five flags lazy. */
export function setLazyCarry(cpu: Cpu, op: number, bits: number, a: number, b: number, res: number, cf: number): void {
  setLazy(cpu, op, bits, a, b, res);
  cpu.lazy[LZ_MASK] = ARITH_FLAGS & ~CF;
  cpu.flags = (cpu.flags & ~CF) | cf;
}

/**
 * Result-based flags (logic ops, shifts): SF/ZF/PF from `res`,
 * CF/AF/OF given explicitly in `cfAfOf`.
 */
export function setResultFlags(cpu: Cpu, bits: number, res: number, cfAfOf: number): void {
  setLazy(cpu, LAZY_RES, bits, cfAfOf, 0, res);
}

/**
 * All six arithmetic flags at once, as `value` (MUL/IMUL, whose ZF no lazy kind describes): nothing stays lazy,
 * and the state they replace is never computed.
 */
export function setArithFlags(cpu: Cpu, value: number): void {
  cpu.flags = (cpu.flags & ~ARITH_FLAGS) | (value & ARITH_FLAGS);
  cpu.lazy[LZ_MASK] = 0;
}

/** Writes arithmetic flags directly (SAHF, POPF, ...): `value`'s bits under `mask` replace the current ones. */
export function writeArithFlags(cpu: Cpu, value: number, mask: number): void {
  settleFlags(cpu);
  cpu.flags = (cpu.flags & ~mask) | (value & mask);
}

/** Condition codes 0-15 of Jcc/SETcc/CMOVcc (the low nibble of the opcode). */
export function testCondition(cpu: Cpu, cc: number): boolean {
  const lz = cpu.lazy;
  // Fast path: a compare/subtract left every flag lazy; decide from its operands directly.
  if (lz[LZ_MASK] === ARITH_FLAGS && lz[LZ_OP] === LAZY_SUB) {
    const sh = 32 - lz[LZ_SIZE];
    let r: boolean;
    switch (cc >> 1) {
      case 1: r = (lz[LZ_A] << sh) >>> sh < (lz[LZ_B] << sh) >>> sh; break; // B
      case 2: r = lz[LZ_RES] << sh === 0; break; // Z
      case 3: r = (lz[LZ_A] << sh) >>> sh <= (lz[LZ_B] << sh) >>> sh; break; // BE
      case 4: r = lz[LZ_RES] << sh < 0; break; // S
      case 6: r = (lz[LZ_A] << sh) >> sh < (lz[LZ_B] << sh) >> sh; break; // L
      case 7: r = (lz[LZ_A] << sh) >> sh <= (lz[LZ_B] << sh) >> sh; break; // LE
      default: return testConditionSlow(cpu, cc);
    }
    return (cc & 1) !== 0 ? !r : r;
  }
  return testConditionSlow(cpu, cc);
}

function testConditionSlow(cpu: Cpu, cc: number): boolean {
  let r: boolean;
  switch (cc >> 1) {
    case 0: r = getFlag(cpu, OF) !== 0; break; // O
    case 1: r = getFlag(cpu, CF) !== 0; break; // B
    case 2: r = getFlag(cpu, ZF) !== 0; break; // Z
    case 3: r = getFlag(cpu, CF | ZF) !== 0; break; // BE
    case 4: r = getFlag(cpu, SF) !== 0; break; // S
    case 5: r = getFlag(cpu, PF) !== 0; break; // P
    case 6: { const f = getFlag(cpu, SF | OF); r = (f === SF) || (f === OF); break; } // L
    default: { const f = getFlag(cpu, SF | OF | ZF); r = (f & ZF) !== 0 || ((f & SF) !== 0) !== ((f & OF) !== 0); } // LE
  }
  return (cc & 1) !== 0 ? !r : r;
}
