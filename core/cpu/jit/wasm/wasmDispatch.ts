/**
 * The dispatch loop of WebAssembly regions: after a region returns, it finds
 * the member at the EIP it left for, the way the run loop's fetchBlock
 * would (CS limit, the TLB's execute permission for the CPL, the physical
 * address, then a block decoded there with this EIP, code segment base and
 * default size), in a jump cache the compiler fills with every member it
 * compiles, and enters that member's region through the function table
 * (call_indirect), without going back to JavaScript. It goes back when the
 * run loop has to decide: the budget is used up, the region asked for it
 * (JIT_CALLED: a handler changed what the run loop checks, or the region
 * handed an instruction over to it), an interrupt may be taken at a
 * boundary (`once`), the member is not in
 * the cache or no longer live, or the next region assumes flat segments
 * that are not (its guard is the run loop's, through wasmRuntime.ts).
 * jit.ts's history (stop 33) measured why the loop must be in WebAssembly:
 * a call from JavaScript into WebAssembly costs what a JS call does.
 *
 * Signature: dispatch(member, left, tb, fetchBit, once, cs32, csBase,
 * csLimit, flatMask) -> the last member's instructions retired, with the
 * state slots as the last region leaves them (wasmRegion.ts): JIT_RETIRED
 * the instructions before its last member not on the clock yet, those of
 * earlier regions included (each region gets them and puts them on the
 * clock at its first call out).
 */
import { TLB_NOEXEC } from '../../tlb.ts';
import { I32, ModuleBuilder, Op } from './encoder.ts';
import { JIT_CALLED, JIT_EIP, JIT_LEFT, JIT_RETIRED, JIT_STEPS } from './wasmRegion.ts';
import { JUMP_CACHE_ENTRIES, JUMP_CACHE_ENTRY_BYTES } from '../../../memory/processorMemory.ts';

/** Byte addresses of what the loop reads, and the memory's size. */
export interface DispatchLayout {
  tlbRead: number;
  jitState: number;
  live: number;
  regionOf: number;
  jumpCache: number;
  pages: number;
  /** Count every region call in JIT_STEPS (the measurement tools'). */
  countSteps: boolean;
}

/**
 * A jump cache entry: physical address of the code, EIP, CS base, CS default size | 2 (0: empty), member, and
 * the member's region (table index) and the flat segments that region assumes, so that one cache line holds
 * all the loop reads for the next region but the member's liveness.
 */
export const JC_KEY = 0, JC_EIP = 1, JC_CS_BASE = 2, JC_CS32 = 3, JC_MEMBER = 4, JC_REGION = 5, JC_NEED = 6;

/**
 * The slot of the code at linear address `lin` (CS base + EIP) in the jump
 * cache: by the linear address, not the physical one the entry holds, so
 * that the loop loads the entry and the TLB entry at once instead of one
 * after the other (the entry's load was 40% of the loop's samples).
 */
export function jumpCacheSlot(lin: number): number {
  return ((lin ^ (lin >>> 12)) & (JUMP_CACHE_ENTRIES - 1)) >>> 0;
}

/** The dispatch module's bytes. */
export function dispatchModule(at: DispatchLayout): Uint8Array<ArrayBuffer> {
  const m = new ModuleBuilder();
  const regionType = m.type([I32, I32, I32, I32, I32], [I32]);
  m.importTable('cpu', 'regions', 1);
  m.importMemory('cpu', 'memory', at.pages, true);
  const fn = m.addFunction(m.type([I32, I32, I32, I32, I32, I32, I32, I32, I32], [I32]));
  const [MEMBER, LEFT, TB, FB, ONCE, CS32, CS_BASE, CS_LIMIT, FLAT] = [0, 1, 2, 3, 4, 5, 6, 7, 8];
  const [d, carry, x, eip, lin, e, key, ent, next, need, region] = Array.from({ length: 11 }, () => fn.local());
  const s = at.jitState;
  const slot = (n: number) => s + 4 * n;
  fn.get(MEMBER).i32(2).op(Op.i32Shl).load(Op.i32Load, at.regionOf).set(region);
  fn.begin(Op.block).begin(Op.loop);
  // The member's region, with the instructions of the regions before it that are not on the clock yet (its
  // syncs put them there: a fault in it must find them counted), then back here with its exit in the state slots.
  fn.get(MEMBER).get(LEFT).get(TB).get(ONCE).get(carry)
    .get(region).callIndirect(regionType).set(d);
  if (at.countSteps) fn.i32(0).i32(0).load(Op.i32Load, slot(JIT_STEPS)).i32(1).op(Op.i32Add).store(Op.i32Store, slot(JIT_STEPS));
  // The run loop decides: a call out, interrupts polled, the budget.
  fn.get(ONCE).i32(0).load(Op.i32Load, slot(JIT_CALLED)).op(Op.i32Or).brIf(1);
  fn.i32(0).load(Op.i32Load, slot(JIT_LEFT)).get(d).op(Op.i32Sub).tee(x).i32(0).op(Op.i32LeS).brIf(1);
  // fetchBlock's lookup: the CS limit, the TLB entry with execute permission, the physical address.
  fn.i32(0).load(Op.i32Load, slot(JIT_EIP)).tee(eip).get(CS_LIMIT).op(Op.i32GtU).brIf(1);
  fn.get(CS_BASE).get(eip).op(Op.i32Add).tee(lin).get(lin).i32(12).op(Op.i32ShrU).op(Op.i32Xor).i32(JUMP_CACHE_ENTRIES - 1).op(Op.i32And)
    .i32(Math.log2(JUMP_CACHE_ENTRY_BYTES)).op(Op.i32Shl).set(ent);
  fn.get(lin).i32(12).op(Op.i32ShrU).i32(2).op(Op.i32Shl).load(Op.i32Load, at.tlbRead).tee(e)
    .get(FB).i32(TLB_NOEXEC).op(Op.i32Or).op(Op.i32And).get(FB).op(Op.i32Ne).brIf(1);
  fn.get(e).i32(~0xfff).op(Op.i32And).get(lin).i32(0xfff).op(Op.i32And).op(Op.i32Or).set(key);
  // The cache entry: the same code address, EIP, CS base and size, a live member.
  fn.get(ent).load(Op.i32Load, at.jumpCache + 4 * JC_KEY).get(key).op(Op.i32Ne).brIf(1);
  fn.get(ent).load(Op.i32Load, at.jumpCache + 4 * JC_EIP).get(eip).op(Op.i32Ne).brIf(1);
  fn.get(ent).load(Op.i32Load, at.jumpCache + 4 * JC_CS_BASE).get(CS_BASE).op(Op.i32Ne).brIf(1);
  fn.get(ent).load(Op.i32Load, at.jumpCache + 4 * JC_CS32).get(CS32).i32(2).op(Op.i32Or).op(Op.i32Ne).brIf(1);
  fn.get(ent).load(Op.i32Load, at.jumpCache + 4 * JC_MEMBER).tee(next).load(Op.i32Load8U, at.live).i32(1).op(Op.i32Ne).brIf(1);
  // The next region's flat segments (its guard, translate.ts flatGuard, is the run loop's business).
  fn.get(ent).load(Op.i32Load, at.jumpCache + 4 * JC_NEED).tee(need).get(FLAT).get(need).op(Op.i32And).op(Op.i32Ne).brIf(1);
  fn.get(ent).load(Op.i32Load, at.jumpCache + 4 * JC_REGION).set(region);
  // Counted as the run loop counts a block it leaves: its instructions off the budget, and on to the clock with
  // what the region left uncounted.
  fn.i32(0).load(Op.i32Load, slot(JIT_RETIRED)).get(d).op(Op.i32Add).set(carry).get(x).set(LEFT).get(next).set(MEMBER);
  fn.br(0).end().end();
  fn.get(d).end();
  m.export('dispatch', m.indexOf(fn));
  m.nameFunction(m.indexOf(fn), 'dispatch');
  return m.encode();
}
