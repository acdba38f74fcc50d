/**
 * MOVS and STOS in WebAssembly regions (wasmRegion.ts MemberWriter): the
 * JavaScript back end's stringForms.ts, with REP's whole count as
 * memory.copy or memory.fill.
 */
import type { Insn } from '../../insn.ts';
import { REP_NONE } from '../../insn.ts';
import { DF, ES, TF } from '../../regs.ts';
import { FLAT_READ, FLAT_WRITE } from '../../segments.ts';
import { Op } from './encoder.ts';
import type { MemberWriter } from './wasmRegion.ts';

/**
 * MOVS and STOS, bytes and dwords, with and without REP (stringForms.ts;
 * ops/string.ts, stringFast.ts): through flat segments only. With REP,
 * the whole count in one step where the handler would do it in one
 * page-chunk: a count from 1 up to what fits, DF and TF clear, the
 * destination (and the source) inside one page each and in the TLB, and
 * the destination not inside the copy above the source (the element loop
 * would repeat what it wrote): memory.copy or memory.fill (a dword STOS
 * as a loop). One element steps by DF's sign. Otherwise the hand-over,
 * before anything changed.
 */
export function stringOp(m: MemberWriter, i: Insn): boolean {
  const op = i.opcode;
  if ((op !== 0xa4 && op !== 0xa5 && op !== 0xaa && op !== 0xab) || !i.a32 || i.lock || ((op & 1) !== 0 && !i.o32)) return false;
  const movs = op < 0xaa, size = (op & 1) === 0 ? 1 : 4;
  if (!m.flatOk((FLAT_WRITE << ES) | (movs ? FLAT_READ << i.seg : 0))) return false;
  const fn = m.fn, w = m.w, at = w.at;
  // Destination: its address in t, its host address in p; source: lin, mv.
  const place = (reg: number, addr: number, tlb: number, host: number, bytes: () => void) => {
    m.get(reg); fn.set(addr);
    m.addr = addr;
    if (i.rep === REP_NONE) m.tlbHit(tlb, size, 0);
    else {
      // The bytes (at most a page: the count was checked) inside the page, and the page in the TLB.
      fn.get(addr).i32(0xfff).op(Op.i32And); bytes(); fn.op(Op.i32Add).i32(0x1000).op(Op.i32LeU);
      m.tlbHit(tlb, 1, 0); fn.op(Op.i32And);
    }
    m.orHandOver();
    m.host(); fn.set(host);
  };
  if (i.rep === REP_NONE) {
    place(7, w.t, at.tlbWrite, w.p, () => {});
    if (movs) {
      place(6, w.lin, at.tlbRead, w.mv, () => {});
      fn.get(w.p).get(w.mv).load(size === 1 ? Op.i32Load8U : Op.i32Load).store(size === 1 ? Op.i32Store8 : Op.i32Store);
    } else {
      fn.get(w.p); m.get(0); fn.store(size === 1 ? Op.i32Store8 : Op.i32Store);
    }
    // x = the step: -size with DF set, else size
    fn.i32(-size).i32(size); m.eflags(); fn.i32(DF).op(Op.i32And).op(Op.select).set(w.x);
    m.get(7); fn.get(w.x).op(Op.i32Add); m.set(7);
    if (movs) { m.get(6); fn.get(w.x).op(Op.i32Add); m.set(6); }
    return true;
  }
  // x = the count, v = the bytes: 1 .. 4096 / size elements with DF and TF clear.
  m.get(1); fn.tee(w.x).i32(1).op(Op.i32Sub).i32(0x1000 / size).op(Op.i32LtU);
  m.eflags(); fn.i32(DF | TF).op(Op.i32And).op(Op.i32Eqz).op(Op.i32And);
  m.orHandOver();
  fn.get(w.x).i32(size === 4 ? 2 : 0).op(Op.i32Shl).set(w.v);
  const bytes = () => { fn.get(w.v); };
  place(7, w.t, at.tlbWrite, w.p, bytes);
  if (movs) {
    place(6, w.lin, at.tlbRead, w.mv, bytes);
    // The destination below the source, or not inside the bytes above it.
    fn.get(w.p).get(w.mv).op(Op.i32LeU).get(w.p).get(w.mv).op(Op.i32Sub).get(w.v).op(Op.i32GeU).op(Op.i32Or);
    m.orHandOver();
    fn.get(w.p).get(w.mv).get(w.v).memoryCopy();
    m.get(6); fn.get(w.v).op(Op.i32Add); m.set(6);
  } else if (size === 1) {
    fn.get(w.p); m.get(0); fn.get(w.v).memoryFill();
  } else {
    // EAX into each dword: p steps by 4 up to p + v (in o).
    fn.get(w.p).get(w.v).op(Op.i32Add).set(w.o);
    fn.begin(Op.loop);
    fn.get(w.p); m.get(0); fn.store(Op.i32Store);
    fn.get(w.p).i32(4).op(Op.i32Add).tee(w.p).get(w.o).op(Op.i32LtU).brIf(0);
    fn.end();
  }
  m.get(7); fn.get(w.v).op(Op.i32Add); m.set(7);
  fn.i32(0); m.set(1);
  return true;
}
