/**
 * Arithmetic forms of WebAssembly regions (wasmRegion.ts MemberWriter) that
 * write flags directly (MemberWriter.writeFlags: IMUL, ROL/ROR, BT*, BSF/
 * BSR) or store a lazy state of a kind the flag states in locals lack
 * (MemberWriter.storeLazy: ADC/SBB, shifts by CL), and DIV: the
 * interpreter's muldiv.ts, shift.ts, bits.ts and alu.ts, as the JavaScript
 * back end's arithForms.ts translates them.
 */
import type { Insn } from '../../insn.ts';
import { LAZY_ADC, LAZY_ADD, LAZY_RES, LAZY_SBB, LAZY_SUB } from '../../flags.ts';
import { ALU_ADC } from '../../ops/alu.ts';
import { ARITH_FLAGS, CF, OF, PF, ZF } from '../../regs.ts';
import { FLAGS_IN_CPU } from '../flagCode.ts';
import { Op } from './encoder.ts';
import type { MemberWriter } from './wasmRegion.ts';

/** The shift opcodes shiftByCl takes a bit out with. */
type Op32Shift = typeof Op.i32ShrU | typeof Op.i32ShrS;

/**
 * IMUL r32 = a * b (muldiv.ts imulTrunc32): the low half; CF = OF = the
 * product does not fit in 32 bits, SF and PF from the low half, ZF = AF =
 * 0, all written directly (setMulFlags).
 */
export function imul(m: MemberWriter, dst: number, a: () => void, b: () => void): boolean {
  const fn = m.fn, w = m.w;
  a(); fn.set(w.x); b(); fn.set(w.mv);
  fn.get(w.x).get(w.mv).op(Op.i32Mul).set(w.p);
  m.writeFlags(ARITH_FLAGS, () => {
    fn.get(w.x).op(Op.i64ExtendI32S).get(w.mv).op(Op.i64ExtendI32S).op(Op.i64Mul).get(w.p).op(Op.i64ExtendI32S).op(Op.i64Ne).i32(CF | OF).op(Op.i32Mul);
    fn.get(w.p).i32(31).op(Op.i32ShrU).i32(7).op(Op.i32Shl).op(Op.i32Or);
    m.parity(w.p); fn.op(Op.i32Or);
  });
  fn.get(w.p); m.set(dst);
  return true;
}

/**
 * DIV r/m32 (muldiv.ts div32): EDX:EAX by the divisor `d()` pushes; a
 * divisor of 0 or a quotient over 32 bits (EDX >= divisor) is the
 * handler's #DE (the hand-over). No flag changes.
 */
export function divide(m: MemberWriter, d: () => void): boolean {
  const fn = m.fn, w = m.w;
  d(); fn.set(w.x);
  m.get(2); fn.get(w.x).op(Op.i32LtU);
  m.orHandOver();
  m.get(2); fn.op(Op.i64ExtendI32U).i32(32).op(Op.i64ExtendI32U).op(Op.i64Shl);
  m.get(0); fn.op(Op.i64ExtendI32U).op(Op.i64Or).set(w.n64);
  fn.get(w.n64).get(w.x).op(Op.i64ExtendI32U).op(Op.i64RemU).op(Op.i32WrapI64).set(w.p);
  fn.get(w.n64).get(w.x).op(Op.i64ExtendI32U).op(Op.i64DivU).op(Op.i32WrapI64); m.set(0);
  fn.get(w.p); m.set(2);
  return true;
}

/** ROL or ROR r32 by `n` (1..31; shift.ts shiftCompute): only CF and OF change, written directly. */
export function rotate(m: MemberWriter, r: number, right: boolean, n: number): boolean {
  const fn = m.fn, w = m.w;
  m.get(r); fn.set(w.x);
  fn.get(w.x).i32(n).op(right ? Op.i32Rotr : Op.i32Rotl).set(w.p);
  m.writeFlags(CF | OF, () => {
    if (right) { // CF = the result's top bit, OF = the operand's top bit ^ its bottom bit
      fn.get(w.p).i32(31).op(Op.i32ShrU);
      fn.get(w.x).i32(31).op(Op.i32ShrU).get(w.x).op(Op.i32Xor).i32(1).op(Op.i32And).i32(11).op(Op.i32Shl).op(Op.i32Or);
    } else { // CF = the result's bottom bit, OF = the operand's two top bits differ
      fn.get(w.p).i32(1).op(Op.i32And);
      fn.get(w.x).get(w.x).i32(1).op(Op.i32Shl).op(Op.i32Xor).i32(31).op(Op.i32ShrU).i32(11).op(Op.i32Shl).op(Op.i32Or);
    }
  });
  fn.get(w.p); m.set(r);
  return true;
}

/**
 * BT, BTS, BTR, BTC (`kind` 0-3) on r/m32 with the bit `bit()` pushes
 * (0-31; bits.ts): CF = the bit before, written directly; BTS/BTR/BTC
 * on memory read-modify-write.
 */
export function bitTest(m: MemberWriter, i: Insn, kind: number, bit: () => void): boolean {
  const fn = m.fn, w = m.w, reg = i.mod === 3;
  const apply = (value: number) => {
    // x = the value with the bit applied (BTS sets, BTR clears, BTC flips it)
    fn.get(value).i32(1); fn.get(w.lin).op(Op.i32Shl);
    if (kind === 2) fn.i32(-1).op(Op.i32Xor).op(Op.i32And); else fn.op(kind === 1 ? Op.i32Or : Op.i32Xor);
    fn.set(w.x);
  };
  const carry = (value: number) => m.writeFlags(CF, () => { fn.get(value).get(w.lin).op(Op.i32ShrU).i32(1).op(Op.i32And); });
  if (kind === 0) {
    if (!reg && !m.read(i, 4)) return false;
    bit(); fn.set(w.lin);
    if (reg) { m.get(i.rm); fn.set(w.v); }
    carry(w.v);
    return true;
  }
  if (reg) {
    bit(); fn.set(w.lin);
    m.get(i.rm); fn.set(w.v);
    apply(w.v); fn.get(w.x); m.set(i.rm);
    carry(w.v);
    return true;
  }
  m.rmw(i, 4, () => {
    // rmw left the old value in mv: keep the bit number in lin, which fastAccess used for the address
    fn.get(w.mv).set(w.v);
    bit(); fn.set(w.lin);
    apply(w.v);
    carry(w.v);
    return w.x;
  });
  return true;
}

/**
 * BSF or BSR r32, r/m32 (bits.ts bitScan): a zero source leaves the
 * destination alone with ZF and PF set; otherwise the bit's index, PF of
 * it; the other arithmetic flags clear, all written directly.
 */
export function bitScan(m: MemberWriter, dst: number, reverse: boolean, src: () => void): boolean {
  const fn = m.fn, w = m.w;
  src(); fn.set(w.v);
  if (reverse) fn.i32(31).get(w.v).op(Op.i32Clz).op(Op.i32Sub); else fn.get(w.v).op(Op.i32Ctz);
  fn.set(w.p);
  m.writeFlags(ARITH_FLAGS, () => { fn.i32(ZF | PF); m.parity(w.p); fn.get(w.v).op(Op.i32Eqz).op(Op.select); });
  m.get(dst); fn.get(w.p).get(w.v).op(Op.i32Eqz).op(Op.select); m.set(dst);
  return true;
}

/**
 * ADC or SBB (`alu` 2 or 3) of register `dst` and `b()` (alu.ts): the
 * carry in from the flag state, the lazy state LAZY_ADC/LAZY_SBB when it
 * was set, else LAZY_ADD/LAZY_SUB (stored: storeLazy).
 */
export function carryOp(m: MemberWriter, alu: number, dst: number, b: () => void): boolean {
  const fn = m.fn, w = m.w, add = alu === ALU_ADC;
  m.carry(m.flags); fn.set(w.fcf);
  m.get(dst); fn.set(w.fa); b(); fn.set(w.fb);
  fn.get(w.fa).get(w.fb).op(add ? Op.i32Add : Op.i32Sub).get(w.fcf).op(add ? Op.i32Add : Op.i32Sub).set(w.fr);
  m.storeLazy(() => { fn.i32(add ? LAZY_ADC : LAZY_SBB).i32(add ? LAZY_ADD : LAZY_SUB).get(w.fcf).op(Op.select); }, 32);
  fn.get(w.fr); m.set(dst);
  return true;
}

/**
 * SHL/SAL/SHR/SAR (`kind` 4-7) of register r by CL (shift.ts
 * shiftCompute): a count of 0 (CL & 31) changes nothing, flags included,
 * so the flag state goes to the CPU first and a shift by 1-31 stores its
 * own there (storeLazy: LAZY_RES, CF and OF in the first operand as for
 * the immediate forms).
 */
export function shiftByCl(m: MemberWriter, r: number, kind: number): boolean {
  const fn = m.fn, w = m.w;
  m.flagWriteback();
  m.flags = FLAGS_IN_CPU;
  m.get(1); fn.i32(31).op(Op.i32And).tee(w.lin);
  fn.begin(Op.if); m.depth++;
  m.get(r); fn.set(w.x).i32(0).set(w.fb);
  const bit = (shift: Op32Shift, by: () => void) => { fn.get(w.x); by(); fn.op(shift).i32(1).op(Op.i32And); };
  const n = () => { fn.get(w.lin); }, less1 = () => { fn.get(w.lin).i32(1).op(Op.i32Sub); };
  if (kind === 5) { // SHR: CF the last bit out, OF the operand's top bit
    fn.get(w.x).get(w.lin).op(Op.i32ShrU).set(w.fr);
    bit(Op.i32ShrU, less1); fn.get(w.x).i32(31).op(Op.i32ShrU).i32(11).op(Op.i32Shl).op(Op.i32Or).set(w.fa);
  } else if (kind === 7) { // SAR: CF the last bit out, OF clear
    fn.get(w.x).get(w.lin).op(Op.i32ShrS).set(w.fr);
    bit(Op.i32ShrS, less1); fn.set(w.fa);
  } else { // SHL, SAL: CF the last bit out, OF from the first step
    fn.get(w.x).get(w.lin).op(Op.i32Shl).set(w.fr);
    bit(Op.i32ShrU, () => { fn.i32(32); n(); fn.op(Op.i32Sub); });
    fn.get(w.x).get(w.x).i32(1).op(Op.i32Shl).op(Op.i32Xor).i32(31).op(Op.i32ShrU).i32(11).op(Op.i32Shl).op(Op.i32Or).set(w.fa);
  }
  m.storeLazy(() => { fn.i32(LAZY_RES); }, 32);
  fn.get(w.fr); m.set(r);
  fn.end(); m.depth--;
  return true;
}
