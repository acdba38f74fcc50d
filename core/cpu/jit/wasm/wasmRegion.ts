/**
 * Compiles a region (translate.ts translateRegion: hot blocks that run
 * together, stepping from member to member without the run loop) into one
 * WebAssembly function over the memory the processor runs in, whose state
 * area holds the registers, the lazy flags, the XMM registers and the TLB
 * (core/memory/processorMemory.ts). The design follows translate.ts's, so
 * the two back ends keep one contract with the run loop (translate.ts's
 * file comment): registers in locals, written back at member exits and
 * before every call out; the lazy flags in locals, decided at translation
 * time (flagCode.ts); the TLB fast path inline (segment limits and base
 * inline where a segment is not flat). Unlike translate.ts, an access the
 * fast path cannot make (a TLB miss, a device, a page crossing, a fault to
 * raise) is not made here through the interpreter's accessors: the region
 * returns before the instruction and the run loop interprets the rest of
 * the block (handOver, Cpu.jitResume), since calls on slow paths made
 * TurboFan's code for the fast paths slower (jit.ts history, stop 35).
 *
 * What it translates: the run loop's fast forms (fastForms.ts), the stack
 * ones on a flat 32-bit stack; of translate.ts's further forms the ALU's
 * byte, accumulator, r32, m32 and read-modify-write forms (ADC and SBB on
 * registers and from memory), INC/DEC/NOT/NEG r/m32, INC/DEC r8, XCHG and
 * (LOCK) CMPXCHG m32, TEST with an immediate or memory and TEST r16, MOV
 * with an immediate (MOV r8, imm8 too), the moffs MOVs, MOV r8, r8, 16-bit
 * MOVs, MOVZX and MOVSX, SETcc, CMOVcc, shifts and rotates by immediates,
 * IMUL r32, r/m32 (and with an immediate), DIV r/m32, BT/BTS/BTR/BTC with
 * an immediate (BT r32, r32), BSF/BSR, NOP, CLD/STD, PUSH m32, JMP and
 * CALL r/m32, the SSE2 forms of libc's string code (as WebAssembly SIMD);
 * near jumps within a flat code segment (the arithmetic, string and SSE
 * forms in files of their own: wasmArithForms.ts, wasmStringForms.ts,
 * wasmSseForms.ts). The flags that forms write directly go to EFLAGS in
 * the state area (JIT_EFLAGS). Any other instruction
 * calls its interpreter handler through the region's `handler` import (as
 * translate.ts's handlerCall), up to JitOptions.wasmHandlerCalls per member
 * (a region with a member over that stays JavaScript). INC and DEC hand
 * their flags over as a result-based lazy state with CF, AF and OF
 * computed (setLazyCarry's would write cpu.flags, a field of the Cpu
 * object). The function's tail steps to a member only where JavaScript's
 * would with nothing to check: its budget left, no handler since entry
 * that asked the run loop to look at the CPU, not entered while an
 * interrupt may be taken at a boundary (`once`: one member per entry
 * then), the member one at the target EIP (for a RET or an indirect
 * jump, compared at run time with a few likely EIPs: dynamicTargets) and
 * still live (its liveness byte, Block.jitLive, in the state area); a
 * member on another page than the exit's only while the TLB maps that page
 * where the member was fetched from (memberAt, MemberWriter.pageMapped: the
 * dispatch loop's check, inline). Other exits return to the dispatch loop
 * with what it needs in `cpu.jitState`.
 *
 * Signature: region(member, left, tb, once, retired) -> instructions retired
 * by the last member; `retired` counts instructions run before the region
 * and not on the clock yet (the dispatch loop's earlier regions), which the
 * region adds to the clock with its own at its first handler call; JIT_EIP,
 * JIT_MEMBER, JIT_LEFT, JIT_RETIRED, JIT_CALLED and JIT_RESUME in the state
 * area say the EIP after it, its index, the budget left before it, the
 * instructions retired before it and not yet on the clock, whether the run
 * loop must look at the CPU, and whether it returned before an instruction
 * for the run loop to run. Members are numbered among all the processor's
 * WebAssembly members (from `base`), so that the dispatch loop
 * (wasmDispatch.ts) and the run loop find any member by its number.
 */
import type { Block } from '../../decoder.ts';
import type { Insn } from '../../insn.ts';
import {
  FAST_ALU_R_RM, FAST_ALU_RM_IMM, FAST_ALU_RM_R, FAST_CMP_M32_IMM, FAST_CMP_M32_R, FAST_CMP_M8_IMM, FAST_CMP_R8_M8,
  FAST_CMP_R_M32, FAST_DEC_R, FAST_INC_R, FAST_JCC, FAST_JMP, FAST_LEA, FAST_LOAD32, FAST_LOAD8, FAST_MOV_R_IMM,
  FAST_MOV_R_RM, FAST_MOV_RM_R, FAST_MOVZX8, FAST_STORE32, FAST_STORE8, FAST_TEST_RR, FAST_TEST_RR8, FAST_NONE,
  FAST_PUSH_R, FAST_PUSH_IMM, FAST_CALL, FAST_POP_R, FAST_RET,
} from '../../fastForms.ts';
import { LAZY_ADD, LAZY_RES, LAZY_SUB, LZ_A, LZ_B, LZ_MASK, LZ_OP, LZ_RES, LZ_SIZE } from '../../flags.ts';
import { ALU_ADC, ALU_ADD, ALU_AND, ALU_CMP, ALU_OR, ALU_SBB, ALU_SUB, ALU_XOR } from '../../ops/alu.ts';
import { ARITH_FLAGS, CF, DF, SS } from '../../regs.ts';
import { TLB_NOEXEC } from '../../tlb.ts';
import { FLAT_CS_LIMIT, FLAT_READ, FLAT_STACK32, FLAT_WRITE } from '../../segments.ts';
import { FLAGS_IN_CPU, incDecFlags, lazyFlags, type FlagState } from '../flagCode.ts';
import { memberOnPage, onPage } from '../translate.ts';
import { Code, FunctionBody, I32, I64, ModuleBuilder, Op } from './encoder.ts';
import { bitScan, bitTest, carryOp, divide, imul, rotate, shiftByCl } from './wasmArithForms.ts';
import { sseLoad, sseRegister } from './wasmSseForms.ts';
import { stringOp } from './wasmStringForms.ts';

/** Slots of cpu.jitState (Int32Array) the function leaves for the run loop. */
export const JIT_EIP = 0;
export const JIT_MEMBER = 1;
export const JIT_LEFT = 2;
export const JIT_RETIRED = 3;
/** 1 when the region returned before an instruction for the run loop to run it and the rest of the block (handOver, Cpu.jitResume). */
export const JIT_RESUME = 4;
/** 1 when the region called a handler that asks the run loop to look at the CPU, or handed over: the dispatch loop then returns. */
export const JIT_CALLED = 5;
/** cpu.tlbBit after a handler call (HandlerImport), which the code goes on with. */
export const JIT_TLB_BIT = 6;
/**
 * 1 while SSE instructions run (sse/operands.ts sseGate would pass: CR0.EM
 * and CR0.TS clear, CR4.OSFXSR set), else 0: written by the run loop at
 * every entry and after every handler call (only a handler changes CR0 or
 * CR4 while WebAssembly code runs), read by the SSE forms.
 */
export const JIT_SSE_GATE = 7;
/**
 * EFLAGS while WebAssembly code runs: the run loop stores cpu.flags here at
 * every entry and takes it back at every return, and the handler and
 * condition imports do the same around what they run, so that the code
 * reads and writes the flags that are not lazy (CF under a lazy INC/DEC,
 * DF, and those that IMUL, BT, ROL and the like write directly) without a
 * call out (cpu.flags is a field of the Cpu object).
 */
export const JIT_EFLAGS = 8;
/** Region calls made by the dispatch loop, counted only for the measurement tools (wasmRuntime.ts wasmHooks.countSteps). */
export const JIT_STEPS = 9;

/** What HandlerImport returns: go on; go on to the end of the member, then back to the run loop; stop after the instruction. */
export const HANDLER_GO_ON = 0, HANDLER_END_MEMBER = 1, HANDLER_STOP = 2;

/** Byte addresses in the memory of what the code reads and writes, and the memory's size. */
export interface WasmLayout {
  regs: number;
  lazy: number;
  tlbRead: number;
  tlbWrite: number;
  /** The segment caches: bases, and the offsets valid for reads and for writes (Cpu.segBase, segRLo .. segWHi). */
  segBase: number;
  segRLo: number;
  segRHi: number;
  segWLo: number;
  segWHi: number;
  jitState: number;
  /** XMM0..XMM7, 16 bytes each (core/memory/processorMemory.ts AREA_XMM). */
  xmm: number;
  /** The liveness byte of member `base` (Block.jitLive; the members' bytes follow it). */
  live: number;
  /** The members' indices among all WebAssembly members of the processor start here (wasmDispatch.ts). */
  base: number;
  pages: number;
}

/** The module's imports (jit/wasm/wasmRuntime.ts binds them to a Cpu). */
export interface WasmImports {
  /** flags.ts testCondition, 1 or 0 (EFLAGS from JIT_EFLAGS). */
  condition(cc: number): number;
}

/**
 * The region's own import (wasmRuntime.ts binds it to the region's
 * WasmRegionCode.handlers): runs handler `n`'s instruction through its
 * interpreter handler with the state synced, leaves cpu.eip after it in
 * JIT_EIP and cpu.tlbBit in JIT_TLB_BIT, and returns HANDLER_STOP when the
 * handler asked to end the block (cpu.exitBlock: the interpreter stops
 * there too), HANDLER_END_MEMBER when the run loop must look at the CPU at
 * the next block boundary (what it checks between blocks, or what the
 * dispatch loop and the next member assume: wasmRuntime.ts handlerImport),
 * else HANDLER_GO_ON.
 */
export type HandlerImport = (n: number, k: number, eip: number, member: number, left: number, retired: number) => number;

/** Compiled regions: their module's bytes, the flat segments each assumes (checked at entry as translate.ts's flatGuard). */
export interface WasmModuleCode {
  bytes: Uint8Array<ArrayBuffer>;
  needs: number[];
  /** The instructions called through their interpreter handler (HandlerImport's `n`), the module's regions' in order. */
  handlers: Insn[];
}

// Import function indices (in ModuleBuilder order below).
const F_CONDITION = 0, F_HANDLER = 1;

/**
 * The instructions that load a data or stack segment register and may go
 * on in their block (Insn.opcode, 0x100 | the second byte after 0F): MOV
 * Sreg, POP ES/SS/DS/FS/GS, LES, LDS, LSS, LFS, LGS. Whatever else loads
 * one (far transfers, interrupts, task switches, mode changes) ends the
 * block or sets cpu.exitBlock.
 */
const LOADS_SEGMENT = new Set([0x8e, 0x07, 0x17, 0x1f, 0x1a1, 0x1a9, 0xc4, 0xc5, 0x1b2, 0x1b4, 0x1b5]);

/**
 * The member of `members` that a step from `block` to EIP `target` may
 * enter, or -1: one at that EIP with the block's code segment base and size,
 * on the block's page (memberOnPage: the same linear and physical page, which
 * the block's own fetch vouches for), else on another page, which the step
 * checks at run time (MemberWriter.pageMapped).
 */
function memberAt(block: Block, members: readonly Block[], target: number): number {
  const same = memberOnPage(block, members, target);
  return same >= 0 ? same : members.findIndex((m) => m.eip === target && m.csBase === block.csBase && m.cs32 === block.cs32);
}

/** Parameters and locals of the region function. */
const P_PC = 0, P_LEFT = 1, P_TB = 2, P_ONCE = 3, P_RETIRED = 4;

export class RegionWriter {
  readonly fn: FunctionBody;
  // Locals.
  readonly r: number[] = [];
  readonly o: number; readonly e: number; readonly v: number; readonly fa: number; readonly fb: number; readonly fr: number;
  readonly fcf: number; readonly t: number; readonly g: number; readonly d: number; readonly f: number; readonly dd: number;
  readonly ck: number; readonly x: number; readonly lin: number; readonly p: number; readonly mv: number;
  /** The TLB entry of a member's page checked before stepping to it from another page (MemberWriter.pageMapped). */
  readonly pe: number;
  /** Scratch locals of MemberWriter.cpuCarry. */
  readonly carryLocals: number[];
  /** A 64-bit scratch local (DIV's dividend). */
  readonly n64: number;
  /** Flat bits assumed (flatGuard). */
  need = 0;
  /** Registers any member uses (loaded at entry). */
  readonly used = new Set<number>();
  /** Instructions called through their handler (HandlerImport). */
  readonly handlers: Insn[] = [];

  /**
   * Region `index` of module `m` (whose imports regionImports declared), its handler calls numbered from
   * `handlerBase` among the module's.
   */
  constructor(readonly blocks: readonly Block[], readonly flat: number, readonly at: WasmLayout, readonly maxHandlerCalls: number,
    readonly m: ModuleBuilder, index: number, readonly handlerBase: number) {
    this.fn = m.addFunction(m.type([I32, I32, I32, I32, I32], [I32]));
    for (let n = 0; n < 8; n++) this.r.push(this.fn.local());
    [this.o, this.e, this.v, this.fa, this.fb, this.fr, this.fcf, this.t, this.g, this.d, this.f, this.dd, this.ck, this.x, this.lin, this.p, this.mv, this.pe] =
      Array.from({ length: 18 }, () => this.fn.local());
    this.carryLocals = Array.from({ length: 4 }, () => this.fn.local());
    this.n64 = this.fn.local(I64);
    m.export(`region${index}`, m.indexOf(this.fn));
    m.nameFunction(m.indexOf(this.fn), `region_${blocks[0].eip.toString(16)}`);
  }

  /** Writes the region's function; false if a member has an instruction without a WebAssembly translation. */
  compile(): boolean {
    const members: number[][] = [];
    for (let i = 0; i < this.blocks.length; i++) {
      const w = new MemberWriter(this, i);
      if (!w.translate()) return false;
      members.push(w.code);
      this.handlers.push(...w.handled);
    }
    const fn = this.fn;
    const n = members.length;
    // The instructions of the regions the dispatch loop ran before this one, not on the clock yet: a sync puts them there.
    fn.get(P_RETIRED).set(this.dd);
    for (const reg of [...this.used].sort()) fn.i32(0).load(Op.i32Load, this.at.regs + 4 * reg).set(this.r[reg]);
    fn.begin(Op.loop); // $top
    fn.begin(Op.block); // $tail
    for (let i = n - 1; i >= 0; i--) fn.begin(Op.block); // $m(n-1) .. $m0, innermost last
    fn.get(P_PC).i32(this.at.base).op(Op.i32Sub).brTable(members.map((_, i) => i), 0);
    for (let i = 0; i < n; i++) {
      fn.end(); // $mi: member i's code follows, its exits break to $tail at depth n - 1 - i
      fn.op(...members[i]);
    }
    fn.end(); // $tail
    // Go on to member g where the run loop would run it next with nothing to check in between (file comment).
    fn.get(P_LEFT).get(this.d).op(Op.i32Sub).tee(this.x).i32(0).op(Op.i32GtS)
      .get(P_ONCE).op(Op.i32Eqz).op(Op.i32And)
      .get(this.ck).op(Op.i32Eqz).op(Op.i32And)
      .get(this.g).i32(0).op(Op.i32GeS).op(Op.i32And)
      .begin(Op.if)
      .get(this.g).load(Op.i32Load8U, this.at.live).i32(1).op(Op.i32Eq)
      .begin(Op.if)
      .get(this.x).set(P_LEFT).get(this.dd).get(this.d).op(Op.i32Add).set(this.dd).get(this.g).i32(this.at.base).op(Op.i32Add).set(P_PC)
      .br(2) // $top
      .end().end();
    this.leave(fn, () => fn.get(this.t), () => fn.get(this.f), () => fn.get(this.ck));
    fn.get(this.d).op(Op.return);
    fn.end(); // $top
    fn.op(Op.unreachable).end();
    return true;
  }

  /** Stores what the run loop reads when the function returns: EIP, member, budget, retired count. */
  leave(fn: Code, eip: () => void, member: () => void, called: () => void): void {
    const s = this.at.jitState;
    fn.i32(0); eip(); fn.store(Op.i32Store, s + 4 * JIT_EIP);
    fn.i32(0); member(); fn.i32(this.at.base).op(Op.i32Add).store(Op.i32Store, s + 4 * JIT_MEMBER);
    fn.i32(0); called(); fn.store(Op.i32Store, s + 4 * JIT_CALLED);
    fn.i32(0).get(P_LEFT).store(Op.i32Store, s + 4 * JIT_LEFT);
    fn.i32(0).get(this.dd).store(Op.i32Store, s + 4 * JIT_RETIRED);
  }
}

/**
 * One member's code, written into the region function (its own instruction
 * stream, spliced in by RegionWriter). The form files (wasmArithForms.ts,
 * wasmStringForms.ts, wasmSseForms.ts) write through its members: the
 * function's locals (`w`), registers, flags, memory accesses and exits.
 */
export class MemberWriter {
  readonly w: RegionWriter;
  readonly self: number;
  readonly block: Block;
  /** This member's instruction stream, spliced into the region function's body (its locals are the function's). */
  readonly fn = new Code();
  readonly dirty = new Set<number>();
  flags: FlagState = FLAGS_IN_CPU;
  k = 0;
  /** The instruction without a translation here, when translate() failed. */
  rejected: Insn | null = null;
  /** This member's instructions called through their handler (handlerCall), those on a fast form's slow path too. */
  readonly handled: Insn[] = [];
  /** Handler calls of instructions without a form (JitOptions.wasmHandlerCalls counts them). */
  handlerCalls = 0;
  /** A handler that may load a data or stack segment register ran earlier in the member: none is assumed flat since. */
  afterHandler = false;
  /** Nesting of structured blocks opened inside this member (the depth of $tail from here is depth + members after this one). */
  depth = 0;

  constructor(w: RegionWriter, self: number) {
    this.w = w;
    this.self = self;
    this.block = w.blocks[self];
  }

  get code(): number[] {
    return this.fn.code;
  }

  translate(): boolean {
    const insns = this.block.insns;
    if (insns.length === 0) return false;
    for (let k = 0; k < insns.length; k++) {
      const i = insns[k];
      this.k = k;
      // What a form that gives up after writing code leaves behind is taken back before its handler call.
      const at = this.fn.code.length, dirty = [...this.dirty], flags = this.flags;
      if (this.insn(i, k === insns.length - 1)) continue;
      if (this.handlerCalls >= this.w.maxHandlerCalls) {
        this.rejected = i;
        return false;
      }
      this.fn.code.length = at;
      this.dirty.clear();
      for (const n of dirty) this.dirty.add(n);
      this.flags = flags;
      this.handlerCall(i, k === insns.length - 1);
      if (k === insns.length - 1) return true;
    }
    const last = insns[insns.length - 1];
    if (last.fast !== FAST_JCC && last.fast !== FAST_JMP && last.fast !== FAST_CALL && last.fast !== FAST_RET) this.toTail(insns.length, last.nextEip);
    return true;
  }

  /**
   * An instruction without a translation here, run by its interpreter
   * handler as translate.ts's handlerCall does: registers and flags stored,
   * the state synced (EIP the next instruction's, a CALL's too, as the run
   * loop sets it), the handler, then every register and the TLB bit loaded
   * again, the flags the CPU's, and after an instruction that may load a
   * data or stack segment register (LOADS_SEGMENT) none assumed flat in the
   * rest of the member. What the import returns (HandlerImport): stop,
   * returning with EIP what the handler left; or go on, with `ck` set when
   * the run loop must look at the CPU at the end of the member (the tail
   * then returns to it); a last instruction leaves for the handler's EIP
   * through the tail.
   */
  handlerCall(i: Insn, last: boolean, slowPath = false): void {
    const fn = this.fn, w = this.w, s = w.at.jitState;
    this.handled.push(i);
    if (!slowPath) this.handlerCalls++;
    this.regWriteback();
    this.flagWriteback();
    fn.i32(w.handlerBase + w.handlers.length + this.handled.length - 1);
    this.syncArgs(i.nextEip);
    fn.call(F_HANDLER).tee(w.x);
    fn.i32(0).op(Op.i32Ne).get(w.ck).op(Op.i32Or).set(w.ck);
    fn.i32(0).set(w.dd);
    for (let n = 0; n < 8; n++) { fn.i32(0).load(Op.i32Load, w.at.regs + 4 * n); this.set(n); }
    fn.i32(0).load(Op.i32Load, s + 4 * JIT_TLB_BIT).set(P_TB);
    this.dirty.clear();
    this.flags = FLAGS_IN_CPU;
    if (LOADS_SEGMENT.has(i.opcode)) this.afterHandler = true;
    fn.get(w.x).i32(HANDLER_STOP).op(Op.i32Eq).begin(Op.if);
    w.leave(fn, () => { fn.i32(0).load(Op.i32Load, s + 4 * JIT_EIP); }, () => fn.i32(this.self), () => fn.i32(1));
    fn.i32(this.k + 1).op(Op.return).end();
    if (!last) return;
    fn.i32(0).load(Op.i32Load, s + 4 * JIT_EIP).set(w.t);
    this.toTail(this.k + 1, 'dynamic');
  }

  /**
   * An instruction whose inline code (`body`) covers only the case `cond`
   * pushes (1 or 0) and that otherwise calls its handler (translate.ts
   * fastOrHandler): for instructions that change no arithmetic flag and no
   * general register but through `body`, so that after either path the
   * member goes on with its registers and flags where they were.
   */
  fastOrHandler(i: Insn, cond: () => void, body: () => void): void {
    const fn = this.fn;
    cond();
    fn.begin(Op.if); this.depth++;
    body();
    fn.op(Op.else);
    const dirty = [...this.dirty], flags = this.flags, afterHandler = this.afterHandler;
    this.handlerCall(i, false, true);
    // The handler's path stored every register and loaded them again: dirty as the inline path leaves them.
    this.dirty.clear();
    for (const n of dirty) this.dirty.add(n);
    this.flags = flags;
    this.afterHandler = afterHandler;
    fn.end(); this.depth--;
  }

  // ---- registers ----
  get(n: number): void {
    this.w.used.add(n);
    this.fn.get(this.w.r[n]);
  }
  /** Sets register n from the value on the stack. */
  set(n: number): void {
    this.w.used.add(n);
    this.dirty.add(n);
    this.fn.set(this.w.r[n]);
  }
  get8(n: number): void {
    const fn = this.fn;
    if (n < 4) { this.get(n); fn.i32(0xff).op(Op.i32And); return; }
    this.get(n - 4); fn.i32(8).op(Op.i32ShrU).i32(0xff).op(Op.i32And);
  }
  /** Sets 8-bit register n from the local `src`. */
  set8(n: number, src: number): void {
    const fn = this.fn;
    if (n < 4) {
      this.get(n); fn.i32(~0xff).op(Op.i32And).get(src).i32(0xff).op(Op.i32And).op(Op.i32Or); this.set(n);
      return;
    }
    this.get(n - 4); fn.i32(~0xff00).op(Op.i32And).get(src).i32(0xff).op(Op.i32And).i32(8).op(Op.i32Shl).op(Op.i32Or); this.set(n - 4);
  }
  regWriteback(): void {
    for (const n of [...this.dirty].sort()) this.fn.i32(0).get(this.w.r[n]).store(Op.i32Store, this.w.at.regs + 4 * n);
  }

  // ---- flags (flagCode.ts's states) ----
  flagWriteback(): void {
    const s = this.flags, fn = this.fn, w = this.w, lz = w.at.lazy;
    if (s.inCpu) return;
    if (!s.keepCF) {
      this.lazyToMemory(() => { fn.i32(s.op); }, s.size);
      return;
    }
    // INC/DEC: their flags as a result-based state (LAZY_RES: CF, AF and OF are the bits stored in the first
    // operand), which computes every flag as setLazyCarry's state does, without writing cpu.flags.
    fn.i32(0);
    if (s.cfInCpu) this.cpuCarry(); else fn.get(w.fcf);
    fn.get(w.fa).get(w.fb).op(Op.i32Xor).get(w.fr).op(Op.i32Xor).i32(0x10).op(Op.i32And).op(Op.i32Or);
    this.overflow({ ...s, keepCF: false });
    fn.i32(11).op(Op.i32Shl).op(Op.i32Or).store(Op.i32Store, lz + 4 * LZ_A);
    fn.i32(0).i32(LAZY_RES).store(Op.i32Store, lz + 4 * LZ_OP);
    fn.i32(0).i32(s.size).store(Op.i32Store, lz + 4 * LZ_SIZE);
    fn.i32(0).i32(0).store(Op.i32Store, lz + 4 * LZ_B);
    fn.i32(0).get(w.fr).store(Op.i32Store, lz + 4 * LZ_RES);
    fn.i32(0).i32(ARITH_FLAGS).store(Op.i32Store, lz + 4 * LZ_MASK);
  }
  /**
   * Flags under `mask` written directly, `value()` pushing their bits (as
   * flags.ts writeArithFlags and the handlers that write cpu.flags: IMUL,
   * BT, ROL/ROR, BSF/BSR, CLD/STD): arithmetic flags among them leave the
   * lazy state (stored first, its mask cleared of them; all of them: it is
   * dropped) for EFLAGS (JIT_EFLAGS), where the others already are.
   * `value()` must not read the flag state's locals.
   */
  writeFlags(mask: number, value: () => void): void {
    const fn = this.fn, lz = this.w.at.lazy, ef = this.w.at.jitState + 4 * JIT_EFLAGS;
    const arith = mask & ARITH_FLAGS;
    if (arith === ARITH_FLAGS) fn.i32(0).i32(0).store(Op.i32Store, lz + 4 * LZ_MASK);
    else if (arith !== 0) {
      this.flagWriteback();
      fn.i32(0).i32(0).load(Op.i32Load, lz + 4 * LZ_MASK).i32(~arith).op(Op.i32And).store(Op.i32Store, lz + 4 * LZ_MASK);
    }
    if (arith !== 0) this.flags = FLAGS_IN_CPU;
    fn.i32(0); this.eflags(); fn.i32(~mask).op(Op.i32And);
    value();
    fn.op(Op.i32Or).store(Op.i32Store, ef);
  }
  /**
   * A lazy state of a kind or size the flag states in locals do not have
   * (ADC and SBB, whose kind depends on the carry in; 16-bit results), stored
   * as the interpreter's setLazy stores it: op (pushed by `op`), size, the
   * operands and result in locals fa, fb, fr. The flags are then the CPU's.
   */
  storeLazy(op: () => void, size: number): void {
    this.lazyToMemory(op, size);
    this.flags = FLAGS_IN_CPU;
  }
  /** The lazy state of op (pushed by `op`), size and locals fa, fb, fr into memory, all six arithmetic flags lazy (flags.ts setLazy). */
  private lazyToMemory(op: () => void, size: number): void {
    const fn = this.fn, w = this.w, lz = w.at.lazy;
    fn.i32(0); op(); fn.store(Op.i32Store, lz + 4 * LZ_OP);
    fn.i32(0).i32(size).store(Op.i32Store, lz + 4 * LZ_SIZE);
    fn.i32(0).get(w.fa).store(Op.i32Store, lz + 4 * LZ_A);
    fn.i32(0).get(w.fb).store(Op.i32Store, lz + 4 * LZ_B);
    fn.i32(0).get(w.fr).store(Op.i32Store, lz + 4 * LZ_RES);
    fn.i32(0).i32(ARITH_FLAGS).store(Op.i32Store, lz + 4 * LZ_MASK);
  }
  /** PF of the low byte of local `l` (flags.ts PARITY) on the stack. */
  parity(l: number): void {
    this.fn.get(l).i32(0xff).op(Op.i32And).op(Op.i32Popcnt).i32(1).op(Op.i32And).i32(1).op(Op.i32Xor).i32(2).op(Op.i32Shl);
  }
  /**
   * The CPU's CF (0 or 1) on the stack, from the lazy state in memory when CF
   * is lazy there (flags.ts computeLazy's carry), else from EFLAGS
   * (JIT_EFLAGS).
   */
  cpuCarry(): void {
    const fn = this.fn, w = this.w, lz = w.at.lazy;
    const ld = (slot: number) => { fn.i32(0).load(Op.i32Load, lz + 4 * slot); };
    const [mask, op, x, y] = w.carryLocals;
    ld(LZ_MASK); fn.i32(CF).op(Op.i32And).begin(Op.if, I32);
    // mask = size 32 ? -1 : (1 << size) - 1
    fn.i32(-1).i32(1); ld(LZ_SIZE); fn.op(Op.i32Shl).i32(1).op(Op.i32Sub); ld(LZ_SIZE); fn.i32(32).op(Op.i32Eq).op(Op.select).set(mask);
    ld(LZ_OP); fn.set(op);
    // SUB, SBB: a < b, a <= b; ADD, ADC: res < a, res <= a (masked, unsigned); RES: a & 1.
    ld(LZ_A); ld(LZ_RES); fn.get(op).i32(LAZY_SUB).op(Op.i32GeU).op(Op.select).get(mask).op(Op.i32And).set(x);
    ld(LZ_B); ld(LZ_A); fn.get(op).i32(LAZY_SUB).op(Op.i32GeU).op(Op.select).get(mask).op(Op.i32And).set(y);
    ld(LZ_A); fn.i32(1).op(Op.i32And);
    fn.get(x).get(y).op(Op.i32LtU).get(x).get(y).op(Op.i32LeU)
      .get(op).i32(LAZY_ADD).op(Op.i32Eq).get(op).i32(LAZY_SUB).op(Op.i32Eq).op(Op.i32Or).op(Op.select);
    fn.get(op).i32(LAZY_RES).op(Op.i32Eq).op(Op.select);
    fn.op(Op.else); this.eflags(); fn.i32(CF).op(Op.i32And).end();
  }
  /** CF (0 or 1) of state `s` on the stack (flagCode.ts carryExpr). */
  carry(s: FlagState): void {
    const fn = this.fn, w = this.w;
    if (s.inCpu || (s.keepCF && s.cfInCpu)) { this.cpuCarry(); return; }
    if (s.keepCF) { fn.get(w.fcf); return; }
    const m = s.size === 32 ? -1 : 0xff;
    switch (s.op) {
      case LAZY_ADD: fn.get(w.fr).i32(m).op(Op.i32And).get(w.fa).i32(m).op(Op.i32And).op(Op.i32LtU); return;
      case LAZY_SUB: fn.get(w.fa).i32(m).op(Op.i32And).get(w.fb).i32(m).op(Op.i32And).op(Op.i32LtU); return;
      default: fn.get(w.fa).i32(1).op(Op.i32And);
    }
  }
  zero(s: FlagState): void {
    const fn = this.fn;
    fn.get(this.w.fr);
    if (s.size !== 32) fn.i32(0xff).op(Op.i32And);
    fn.op(Op.i32Eqz);
  }
  sign(s: FlagState): void {
    const fn = this.fn;
    fn.get(this.w.fr);
    if (s.size === 32) fn.i32(31).op(Op.i32ShrU); else fn.i32(7).op(Op.i32ShrU).i32(1).op(Op.i32And);
  }
  overflow(s: FlagState): void {
    const fn = this.fn, w = this.w, top = s.size - 1;
    switch (s.op) {
      case LAZY_ADD: fn.get(w.fa).get(w.fr).op(Op.i32Xor).get(w.fb).get(w.fr).op(Op.i32Xor).op(Op.i32And); break;
      case LAZY_SUB: fn.get(w.fa).get(w.fb).op(Op.i32Xor).get(w.fa).get(w.fr).op(Op.i32Xor).op(Op.i32And); break;
      default: fn.get(w.fa).i32(0x800).op(Op.i32And).i32(11).op(Op.i32ShrU); return;
    }
    fn.i32(top).op(Op.i32ShrU).i32(1).op(Op.i32And);
  }
  /** Condition `cc` of the current flag state, 1 or 0 on the stack (flagCode.ts conditionExpr). */
  condition(cc: number): void {
    const s = this.flags, fn = this.fn, w = this.w;
    if (s.inCpu) { fn.i32(cc).call(F_CONDITION); return; }
    const sub = s.op === LAZY_SUB && !s.keepCF;
    const u = (l: number) => { fn.get(l); if (s.size !== 32) fn.i32(0xff).op(Op.i32And); };
    const sg = (l: number) => { fn.get(l); if (s.size !== 32) fn.i32(24).op(Op.i32Shl).i32(24).op(Op.i32ShrS); };
    const lessSigned = () => { this.sign(s); this.overflow(s); fn.op(Op.i32Ne); };
    switch (cc >> 1) {
      case 0: this.overflow(s); break;
      case 1: if (sub) { u(w.fa); u(w.fb); fn.op(Op.i32LtU); } else this.carry(s); break;
      case 2: this.zero(s); break;
      case 3: if (sub) { u(w.fa); u(w.fb); fn.op(Op.i32LeU); } else { this.carry(s); this.zero(s); fn.op(Op.i32Or); } break;
      case 4: this.sign(s); break;
      case 5: fn.get(w.fr).i32(0xff).op(Op.i32And).op(Op.i32Popcnt).i32(1).op(Op.i32And).op(Op.i32Eqz); break;
      case 6: if (sub) { sg(w.fa); sg(w.fb); fn.op(Op.i32LtS); } else lessSigned(); break;
      default: if (sub) { sg(w.fa); sg(w.fb); fn.op(Op.i32LeS); } else { this.zero(s); lessSigned(); fn.op(Op.i32Or); }
    }
    if ((cc & 1) !== 0) fn.op(Op.i32Eqz);
  }

  // ---- exits ----
  /**
   * Breaks to the region's tail with `done` instructions retired, EIP
   * `target` (null: `t` and `g` already set; 'dynamic': in `t`, and `g` the
   * member memberAt takes there if it is one of dynamicTargets).
   */
  toTail(done: number, target: number | null | 'dynamic'): void {
    const fn = this.fn, w = this.w;
    this.regWriteback();
    this.flagWriteback();
    if (target === 'dynamic') {
      fn.i32(-1).set(w.g);
      for (const eip of this.dynamicTargets()) {
        const g = memberAt(this.block, w.blocks, eip);
        if (g < 0) continue;
        fn.get(w.t).i32(w.blocks[g].eip).op(Op.i32Eq).begin(Op.if);
        this.memberFor(g);
        fn.end();
      }
    } else if (target !== null) {
      fn.i32(target).set(w.t);
      this.memberFor(memberAt(this.block, w.blocks, target));
    }
    fn.i32(done).set(w.d).i32(this.self).set(w.f);
    fn.br(this.depth + (w.blocks.length - 1 - this.self));
  }

  /**
   * The EIPs a dynamic exit (RET, JMP or CALL r/m32, a handler's last
   * instruction) of this member is compared with at run time, each a
   * compare and branch at every exit: where the block went before (its
   * successor links), the next instruction, and for a RET the return sites
   * of the region's calls. Comparing with every member's EIP cost more than
   * what it saved on regions of up to 32 members.
   */
  dynamicTargets(): Set<number> {
    const b = this.block, last = b.insns[b.insns.length - 1];
    const eips = new Set<number>([last.nextEip]);
    for (const s of [b.succ0, b.succ1]) if (s !== null) eips.add(s.eip);
    if (last.fast === FAST_RET) {
      for (const m of this.w.blocks) {
        const call = m.insns[m.insns.length - 1];
        if (call.fast === FAST_CALL || (call.opcode === 0xff && call.reg === 2)) eips.add(call.nextEip);
      }
    }
    return eips;
  }

  /** Sets `g` to member `g` (memberAt's), or -1: -1 if none, and for one on another page, unless pageMapped. */
  memberFor(g: number): void {
    const fn = this.fn, w = this.w;
    if (g < 0 || onPage(this.block, w.blocks[g])) {
      fn.i32(g).set(w.g);
      return;
    }
    fn.i32(g).i32(-1);
    this.pageMapped(w.blocks[g]);
    fn.op(Op.select).set(w.g);
  }

  /**
   * Pushes 1 if the TLB maps the page of member `m` (a member on another
   * page than this block's) to the page it was fetched from, executable at
   * the current privilege: the dispatch loop's check of a jump cache entry
   * (wasmDispatch.ts), by the member's constant linear address. The bit
   * checked is the data accesses' (P_TB): the fetch bit of the CPL, or
   * TLB_SLOW_PATH, which no entry has (the step then goes through the
   * dispatch loop, whose check takes the fetch bit).
   */
  pageMapped(m: Block): void {
    const fn = this.fn, w = this.w;
    const page = ((m.csBase + m.eip) >>> 12) >>> 0;
    fn.i32(0).load(Op.i32Load, w.at.tlbRead + 4 * page).tee(w.pe).get(P_TB).i32(TLB_NOEXEC).op(Op.i32Or).op(Op.i32And).get(P_TB).op(Op.i32Eq)
      .get(w.pe).i32(~0xfff).op(Op.i32And).i32(m.key & ~0xfff).op(Op.i32Eq).op(Op.i32And);
  }

  /**
   * Returns before the current instruction, which the run loop then runs
   * with the rest of the block, interpreted (Cpu.jitResume): the slow path of
   * every inline memory access (a TLB miss, a device, a page crossing, a
   * fault to raise). Nothing of the instruction has changed the CPU yet.
   * Slow paths that called the interpreter's accessors and went on made
   * TurboFan's code for the fast paths around them slower (registers
   * spilled around every call: jit.ts history, stop 35); this way they are
   * branches out of the function.
   */
  handOver(): void {
    const fn = this.fn, w = this.w;
    this.regWriteback();
    this.flagWriteback();
    const eip = this.block.insns[this.k].eip;
    fn.i32(0).i32(1).store(Op.i32Store, w.at.jitState + 4 * JIT_RESUME);
    w.leave(fn, () => { fn.i32(eip); }, () => fn.i32(this.self), () => fn.i32(1));
    fn.i32(this.k).op(Op.return);
  }
  /** The state a handler call needs (translate.ts sync: what a fault or the clock reads during it), EIP `eip`. */
  syncArgs(eip: number): void {
    const fn = this.fn, w = this.w;
    fn.i32(this.k).i32(eip).i32(w.at.base + this.self).get(P_LEFT).get(w.dd);
  }
  // ---- memory (flat segments only) ----
  flatOk(bits: number): boolean {
    if (this.afterHandler && bits !== FLAT_CS_LIMIT) return false;
    if ((this.w.flat & bits) !== bits) return false;
    this.w.need |= bits;
    return true;
  }
  /** The effective address of `i` into local o. */
  ea(i: Insn): void {
    const fn = this.fn;
    fn.i32(i.disp | 0);
    if (i.base >= 0) { this.get(i.base); fn.op(Op.i32Add); }
    if (i.index >= 0) { this.get(i.index); fn.i32(i.scale).op(Op.i32Shl).op(Op.i32Add); }
  }
  /**
   * 1 on the stack when the inline path may make the size-byte access at
   * seg:o (o = ea(i), in local o): through a flat segment the TLB entry and
   * the alignment (`align`, the size's by default; a smaller one needs the
   * access inside one page); otherwise also the segment's limits
   * (translate.ts fastAccess), the linear address in local lin. The entry is left in e;
   * `addr` is the local whose low 12 bits the host address takes.
   */
  fastAccess(i: Insn, size: 1 | 2 | 4 | 16, write: boolean, align = size - 1): void {
    const fn = this.fn, w = this.w, at = w.at;
    this.ea(i);
    fn.set(w.o);
    const tlb = write ? at.tlbWrite : at.tlbRead;
    if (this.flatOk((write ? FLAT_WRITE : FLAT_READ) << i.seg)) {
      this.addr = w.o;
      this.tlbHit(tlb, size, align);
      return;
    }
    this.addr = w.lin;
    const lo = (write ? at.segWLo : at.segRLo) + 4 * i.seg, hi = (write ? at.segWHi : at.segRHi) + 4 * i.seg;
    // lo <= o and o + size - 1 <= hi, without the sum wrapping past 4 GiB.
    fn.get(w.o).i32(0).load(Op.i32Load, lo).op(Op.i32GeU);
    fn.get(w.o).i32(0).load(Op.i32Load, hi).op(Op.i32LeU).op(Op.i32And);
    if (size > 1) fn.i32(0).load(Op.i32Load, hi).get(w.o).op(Op.i32Sub).i32(size - 1).op(Op.i32GeU).op(Op.i32And);
    fn.i32(0).load(Op.i32Load, at.segBase + 4 * i.seg).get(w.o).op(Op.i32Add).set(w.lin);
    this.tlbHit(tlb, size, align);
    fn.op(Op.i32And);
  }
  /** The local the last fastAccess's host address takes its low 12 bits from. */
  addr = 0;

  /** Local v = the size-byte value at seg:ea(i); else the hand-over (handOver). */
  read(i: Insn, size: 1 | 2 | 4): boolean {
    const fn = this.fn, w = this.w;
    this.fastAccess(i, size, false);
    this.orHandOver();
    this.host();
    fn.load(size === 4 ? Op.i32Load : size === 2 ? Op.i32Load16U : Op.i32Load8U).set(w.v);
    return true;
  }
  /** Stores the value `value()` pushes at seg:ea(i); else the hand-over (handOver). */
  write(i: Insn, size: 1 | 2 | 4, value: () => void): boolean {
    const fn = this.fn, w = this.w;
    value();
    fn.set(w.v);
    this.fastAccess(i, size, true);
    this.orHandOver();
    this.host();
    fn.get(w.v).store(size === 4 ? Op.i32Store : size === 2 ? Op.i32Store16 : Op.i32Store8);
    return true;
  }
  /** The hand-over (handOver) unless the condition on the stack holds. */
  orHandOver(): void {
    const fn = this.fn;
    fn.op(Op.i32Eqz).begin(Op.if); this.depth++;
    this.handOver();
    fn.end(); this.depth--;
  }
  /**
   * A read-modify-write operand (translate.ts rmw32): the value at
   * seg:ea(i) in local mv, `compute` (which leaves the flags' state as the
   * operation sets it) gives the local holding the result, written back
   * there. Inline when the page is writable through the TLB (RAM) and a
   * dword aligned; otherwise the hand-over (handOver), before anything
   * changed, as the interpreter's handlers probe the operand for writing
   * first.
   */
  rmw(i: Insn, size: 1 | 4, compute: () => number): void {
    const fn = this.fn, w = this.w;
    this.fastAccess(i, size, true);
    this.orHandOver();
    this.host(); fn.tee(w.p).load(size === 4 ? Op.i32Load : Op.i32Load8U).set(w.mv);
    const result = compute();
    fn.get(w.p).get(result).store(size === 4 ? Op.i32Store : Op.i32Store8);
  }
  /** 1 on the stack when the TLB entry of local `addr`'s page allows the access (and a dword is aligned); the entry in e. */
  tlbHit(tlb: number, size: 1 | 2 | 4 | 16, align = size - 1): void {
    const fn = this.fn, w = this.w;
    fn.get(this.addr).i32(12).op(Op.i32ShrU).i32(2).op(Op.i32Shl).load(Op.i32Load, tlb).tee(w.e).get(P_TB).op(Op.i32And).i32(0).op(Op.i32Ne);
    if (align > 0) fn.get(this.addr).i32(align).op(Op.i32And).op(Op.i32Eqz).op(Op.i32And);
    // Less aligned than its size: it must still lie in one page.
    if (align < size - 1) fn.get(this.addr).i32(0xfff).op(Op.i32And).i32(0x1000 - size).op(Op.i32LeU).op(Op.i32And);
  }
  /** The host address of local `addr` through TLB entry e. */
  host(): void {
    const fn = this.fn, w = this.w;
    fn.get(w.e).i32(~0xfff).op(Op.i32And).get(this.addr).i32(0xfff).op(Op.i32And).op(Op.i32Or);
  }
  // ---- stack (a flat 32-bit stack only) ----
  flatStack(): boolean {
    return this.flatOk(FLAT_STACK32 | (FLAT_READ << SS) | (FLAT_WRITE << SS));
  }
  /** PUSH of the value `value()` pushes (translate.ts push); else the hand-over (handOver). */
  push(value: () => void): void {
    const fn = this.fn, w = this.w;
    value();
    fn.set(w.v);
    this.get(4); fn.i32(4).op(Op.i32Sub).set(w.o);
    this.addr = w.o;
    this.tlbHit(w.at.tlbWrite, 4);
    this.orHandOver();
    this.host();
    fn.get(w.v).store(Op.i32Store);
    fn.get(w.o); this.set(4);
  }
  /** Local v = the dword at the top of the stack (translate.ts peek); else the hand-over (handOver). */
  peek(): void {
    const fn = this.fn, w = this.w;
    this.get(4); fn.set(w.o);
    this.addr = w.o;
    this.tlbHit(w.at.tlbRead, 4);
    this.orHandOver();
    this.host();
    fn.load(Op.i32Load).set(w.v);
  }
  adjustSp(delta: number): void {
    this.get(4); this.fn.i32(delta).op(Op.i32Add); this.set(4);
  }

  // ---- instructions ----
  /** fa, fb = the two values pushed by `a` and `b`; fr = fa op fb; flags lazy. */
  arith(op: number, size: 8 | 32, a: () => void, b: () => void): void {
    const fn = this.fn, w = this.w;
    if (op === ALU_ADD || op === ALU_SUB || op === ALU_CMP) {
      a(); fn.set(w.fa); b(); fn.set(w.fb);
      fn.get(w.fa).get(w.fb).op(op === ALU_ADD ? Op.i32Add : Op.i32Sub).set(w.fr);
      this.flags = lazyFlags(op === ALU_ADD ? LAZY_ADD : LAZY_SUB, size);
    } else {
      fn.i32(0).set(w.fa).i32(0).set(w.fb);
      a(); b(); fn.op(op === ALU_OR ? Op.i32Or : op === ALU_AND ? Op.i32And : Op.i32Xor).set(w.fr);
      this.flags = lazyFlags(LAZY_RES, size);
    }
  }
  /** The fast ALU forms of register `dst` (FAST_ALU_*), ADC and SBB included (carryOp). */
  alu(op: number, dst: number, b: () => void): boolean {
    if (op === ALU_ADC || op === ALU_SBB) return carryOp(this, op, dst, b);
    if (op !== ALU_ADD && op !== ALU_SUB && op !== ALU_CMP && op !== ALU_OR && op !== ALU_AND && op !== ALU_XOR) return false;
    this.arith(op, 32, () => this.get(dst), b);
    if (op !== ALU_CMP) { this.fn.get(this.w.fr); this.set(dst); }
    return true;
  }
  incDec(reg: number, inc: boolean): void {
    this.fn.get(this.incDecOf(() => this.get(reg), inc));
    this.set(reg);
  }
  /** INC or DEC of the `size`-bit value `value` pushes (CF kept: flagCode.ts incDecFlags); the local holding the result. */
  incDecOf(value: () => void, inc: boolean, size: 8 | 32 = 32): number {
    const fn = this.fn, w = this.w;
    const prev = this.flags;
    const next = incDecFlags(prev, inc ? LAZY_ADD : LAZY_SUB, size);
    if (next.keep !== '') { this.carry(prev); fn.set(w.fcf); }
    value(); fn.set(w.fa).i32(1).set(w.fb).get(w.fa).i32(1).op(inc ? Op.i32Add : Op.i32Sub).set(w.fr);
    this.flags = next.flags;
    return w.fr;
  }
  /** EFLAGS (JIT_EFLAGS) on the stack. */
  eflags(): void {
    this.fn.i32(0).load(Op.i32Load, this.w.at.jitState + 4 * JIT_EFLAGS);
  }
  /** 1 on the stack while SSE instructions run (JIT_SSE_GATE). */
  sseGate(): void {
    this.fn.i32(0).load(Op.i32Load, this.w.at.jitState + 4 * JIT_SSE_GATE);
  }

  /**
   * XCHG m32, r32 and CMPXCHG m32, r32 (xchgBitForms.ts), read-modify-write:
   * the register set before the write, as the handlers set it; CMPXCHG's
   * flags are CMP EAX, m32, it always writes (the old value when they
   * differ) and then loads EAX with the old value when they differ.
   */
  exchange(i: Insn): boolean {
    const fn = this.fn, w = this.w;
    if (i.opcode === 0x87) {
      this.rmw(i, 4, () => { this.get(i.reg); fn.set(w.x).get(w.mv); this.set(i.reg); return w.x; });
      return true;
    }
    this.rmw(i, 4, () => {
      this.arith(ALU_SUB, 32, () => this.get(0), () => fn.get(w.mv));
      this.get(i.reg); fn.get(w.mv).get(w.fr).op(Op.i32Eqz).op(Op.select).set(w.x);
      this.get(0); fn.get(w.mv).get(w.fr).op(Op.i32Eqz).op(Op.select); this.set(0);
      return w.x;
    });
    return true;
  }
  /** A near jump's target within a flat code segment (no limit check needed). */
  target(): boolean {
    return this.flatOk(FLAT_CS_LIMIT);
  }

  /** ALU operation `op` of `size` on `a` and `b`, the result stored by `store` (not for CMP and TEST); false for ADC and SBB. */
  aluSized(op: number, size: 8 | 32, a: () => void, b: () => void, store: (() => void) | null): boolean {
    if (op !== ALU_ADD && op !== ALU_SUB && op !== ALU_CMP && op !== ALU_OR && op !== ALU_AND && op !== ALU_XOR) return false;
    this.arith(op, size, a, b);
    if (op !== ALU_CMP && store !== null) store();
    return true;
  }

  /**
   * The forms the run loop runs through their handlers (no fast form) that
   * this back end translates: those of the file comment's list that are not
   * fast forms.
   */
  extended(i: Insn, last: boolean): boolean {
    if (i.mod !== 3 && !i.a32) return false;
    const fn = this.fn, w = this.w;
    const op = i.opcode, reg = i.mod === 3;
    const c = (n: number) => () => { fn.i32(n); };
    const v = () => { fn.get(w.v); };
    const mv = () => { fn.get(w.mv); };
    // (LOCK) XCHG and CMPXCHG m32, r32: LOCK changes nothing for the interpreter's handlers either (xchgBitForms.ts).
    if (i.lock) return !reg && i.o32 && (op === 0x1b1 || op === 0x87) && this.exchange(i);
    if (op >= 0x100 && (reg ? sseRegister(this, i) : sseLoad(this, i))) return true;
    const aluRmw = (alu: number, size: 1 | 4, b: () => void) => {
      this.rmw(i, size, () => { this.arith(alu, size === 1 ? 8 : 32, mv, b); return w.fr; });
      return true;
    };
    const to8 = (n: number) => () => this.set8(n, w.fr);
    const to32 = (n: number) => () => { fn.get(w.fr); this.set(n); };
    if (op < 0x40 && (op & 7) < 6) {
      const alu = (op >> 3) & 7;
      switch (op & 7) {
        case 0: // op r/m8, r8: registers, or CMP m8, r8, or read-modify-write
          if (reg) return this.aluSized(alu, 8, () => this.get8(i.rm), () => this.get8(i.reg), to8(i.rm));
          if (alu === 2 || alu === 3) return false;
          if (alu !== ALU_CMP) return aluRmw(alu, 1, () => this.get8(i.reg));
          return this.read(i, 1) && this.aluSized(alu, 8, v, () => this.get8(i.reg), null);
        case 1: // op m32, r32, read-modify-write (the register form and CMP are fast forms)
          if (!i.o32 || reg || alu === 2 || alu === 3) return false;
          if (alu !== ALU_CMP) return aluRmw(alu, 4, () => this.get(i.reg));
          return this.read(i, 4) && this.aluSized(alu, 32, v, () => this.get(i.reg), null);
        case 2: // op r8, r/m8
          if (!reg && (alu === 2 || alu === 3 || !this.read(i, 1))) return false;
          return this.aluSized(alu, 8, () => this.get8(i.reg), reg ? () => this.get8(i.rm) : v, to8(i.reg));
        case 3: // op r32, m32 (the register form is a fast form)
          if (i.o32 && !reg && (alu === 2 || alu === 3)) return this.read(i, 4) && carryOp(this, alu, i.reg, v);
          if (!i.o32 || reg || alu === 2 || alu === 3 || !this.read(i, 4)) return false;
          return this.aluSized(alu, 32, () => this.get(i.reg), v, to32(i.reg));
        case 4: // op AL, imm8
          return this.aluSized(alu, 8, () => this.get8(0), c(i.imm & 0xff), to8(0));
        case 5: // op eAX, imm32
          return i.o32 && this.aluSized(alu, 32, () => this.get(0), c(i.imm | 0), to32(0));
        default:
          return false;
      }
    }
    switch (op) {
      case 0x80: // op r/m8, imm8 (on memory read-modify-write; CMP m8, imm8 is a fast form)
        if (reg) return this.aluSized(i.reg, 8, () => this.get8(i.rm), c(i.imm & 0xff), to8(i.rm));
        if (i.reg === 2 || i.reg === 3) return false;
        if (i.reg !== ALU_CMP) return aluRmw(i.reg, 1, c(i.imm & 0xff));
        return this.read(i, 1) && this.aluSized(ALU_CMP, 8, v, c(i.imm & 0xff), null);
      case 0x81: // op m32, imm32 / sign-extended imm8, read-modify-write (the register forms and CMP are fast forms)
      case 0x83:
        if (reg || !i.o32 || i.reg === 2 || i.reg === 3) return false;
        if (i.reg !== ALU_CMP) return aluRmw(i.reg, 4, c(i.imm | 0));
        return this.read(i, 4) && this.aluSized(ALU_CMP, 32, v, c(i.imm | 0), null);
      case 0x87: // XCHG m32, r32
      case 0x1b1: // CMPXCHG m32, r32
        return !reg && i.o32 && this.exchange(i);
      case 0x89: // MOV r/m16, r16 (the 32-bit forms are fast forms)
        if (i.o32) return false;
        if (!reg) return this.write(i, 2, () => { this.get(i.reg); fn.i32(0xffff).op(Op.i32And); });
        this.get(i.rm); fn.i32(~0xffff).op(Op.i32And); this.get(i.reg); fn.i32(0xffff).op(Op.i32And).op(Op.i32Or); this.set(i.rm);
        return true;
      case 0x8b: // MOV r16, r/m16
        if (i.o32 || (!reg && !this.read(i, 2))) return false;
        this.get(i.reg); fn.i32(~0xffff).op(Op.i32And);
        if (reg) { this.get(i.rm); fn.i32(0xffff).op(Op.i32And); } else fn.get(w.v);
        fn.op(Op.i32Or); this.set(i.reg);
        return true;
      case 0x1b7: // MOVZX r32, r/m16
        if (!i.o32 || (!reg && !this.read(i, 2))) return false;
        if (reg) { this.get(i.rm); fn.i32(0xffff).op(Op.i32And); } else fn.get(w.v);
        this.set(i.reg);
        return true;
      case 0x1be: // MOVSX r32, r/m8
      case 0x1bf: // MOVSX r32, r/m16
        if (!i.o32 || (!reg && !this.read(i, op === 0x1be ? 1 : 2))) return false;
        if (!reg) fn.get(w.v); else if (op === 0x1be) this.get8(i.rm); else this.get(i.rm);
        fn.op(op === 0x1be ? Op.i32Extend8S : Op.i32Extend16S); this.set(i.reg);
        return true;
      case 0x84: // TEST m8, r8
        return !reg && this.read(i, 1) && this.aluSized(ALU_AND, 8, v, () => this.get8(i.reg), null);
      case 0x85: // TEST m32, r32; TEST r16, r16 (a 16-bit result: stored as the interpreter's lazy state)
        if (reg && !i.o32) {
          fn.i32(0).set(w.fa).i32(0).set(w.fb);
          this.get(i.rm); this.get(i.reg); fn.op(Op.i32And).set(w.fr); // the flags look at the low 16 bits only
          this.storeLazy(c(LAZY_RES), 16);
          return true;
        }
        return !reg && i.o32 && this.read(i, 4) && this.aluSized(ALU_AND, 32, v, () => this.get(i.reg), null);
      case 0xa8: // TEST AL, imm8
        return this.aluSized(ALU_AND, 8, () => this.get8(0), c(i.imm & 0xff), null);
      case 0xa9: // TEST eAX, imm32
        return i.o32 && this.aluSized(ALU_AND, 32, () => this.get(0), c(i.imm | 0), null);
      case 0xf6: // TEST r/m8, imm8
        if (i.reg !== 0 || (!reg && !this.read(i, 1))) return false;
        return this.aluSized(ALU_AND, 8, reg ? () => this.get8(i.rm) : v, c(i.imm & 0xff), null);
      case 0xf7: // TEST r/m32, imm32 (/0), NOT (/2), NEG (/3) and DIV (/6) r/m32
        if (!i.o32) return false;
        if (i.reg === 0) return (reg || this.read(i, 4)) && this.aluSized(ALU_AND, 32, reg ? () => this.get(i.rm) : v, c(i.imm | 0), null);
        if (i.reg === 2) { // NOT: no flag
          if (reg) { this.get(i.rm); fn.i32(-1).op(Op.i32Xor); this.set(i.rm); } else this.rmw(i, 4, () => { fn.get(w.mv).i32(-1).op(Op.i32Xor).set(w.x); return w.x; });
          return true;
        }
        if (i.reg === 3) { // NEG: muldiv.ts negOp, LAZY_SUB of 0 - v
          if (reg) { this.arith(ALU_SUB, 32, c(0), () => this.get(i.rm)); fn.get(w.fr); this.set(i.rm); } else this.rmw(i, 4, () => { this.arith(ALU_SUB, 32, c(0), mv); return w.fr; });
          return true;
        }
        return i.reg === 6 && (reg || this.read(i, 4)) && divide(this, reg ? () => this.get(i.rm) : v);
      case 0x90: // NOP (and PAUSE)
        return true;
      case 0xa4: // MOVS, STOS
      case 0xa5:
      case 0xaa:
      case 0xab:
        return stringOp(this, i);
      case 0xfc: // CLD, STD
      case 0xfd:
        this.writeFlags(DF, c(op === 0xfd ? DF : 0));
        return true;
      case 0x1af: // IMUL r32, r/m32; r32, r/m32, imm
      case 0x69:
      case 0x6b:
        return i.o32 && (reg || this.read(i, 4)) && imul(this, i.reg, op === 0x1af ? () => this.get(i.reg) : c(i.imm | 0), reg ? () => this.get(i.rm) : v);
      case 0x1ba: // BT, BTS, BTR, BTC r/m32, imm8
        return i.o32 && i.reg >= 4 && bitTest(this, i, i.reg - 4, c(i.imm & 31));
      case 0x1a3: // BT r32, r32 (the memory form addresses by the offset's high bits)
        return i.o32 && reg && bitTest(this, i, 0, () => { this.get(i.reg); fn.i32(31).op(Op.i32And); });
      case 0x1bc: // BSF, BSR r32, r/m32
      case 0x1bd:
        return i.o32 && (reg || this.read(i, 4)) && bitScan(this, i.reg, op === 0x1bd, reg ? () => this.get(i.rm) : v);
      case 0xfe: // INC, DEC r8
        if (!reg || i.reg > 1) return false;
        this.set8(i.rm, this.incDecOf(() => this.get8(i.rm), i.reg === 0, 8));
        return true;
      case 0xc6: // MOV r/m8, imm8
        if (i.reg !== 0) return false;
        if (!reg) return this.write(i, 1, c(i.imm & 0xff));
        fn.i32(i.imm & 0xff).set(w.v);
        this.set8(i.rm, w.v);
        return true;
      case 0xc7: // MOV r/m32, imm32
        if (i.reg !== 0 || !i.o32) return false;
        if (!reg) return this.write(i, 4, c(i.imm | 0));
        fn.i32(i.imm | 0); this.set(i.rm);
        return true;
      case 0x88: // MOV r8, r8 (the memory form is a fast form)
        if (!reg) return false;
        this.get8(i.reg); fn.set(w.v); this.set8(i.rm, w.v);
        return true;
      case 0x8a:
        if (!reg) return false;
        this.get8(i.rm); fn.set(w.v); this.set8(i.reg, w.v);
        return true;
      case 0x1b6: // MOVZX r32, r8 (the memory form is a fast form)
        if (!reg || !i.o32) return false;
        this.get8(i.rm); this.set(i.reg);
        return true;
      case 0xa0: // MOV AL, moffs8
        if (!this.read(i, 1)) return false;
        this.set8(0, w.v);
        return true;
      case 0xa1: // MOV EAX, moffs32
        if (!i.o32 || !this.read(i, 4)) return false;
        fn.get(w.v); this.set(0);
        return true;
      case 0xa2: // MOV moffs8, AL
        return this.write(i, 1, () => this.get8(0));
      case 0xa3: // MOV moffs32, EAX
        return i.o32 && this.write(i, 4, () => this.get(0));
      case 0xc1: // SHL/SAL/SHR/SAR r32 by imm8 and by 1 (translate.ts: CF and OF in the LAZY_RES operand; a count of 0 changes nothing)
      case 0xd1: {
        if (!i.o32 || (i.reg > 1 && i.reg < 4) || !reg) return false;
        const n = (op === 0xc1 ? i.imm : 1) & 0x1f;
        if (n === 0) return true;
        if (i.reg < 2) return rotate(this, i.rm, i.reg === 1, n);
        this.get(i.rm); fn.set(w.x).i32(0).set(w.fb);
        switch (i.reg) {
          case 4: case 6: // SHL, SAL: CF the last bit out, OF from the first step
            fn.get(w.x).i32(n).op(Op.i32Shl).set(w.fr);
            fn.get(w.x).i32(32 - n).op(Op.i32ShrU).i32(1).op(Op.i32And)
              .get(w.x).get(w.x).i32(1).op(Op.i32Shl).op(Op.i32Xor).i32(31).op(Op.i32ShrU).i32(11).op(Op.i32Shl).op(Op.i32Or).set(w.fa);
            break;
          case 5: // SHR
            fn.get(w.x).i32(n).op(Op.i32ShrU).set(w.fr);
            fn.get(w.x).i32(n - 1).op(Op.i32ShrU).i32(1).op(Op.i32And).get(w.x).i32(31).op(Op.i32ShrU).i32(11).op(Op.i32Shl).op(Op.i32Or).set(w.fa);
            break;
          default: // SAR
            fn.get(w.x).i32(n).op(Op.i32ShrS).set(w.fr);
            fn.get(w.x).i32(n - 1).op(Op.i32ShrS).i32(1).op(Op.i32And).set(w.fa);
        }
        this.flags = lazyFlags(LAZY_RES, 32);
        fn.get(w.fr); this.set(i.rm);
        return true;
      }
      case 0xd3: // SHL/SAL/SHR/SAR r32 by CL: as by an immediate, the count only known at run time
        return i.o32 && reg && i.reg >= 4 && shiftByCl(this, i.rm, i.reg);
      case 0xff: // INC and DEC r/m32 (/0 /1); PUSH m32 (/6); JMP r/m32 (/4) and CALL r/m32 (/2), which end their block
        if (!i.o32) return false;
        if (i.reg < 2) {
          if (reg) this.incDec(i.rm, i.reg === 0); else this.rmw(i, 4, () => this.incDecOf(mv, i.reg === 0));
          return true;
        }
        if (i.reg === 6 && !reg) {
          if (!this.flatStack() || !this.read(i, 4)) return false;
          this.push(v);
          return true;
        }
        if ((i.reg !== 4 && i.reg !== 2) || !last || !this.target() || (i.reg === 2 && !this.flatStack())) return false;
        if (!reg && !this.read(i, 4)) return false;
        // The target is taken before CALL's push (CALL ESP jumps to ESP's value before it).
        if (reg) this.get(i.rm); else fn.get(w.v);
        fn.set(w.t);
        if (i.reg === 2) this.push(c(i.nextEip));
        this.toTail(this.k + 1, 'dynamic');
        return true;
      default:
        if (op >= 0xb0 && op <= 0xb7) { // MOV r8, imm8
          fn.i32(i.imm & 0xff).set(w.v);
          this.set8(op & 7, w.v);
          return true;
        }
        if (op >= 0x140 && op <= 0x14f) { // CMOVcc r32, r/m32: the source read whatever the condition (bits.ts)
          if (!i.o32 || (!reg && !this.read(i, 4))) return false;
          if (reg) this.get(i.rm); else fn.get(w.v);
          this.get(i.reg);
          this.condition(op & 15);
          fn.op(Op.select); this.set(i.reg);
          return true;
        }
        if (op >= 0x190 && op <= 0x19f) { // SETcc r/m8
          this.condition(op & 15);
          fn.set(w.x);
          if (!reg) return this.write(i, 1, () => { fn.get(w.x); });
          this.set8(i.rm, w.x);
          return true;
        }
        return false;
    }
  }

  insn(i: Insn, last: boolean): boolean {
    const fn = this.fn, w = this.w;
    const c = (n: number) => () => { fn.i32(n); };
    switch (i.fast) {
      case FAST_MOV_RM_R: this.get(i.reg); this.set(i.rm); return true;
      case FAST_MOV_R_RM: this.get(i.rm); this.set(i.reg); return true;
      case FAST_MOV_R_IMM: fn.i32(i.imm | 0); this.set(i.opcode & 7); return true;
      case FAST_LEA: this.ea(i); this.set(i.reg); return true;
      case FAST_INC_R: this.incDec(i.opcode & 7, true); return true;
      case FAST_DEC_R: this.incDec(i.opcode & 7, false); return true;
      case FAST_ALU_RM_R: return this.alu((i.opcode >> 3) & 7, i.rm, () => this.get(i.reg));
      case FAST_ALU_R_RM: return this.alu((i.opcode >> 3) & 7, i.reg, () => this.get(i.rm));
      case FAST_ALU_RM_IMM: return this.alu(i.reg, i.rm, c(i.imm | 0));
      case FAST_TEST_RR: this.arith(ALU_AND, 32, () => this.get(i.rm), () => this.get(i.reg)); return true;
      case FAST_TEST_RR8: this.arith(ALU_AND, 8, () => this.get8(i.rm), () => this.get8(i.reg)); return true;
      case FAST_JCC: {
        if (!last || !this.target()) return false;
        const taken = i.imm, notTaken = i.nextEip;
        this.condition(i.opcode & 15);
        fn.begin(Op.if).i32(taken).set(w.t);
        this.memberFor(memberAt(this.block, w.blocks, taken));
        fn.op(Op.else).i32(notTaken).set(w.t);
        this.memberFor(memberAt(this.block, w.blocks, notTaken));
        fn.end();
        this.toTail(this.k + 1, null);
        return true;
      }
      case FAST_JMP:
        if (!this.target()) return false;
        if (last) this.toTail(this.k + 1, i.imm);
        return true;
      case FAST_LOAD32: if (!this.read(i, 4)) return false; fn.get(w.v); this.set(i.reg); break;
      case FAST_CMP_M32_IMM: if (!this.read(i, 4)) return false; this.arith(ALU_CMP, 32, () => fn.get(w.v), c(i.imm | 0)); break;
      case FAST_CMP_R_M32: if (!this.read(i, 4)) return false; this.arith(ALU_CMP, 32, () => this.get(i.reg), () => fn.get(w.v)); break;
      case FAST_CMP_M32_R: if (!this.read(i, 4)) return false; this.arith(ALU_CMP, 32, () => fn.get(w.v), () => this.get(i.reg)); break;
      case FAST_LOAD8: if (!this.read(i, 1)) return false; this.set8(i.reg, w.v); break;
      case FAST_MOVZX8: if (!this.read(i, 1)) return false; fn.get(w.v); this.set(i.reg); break;
      case FAST_CMP_M8_IMM: if (!this.read(i, 1)) return false; this.arith(ALU_CMP, 8, () => fn.get(w.v), c(i.imm & 0xff)); break;
      case FAST_CMP_R8_M8: if (!this.read(i, 1)) return false; this.arith(ALU_CMP, 8, () => this.get8(i.reg), () => fn.get(w.v)); break;
      case FAST_STORE32: return this.write(i, 4, () => this.get(i.reg));
      case FAST_STORE8: return this.write(i, 1, () => this.get8(i.reg));
      case FAST_PUSH_R:
        if (!this.flatStack()) return false;
        this.push(() => this.get(i.opcode & 7));
        return true;
      case FAST_PUSH_IMM:
        if (!this.flatStack()) return false;
        this.push(c(i.imm | 0));
        return true;
      case FAST_CALL:
        if (!this.flatStack() || !this.target()) return false;
        this.push(c(i.nextEip));
        if (last) this.toTail(this.k + 1, i.imm);
        return true;
      case FAST_POP_R:
        if (!this.flatStack()) return false;
        this.peek();
        this.adjustSp(4);
        fn.get(w.v); this.set(i.opcode & 7);
        break;
      case FAST_RET:
        if (!last || !this.flatStack() || !this.target()) return false;
        this.peek();
        this.adjustSp(4 + i.imm);
        fn.get(w.v).set(w.t);
        this.toTail(this.k + 1, 'dynamic');
        return true;
      case FAST_NONE:
        if (!this.extended(i, last)) return false;
        break;
      default: return false;
    }
    return true;
  }
}

/** Declares a region module's imports, in the order of the F_* indices. */
function regionImports(m: ModuleBuilder, pages: number): void {
  m.importFunction('cpu', 'condition', m.type([I32], [I32]));
  m.importFunction('cpu', 'handler', m.type([I32, I32, I32, I32, I32, I32], [I32]));
  m.importMemory('cpu', 'memory', pages, true);
}

/** A region to compile: its members, the flat segments it may assume, and where its members' liveness and numbers start. */
export interface RegionSource {
  blocks: readonly Block[];
  flat: number;
  live: number;
  base: number;
  maxHandlerCalls: number;
}

/**
 * One module of regions (exports region0, region1, ...), or null if a
 * member of one has an instruction without a WebAssembly translation, or
 * more than its `maxHandlerCalls` calling their handler
 * (JitOptions.wasmHandlerCalls).
 * Several regions share a module so that their code shares V8's code
 * space for it (each module gets a reservation of its own, at a random
 * address: jit.ts history, stop 35).
 */
export function wasmRegions(regions: readonly RegionSource[], layout: Omit<WasmLayout, 'live' | 'base'>): WasmModuleCode | null {
  const m = new ModuleBuilder();
  regionImports(m, layout.pages);
  const needs: number[] = [];
  const handlers: Insn[] = [];
  for (let i = 0; i < regions.length; i++) {
    const r = regions[i];
    if (r.blocks.length === 0) return null;
    const w = new RegionWriter(r.blocks, r.flat, { ...layout, live: r.live, base: r.base }, r.maxHandlerCalls, m, i, handlers.length);
    if (!w.compile()) return null;
    needs.push(w.need);
    handlers.push(...w.handlers);
  }
  return { bytes: m.encode(), needs, handlers };
}

/** The first instruction of `block` this back end has no translation for (flat segments `flat` assumed), or null: for the measuring tools. */
export function wasmUntranslated(block: Block, flat: number): Insn | null {
  const layout = { regs: 0, lazy: 0, tlbRead: 0, tlbWrite: 0, segBase: 0, segRLo: 0, segRHi: 0, segWLo: 0, segWHi: 0, jitState: 0, xmm: 0, live: 0, base: 0, pages: 1 };
  const w = new MemberWriter(new RegionWriter([block], flat, layout, 0, new ModuleBuilder(), 0, 0), 0);
  return w.translate() ? null : w.rejected;
}
