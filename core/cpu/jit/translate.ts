/**
 * Translates a decoded block into the source of one JavaScript function that
 * executes the whole block with the instruction semantics inline.
 *
 * What is translated: every instruction with one of the interpreter's inline
 * fast forms (fastForms.ts) and the further forms of `extended` gets inline
 * code; up to `maxHandlerCalls` others per block are called through their
 * interpreter handler (state synced before, registers reloaded after); a
 * block with more returns null and stays interpreted. The inline code
 * follows the run loop's fast forms statement by statement, with these
 * differences:
 * - guest registers live in JS locals (`r0`..`r7`), loaded at entry and
 *   written back at exits;
 * - the arithmetic flags live in locals too (flagCode.ts);
 * - memory accesses inline the segment check and the TLB fast path for
 *   bytes and aligned dwords; anything else (limit violation, TLB miss, an
 *   unaligned dword, MMIO, a watched code page, alignment checks, a 16-bit
 *   stack) calls the interpreter's own accessor (unaligned dwords are rare
 *   in the guests measured, and an inline byte-wise form doubled the code of
 *   every access, which V8 pays for in compile time and deopts);
 * - a run of PUSHes or POPs (stackBurst) is checked once for the dwords it
 *   covers when they lie in one page, each instruction's own code being the
 *   fallback (so a fault still stops at its instruction); so is a run of
 *   dword loads and stores through one base and index (dwordBurst);
 * - INC/DEC entered with the flags in the CPU leave CF there (flagCode.ts
 *   cfInCpu) rather than computing it;
 * - some forms are inline only for their common case and call their handler
 *   otherwise (fastOrHandler: string moves and stores, DIV/IDIV, SSE loads
 *   from memory), where the rare cases (faults, page crossings, REP's
 *   interrupt points, #DE) are many and the handler already gets them right;
 *   such a slow path is not a handler call of an untranslated form (it does
 *   not count against maxHandlerCalls).
 *
 * Exactness contract with the run loop (execLoop.ts): before every call that can
 * fault or observe the CPU (the slow paths, raising #GP), the block "syncs":
 * it writes the modified registers and the flags back, sets EIP as the
 * interpreter has it during that instruction, and stores the instruction's
 * index in `cpu.jitK`. A fault then unwinds to the run loop exactly as from
 * the interpreter: EIP becomes that instruction's, `jitK` instructions have
 * retired, and nothing of the faulting instruction was written (each
 * translation, like each fast form, does every check before its first write).
 * After an instruction that went to memory the block tests `cpu.exitBlock`
 * (set when a store hit a page holding decoded code, or by a device's stop
 * request) and leaves as the interpreter would after that instruction. The
 * function returns the number of instructions retired.
 */
import type { Block } from '../decoder.ts';
import type { Insn } from '../insn.ts';
import {
  FAST_ALU_R_RM, FAST_ALU_RM_IMM, FAST_ALU_RM_R, FAST_CALL, FAST_CMP_M32_IMM, FAST_CMP_M32_R, FAST_CMP_M8_IMM,
  FAST_CMP_R8_M8, FAST_CMP_R_M32, FAST_DEC_R, FAST_INC_R, FAST_JCC, FAST_JMP, FAST_LEA, FAST_LOAD32, FAST_LOAD8,
  FAST_MOV_R_IMM, FAST_MOV_R_RM, FAST_MOV_RM_R, FAST_MOVZX8, FAST_NONE, FAST_POP_R, FAST_PUSH_IMM, FAST_PUSH_R, FAST_RET,
  FAST_STORE32, FAST_STORE8, FAST_TEST_RR, FAST_TEST_RR8,
} from '../fastForms.ts';
import { LAZY_ADD, LAZY_RES, LAZY_SUB } from '../flags.ts';
import { ALU_ADC, ALU_ADD, ALU_AND, ALU_CMP, ALU_OR, ALU_SBB, ALU_SUB, ALU_XOR } from '../ops/alu.ts';
import { CS, DF, RF, SS, TF } from '../regs.ts';
import { FLAT_CS_LIMIT, FLAT_READ, FLAT_STACK32, FLAT_WRITE } from '../segments.ts';
import { conditionExpr, FLAGS_IN_CPU, flagWriteback, incDecFlags, lazyFlags, type FlagState } from './flagCode.ts';
import { sseLoadForm, sseRegisterForm } from './sseForms.ts';
import { stringForm } from './stringForms.ts';
import { irqFlagForm } from './irqFlagForms.ts';
import { arithForm, carryOp } from './arithForms.ts';
import { xchgBitForm } from './xchgBitForms.ts';
import { shift16Form } from './shift16Forms.ts';
import { REP_NONE } from '../insn.ts';

/** A JS literal for a number (negative ones parenthesized). */
function lit(v: number): string {
  return v < 0 ? `(${v})` : String(v);
}

/** Source of one block's function body, built instruction by instruction. */
class BlockWriter {
  private readonly out: string[] = [];
  /** Registers the code reads or writes (loaded at entry) and those it has modified so far (written back). */
  private readonly used = new Set<number>();
  private readonly dirty = new Set<number>();
  private flags: FlagState = FLAGS_IN_CPU;
  /** Index of the instruction being translated, and the instruction. */
  private k = 0;
  private ins!: Insn;
  /** EIP as the interpreter has it while the current instruction executes. */
  private eipDuring = 0;
  /** Memory accesses of the current instruction so far (their slow paths may set `cpu.exitBlock`). */
  private accesses = 0;
  /** The current instruction's only memory access tested `cpu.exitBlock` on its slow path (exitCheck has nothing left to do). */
  private exitTested = false;
  /**
   * The current instruction's only memory access is a read whose slow path
   * copies `cpu.exitBlock` into the local `sl`; the registers it set since
   * (the read's sync stored the others) and the flag state at that sync.
   */
  private readExit = false;
  private readonly setSinceRead = new Set<number>();
  private flagsAtRead: FlagState = FLAGS_IN_CPU;

  constructor(
    private readonly block: Block, private readonly maxHandlerCalls: number,
    /** In a region (translateRegion): this block's index among the members (its exits break to the region's exit tail). */
    private readonly regionSelf: number | null = null,
    /** Flat segments the code may assume (segments.ts FLAT_*, from cpu.flatMask when compiled). */
    private readonly flat = 0,
    /** In a region: all its members (an exit to a member on this block's page goes there directly, see memberOnPage). */
    private readonly members: readonly Block[] = [],
  ) {}

  /** The flat bits the code assumed: the function's prologue checks them (flatGuard). */
  need = 0;
  /** A handler call came before in this block (after it, no segment is assumed flat). */
  private afterHandler = false;
  /** Whether the code may assume all of `bits` (cpu.flatMask); records them as needed if so. */
  private flatOk(bits: number): boolean {
    if (this.afterHandler || (this.flat & bits) !== bits) return false;
    this.need |= bits;
    return true;
  }
  /** The variable holding the offset whose low 12 bits the last fastAccess's host address takes: `lin`, or `o` for a flat segment. */
  private addr = 'lin';
  /** Host byte address of the last fastAccess's operand, from its TLB entry `e`. */
  private host(): string {
    return `((e & ~0xfff) | (${this.addr} & 0xfff))`;
  }

  translate(): string | null {
    const insns = this.block.insns;
    for (let k = 0; k < insns.length; k++) {
      const run = stackRun(insns, k);
      if (run >= 2) {
        this.stackBurst(k, run);
        k += run - 1;
        continue;
      }
      const dwords = dwordRun(insns, k);
      if (dwords >= 2) {
        this.dwordBurst(k, dwords);
        k += dwords - 1;
        continue;
      }
      this.begin(k);
      if (!this.insn(this.ins, k === insns.length - 1)) {
        if (this.handlerCalls >= this.maxHandlerCalls) return null;
        this.handlerCall(k === insns.length - 1);
      }
    }
    const lastIns = insns[insns.length - 1];
    if (!this.closed && !endsItself(lastIns)) this.emit(this.blockExit(insns.length, lastIns.nextEip));
    return this.source();
  }

  /** Makes instruction `k` the current one. */
  private begin(k: number): void {
    const ins = this.block.insns[k];
    this.k = k;
    this.ins = ins;
    this.eipDuring = ins.fast === FAST_CALL ? ins.imm : ins.nextEip;
    this.accesses = 0;
    this.exitTested = false;
    this.readExit = false;
  }

  /**
   * `n` PUSHes (or POPs) in a row, from instruction `k` (stackRun): when the
   * n dwords lie in one page of a 32-bit stack, inside SS's limits, aligned,
   * and the TLB allows the access, they are stored (loaded) with that one
   * check; every individual PUSH's (POP's) fast path would then have been
   * taken, so nothing else differs. Otherwise each instruction runs its own
   * translation (a fault or a device access in the middle stops exactly
   * where the interpreter stops). Function prologues and epilogues push and
   * pop three to five registers; the per-access check was the costliest
   * line of compiled code on the shell loop.
   */
  private stackBurst(k: number, n: number): void {
    const insns = this.block.insns;
    const esp = this.r(4);
    const bytes = 4 * n;
    const pushes = insns[k].fast !== FAST_POP_R;
    const [lo, hi, tlb] = pushes ? ['sWL', 'sWH', 'tlbW'] : ['sRL', 'sRH', 'tlbR'];
    const first = pushes ? `(${esp} - ${bytes}) >>> 0` : `${esp} >>> 0`;
    const flat = this.flatOk((pushes ? FLAT_WRITE : FLAT_READ) << SS | FLAT_STACK32);
    const a = flat ? 'o' : 'lin';
    const fast = flat
      ? `((e = ${tlb}[(o = ${first}) >>> 12]) & tb) !== 0 && (o & 3) === 0 && (o & 0xfff) <= ${0x1000 - bytes}`
      : `ss32 && (o = ${first}) >= ${lo}[${SS}] && o + ${bytes - 1} <= ${hi}[${SS}]`
        + ` && ((e = ${tlb}[(lin = (sB[${SS}] + o) | 0) >>> 12]) & tb) !== 0 && (lin & 3) === 0 && (lin & 0xfff) <= ${0x1000 - bytes}`;
    const body: string[] = [`p = ((e & ~0xfff) | (${a} & 0xfff)) >> 2;`];
    for (let j = 0; j < n; j++) {
      const ins = insns[k + j];
      if (pushes) body.push(`i32[p + ${n - 1 - j}] = ${ins.fast === FAST_PUSH_IMM ? lit(ins.imm | 0) : this.r(ins.opcode & 7)};`);
      else body.push(this.setR(ins.opcode & 7, `i32[p + ${j}]`));
    }
    body.push(this.setR(4, `(r4 ${pushes ? '-' : '+'} ${bytes}) | 0`));
    this.emit(`if (${fast}) { ${body.join(' ')} } else {`);
    for (let j = 0; j < n; j++) {
      this.begin(k + j);
      this.insn(this.ins, k + j === insns.length - 1);
    }
    this.emit('}');
  }

  /**
   * `n` dword loads and stores in a row through one base and index
   * (dwordRun: MOV r32, [b + i*s + d] and MOV [b + i*s + d], r32 with
   * displacements a multiple of 4 apart and the base and index unchanged
   * in between), with one check of the segment, TLB, alignment and page
   * for the span they cover, as stackBurst does for PUSH and POP: if it
   * holds, every access's own fast path would have been taken; otherwise
   * each instruction runs its own translation.
   */
  private dwordBurst(k: number, n: number): void {
    const insns = this.block.insns;
    const run = insns.slice(k, k + n);
    const first = run[0];
    const dmin = Math.min(...run.map((i) => i.disp | 0));
    const span = Math.max(...run.map((i) => i.disp | 0)) - dmin + 4;
    const loads = run.some((i) => i.fast === FAST_LOAD32), stores = run.some((i) => i.fast === FAST_STORE32);
    const seg = first.seg;
    const base = this.ea({ ...first, disp: dmin } as Insn);
    let fast: string;
    const flat = this.flatOk(((loads ? FLAT_READ : 0) | (stores ? FLAT_WRITE : 0)) << seg);
    const a = flat ? 'o' : 'lin';
    if (flat) {
      // Flat: the offset is the linear address; aligned and inside one page, it cannot wrap past 4 GiB.
      fast = `((o = (${base}) >>> 0) & 3) === 0 && (o & 0xfff) <= ${0x1000 - span}`;
    } else {
      fast = `(o = (${base}) >>> 0) >= ${loads ? `sRL[${seg}]` : `sWL[${seg}]`} && o + ${span - 1} <= ${loads ? `sRH[${seg}]` : `sWH[${seg}]`}`;
      if (loads && stores) fast += ` && o >= sWL[${seg}] && o + ${span - 1} <= sWH[${seg}]`;
      fast += ` && ((lin = (sB[${seg}] + o) | 0) & 3) === 0 && (lin & 0xfff) <= ${0x1000 - span}`;
    }
    // Loads go through the read entry's frame, stores through the write entry's (`x`).
    if (loads) fast += ` && ((e = tlbR[${a} >>> 12]) & tb) !== 0`;
    if (stores) fast += ` && ((x = tlbW[${a} >>> 12]) & tb) !== 0`;
    const body: string[] = [];
    if (loads) body.push(`p = ((e & ~0xfff) | (${a} & 0xfff)) >> 2;`);
    if (stores) body.push(`t = ((x & ~0xfff) | (${a} & 0xfff)) >> 2;`);
    for (const i of run) {
      const at = ((i.disp | 0) - dmin) >> 2;
      body.push(i.fast === FAST_LOAD32 ? this.setR(i.reg, `i32[p + ${at}]`) : `i32[t + ${at}] = ${this.r(i.reg)};`);
    }
    this.emit(`if (${fast}) { ${body.join(' ')} } else {`);
    for (let j = 0; j < n; j++) {
      this.begin(k + j);
      this.insn(this.ins, k + j === insns.length - 1);
    }
    this.emit('}');
  }

  /** Instructions without an inline translation, called through their handler. */
  handlerCalls = 0;
  readonly handlerInsns: Insn[] = [];
  /** The last instruction left the block unconditionally. */
  private closed = false;

  /**
   * An instruction without an inline translation: its interpreter handler is
   * called exactly as the run loop calls it (state synced, EIP = next
   * instruction), then the registers are reloaded and the flags are the CPU's.
   */
  private handlerCall(last: boolean): void {
    this.handlerCalls++;
    this.handlerInsns.push(this.ins);
    this.emit(`${this.sync()}I[${this.k}].fn(cpu, I[${this.k}]);`);
    this.emit('/*RELOAD*/ tb = cpu.tlbBit; ss32 = cpu.ss32;');
    this.dirty.clear();
    this.flags = FLAGS_IN_CPU;
    // A handler may load a segment register: the rest of the block assumes no flat segment (see blockExit).
    this.afterHandler = true;
    if (last) {
      this.emit(this.blockExit(this.k + 1, 'cpu.eip'));
      this.closed = true;
    } else {
      this.emit(`if (cpu.exitBlock) ${this.exit(this.k + 1, 'cpu.eip')}`);
    }
  }

  /** Instructions translated with a fast path that falls back to their handler (fastOrHandler). */
  fallbacks = 0;

  /**
   * An instruction whose inline code (`body`) covers only the case `cond`
   * (a JS condition, evaluated once, that may set the scratch locals `body`
   * uses) and that otherwise calls its handler as handlerCall does: the
   * state synced, the handler, the registers reloaded, and an exit if it
   * asked for one (cpu.exitBlock: a device's stop request, a write to a code
   * page, a REP instruction resuming later). Both paths leave the flags as
   * they were, which only holds for instructions that change no arithmetic
   * flag (the block's flag state stays what it was; the sync stored it,
   * and storing it again is the same). The condition must hold only where
   * the inline code does what the handler would, to the instruction
   * boundaries it stops at: a fast path never faults, reaches a device or
   * ends the block.
   */
  fastOrHandler(cond: string, body: string): void {
    this.fallbacks++;
    const sync = this.sync();
    const k = this.k;
    const exit = this.exit(k + 1, 'cpu.eip');
    this.emit(`if (${cond}) { ${body} } else { ${sync}I[${k}].fn(cpu, I[${k}]); /*RELOAD*/ tb = cpu.tlbBit; ss32 = cpu.ss32; if (cpu.exitBlock) ${exit} }`);
  }

  /** For translateRegion: the body (reload placeholders left in) and the registers it uses. */
  regionPiece(): { body: string; used: Set<number> } {
    return { body: this.out.join('\n'), used: this.used };
  }

  private source(): string {
    const loads = [...this.used].sort().map((r) => `r${r} = regs[${r}]`);
    const head = [
      flatGuard(this.need),
      'let o = 0, lin = 0, e = 0, p = 0, m = 0, x = 0, t = 0, fa = 0, fb = 0, fr = 0, fcf = 0, tb = 0, ss32 = false, sl = false, ck = 0;',
      loads.length > 0 ? `let ${loads.join(', ')};` : '',
      'tb = cpu.tlbBit; ss32 = cpu.ss32;',
    ];
    const reload = loads.map((l) => `${l}; `).join('');
    return `${head.join('\n')}\n${withNeed(this.out.join('\n').replaceAll('/*RELOAD*/', reload), this.need)}\n`;
  }

  private emit(s: string): void {
    this.out.push(s);
  }

  // ---- registers ----
  private r(n: number): string {
    this.used.add(n);
    return `r${n}`;
  }
  private setR(n: number, v: string): string {
    this.used.add(n);
    this.dirty.add(n);
    this.setSinceRead.add(n);
    return `r${n} = ${v};`;
  }
  private get8(n: number): string {
    return n < 4 ? `(${this.r(n)} & 0xff)` : `((${this.r(n - 4)} >> 8) & 0xff)`;
  }
  private set8(n: number, v: string): string {
    if (n < 4) return this.setR(n, `(r${n} & ~0xff) | ((${v}) & 0xff)`);
    return this.setR(n - 4, `(r${n - 4} & ~0xff00) | (((${v}) & 0xff) << 8)`);
  }

  // ---- state handoff ----
  private regWriteback(): string {
    return [...this.dirty].sort().map((n) => `regs[${n}] = r${n}; `).join('');
  }
  /**
   * Makes the CPU's state what the interpreter's is during the current
   * instruction (see the file comment). Every call out of generated code that
   * may change the CPU's state follows a sync, so `ck = 1` tells a region's
   * exit tail (regionTail) to test that state again.
   */
  private sync(): string {
    // A region also hands over what its tail keeps in locals (regionTail): the member, the budget, the clock.
    const tail = this.regionSelf === null ? '' : `cpu.jitMember = ${this.regionSelf}; cpu.jitLeft = left; cpu.clock.retired += dd; dd = 0; `;
    return `cpu.jitK = ${this.k}; cpu.eip = ${lit(this.eipDuring)}; ck = 1; ${tail}${this.regWriteback()}${flagWriteback(this.flags)}`;
  }
  /** Leaves the block with `done` instructions retired and EIP = `eip`. */
  private exit(done: number, eip: string): string {
    return `{ ${this.regWriteback()}${flagWriteback(this.flags)}cpu.eip = ${eip}; return ${done}; }`;
  }
  /**
   * Leaves the block at its end with `done` instructions retired and EIP =
   * `to` (its value when known here, else a JS expression): a single block
   * returns to the run loop; a region member breaks to the region's exit
   * tail (regionTail), which goes on in the function where the run loop
   * would run a member next.
   */
  private blockExit(done: number, to: number | string): string {
    const eip = typeof to === 'number' ? lit(to) : to;
    if (this.regionSelf === null) return this.exit(done, eip);
    // After a handler call the next member's flat segments may be gone: the run loop enters it then, through its guard.
    const flatLost = this.afterHandler ? `if ((cpu.flatMask & /*NEED*/0) !== /*NEED*/0) { cpu.eip = ${eip}; return ${done}; } ` : '';
    const g = this.afterHandler || typeof to === 'string' ? -1 : this.memberOnPage(to);
    return this.leaveMember(done, `${flatLost}t = ${eip}; g = ${g}; `);
  }
  /** A region member's exit to its tail: registers and flags stored, then `successor` (which sets `t` and `g`, or ''). */
  private leaveMember(done: number, successor: string): string {
    return `{ ${this.regWriteback()}${flagWriteback(this.flags)}${successor}d = ${done}; f = ${this.regionSelf}; break sw; }`;
  }
  /**
   * A conditional branch ending the block: `cond` chooses the EIP after it.
   * A region member with no handler call before it chooses the successor
   * (`t`, `g`) in the branch and leaves through one write-back of its
   * registers and flags (the same state either way), not one per way.
   */
  private branchExit(done: number, cond: string, taken: number, notTaken: number): void {
    if (this.regionSelf === null || this.afterHandler) {
      this.emit(`if (${cond}) {`);
      this.checkTarget(taken);
      this.emit(this.blockExit(done, taken));
      this.emit('}');
      this.emit(this.blockExit(done, notTaken));
      return;
    }
    this.emit(`if (${cond}) {`);
    this.checkTarget(taken);
    this.emit(`t = ${lit(taken)}; g = ${this.memberOnPage(taken)}; } else { t = ${lit(notTaken)}; g = ${this.memberOnPage(notTaken)}; }`);
    this.emit(this.leaveMember(done, ''));
  }
  /**
   * The member the run loop would find at `target` without a lookup (its
   * index; -1 if none): one decoded at that EIP, with this block's code
   * segment, from the same linear page and the same physical page as this
   * block. This block was fetched (or reached through links) under the
   * current translation, so the run loop's link or block-cache lookup of
   * `target` ends at that physical address, i.e. at that member while it is
   * still valid and compiled (the tail checks both: its first instruction
   * may reach into the next page, whose rewrite drops it alone; a region's
   * members are compiled and dropped together, so its code is here). Only
   * exits taken with nothing before them that can change the translation,
   * CPL or code segment (no handler call in the block). Cheaper than the
   * link lookup: no loads from the leaving block and the successor's EIP
   * (measured, in-process A/B on the warm shell loop: ~x0.95).
   */
  private memberOnPage(target: number): number {
    return memberOnPage(this.block, this.members, target);
  }
  /**
   * After an instruction that went to memory: stop where the interpreter
   * would. Only a slow path (an accessor call) can set `cpu.exitBlock`,
   * which is clear whenever an instruction of compiled code starts (the run
   * loop clears it, every exit tests it); an instruction whose last effect is
   * its only memory write tests it on that write's slow path instead
   * (writeExit), where the sync has already stored everything.
   */
  private exitCheck(eipAfter: number): void {
    if (this.exitTested) return;
    if (this.readExit && this.accesses === 1) {
      // Only the read's slow path can have set it: store what the instruction changed after that sync.
      const regs = [...this.setSinceRead].sort().map((n) => `regs[${n}] = r${n}; `).join('');
      const flags = this.flags === this.flagsAtRead ? '' : flagWriteback(this.flags);
      this.emit(`if (sl) { ${regs}${flags}cpu.eip = ${lit(eipAfter)}; return ${this.k + 1}; }`);
      return;
    }
    this.emit(`if (cpu.exitBlock) ${this.exit(this.k + 1, lit(eipAfter))}`);
  }
  /** The slow-path tail of a read that is the instruction's first memory access (see readExit). */
  private readSlowTail(): string {
    if (this.accesses++ !== 0) return '';
    this.readExit = true;
    this.setSinceRead.clear();
    this.flagsAtRead = this.flags;
    return ' sl = cpu.exitBlock;';
  }
  /**
   * The exit test on the slow path of a write that is the instruction's only
   * memory access and its last effect: the sync before the accessor call
   * left registers, flags and EIP (eipDuring, which is the EIP after the
   * instruction for every instruction that writes last) in the CPU.
   */
  private writeExit(): string {
    if (this.accesses++ !== 0) return '';
    this.exitTested = true;
    return ` if (cpu.exitBlock) return ${this.k + 1};`;
  }
  private flagsToCpu(): void {
    this.emit(flagWriteback(this.flags));
    this.flags = FLAGS_IN_CPU;
  }

  // ---- memory (32-bit addressing: the fast forms with a memory operand all have it) ----
  private ea(i: Insn): string {
    let a = lit(i.disp | 0);
    if (i.base >= 0) a += ` + ${this.r(i.base)}`;
    if (i.index >= 0) a += ` + (${this.r(i.index)} << ${i.scale})`;
    return a;
  }
  /**
   * The inline fast path's condition for a size-byte access at seg:off: the
   * segment's limits, the TLB entry, and natural alignment (which keeps a
   * word or dword inside its page).
   */
  private fastAccess(size: 1 | 2 | 4, seg: number, off: string, write: boolean): string {
    const [lo, hi, tlb] = write ? ['sWL', 'sWH', 'tlbW'] : ['sRL', 'sRH', 'tlbR'];
    if (this.flatOk((write ? FLAT_WRITE : FLAT_READ) << seg)) {
      // Flat: the offset is the linear address, and aligned it cannot wrap past 4 GiB.
      this.addr = 'o';
      return `((e = ${tlb}[(o = (${off}) >>> 0) >>> 12]) & tb) !== 0${size === 1 ? '' : ` && (o & ${size - 1}) === 0`}`;
    }
    this.addr = 'lin';
    const end = size === 1 ? 'o' : `o + ${size - 1}`;
    const align = size === 1 ? '' : ` && (lin & ${size - 1}) === 0`;
    return `(o = (${off}) >>> 0) >= ${lo}[${seg}] && ${end} <= ${hi}[${seg}] && ((e = ${tlb}[(lin = (sB[${seg}] + o) | 0) >>> 12]) & tb) !== 0${align}`;
  }
  /** `m` = the size-byte value at seg:off (off a JS expression). */
  private read(size: 1 | 2 | 4, seg: number, off: string): void {
    const fast = this.fastAccess(size, seg, off, false);
    const at = this.host();
    const load = size === 4 ? `m = i32[${at} >> 2];` : size === 2 ? `p = ${at}; m = u8[p] | (u8[p + 1] << 8);` : `m = u8[${at}];`;
    const sync = this.sync();
    this.emit(`if (${fast}) { ${load} } else { ${sync}m = cpu.read${size * 8}(${seg}, o);${this.readSlowTail()} }`);
  }
  /** Stores `v` (a JS expression without side effects, evaluated once or twice) at seg:off. */
  private write(size: 1 | 2 | 4, seg: number, off: string, v: string): void {
    const fast = this.fastAccess(size, seg, off, true);
    const at = this.host();
    const store = size === 4 ? `i32[${at} >> 2] = ${v};` : size === 2 ? `p = ${at}; u8[p] = ${v}; u8[p + 1] = (${v}) >> 8;` : `u8[${at}] = ${v};`;
    const sync = this.sync();
    this.emit(`if (${fast}) { ${store} } else { ${sync}cpu.write${size * 8}(${seg}, o, ${v});${this.writeExit()} }`);
  }
  /**
   * A read-modify-write dword operand, as the interpreter's RMW handlers do
   * it: rmwAddress (segment checked for writing, the page probed for
   * writing, so #GP/#SS/#PF come before anything changed), readLin32, the
   * operation, writeLin32. The fast path (dword aligned, writable through
   * the TLB, which is RAM) reads and writes the host memory directly; the
   * slow path syncs first and calls those accessors, storing the new flags
   * before the write as the interpreter has them there. `op` emits the
   * operation on `m` and returns the expression of the result (evaluated
   * twice at most, without side effects). The exit test comes after the
   * write on the slow path only: only the accessors can set `cpu.exitBlock`
   * (MMIO stop requests, a write to a code page). With `writeIf` (a JS
   * condition) the write happens only when it holds (a shift by a count of
   * 0 reads its operand and writes nothing). `size` 1 is the byte form
   * (readLin8/writeLin8). Registers `op` sets (XCHG, CMPXCHG) are stored
   * with the flags on the slow path, for the exit test after the write.
   */
  private rmw32(i: Insn, op: () => string, writeIf = '', size: 1 | 4 = 4): void {
    const seg = i.seg;
    const fast = this.fastAccess(size, seg, this.ea(i), true);
    const sync = this.sync();
    const cell = size === 4 ? 'i32[p >> 2]' : 'u8[p]';
    this.emit(`if (${fast}) { p = ${this.host()}; m = ${cell}; } else { ${sync}p = -1; lin = cpu.rmwAddress(${seg}, o, ${size}); m = cpu.readLin${size * 8}(lin); }`);
    const v = op();
    const store = `if (p >= 0) ${cell} = ${v}; else { ${this.regWriteback()}${flagWriteback(this.flags)}cpu.writeLin${size * 8}(lin, ${v}); }`;
    this.emit(writeIf === '' ? store : `if (${writeIf}) { ${store} }`);
    // The slow path's sync stored the registers and EIP; the flags are stored before the write.
    this.emit(`if (p < 0 && cpu.exitBlock) return ${this.k + 1};`);
    this.accesses = 2;
    this.exitTested = true;
  }

  /** PUSH of a 32-bit value: the interpreter's push32 (fast when the stack is 32-bit). */
  private push(v: string): void {
    const esp = this.r(4);
    this.emit(`x = (${esp} - 4) | 0;`);
    const fast = this.stackAccess('x', true);
    const store = `i32[${this.host()} >> 2] = ${v};`;
    const sync = this.sync();
    this.dirty.add(4);
    this.emit(`if (${fast}) { ${store} r4 = x; } else { ${sync}cpu.push32(${v}); r4 = regs[4];${this.writeExit()} }`);
  }
  /**
   * fastAccess for the dword at SS:`off` of a PUSH or POP: also a 32-bit
   * stack (ss32: push32 and peek32 take the slow path on a 16-bit one),
   * which code assuming FLAT_STACK32 need not test.
   */
  private stackAccess(off: string, write: boolean): string {
    const stack32 = this.flatOk(FLAT_STACK32);
    const access = this.fastAccess(4, SS, off, write);
    return stack32 ? access : `ss32 && ${access}`;
  }
  /** `m` = the dword at the top of the stack (the interpreter's peek32(0)). */
  private peek(): void {
    const esp = this.r(4);
    const fast = this.stackAccess(esp, false);
    const load = `m = i32[${this.host()} >> 2];`;
    const sync = this.sync();
    this.emit(`if (${fast}) { ${load} } else { ${sync}m = cpu.peek32(0);${this.readSlowTail()} }`);
  }
  /** The interpreter's adjustSp(delta). */
  private adjustSp(delta: number): void {
    this.r(4);
    this.emit(this.setR(4, this.flatOk(FLAT_STACK32) ? `(r4 + ${delta}) | 0` : `ss32 ? (r4 + ${delta}) | 0 : (r4 & ~0xffff) | ((r4 + ${delta}) & 0xffff)`));
  }
  /** branchNear's limit check for a constant target. */
  private checkTarget(target: number): void {
    if (this.flatOk(FLAT_CS_LIMIT)) return;
    this.emit(`if (${target >>> 0} > sLim[${CS}]) { ${this.sync()}cpu.raiseGP(0); }`);
  }

  // ---- instructions ----
  private alu(op: number, dst: number, b: string): void {
    const a = this.r(dst);
    switch (op) {
      case ALU_ADD:
      case ALU_SUB:
      case ALU_CMP:
        this.emit(`fa = ${a}; fb = ${b}; fr = (fa ${op === ALU_ADD ? '+' : '-'} fb) | 0;`);
        if (op !== ALU_CMP) this.emit(this.setR(dst, 'fr'));
        this.flags = lazyFlags(op === ALU_ADD ? LAZY_ADD : LAZY_SUB, 32);
        return;
      case ALU_OR:
      case ALU_AND:
      case ALU_XOR:
        this.emit(`fa = 0; fb = 0; fr = ${a} ${op === ALU_OR ? '|' : op === ALU_AND ? '&' : '^'} ${b};`);
        this.emit(this.setR(dst, 'fr'));
        this.flags = lazyFlags(LAZY_RES, 32);
        return;
      default: // ADC, SBB: the carry decides the lazy operation at run time, so the flags go to the CPU (arithForms.ts)
        this.emit(carryOp(this.flags, op, 32, a, b));
        this.flags = FLAGS_IN_CPU;
        this.emit(this.setR(dst, 'fr'));
    }
  }

  /**
   * ALU operation `op` of `size` on a = `a`, b = `b` (JS expressions of
   * zero-extended operand values); `store` writes the result (skipped for CMP).
   */
  private aluSized(op: number, size: 8 | 32, a: string, b: string, store: (v: string) => string): void {
    if (op === ALU_ADC || op === ALU_SBB) {
      this.emit(carryOp(this.flags, op, size, a, b));
      this.flags = FLAGS_IN_CPU;
      this.emit(store('fr'));
      return;
    }
    if (op === ALU_ADD || op === ALU_SUB || op === ALU_CMP) {
      this.emit(`fa = ${a}; fb = ${b}; fr = (fa ${op === ALU_ADD ? '+' : '-'} fb) | 0;`);
      this.flags = lazyFlags(op === ALU_ADD ? LAZY_ADD : LAZY_SUB, size);
    } else {
      this.emit(`fa = 0; fb = 0; fr = ${a} ${op === ALU_OR ? '|' : op === ALU_AND ? '&' : '^'} ${b};`);
      this.flags = lazyFlags(LAZY_RES, size);
    }
    if (op !== ALU_CMP) this.emit(store('fr'));
  }

  /** ALU operation `op` (not CMP) on the m32 (m8 with `size` 8) operand of the current instruction and `b`, read-modify-write. */
  private aluRmw(op: number, b: string, size: 8 | 32 = 32): void {
    // ADC and SBB compute in the CPU (aluSized): their flags go there before the access.
    if (op === ALU_ADC || op === ALU_SBB) this.flagsToCpu();
    this.rmw32(this.ins, () => {
      let v = '';
      this.aluSized(op, size, 'm', b, (r) => { v = r; return ''; });
      return v;
    }, '', size === 8 ? 1 : 4);
  }

  /**
   * Forms the interpreter runs through handlers but the compiler inlines:
   * register and accumulator forms of the 8-bit ALU operations and of the
   * immediate groups, ALU r32 <- m32, the read-modify-write ALU forms on
   * m32 (with r32, imm8, imm32) and INC/DEC/NOT/NEG m32 (rmw32), NEG r32,
   * MOV with C6/C7 and moffs encodings, MOV r8, r8, MOV r16, r/m16 and
   * r/m16, r16, MOVZX from registers and m16, MOVSX, CMOVcc, TEST with an
   * immediate, SETcc, NOT, NOP, MOV r8, imm8, INC/DEC r8, and SSE2 integer
   * register forms (sseForms.ts).
   * Every one is checked against its handler by the differential tests.
   * Memory operands need 32-bit addressing (ea() computes 32-bit addresses).
   */
  private extended(i: Insn): boolean {
    if (xchgBitForm(i, { // XCHG and (LOCK) CMPXCHG m32, BT r/m32, imm8 and BT r32, r32 (xchgBitForms.ts)
      r: (n) => this.r(n), setR: (n, v) => this.setR(n, v), emit: (s) => this.emit(s),
      readOperand32: (x) => this.read(4, x.seg, this.ea(x)), rmw32: (x, op) => this.rmw32(x, op), exitCheck: (eip) => this.exitCheck(eip),
      flagsToCpu: () => this.flagsToCpu(), flagsWritten: () => { this.flags = FLAGS_IN_CPU; },
      flagsSub32: () => { this.flags = lazyFlags(LAZY_SUB, 32); }, flagsAdd32: () => { this.flags = lazyFlags(LAZY_ADD, 32); },
    })) return true;
    if (i.lock || (i.mod !== 3 && !i.a32)) return false;
    const op = i.opcode;
    const reg = i.mod === 3;
    if (op >= 0x100 && i.p66) {
      const sse = sseRegisterForm(i, { r: (n) => this.r(n), setR: (n, v) => this.setR(n, v), sync: () => this.sync() });
      if (sse !== null) {
        this.emit(sse);
        return true;
      }
    }
    const fastOrHandler = (cond: string, body: string) => this.fastOrHandler(cond, body);
    if (op >= 0x100 && sseLoadForm(i, { ea: (x) => this.ea(x), fastOrHandler })) return true; // MOVDQA/MOVDQU/MOVD xmm, m (sseForms.ts)
    if (stringForm(i, { // (REP) MOVS/STOS B/D, LODSB, SCASB (stringForms.ts)
      r: (n) => this.r(n), setR: (n, v) => this.setR(n, v), fastOrHandler, emit: (s) => this.emit(s),
      read8: (seg, off) => this.read(1, seg, off), exitCheck: (eip) => this.exitCheck(eip), flagsSub8: () => { this.flags = lazyFlags(LAZY_SUB, 8); },
    })) return true;
    if (irqFlagForm(i, { // CLI, PUSHFD, POP m32 (irqFlagForms.ts)
      r: (n) => this.r(n), setR: (n, v) => this.setR(n, v), emit: (s) => this.emit(s), ea: (x) => this.ea(x), sync: () => this.sync(),
      flagsToCpu: () => this.flagsToCpu(), push: (v) => this.push(v), exitCheck: (eip) => this.exitCheck(eip), fastOrHandler,
    })) return true;
    if (arithForm(i, { // IMUL r32 forms, MUL/IMUL/DIV/IDIV, ROL/ROR r32 by imm8 and 1, BSWAP r32 (arithForms.ts)
      r: (n) => this.r(n), setR: (n, v) => this.setR(n, v), emit: (s) => this.emit(s),
      readOperand32: (x) => this.read(4, x.seg, this.ea(x)), exitCheck: (eip) => this.exitCheck(eip),
      flagsToCpu: () => this.flagsToCpu(), flagsWritten: () => { this.flags = FLAGS_IN_CPU; }, rmw32: (x, f) => this.rmw32(x, f),
      fastOrHandler, flagsResult32: () => { this.flags = lazyFlags(LAZY_RES, 32); },
      fastRead32: (x) => [this.fastAccess(4, x.seg, this.ea(x), false), `i32[${this.host()} >> 2]`],
    })) return true;
    if (shift16Form(i, { r: (n) => this.r(n), setR: (n, v) => this.setR(n, v), emit: (s) => this.emit(s), flagsResult32: () => { this.flags = lazyFlags(LAZY_RES, 32); } })) return true; // SHL/SHR/SAR r16 by imm8 and 1 (shift16Forms.ts)
    if (op < 0x40 && (op & 7) < 6) {
      const alu = (op >> 3) & 7;
      switch (op & 7) {
        case 0: // op r/m8, r8 (memory: read-modify-write, CMP only reads)
          if (!reg) {
            if (alu !== ALU_CMP) {
              this.aluRmw(alu, this.get8(i.reg), 8);
              return true;
            }
            this.read(1, i.seg, this.ea(i));
            this.aluSized(alu, 8, 'm', this.get8(i.reg), () => '');
            this.exitCheck(i.nextEip);
            return true;
          }
          this.aluSized(alu, 8, this.get8(i.rm), this.get8(i.reg), (v) => this.set8(i.rm, v));
          return true;
        case 2: // op r8, r/m8
          if (!reg) this.read(1, i.seg, this.ea(i));
          this.aluSized(alu, 8, this.get8(i.reg), reg ? this.get8(i.rm) : 'm', (v) => this.set8(i.reg, v));
          if (!reg) this.exitCheck(i.nextEip);
          return true;
        case 1: // op m32, r32, read-modify-write (the register form is a fast form, CMP m32, r32 too)
          if (!i.o32 || reg || alu === ALU_CMP) return false;
          this.aluRmw(alu, this.r(i.reg));
          return true;
        case 3: // op r32, m32 (the register form is a fast form)
          if (!i.o32 || reg) return false;
          this.read(4, i.seg, this.ea(i));
          this.aluSized(alu, 32, this.r(i.reg), 'm', (v) => this.setR(i.reg, v));
          this.exitCheck(i.nextEip);
          return true;
        case 4: // op AL, imm8 (decoded as r/m = AL)
          this.aluSized(alu, 8, this.get8(0), lit(i.imm & 0xff), (v) => this.set8(0, v));
          return true;
        case 5: // op EAX, imm32
          if (!i.o32) return false;
          this.aluSized(alu, 32, this.r(0), lit(i.imm | 0), (v) => this.setR(0, v));
          return true;
        default:
          return false;
      }
    }
    switch (op) {
      case 0x81: case 0x83: // op m32, imm32 / sign-extended imm8 (the register forms and CMP are fast forms)
        if (!i.o32 && reg) { // op r16, imm16 / imm8 (alu.ts rmImm16): its aluCompute, the flags in the CPU
          this.flagsToCpu();
          this.emit(`x = aluCompute(cpu, ${i.reg}, 16, ${this.r(i.rm)} & 0xffff, ${i.imm & 0xffff});`);
          if (i.reg !== ALU_CMP) this.emit(this.setR(i.rm, `(r${i.rm} & ~0xffff) | (x & 0xffff)`));
          return true;
        }
        if (!i.o32 || reg || i.reg === ALU_CMP) return false;
        this.aluRmw(i.reg, lit(i.imm | 0));
        return true;
      case 0x89: // MOV r/m16, r16
        if (i.o32) return false;
        if (reg) this.emit(this.setR(i.rm, `(${this.r(i.rm)} & ~0xffff) | (${this.r(i.reg)} & 0xffff)`));
        else {
          this.write(2, i.seg, this.ea(i), `(${this.r(i.reg)} & 0xffff)`);
          this.exitCheck(i.nextEip);
        }
        return true;
      case 0x8b: // MOV r16, r/m16
        if (i.o32) return false;
        if (reg) this.emit(this.setR(i.reg, `(${this.r(i.reg)} & ~0xffff) | (${this.r(i.rm)} & 0xffff)`));
        else {
          this.read(2, i.seg, this.ea(i));
          this.emit(this.setR(i.reg, `(r${i.reg} & ~0xffff) | m`));
          this.exitCheck(i.nextEip);
        }
        return true;
      case 0x80: // op r/m8, imm8 (memory: read-modify-write, CMP is a fast form)
        if (!reg) {
          if (i.reg === ALU_CMP) return false;
          this.aluRmw(i.reg, lit(i.imm & 0xff), 8);
          return true;
        }
        this.aluSized(i.reg, 8, this.get8(i.rm), lit(i.imm & 0xff), (v) => this.set8(i.rm, v));
        return true;
      case 0x88: // MOV r/m8, r8 (register form)
        if (!reg) return false;
        this.emit(this.set8(i.rm, this.get8(i.reg)));
        return true;
      case 0x8a: // MOV r8, r/m8 (register form)
        if (!reg) return false;
        this.emit(this.set8(i.reg, this.get8(i.rm)));
        return true;
      case 0x90: // NOP (F3 90, PAUSE, left to its handler)
        return i.rep === REP_NONE;
      case 0xb0: case 0xb1: case 0xb2: case 0xb3: case 0xb4: case 0xb5: case 0xb6: case 0xb7: // MOV r8, imm8
        this.emit(this.set8(op & 7, lit(i.imm & 0xff)));
        return true;
      case 0xfe: { // INC/DEC r8 (/0, /1): CF kept, as INC/DEC r32
        if (!reg || i.reg > 1) return false;
        const next = incDecFlags(this.flags, i.reg === 0 ? LAZY_ADD : LAZY_SUB, 8);
        if (next.keep !== '') this.emit(next.keep);
        this.emit(`fa = ${this.get8(i.rm)}; fb = 1; fr = (fa ${i.reg === 0 ? '+' : '-'} 1) | 0;`);
        this.emit(this.set8(i.rm, 'fr'));
        this.flags = next.flags;
        return true;
      }
      case 0xc9: { // LEAVE (misc.ts leave32): EBP from the dword at SS:BP (EBP or BP, by the stack's width), ESP past it
        if (!i.o32) return false;
        this.read(4, SS, `(ss32 ? ${this.r(5)} : ${this.r(5)} & 0xffff)`);
        this.emit(this.setR(4, `ss32 ? (r5 + 4) | 0 : (${this.r(4)} & ~0xffff) | ((r5 + 4) & 0xffff)`));
        this.emit(this.setR(5, 'm'));
        this.exitCheck(i.nextEip);
        return true;
      }
      case 0xfc: // CLD (DF is not one of the lazy arithmetic flags: it lives in cpu.flags whatever the flag state)
        this.emit(`cpu.flags &= ${~DF};`);
        return true;
      case 0x84: // TEST m8, r8 (alu.ts test8; the register form is a fast form)
        if (reg) return false;
        this.read(1, i.seg, this.ea(i));
        this.emit(`fa = 0; fb = 0; fr = m & ${this.get8(i.reg)};`);
        this.flags = lazyFlags(LAZY_RES, 8);
        this.exitCheck(i.nextEip);
        return true;
      case 0x85: // TEST m32, r32 (test32); TEST r16, r16 (alu.ts test16): a 16-bit result, whose lazy size the block's flag locals do not have, so recorded in the CPU
        if (i.o32 && !reg) {
          this.read(4, i.seg, this.ea(i));
          this.emit(`fa = 0; fb = 0; fr = m & ${this.r(i.reg)};`);
          this.flags = lazyFlags(LAZY_RES, 32);
          this.exitCheck(i.nextEip);
          return true;
        }
        if (i.o32 || !reg) return false;
        this.emit(`fr = ${this.r(i.rm)} & ${this.r(i.reg)} & 0xffff; setLazy(cpu, ${LAZY_RES}, 16, 0, 0, fr);`);
        this.flags = FLAGS_IN_CPU;
        return true;
      case 0x99: // CDQ (data.ts cdq; CWD left to its handler)
        if (!i.o32) return false;
        this.emit(this.setR(2, `${this.r(0)} >> 31`));
        return true;
      case 0xa8: // TEST AL, imm8
        this.emit(`fa = 0; fb = 0; fr = ${this.get8(0)} & ${i.imm & 0xff};`);
        this.flags = lazyFlags(LAZY_RES, 8);
        return true;
      case 0xa9: // TEST EAX, imm32
        if (!i.o32) return false;
        this.emit(`fa = 0; fb = 0; fr = ${this.r(0)} & ${lit(i.imm | 0)};`);
        this.flags = lazyFlags(LAZY_RES, 32);
        return true;
      case 0xa0: case 0xa1: case 0xa2: case 0xa3: { // MOV with a moffs operand (decoded as disp-only memory)
        if (!i.a32 || (op & 1 && !i.o32)) return false;
        const size: 1 | 4 = op & 1 ? 4 : 1;
        if (op < 0xa2) {
          this.read(size, i.seg, lit(i.disp | 0));
          this.emit(size === 4 ? this.setR(0, 'm') : this.set8(0, 'm'));
        } else {
          this.write(size, i.seg, lit(i.disp | 0), size === 4 ? this.r(0) : this.get8(0));
        }
        this.exitCheck(i.nextEip);
        return true;
      }
      case 0xc6: // MOV r/m8, imm8
        if (i.reg !== 0) return false;
        if (reg) this.emit(this.set8(i.rm, lit(i.imm & 0xff)));
        else {
          this.write(1, i.seg, this.ea(i), lit(i.imm & 0xff));
          this.exitCheck(i.nextEip);
        }
        return true;
      case 0xc7: // MOV r/m32, imm32
        if (i.reg !== 0 || !i.o32) return false;
        if (reg) this.emit(this.setR(i.rm, lit(i.imm | 0)));
        else {
          this.write(4, i.seg, this.ea(i), lit(i.imm | 0));
          this.exitCheck(i.nextEip);
        }
        return true;
      case 0xf6: // TEST r/m8, imm8 (group 3 /0)
        if (i.reg !== 0) return false;
        if (!reg) this.read(1, i.seg, this.ea(i));
        this.emit(`fa = 0; fb = 0; fr = ${reg ? this.get8(i.rm) : 'm'} & ${i.imm & 0xff};`);
        this.flags = lazyFlags(LAZY_RES, 8);
        if (!reg) this.exitCheck(i.nextEip);
        return true;
      case 0xf7: // TEST r32, imm32 (/0) and NOT r32 (/2), register forms; NOT and NEG r/m32 (/2, /3)
        if (!i.o32) return false;
        if (i.reg === 3) { // NEG: muldiv.ts's negOp, LAZY_SUB of 0 - v
          const neg = (v: string) => {
            this.emit(`fa = 0; fb = ${v}; fr = (0 - fb) | 0;`);
            this.flags = lazyFlags(LAZY_SUB, 32);
            return 'fr';
          };
          if (reg) this.emit(this.setR(i.rm, neg(this.r(i.rm))));
          else this.rmw32(i, () => neg('m'));
          return true;
        }
        if (i.reg === 2 && !reg) {
          this.rmw32(i, () => '(~m)');
          return true;
        }
        if (i.reg === 0 && !reg) { // TEST m32, imm32: a read, then TEST's flags (the kernel's entry tests thread flags)
          this.read(4, i.seg, this.ea(i));
          this.emit(`fa = 0; fb = 0; fr = m & ${lit(i.imm | 0)};`);
          this.flags = lazyFlags(LAZY_RES, 32);
          this.exitCheck(i.nextEip);
          return true;
        }
        if (!reg) return false;
        if (i.reg === 0) {
          this.emit(`fa = 0; fb = 0; fr = ${this.r(i.rm)} & ${lit(i.imm | 0)};`);
          this.flags = lazyFlags(LAZY_RES, 32);
          return true;
        }
        if (i.reg === 2) {
          this.emit(this.setR(i.rm, `~${this.r(i.rm)}`));
          return true;
        }
        return false;
      case 0xc1: // SHL/SHR/SAR r/m32 by imm8 and by 1 (shift.ts: SF/ZF/PF from the result, CF and OF in the
      case 0xd1: { // LAZY_RES operand, OF from the first one-bit step whatever the count; a count of 0 changes
        // nothing, and a memory operand is still read)
        if (!i.o32 || i.reg < 4) return false;
        const c = (op === 0xc1 ? i.imm : 1) & 0x1f;
        if (c === 0 && !reg) return false;
        if (c === 0) return true;
        const shift = (v: string) => {
          switch (i.reg) {
            case 4: case 6: // SHL, SAL
              this.emit(`x = ${v}; fr = x << ${c}; fa = ((x >>> ${32 - c}) & 1) | (((x ^ (x << 1)) >>> 31) << 11); fb = 0;`);
              break;
            case 5: // SHR
              this.emit(`x = ${v}; fr = x >>> ${c}; fa = ((x >>> ${c - 1}) & 1) | ((x >>> 31) << 11); fb = 0; fr |= 0;`);
              break;
            default: // SAR
              this.emit(`x = ${v}; fr = x >> ${c}; fa = (x >> ${c - 1}) & 1; fb = 0;`);
          }
          this.flags = lazyFlags(LAZY_RES, 32);
          return 'fr';
        };
        if (reg) this.emit(this.setR(i.rm, shift(this.r(i.rm))));
        else this.rmw32(i, () => shift('m'));
        return true;
      }
      case 0xd3: { // SHL/SHR/SAR r32 by CL: as above with the count known only at run time; a count of 0
        // leaves the flags as they were, so they go to the CPU first and the shift sets them there
        if (!i.o32 || i.reg < 4) return false;
        this.flagsToCpu();
        const v = reg ? this.r(i.rm) : 'm';
        this.emit(`x = ${this.r(1)} & 31;`);
        let body: string;
        switch (i.reg) {
          case 4: case 6: // SHL, SAL
            body = `t = ${v}; fr = t << x; fa = ((t >>> (32 - x)) & 1) | (((t ^ (t << 1)) >>> 31) << 11); fb = 0;`;
            break;
          case 5: // SHR
            body = `t = ${v}; fr = t >>> x; fa = ((t >>> (x - 1)) & 1) | ((t >>> 31) << 11); fb = 0; fr |= 0;`;
            break;
          default: // SAR
            body = `t = ${v}; fr = t >> x; fa = (t >> (x - 1)) & 1; fb = 0;`;
        }
        if (reg) this.emit(`if (x !== 0) { ${body} ${this.setR(i.rm, 'fr')} ${flagWriteback(lazyFlags(LAZY_RES, 32))}}`);
        else { // the operand is read (and checked for writing) whatever the count, written only when it is not 0
          this.rmw32(i, () => {
            this.emit(`if (x !== 0) { ${body} ${flagWriteback(lazyFlags(LAZY_RES, 32))}}`);
            return 'fr';
          }, 'x !== 0');
        }
        return true;
      }
      case 0xff: { // PUSH m32 (/6); JMP r/m32 (/4) and CALL r/m32 (/2), which end their block
        if (!i.o32 || (reg && i.reg !== 4 && i.reg !== 2) || !i.a32) return false;
        if (i.reg === 0 || i.reg === 1) { // INC/DEC m32: CF kept (alu.ts inc32/dec32)
          this.rmw32(i, () => {
            const next = incDecFlags(this.flags, i.reg === 0 ? LAZY_ADD : LAZY_SUB);
            if (next.keep !== '') this.emit(next.keep);
            this.emit(`fa = m; fb = 1; fr = (fa ${i.reg === 0 ? '+' : '-'} 1) | 0;`);
            this.flags = next.flags;
            return 'fr';
          });
          return true;
        }
        if (i.reg === 6) {
          this.read(4, i.seg, this.ea(i));
          this.push('m');
          this.exitCheck(i.nextEip);
          return true;
        }
        if ((i.reg !== 4 && i.reg !== 2) || this.k !== this.block.insns.length - 1) return false;
        if (!reg) this.read(4, i.seg, this.ea(i));
        // The target is taken before CALL's push (CALL ESP jumps to ESP's value before it).
        this.emit(`t = ${reg ? this.r(i.rm) : 'm'};${this.flatOk(FLAT_CS_LIMIT) ? '' : ` if ((t >>> 0) > sLim[${CS}]) { ${this.sync()}cpu.raiseGP(0); }`}`);
        if (i.reg === 2) {
          this.eipDuring = i.nextEip;
          // Not the push's own exit test (writeExit), which leaves EIP at the next instruction, not at the target.
          this.accesses++;
          this.push(lit(i.nextEip));
          this.emit(`if (cpu.exitBlock) ${this.exit(this.k + 1, 't')}`);
        }
        this.emit(this.blockExit(this.k + 1, 't'));
        this.closed = true;
        return true;
      }
      case 0x1b6: // MOVZX r32, r8
        if (!i.o32 || !reg) return false;
        this.emit(this.setR(i.reg, this.get8(i.rm)));
        return true;
      case 0x1b7: // MOVZX r32, r/m16
        if (!i.o32) return false;
        if (reg) this.emit(this.setR(i.reg, `${this.r(i.rm)} & 0xffff`));
        else {
          this.read(2, i.seg, this.ea(i));
          this.emit(this.setR(i.reg, 'm'));
          this.exitCheck(i.nextEip);
        }
        return true;
      case 0x1be: // MOVSX r32, r/m8
      case 0x1bf: { // MOVSX r32, r/m16
        if (!i.o32) return false;
        const sh = op === 0x1be ? 24 : 16;
        if (reg) this.emit(this.setR(i.reg, `(${op === 0x1be ? this.get8(i.rm) : this.r(i.rm)} << ${sh}) >> ${sh}`));
        else {
          this.read(op === 0x1be ? 1 : 2, i.seg, this.ea(i));
          this.emit(this.setR(i.reg, `(m << ${sh}) >> ${sh}`));
          this.exitCheck(i.nextEip);
        }
        return true;
      }
      default:
        if (op >= 0x140 && op <= 0x14f && i.o32) { // CMOVcc r32, r/m32: the source is read whatever the condition (bits.ts)
          if (!reg) this.read(4, i.seg, this.ea(i));
          this.emit(`if (${conditionExpr(this.flags, op & 15)}) { ${this.setR(i.reg, reg ? this.r(i.rm) : 'm')} }`);
          if (!reg) this.exitCheck(i.nextEip);
          return true;
        }
        if (op >= 0x190 && op <= 0x19f && reg) { // SETcc r8
          this.emit(this.set8(i.rm, `${conditionExpr(this.flags, op & 15)} ? 1 : 0`));
          return true;
        }
        if (op >= 0x190 && op <= 0x19f) { // SETcc m8 (bits.ts: writeRm8 of 0 or 1)
          this.emit(`x = ${conditionExpr(this.flags, op & 15)} ? 1 : 0;`);
          this.write(1, i.seg, this.ea(i), 'x');
          this.exitCheck(i.nextEip);
          return true;
        }
        return false;
    }
  }

  private incDec(reg: number, inc: boolean): void {
    const next = incDecFlags(this.flags, inc ? LAZY_ADD : LAZY_SUB);
    if (next.keep !== '') this.emit(next.keep);
    this.emit(`fa = ${this.r(reg)}; fb = 1; fr = (fa ${inc ? '+' : '-'} 1) | 0;`);
    this.emit(this.setR(reg, 'fr'));
    this.flags = next.flags;
  }

  private cmpSub(size: 8 | 32, a: string, b: string): void {
    this.emit(`fa = ${a}; fb = ${b}; fr = (fa - fb) | 0;`);
    this.flags = lazyFlags(LAZY_SUB, size);
  }

  /** Emits one instruction; false if it has no translation. */
  private insn(i: Insn, last: boolean): boolean {
    const f = i.fast;
    switch (f) {
      case FAST_NONE: return this.extended(i);
      case FAST_MOV_RM_R: this.emit(this.setR(i.rm, this.r(i.reg))); return true;
      case FAST_MOV_R_RM: this.emit(this.setR(i.reg, this.r(i.rm))); return true;
      case FAST_MOV_R_IMM: this.emit(this.setR(i.opcode & 7, lit(i.imm | 0))); return true;
      case FAST_LEA: this.emit(this.setR(i.reg, `(${this.ea(i)}) | 0`)); return true;
      case FAST_INC_R: this.incDec(i.opcode & 7, true); return true;
      case FAST_DEC_R: this.incDec(i.opcode & 7, false); return true;
      case FAST_ALU_RM_R: this.alu((i.opcode >> 3) & 7, i.rm, this.r(i.reg)); return true;
      case FAST_ALU_R_RM: this.alu((i.opcode >> 3) & 7, i.reg, this.r(i.rm)); return true;
      case FAST_ALU_RM_IMM: this.alu(i.reg, i.rm, lit(i.imm | 0)); return true;
      case FAST_TEST_RR:
        this.emit(`fa = 0; fb = 0; fr = ${this.r(i.rm)} & ${this.r(i.reg)};`);
        this.flags = lazyFlags(LAZY_RES, 32);
        return true;
      case FAST_TEST_RR8:
        this.emit(`fa = 0; fb = 0; fr = ${this.get8(i.rm)} & ${this.get8(i.reg)};`);
        this.flags = lazyFlags(LAZY_RES, 8);
        return true;
      case FAST_JCC: {
        if (!last) return false;
        this.branchExit(this.k + 1, conditionExpr(this.flags, i.opcode & 15), i.imm, i.nextEip);
        return true;
      }
      case FAST_JMP:
        this.checkTarget(i.imm);
        if (last) this.emit(this.blockExit(this.k + 1, i.imm));
        return true;
      case FAST_LOAD32:
        this.read(4, i.seg, this.ea(i));
        this.emit(this.setR(i.reg, 'm'));
        break;
      case FAST_CMP_M32_IMM:
        this.read(4, i.seg, this.ea(i));
        this.cmpSub(32, 'm', lit(i.imm | 0));
        break;
      case FAST_CMP_R_M32:
        this.read(4, i.seg, this.ea(i));
        this.cmpSub(32, this.r(i.reg), 'm');
        break;
      case FAST_CMP_M32_R:
        this.read(4, i.seg, this.ea(i));
        this.cmpSub(32, 'm', this.r(i.reg));
        break;
      case FAST_LOAD8:
        this.read(1, i.seg, this.ea(i));
        this.emit(this.set8(i.reg, 'm'));
        break;
      case FAST_MOVZX8:
        this.read(1, i.seg, this.ea(i));
        this.emit(this.setR(i.reg, 'm'));
        break;
      case FAST_CMP_M8_IMM:
        this.read(1, i.seg, this.ea(i));
        this.cmpSub(8, 'm', lit(i.imm & 0xff));
        break;
      case FAST_CMP_R8_M8:
        this.read(1, i.seg, this.ea(i));
        this.cmpSub(8, this.get8(i.reg), 'm');
        break;
      case FAST_STORE32:
        this.write(4, i.seg, this.ea(i), this.r(i.reg));
        break;
      case FAST_STORE8:
        this.write(1, i.seg, this.ea(i), this.get8(i.reg));
        break;
      case FAST_PUSH_R:
        this.push(this.r(i.opcode & 7));
        break;
      case FAST_PUSH_IMM:
        this.push(lit(i.imm | 0));
        break;
      case FAST_CALL:
        this.checkTarget(i.imm);
        this.push(lit(i.nextEip));
        this.exitCheck(i.imm);
        if (last) this.emit(this.blockExit(this.k + 1, i.imm));
        return true;
      case FAST_POP_R:
        this.peek();
        this.adjustSp(4);
        this.emit(this.setR(i.opcode & 7, 'm'));
        break;
      case FAST_RET:
        if (!last) return false;
        this.peek();
        if (!this.flatOk(FLAT_CS_LIMIT)) this.emit(`if ((m >>> 0) > sLim[${CS}]) { ${this.sync()}cpu.raiseGP(0); }`);
        this.adjustSp(4 + i.imm);
        this.emit(this.blockExit(this.k + 1, 'm'));
        return true;
      default:
        return false;
    }
    this.exitCheck(i.nextEip);
    return true;
  }
}

/**
 * How many PUSH r32/imm (or POP r32) instructions follow one another from
 * `k`, for BlockWriter.stackBurst: 0 for fewer than two. PUSH ESP and POP
 * ESP are left out (each reads or sets ESP mid-sequence).
 */
function stackRun(insns: Insn[], k: number): number {
  const kind = (i: Insn) => (i.fast === FAST_PUSH_IMM || (i.fast === FAST_PUSH_R && i.opcode !== 0x54) ? 1
    : i.fast === FAST_POP_R && i.opcode !== 0x5c ? 2 : 0);
  const first = kind(insns[k]);
  if (first === 0) return 0;
  let n = 1;
  while (k + n < insns.length && kind(insns[k + n]) === first && n < 16) n++;
  return n >= 2 ? n : 0;
}

/**
 * How many dword loads and stores (FAST_LOAD32, FAST_STORE32) follow one
 * another from `k` through the same segment, base, index and scale, with
 * displacements a multiple of 4 apart spanning at most 64 bytes, no load
 * but the last writing the base or the index: 0 for fewer than two.
 */
function dwordRun(insns: Insn[], k: number): number {
  const a = insns[k];
  const isAccess = (i: Insn) => i.fast === FAST_LOAD32 || i.fast === FAST_STORE32;
  if (!isAccess(a)) return 0;
  const writesAddress = (i: Insn) => i.fast === FAST_LOAD32 && (i.reg === a.base || i.reg === a.index);
  let lo = a.disp | 0, hi = lo;
  let n = 1;
  while (k + n < insns.length && !writesAddress(insns[k + n - 1])) {
    const i = insns[k + n];
    const d = i.disp | 0;
    if (!isAccess(i) || i.seg !== a.seg || i.base !== a.base || i.index !== a.index || (i.index >= 0 && i.scale !== a.scale)
      || ((d - (a.disp | 0)) & 3) !== 0 || Math.max(hi, d) - Math.min(lo, d) > 60) break;
    lo = Math.min(lo, d);
    hi = Math.max(hi, d);
    n++;
  }
  return n >= 2 ? n : 0;
}

/** BlockWriter.memberOnPage: the member of `members` at `target` that `block`'s exit reaches without a lookup, or -1. */
export function memberOnPage(block: Block, members: readonly Block[], target: number): number {
  return members.findIndex((m) => m.eip === target && m.csBase === block.csBase && m.cs32 === block.cs32 && onPage(block, m));
}

/** Whether `m` lies on `block`'s linear and physical page (the block's own fetch vouches for that page's translation). */
export function onPage(block: Block, m: Block): boolean {
  return (m.key >>> 12) === (block.key >>> 12) && ((m.csBase + m.eip) >>> 12) === ((block.csBase + block.eip) >>> 12);
}

/** The instructions whose translation leaves the block itself (the others fall through to the next instruction). */
function endsItself(i: Insn): boolean {
  return i.fast === FAST_JCC || i.fast === FAST_JMP || i.fast === FAST_CALL || i.fast === FAST_RET;
}

/**
 * The instructions of `block` that have no inline translation (they would be
 * handler calls), for the measuring tools that find which forms to translate
 * next.
 */
export function untranslated(block: Block): Insn[] {
  const w = new BlockWriter(block, Infinity);
  w.translate();
  return w.handlerInsns;
}

/**
 * Function body source for `block`, or null when more than
 * `maxHandlerCalls` of its instructions have no inline translation. The
 * function sees the block's instructions as `I`.
 */
export function translateBlock(block: Block, maxHandlerCalls = 0, flat = 0): string | null {
  if (block.insns.length === 0) return null;
  return new BlockWriter(block, maxHandlerCalls, null, flat).translate();
}

/**
 * The prologue's check of the flat segments the code assumes (`need`,
 * segments.ts FLAT_*): if one is no longer flat (a segment register loaded
 * since, the software monitor's truncated limits), the function drops its
 * code (Jit.dropFlat: its blocks are interpreted and compile again later
 * without assuming flat segments) and returns having run nothing, with
 * `exitBlock` set so the run loop does not link the block to itself.
 */
function flatGuard(need: number): string {
  return need === 0 ? '' : `if ((cpu.flatMask & ${need}) !== ${need}) { cpu.jit.dropFlat(BS); cpu.exitBlock = true; return 0; }`;
}

/** `body` with the flat bits it assumes filled in where a handler call tests them. */
function withNeed(body: string, need: number): string {
  return body.replaceAll('/*NEED*/0', String(need));
}

/**
 * Function body source for a region: several blocks in one function
 * `(cpu)` that starts at member `cpu.jitMember` (the index in
 * `blocks` of the block the run loop enters). Each block is translated as by
 * translateBlock, except that every exit breaks to the region's exit tail
 * (regionTail) with its registers and flags written back, so each member
 * starts from the CPU's state exactly as when the run loop calls it; the
 * tail goes on to a member where the run loop would run it next and returns
 * to the run loop otherwise. The function sees the members as `BS` (and
 * `IS[i]` their instructions, `LV` their liveness: Block.jitLive). Null if a
 * member has no translation.
 */
export function translateRegion(blocks: Block[], maxHandlerCalls: number, flat = 0): string | null {
  const used = new Set<number>();
  const cases: string[] = [];
  let need = 0;
  for (let i = 0; i < blocks.length; i++) {
    if (blocks[i].insns.length === 0) return null;
    const w = new BlockWriter(blocks[i], maxHandlerCalls, i, flat, blocks);
    if (w.translate() === null) return null;
    need |= w.need;
    const piece = w.regionPiece();
    for (const r of piece.used) used.add(r);
    // Each member's handler calls name its own instructions.
    cases.push(`case ${i}: {\n${w.handlerCalls + w.fallbacks > 0 ? `I = IS[${i}];\n` : ''}${piece.body}\n}`);
  }
  const loads = [...used].sort().map((r) => `r${r} = regs[${r}]`);
  const reload = loads.map((l) => `${l}; `).join('');
  return [
    flatGuard(need),
    'let o = 0, lin = 0, e = 0, p = 0, m = 0, x = 0, t = 0, fa = 0, fb = 0, fr = 0, fcf = 0, s = null, tb = 0, ss32 = false, sl = false, I = null, d = 0, f = 0, g = 0, q = null, ck = 0, cb = 0, left = cpu.jitLeft, dd = 0;',
    loads.length > 0 ? `let ${loads.join(', ')};` : '',
    // Read once: only a handler call can change them, and each reloads them after itself.
    'tb = cpu.tlbBit; ss32 = cpu.ss32;',
    // The tail's checks at every boundary while the CPU must ask for interrupts between blocks (the VMX
    // preemption timer and interrupt-window exits, a board that cannot push its INTR line: regionTail).
    'ck = cb = cpu.pollIntr === true || cpu.intrLine === true ? 1 : 0;',
    'for (;;) {',
    'sw: switch (pc) {',
    withNeed(cases.join('\n').replaceAll('/*RELOAD*/', reload), need),
    '}',
    regionTail(),
    '}',
  ].join('\n');
}

/**
 * The exit tail every member's exit breaks to (`sw`), with `f` the member
 * leaving, `d` its instructions retired, `t` the EIP after it, `g` the
 * member at `t` when known at compile time (BlockWriter.memberOnPage; else
 * -1), its registers and flags already stored. It goes on in this function only
 * where the run loop would run the successor next with nothing in between,
 * so every check the run loop makes between blocks still decides at every
 * block boundary, inline: budget left (`cpu.jitLeft`); and, when a call out
 * of generated code ran since the last boundary (`ck`, set by every sync:
 * only a handler or an accessor changes what follows, and the run loop
 * has just tested it when it enters the region) or at every boundary while
 * the CPU polls for interrupts or its INTR line is up (`cb`: the VMX
 * preemption timer's deadline moves with the clock alone), nothing needing
 * attention (stop request, halt, interrupt shadow, NMI, debug); no single
 * step (TF, RF); the block did not end itself (exitBlock: code written, mode
 * changed, a VM exit); no interrupt to take by the run loop's own test (so
 * interrupt-window and external-interrupt exits in VMX non-root come at the
 * same boundaries); and the successor is the one the run loop's link lookup
 * finds, still valid and compiled: member `g`, or else by `f`'s links
 * under the current link stamp, same EIP, and a member of this region
 * (`s.jitLive === LV`); a member is live in `LV` while it is valid and
 * this region is its code (Block.leaveRegion), so `g` needs no Block read.
 * The block's instructions are then counted as the run loop counts them, in
 * locals the region hands over wherever it returns or syncs (BlockWriter
 * sync: a call out of generated code may read the clock or fault): the
 * budget left (`left`, `cpu.jitLeft`), the instructions retired since the
 * last hand-over (`dd`, added to the clock), and the member (`pc`,
 * `cpu.jitMember`, for a fault's accounting): a double added on the clock
 * object at every transition was the hottest spot of the top region (jit.ts
 * history, stop 31). Boolean fields are compared
 * with true or false: V8 compiles a field's truthiness as a generic
 * ToBoolean, a chain of loads (jit.ts history, stop 27).
 */
function regionTail(): string {
  const lookup = [
    '((s = q.succ0) !== null && s.eip === t && s.valid === true)',
    '((s = q.succ1) !== null && s.eip === t && s.valid === true)',
  ].join(' || ');
  return [
    `if ((x = left - d) > 0 && (ck === 0 || (cpu.attention === false && cpu.exitBlock === false && ((p = cpu.flags) & ${TF | RF}) === 0`
      + ' && ((p & cpu.intrMask) === 0 || (cpu.intrLine === false && cpu.pollIntr === false))))) {',
    `if (g >= 0) { if (LV[g] === 1) { left = x; dd += d; ck = cb; pc = g; continue; } }`,
    `else if ((q = BS[f]).linkStamp === cpu.linkStamp && (${lookup}) && s.jitLive === LV && LV[g = s.jitEntry] === 1) {`,
    'left = x; dd += d; ck = cb;',
    'pc = g; continue;',
    '}',
    '}',
    'cpu.jitMember = f; cpu.jitLeft = left; cpu.clock.retired += dd; cpu.eip = t; return d;',
  ].join('\n');
}
