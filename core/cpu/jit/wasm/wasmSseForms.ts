/**
 * The SSE2 forms of libc's string code in WebAssembly regions (wasmRegion.ts
 * MemberWriter), as WebAssembly SIMD over the XMM registers in the state
 * area (the JavaScript back end's sseForms.ts).
 */
import { REP_E, REP_NONE, type Insn } from '../../insn.ts';
import { Op, Simd } from './encoder.ts';
import type { MemberWriter } from './wasmRegion.ts';

/** The address of XMM register n's bytes. */
export function xmm(m: MemberWriter, n: number): void {
  m.fn.i32(m.w.at.xmm + 16 * n);
}

/**
 * The SSE2 integer register forms sseForms.ts translates (libc's string
 * code: MOVD xmm, r32; PXOR; PCMPEQB; PMOVMSKB; PUNPCKLBW; PSHUFD), as
 * WebAssembly SIMD over the XMM registers in the state area; the
 * handler when the gate is closed (its #UD or #NM).
 */
export function sseRegister(m: MemberWriter, i: Insn): boolean {
  if (!i.p66 || i.rep !== REP_NONE) return false;
  const fn = m.fn, d = i.reg, s = i.rm;
  const load = (n: number) => { xmm(m, n); fn.v128(Simd.v128Load); };
  const binary = (body: () => void) => () => { xmm(m, d); load(d); load(s); body(); fn.v128(Simd.v128Store); };
  let body: () => void;
  switch (i.opcode) {
    case 0x16e: // MOVD xmm, r32: zero-extended to 128 bits
      body = () => {
        xmm(m, d); m.get(s); fn.store(Op.i32Store);
        for (let k = 1; k < 4; k++) { xmm(m, d); fn.i32(0).store(Op.i32Store, 4 * k); }
      };
      break;
    case 0x1ef: body = binary(() => fn.simd(Simd.v128Xor)); break; // PXOR
    case 0x174: body = binary(() => fn.simd(Simd.i8x16Eq)); break; // PCMPEQB
    case 0x160: // PUNPCKLBW: bytes of the low qwords interleaved, destination's first
      body = binary(() => fn.shuffle(Array.from({ length: 16 }, (_, k) => (k >> 1) + (k & 1 ? 16 : 0))));
      break;
    case 0x170: // PSHUFD xmm, xmm, imm8
      body = () => {
        xmm(m, d); load(s); load(s);
        fn.shuffle(Array.from({ length: 16 }, (_, k) => 4 * ((i.imm >> (2 * (k >> 2))) & 3) + (k & 3)));
        fn.v128(Simd.v128Store);
      };
      break;
    case 0x1d7: // PMOVMSKB r32, xmm: the 16 byte top bits
      body = () => { load(s); fn.simd(Simd.i8x16Bitmask); m.set(d); };
      break;
    default:
      return false;
  }
  m.fastOrHandler(i, () => m.sseGate(), body);
  return true;
}

/**
 * MOVDQA, MOVDQU and MOVD xmm from memory (sseForms.ts sseLoadForm): inline
 * when the gate is open and the operand is inside the segment's read
 * limits, aligned (16 bytes for MOVDQA, a dword otherwise) in one page
 * and readable through the TLB; all bytes are read before the register is
 * written. Otherwise the handler (gate faults, #GP, #PF, a device).
 */
export function sseLoad(m: MemberWriter, i: Insn): boolean {
  if (!i.a32) return false;
  const movdqa = i.opcode === 0x16f && i.p66 && i.rep === REP_NONE;
  const movdqu = i.opcode === 0x16f && !i.p66 && i.rep === REP_E;
  const movd = i.opcode === 0x16e && i.p66 && i.rep === REP_NONE;
  if (!movdqa && !movdqu && !movd) return false;
  const fn = m.fn, w = m.w;
  const cond = () => {
    m.sseGate();
    m.fastAccess(i, movd ? 4 : 16, false, movdqa ? 15 : 3);
    fn.op(Op.i32And);
  };
  const body = () => {
    if (movd) {
      m.host(); fn.load(Op.i32Load).set(w.v);
      xmm(m, i.reg); fn.get(w.v).store(Op.i32Store);
      for (let k = 1; k < 4; k++) { xmm(m, i.reg); fn.i32(0).store(Op.i32Store, 4 * k); }
    } else {
      xmm(m, i.reg); m.host(); fn.v128(Simd.v128Load).v128(Simd.v128Store);
    }
  };
  m.fastOrHandler(i, cond, body);
  return true;
}
