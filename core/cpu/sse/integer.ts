/**
 * The SSE2 integer instructions on XMM registers (66-prefixed 0F 60-76,
 * D1-FE and the shift groups 0F 71-73): wrap-around, saturating and
 * averaging arithmetic, multiplies, compares, packs, unpacks, shifts and
 * PSADBW. Element-wise on little-endian lanes of the 128-bit operands
 * (typed-array views over two staging buffers). A memory operand is always
 * 16 bytes and must be 16-byte aligned. No SIMD floating-point exceptions.
 */
import type { Cpu } from '../cpu.ts';
import type { Insn } from '../insn.ts';
import { readRm, sseGate } from './operands.ts';

/** Staging: A = destination's old value, B = source, R = result. */
const A = new Uint32Array(4), B = new Uint32Array(4), R = new Uint32Array(4);
const a8 = new Uint8Array(A.buffer), b8 = new Uint8Array(B.buffer), r8 = new Uint8Array(R.buffer);
const a8s = new Int8Array(A.buffer), b8s = new Int8Array(B.buffer), r8s = new Int8Array(R.buffer);
const a16 = new Uint16Array(A.buffer), b16 = new Uint16Array(B.buffer), r16 = new Uint16Array(R.buffer);
const a16s = new Int16Array(A.buffer), b16s = new Int16Array(B.buffer), r16s = new Int16Array(R.buffer);
const a32s = new Int32Array(A.buffer), b32s = new Int32Array(B.buffer), r32s = new Int32Array(R.buffer);

/** Computes R from A and B. */
type Body = () => void;

const sat8s = (v: number) => (v > 127 ? 127 : v < -128 ? -128 : v);
const sat8u = (v: number) => (v > 255 ? 255 : v < 0 ? 0 : v);
const sat16s = (v: number) => (v > 32767 ? 32767 : v < -32768 ? -32768 : v);
const sat16u = (v: number) => (v > 65535 ? 65535 : v < 0 ? 0 : v);

function each8(f: (a: number, b: number) => number, signed: boolean): Body {
  return signed ? () => { for (let k = 0; k < 16; k++) r8s[k] = f(a8s[k], b8s[k]); } : () => { for (let k = 0; k < 16; k++) r8[k] = f(a8[k], b8[k]); };
}
function each16(f: (a: number, b: number) => number, signed: boolean): Body {
  return signed ? () => { for (let k = 0; k < 8; k++) r16s[k] = f(a16s[k], b16s[k]); } : () => { for (let k = 0; k < 8; k++) r16[k] = f(a16[k], b16[k]); };
}
function each32(f: (a: number, b: number) => number): Body {
  return () => { for (let k = 0; k < 4; k++) r32s[k] = f(a32s[k], b32s[k]); };
}
/** 64-bit lanes as BigInt (PADDQ, PSUBQ, PMULUDQ). */
function each64(f: (a: bigint, b: bigint) => bigint): Body {
  return () => {
    for (let q = 0; q < 2; q++) {
      const a = (BigInt(A[2 * q + 1]) << 32n) | BigInt(A[2 * q]);
      const b = (BigInt(B[2 * q + 1]) << 32n) | BigInt(B[2 * q]);
      const r = BigInt.asUintN(64, f(a, b));
      R[2 * q] = Number(r & 0xffff_ffffn);
      R[2 * q + 1] = Number(r >> 32n);
    }
  };
}

const mask = (t: boolean) => (t ? -1 : 0);

/** The two-operand integer instructions by their 0F opcode (66 prefix). */
export const INTEGER_BODIES: Record<number, Body> = {
  0x60: () => { for (let k = 0; k < 8; k++) { r8[2 * k] = a8[k]; r8[2 * k + 1] = b8[k]; } }, // PUNPCKLBW
  0x61: () => { for (let k = 0; k < 4; k++) { r16[2 * k] = a16[k]; r16[2 * k + 1] = b16[k]; } }, // PUNPCKLWD
  0x62: () => { R[0] = A[0]; R[1] = B[0]; R[2] = A[1]; R[3] = B[1]; }, // PUNPCKLDQ
  0x63: () => { for (let k = 0; k < 8; k++) { r8s[k] = sat8s(a16s[k]); r8s[k + 8] = sat8s(b16s[k]); } }, // PACKSSWB
  0x64: each8((a, b) => mask(a > b), true), // PCMPGTB
  0x65: each16((a, b) => mask(a > b), true), // PCMPGTW
  0x66: each32((a, b) => mask(a > b)), // PCMPGTD
  0x67: () => { for (let k = 0; k < 8; k++) { r8[k] = sat8u(a16s[k]); r8[k + 8] = sat8u(b16s[k]); } }, // PACKUSWB
  0x68: () => { for (let k = 0; k < 8; k++) { r8[2 * k] = a8[k + 8]; r8[2 * k + 1] = b8[k + 8]; } }, // PUNPCKHBW
  0x69: () => { for (let k = 0; k < 4; k++) { r16[2 * k] = a16[k + 4]; r16[2 * k + 1] = b16[k + 4]; } }, // PUNPCKHWD
  0x6a: () => { R[0] = A[2]; R[1] = B[2]; R[2] = A[3]; R[3] = B[3]; }, // PUNPCKHDQ
  0x6b: () => { for (let k = 0; k < 4; k++) { r16s[k] = sat16s(a32s[k]); r16s[k + 4] = sat16s(b32s[k]); } }, // PACKSSDW
  0x6c: () => { R[0] = A[0]; R[1] = A[1]; R[2] = B[0]; R[3] = B[1]; }, // PUNPCKLQDQ
  0x6d: () => { R[0] = A[2]; R[1] = A[3]; R[2] = B[2]; R[3] = B[3]; }, // PUNPCKHQDQ
  0x74: each8((a, b) => mask(a === b), false), // PCMPEQB
  0x75: each16((a, b) => mask(a === b), false), // PCMPEQW
  0x76: each32((a, b) => mask(a === b)), // PCMPEQD
  0xd4: each64((a, b) => a + b), // PADDQ
  0xd5: each16((a, b) => Math.imul(a, b), true), // PMULLW
  0xd8: each8((a, b) => sat8u(a - b), false), // PSUBUSB
  0xd9: each16((a, b) => sat16u(a - b), false), // PSUBUSW
  0xda: each8((a, b) => Math.min(a, b), false), // PMINUB
  0xdb: () => { for (let k = 0; k < 4; k++) R[k] = A[k] & B[k]; }, // PAND
  0xdc: each8((a, b) => sat8u(a + b), false), // PADDUSB
  0xdd: each16((a, b) => sat16u(a + b), false), // PADDUSW
  0xde: each8((a, b) => Math.max(a, b), false), // PMAXUB
  0xdf: () => { for (let k = 0; k < 4; k++) R[k] = ~A[k] & B[k]; }, // PANDN
  0xe0: each8((a, b) => (a + b + 1) >> 1, false), // PAVGB
  0xe3: each16((a, b) => (a + b + 1) >> 1, false), // PAVGW
  0xe4: each16((a, b) => (a * b) >>> 16, false), // PMULHUW
  0xe5: each16((a, b) => (a * b) >> 16, true), // PMULHW
  0xe8: each8((a, b) => sat8s(a - b), true), // PSUBSB
  0xe9: each16((a, b) => sat16s(a - b), true), // PSUBSW
  0xea: each16((a, b) => Math.min(a, b), true), // PMINSW
  0xeb: () => { for (let k = 0; k < 4; k++) R[k] = A[k] | B[k]; }, // POR
  0xec: each8((a, b) => sat8s(a + b), true), // PADDSB
  0xed: each16((a, b) => sat16s(a + b), true), // PADDSW
  0xee: each16((a, b) => Math.max(a, b), true), // PMAXSW
  0xef: () => { for (let k = 0; k < 4; k++) R[k] = A[k] ^ B[k]; }, // PXOR
  0xf4: () => { // PMULUDQ: the even dwords, unsigned, full 64-bit products
    for (let q = 0; q < 2; q++) {
      const p = BigInt(A[2 * q]) * BigInt(B[2 * q]);
      R[2 * q] = Number(p & 0xffff_ffffn);
      R[2 * q + 1] = Number(p >> 32n);
    }
  },
  0xf5: () => { for (let k = 0; k < 4; k++) r32s[k] = (a16s[2 * k] * b16s[2 * k] + a16s[2 * k + 1] * b16s[2 * k + 1]) | 0; }, // PMADDWD
  0xf6: () => { // PSADBW: per qword, the sum of absolute byte differences in its low word
    R.fill(0);
    for (let q = 0; q < 2; q++) {
      let s = 0;
      for (let k = 0; k < 8; k++) s += Math.abs(a8[8 * q + k] - b8[8 * q + k]);
      R[2 * q] = s;
    }
  },
  0xf8: each8((a, b) => a - b, false), // PSUBB
  0xf9: each16((a, b) => a - b, false), // PSUBW
  0xfa: each32((a, b) => (a - b) | 0), // PSUBD
  0xfb: each64((a, b) => a - b), // PSUBQ
  0xfc: each8((a, b) => a + b, false), // PADDB
  0xfd: each16((a, b) => a + b, false), // PADDW
  0xfe: each32((a, b) => (a + b) | 0), // PADDD
};

/** xmm(reg) <- body(xmm(reg), xmm/m128). */
export function integerOp(cpu: Cpu, i: Insn, body: Body): void {
  sseGate(cpu);
  B.set(readRm(cpu, i, 4, true));
  const x = cpu.sse.xmm, d = i.reg * 4;
  A.set(x.subarray(d, d + 4));
  body();
  x.set(R, d);
}

// ---- shifts ----

export const SHIFT_LEFT = 0, SHIFT_RIGHT = 1, SHIFT_ARITH = 2;

/**
 * Shifts every element of `bits` (16, 32, 64) of A by `count` into R:
 * logical shifts by more than the element width give 0; arithmetic shifts
 * by more fill with the sign.
 */
function shiftElements(bits: number, kind: number, count: number): void {
  if (bits === 64) {
    for (let q = 0; q < 2; q++) {
      const v = (BigInt(A[2 * q + 1]) << 32n) | BigInt(A[2 * q]);
      const r = count > 63 ? 0n : kind === SHIFT_LEFT ? BigInt.asUintN(64, v << BigInt(count)) : v >> BigInt(count);
      R[2 * q] = Number(r & 0xffff_ffffn);
      R[2 * q + 1] = Number(r >> 32n);
    }
    return;
  }
  if (bits === 16) {
    for (let k = 0; k < 8; k++) {
      if (kind === SHIFT_ARITH) r16s[k] = a16s[k] >> Math.min(count, 15);
      else r16[k] = count > 15 ? 0 : kind === SHIFT_LEFT ? a16[k] << count : a16[k] >>> count;
    }
    return;
  }
  for (let k = 0; k < 4; k++) {
    if (kind === SHIFT_ARITH) r32s[k] = a32s[k] >> Math.min(count, 31);
    else R[k] = count > 31 ? 0 : kind === SHIFT_LEFT ? A[k] << count : A[k] >>> count;
  }
}

/** PSRLW/D/Q, PSRAW/D, PSLLW/D/Q xmm, xmm/m128: the count is the source's low qword (unsigned). */
export function shiftByXmm(cpu: Cpu, i: Insn, bits: number, kind: number): void {
  sseGate(cpu);
  const b = readRm(cpu, i, 4, true);
  const count = b[1] !== 0 || b[0] > 255 ? 255 : b[0];
  const x = cpu.sse.xmm, d = i.reg * 4;
  A.set(x.subarray(d, d + 4));
  shiftElements(bits, kind, count);
  x.set(R, d);
}

/** The shift groups 0F 71-73 with imm8 (register operand xmm(rm)). */
export function shiftByImm(cpu: Cpu, i: Insn, bits: number, kind: number): void {
  sseGate(cpu);
  const x = cpu.sse.xmm, d = i.rm * 4;
  A.set(x.subarray(d, d + 4));
  shiftElements(bits, kind, i.imm & 0xff);
  x.set(R, d);
}

/** PSRLDQ / PSLLDQ xmm, imm8: the whole register by bytes (counts above 15 clear it). */
export function shiftBytes(cpu: Cpu, i: Insn, left: boolean): void {
  sseGate(cpu);
  const x = cpu.sse.xmm, d = i.rm * 4;
  A.set(x.subarray(d, d + 4));
  const n = Math.min(i.imm & 0xff, 16);
  for (let k = 0; k < 16; k++) {
    const from = left ? k - n : k + n;
    r8[k] = from >= 0 && from < 16 ? a8[from] : 0;
  }
  x.set(R, d);
}

// ---- 64-bit (MMX register) forms: mmx.ts ----

/** Opcodes whose 64-bit form reads both operands' high dwords (PUNPCKHBW/WD/DQ): the low-unpack body on the high dwords. */
const HIGH_UNPACK: Record<number, number> = { 0x68: 0x60, 0x69: 0x61, 0x6a: 0x62 };
/** The packs: with the source in the high half, the 128-bit body's low qword is the 64-bit result. */
const PACKS = new Set([0x63, 0x67, 0x6b]);

/** The 64-bit form of an integer instruction on dst = (a0, a1), src = (b0, b1); the result in `result64`. */
export function integerOp64(opcode: number, a0: number, a1: number, b0: number, b1: number): void {
  A.fill(0);
  B.fill(0);
  const high = HIGH_UNPACK[opcode];
  if (high !== undefined) {
    A[0] = a1; B[0] = b1;
    INTEGER_BODIES[high]();
  } else if (PACKS.has(opcode)) {
    A[0] = a0; A[1] = a1; A[2] = b0; A[3] = b1;
    INTEGER_BODIES[opcode]();
  } else {
    A[0] = a0; A[1] = a1; B[0] = b0; B[1] = b1;
    INTEGER_BODIES[opcode]();
  }
  result64[0] = R[0];
  result64[1] = R[1];
}

/** The 64-bit shift of (a0, a1) by `count`; the result in `result64`. */
export function shift64(bits: number, kind: number, count: number, a0: number, a1: number): void {
  A.fill(0);
  A[0] = a0; A[1] = a1;
  shiftElements(bits, kind, count);
  result64[0] = R[0];
  result64[1] = R[1];
}

export const result64 = new Uint32Array(2);
