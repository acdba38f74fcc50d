/**
 * Data movement, bitwise logic, shuffles and unpacks of SSE/SSE2 on XMM
 * registers: MOVAPS/MOVUPS/MOVAPD/MOVUPD/MOVDQA/MOVDQU, MOVSS/MOVSD,
 * MOVLPS/MOVHPS/MOVLPD/MOVHPD/MOVHLPS/MOVLHPS, MOVD/MOVQ, MOVMSKPS/PD,
 * PMOVMSKB, the non-temporal stores (MOVNTPS/PD, MOVNTDQ, MOVNTI,
 * MASKMOVDQU: stores like any other here, there is no cache to bypass),
 * AND/ANDN/OR/XOR (PS, PD and the P-integer forms), SHUFPS/PD,
 * UNPCKL/HPS/PD, PSHUFD/HW/LW, PINSRW, PEXTRW.
 * None of them signals a SIMD floating-point exception; the aligned forms
 * raise #GP(0) for a misaligned 16-byte memory operand.
 */
import type { Cpu } from '../cpu.ts';
import type { Insn } from '../insn.ts';
import { EDI } from '../regs.ts';
import { readMem, readRm, sseGate, writeMem } from './operands.ts';

const out = new Uint32Array(4);
const out16 = new Uint16Array(out.buffer);

/** xmm(reg) <- r/m, 16 bytes (MOVAPS/MOVUPS/MOVAPD/MOVUPD/MOVDQA/MOVDQU). */
export function load128(cpu: Cpu, i: Insn, aligned: boolean): void {
  sseGate(cpu);
  cpu.sse.xmm.set(readRm(cpu, i, 4, aligned), i.reg * 4);
}

/** r/m <- xmm(reg), 16 bytes (the store forms and MOVNTPS/MOVNTPD/MOVNTDQ). */
export function store128(cpu: Cpu, i: Insn, aligned: boolean): void {
  sseGate(cpu);
  const x = cpu.sse.xmm;
  if (i.mod === 3) x.copyWithin(i.rm * 4, i.reg * 4, i.reg * 4 + 4);
  else writeMem(cpu, i, x, 4, aligned, i.reg * 4);
}

/**
 * MOVSS/MOVSD xmm, xmm/m (dwords: 1 or 2): register to register moves the
 * low element and keeps the rest; from memory the rest is cleared.
 * MOVQ xmm, xmm/m64 (F3 0F 7E) clears the high qword in both forms (`zeroReg`).
 */
export function loadLow(cpu: Cpu, i: Insn, dwords: number, zeroReg = false): void {
  sseGate(cpu);
  const x = cpu.sse.xmm, d = i.reg * 4;
  const b = readRm(cpu, i, dwords, false);
  if (i.mod === 3 && !zeroReg) {
    for (let k = 0; k < dwords; k++) x[d + k] = b[k];
    return;
  }
  for (let k = 0; k < 4; k++) x[d + k] = k < dwords ? b[k] : 0;
}

/**
 * MOVSS/MOVSD xmm/m, xmm: the low element. MOVQ xmm/m64, xmm (66 0F D6)
 * clears the destination register's high qword (`zeroReg`).
 */
export function storeLow(cpu: Cpu, i: Insn, dwords: number, zeroReg = false): void {
  sseGate(cpu);
  const x = cpu.sse.xmm, s = i.reg * 4;
  if (i.mod === 3) {
    const d = i.rm * 4;
    for (let k = 0; k < dwords; k++) x[d + k] = x[s + k];
    if (zeroReg) for (let k = dwords; k < 4; k++) x[d + k] = 0;
    return;
  }
  writeMem(cpu, i, x, dwords, false, s);
}

/** MOVLPS/MOVLPD xmm, m64 (half 0) and MOVHPS/MOVHPD xmm, m64 (half 1): the other half kept. */
export function loadHalf(cpu: Cpu, i: Insn, half: number): void {
  sseGate(cpu);
  const b = readMem(cpu, i, 2, false);
  const x = cpu.sse.xmm, d = i.reg * 4 + 2 * half;
  x[d] = b[0];
  x[d + 1] = b[1];
}

/** MOVLPS/MOVLPD m64, xmm (half 0) and MOVHPS/MOVHPD m64, xmm (half 1). */
export function storeHalf(cpu: Cpu, i: Insn, half: number): void {
  sseGate(cpu);
  writeMem(cpu, i, cpu.sse.xmm, 2, false, i.reg * 4 + 2 * half);
}

/** MOVHLPS (from 1 to 0) and MOVLHPS (from 0 to 1): xmm(reg).half[to] <- xmm(rm).half[from]. */
export function moveHalfReg(cpu: Cpu, i: Insn, from: number, to: number): void {
  sseGate(cpu);
  const x = cpu.sse.xmm, s = i.rm * 4 + 2 * from, d = i.reg * 4 + 2 * to;
  const lo = x[s], hi = x[s + 1];
  x[d] = lo;
  x[d + 1] = hi;
}

/** MOVD xmm, r/m32: zero-extended. */
export function movdToXmm(cpu: Cpu, i: Insn): void {
  sseGate(cpu);
  const v = cpu.readRm32(i);
  const x = cpu.sse.xmm, d = i.reg * 4;
  x[d] = v; x[d + 1] = 0; x[d + 2] = 0; x[d + 3] = 0;
}

/** MOVD r/m32, xmm. */
export function movdFromXmm(cpu: Cpu, i: Insn): void {
  sseGate(cpu);
  cpu.writeRm32(i, cpu.sse.xmm[i.reg * 4] | 0);
}

/** MOVMSKPS (dwords) / MOVMSKPD (qwords) r32, xmm: the sign bits. */
export function movmsk(cpu: Cpu, i: Insn, double: boolean): void {
  sseGate(cpu);
  const x = cpu.sse.xmm, s = i.rm * 4;
  cpu.regs[i.reg] = double
    ? (x[s + 1] >>> 31) | ((x[s + 3] >>> 31) << 1)
    : (x[s] >>> 31) | ((x[s + 1] >>> 31) << 1) | ((x[s + 2] >>> 31) << 2) | ((x[s + 3] >>> 31) << 3);
}

/** PMOVMSKB r32, xmm: the sign bits of the 16 bytes. */
export function pmovmskb(cpu: Cpu, i: Insn): void {
  sseGate(cpu);
  const x = cpu.sse.xmm, s = i.rm * 4;
  let m = 0;
  for (let k = 0; k < 16; k++) m |= ((x[s + (k >> 2)] >>> (8 * (k & 3) + 7)) & 1) << k;
  cpu.regs[i.reg] = m;
}

/** MOVNTI m32, r32 (SSE2; a general-register store: no CR0/CR4 conditions). */
export function movnti(cpu: Cpu, i: Insn): void {
  cpu.write32(i.seg, cpu.ea(i), cpu.regs[i.reg]);
}

/**
 * MASKMOVDQU xmm1, xmm2: the bytes of xmm1 whose mask byte in xmm2 has its
 * top bit set are stored at DS:EDI/DI (a segment override applies). The 16
 * bytes are checked before any is stored; an all-zero mask stores nothing
 * and checks nothing.
 */
export function maskmovdqu(cpu: Cpu, i: Insn): void {
  sseGate(cpu);
  const x = cpu.sse.xmm, s = i.reg * 4, m = i.rm * 4;
  let mask = 0;
  for (let k = 0; k < 16; k++) mask |= ((x[m + (k >> 2)] >>> (8 * (k & 3) + 7)) & 1) << k;
  if (mask === 0) return;
  const off = i.a32 ? cpu.regs[EDI] : cpu.regs[EDI] & 0xffff;
  const lin = cpu.rmwAddress(i.seg, off, 16);
  for (let k = 0; k < 16; k++) if ((mask >> k) & 1) cpu.writeLin8((lin + k) | 0, x[s + (k >> 2)] >>> (8 * (k & 3)));
}

/** Bitwise logic xmm(reg) <- xmm(reg) op r/m (m128 aligned). */
export function logic(cpu: Cpu, i: Insn, op: number): void {
  sseGate(cpu);
  const b = readRm(cpu, i, 4, true);
  const x = cpu.sse.xmm, d = i.reg * 4;
  for (let k = 0; k < 4; k++) {
    const a = x[d + k];
    x[d + k] = op === LOGIC_AND ? a & b[k] : op === LOGIC_ANDN ? ~a & b[k] : op === LOGIC_OR ? a | b[k] : a ^ b[k];
  }
}
export const LOGIC_AND = 0, LOGIC_ANDN = 1, LOGIC_OR = 2, LOGIC_XOR = 3;

/** SHUFPS xmm, xmm/m128, imm8. */
export function shufps(cpu: Cpu, i: Insn): void {
  sseGate(cpu);
  const b = readRm(cpu, i, 4, true);
  const x = cpu.sse.xmm, d = i.reg * 4, m = i.imm;
  out[0] = x[d + (m & 3)]; out[1] = x[d + ((m >> 2) & 3)]; out[2] = b[(m >> 4) & 3]; out[3] = b[(m >> 6) & 3];
  x.set(out, d);
}

/** SHUFPD xmm, xmm/m128, imm8. */
export function shufpd(cpu: Cpu, i: Insn): void {
  sseGate(cpu);
  const b = readRm(cpu, i, 4, true);
  const x = cpu.sse.xmm, d = i.reg * 4, m = i.imm;
  const a0 = 2 * (m & 1), b0 = 2 * ((m >> 1) & 1);
  out[0] = x[d + a0]; out[1] = x[d + a0 + 1]; out[2] = b[b0]; out[3] = b[b0 + 1];
  x.set(out, d);
}

/**
 * Interleaves elements of `size` dwords (1: UNPCKL/HPS, PUNPCKL/HDQ; 2:
 * UNPCKL/HPD, PUNPCKL/HQDQ) from the low (`high` false) or high halves.
 */
export function unpackDwords(cpu: Cpu, i: Insn, size: number, high: boolean): void {
  sseGate(cpu);
  const b = readRm(cpu, i, 4, true);
  const x = cpu.sse.xmm, d = i.reg * 4, h = high ? 2 : 0;
  if (size === 1) {
    out[0] = x[d + h]; out[1] = b[h]; out[2] = x[d + h + 1]; out[3] = b[h + 1];
  } else {
    out[0] = x[d + h]; out[1] = x[d + h + 1]; out[2] = b[h]; out[3] = b[h + 1];
  }
  x.set(out, d);
}

/** PSHUFD xmm, xmm/m128, imm8. */
export function pshufd(cpu: Cpu, i: Insn): void {
  sseGate(cpu);
  const b = readRm(cpu, i, 4, true);
  for (let k = 0; k < 4; k++) out[k] = b[(i.imm >> (2 * k)) & 3];
  cpu.sse.xmm.set(out, i.reg * 4);
}

/** PSHUFHW (high: words 4-7 shuffled) / PSHUFLW (words 0-3) xmm, xmm/m128, imm8; the other qword copied. */
export function pshufw(cpu: Cpu, i: Insn, high: boolean): void {
  sseGate(cpu);
  const b = readRm(cpu, i, 4, true);
  out.set(b);
  const b16 = new Uint16Array(b.buffer, b.byteOffset, 8);
  const base = high ? 4 : 0;
  for (let k = 0; k < 4; k++) out16[base + k] = b16[base + ((i.imm >> (2 * k)) & 3)];
  cpu.sse.xmm.set(out, i.reg * 4);
}

/** PINSRW xmm, r32/m16, imm8. */
export function pinsrw(cpu: Cpu, i: Insn): void {
  sseGate(cpu);
  const v = i.mod === 3 ? cpu.regs[i.rm] & 0xffff : cpu.read16(i.seg, cpu.ea(i));
  const x = cpu.sse.xmm, w = i.imm & 7, k = i.reg * 4 + (w >> 1), sh = 16 * (w & 1);
  x[k] = (x[k] & ~(0xffff << sh)) | (v << sh);
}

/** PEXTRW r32, xmm, imm8 (register form only). */
export function pextrw(cpu: Cpu, i: Insn): void {
  sseGate(cpu);
  const w = i.imm & 7;
  cpu.regs[i.reg] = (cpu.sse.xmm[i.rm * 4 + (w >> 1)] >>> (16 * (w & 1))) & 0xffff;
}
