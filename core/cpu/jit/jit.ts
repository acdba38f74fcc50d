/**
 * The block compiler's front: which blocks get compiled, turning translated
 * source into functions, the code budget, and the counters.
 *
 * JavaScript functions (`new Function`) rather than WebAssembly: the
 * interpreter's state (registers, lazy flags, TLB, segment caches) lives in
 * JS objects and typed arrays, and the slow paths are the interpreter's own
 * methods; generated JS reaches both directly, while a WebAssembly block
 * would cross into JS for every slow path and need the state mirrored into
 * its memory. V8 optimizes the small generated functions like hand-written
 * code once they are hot.
 *
 * Measured (one process, alternating, CPU time; 2 shared cores, so ratios):
 * on the CPU benchmark's loops (bench/asm/cpubench.asm) compiled blocks run
 * 2-2.7x faster than the interpreter. On the Tiny Linux shell loop they do
 * not pay yet: its ~2500 hot blocks average under 5 instructions, so the
 * per-block costs (entry, exit, the run loop between blocks) that the
 * interpreter pays too dominate, and each generated function first runs
 * unoptimized and then costs V8 a TurboFan compile. Hence off by default,
 * and a high hot threshold: measured (measure/shellLoopAB.ts, one run, 3000
 * iterations x 4), at 5000 Tiny Linux boots in 0.88x the interpreter's time
 * (1.32x at 1000: half the blocks compiled, 2.5 MB of source instead of
 * 4.9), the loop reaches the same steady state (0.86x vs 0.85-0.88x) for
 * about the same compile cost (8.1 s vs 8.7 s over the first runs), and
 * the CPU benchmark does not change.
 *
 * Chaining (option `chain`, chain.ts, translate.ts chainExit): a compiled
 * block that ends where the run loop would go straight on to a compiled
 * successor (budget left, no attention, no single step, no pending
 * interrupt, the same successor link the run loop follows) calls the
 * successor's function itself, at most JIT_CHAIN_DEPTH deep, and a block
 * that jumps to itself loops inside its function. The run loop's checks run
 * at every block boundary as before, so interrupts, device events, VM exits
 * and the deterministic clock see exactly the instruction boundaries the
 * interpreter gives them (the chaining and VMX non-root tests compare).
 * Measured (2 shared cores under load, so CPU time and ratios; CPU
 * benchmark: best of 3 runs per process, 3 processes alternating): the
 * interpreter ~91 MIPS; compiled ~190 without chaining, ~200-210 with the
 * shift/CMP/PUSH/JMP/CALL forms, ~230-245 with the forms and chaining
 * (measure/cpuBenchRuns.ts). On the Tiny Linux shell loop
 * (measure/shellLoopChain.ts, 5000 iterations at the default threshold)
 * chaining does not pay: steady state 1.6-2.0 s either way (the interpreter
 * ~1.7 s), and the first run costs more (8.6 s vs 5.9-6.7 s: V8 compiling
 * ~2400 larger functions). Hence off by default. On Linux the time goes to
 * V8 compiling and running thousands of functions of ~5 instructions each
 * (97% of the loop's instructions run compiled once warm; the run loop and
 * the blocks' entries and exits are about half of the profile), which only
 * larger units (regions of blocks keeping registers and flags in locals)
 * can amortize.
 *
 * Profile of the shell loop (measure/shellLoopProfile.ts: V8's sampling
 * profiler over one warm run of 3000-10000 iterations, bundled like the
 * bench, deterministic clock): ~17,500 guest instructions per iteration in
 * ~3,600 block runs (4.8 instructions a block); 97% of the instructions run
 * in compiled blocks once warm, 500 blocks make 88-99% of the block runs,
 * and the 10 hottest (ash's strlen-like byte loops, 2-3 instructions each)
 * 28-32%. Self time: compiled blocks 35-44%, the run loop 43-48% (its
 * between-block checks, the successor lookup and the call into each block;
 * fetchBlock 2.5%, a link miss after RET and indirect jumps), the rest the
 * interpreter's handlers (integerOp, computeLazy, string moves) at ~1% each.
 * With the compiler off the same loop is 61% run loop (fast forms inline),
 * push32 5%, testCondition 3%, fetchBlock 2.4%, lazy flags 3%, memory
 * accessors 4%. V8 code and metadata grow ~4.6 MiB for ~1300 compiled
 * blocks (~3.6 KB each for under 5 guest instructions), and each block's
 * TurboFan compile takes ~1.5 ms; the warm-up rounds pay it. Compiled
 * blocks are optimized (V8's trace: ~1300 optimized, 58 deopts), so the
 * cost is per block: the entry and exit of a function per 5 instructions
 * and the run loop between blocks, which the interpreter pays too.
 *
 * Regions (option `regions`, translateRegion, chain.ts regionNext) attack
 * that: a block turning hot compiles with its warm linked successors into
 * one function that steps between them. Measured (measure/shellLoopVariants.ts,
 * 3000 iterations a round, three machines in one process, CPU time, the
 * machine under heavy load): round 2 (blocks still turning hot) interpreter
 * 3.26 s, blocks 5.56 s, regions 4.18 s; round 3 2.75, 3.30, 2.68 s; boot
 * 10.4, 10.9, 14.0 s (regions entered through a wrapper closure per
 * member then; one function per region since). Again with one function per
 * region, 5 rounds (interpreter / blocks / regions): rounds 0-1 1.88/3.91/6.45
 * and 2.73/3.92/5.28 s (compiling), round 2 1.96/3.18/2.14, rounds 3-4
 * 1.71/1.81/1.51 and 1.71/1.71/1.46 s, boot 7.9/7.3/9.4 s CPU; the guests'
 * output identical. The profile with regions: 20.8 instructions per entry
 * from the run loop (4.8 with blocks), region code 48%, the run loop 26%,
 * regionNext 3.4%, fetchBlock 2.9%, GC 2.6%; V8 code +9.3 MiB. CPU
 * benchmark, same process conditions: blocks x2.37, regions x2.90 of the
 * interpreter. So regions are the compiler's default mode
 * (POPEK_JIT_REGIONS=off for single blocks); the compiler itself stays off
 * by default: on Tiny Linux it pays only once warm (steady state 0.85x of
 * the interpreter's time) and costs ~1.25x at boot. Loops only (option
 * `loops`): round 3 2.74 s against 2.98 s for blocks and 3.24 s off.
 *
 * A block is compiled when the run loop has interpreted it `hotThreshold`
 * times (Block.heat) and every instruction in it has a translation
 * (translate.ts). The compiled function belongs to its decoded block: it is
 * dropped with it when the block's page is written or the code cache is
 * flushed, since the run loop only ever reaches a block through the block
 * cache or a successor link that checks `valid`.
 */
import type { Cpu } from '../cpu.ts';
import type { Block } from '../decoder.ts';
import { getFlag, PARITY, setLazy, testCondition } from '../flags.ts';
import { setLazyCarry } from './flagCode.ts';
import { aluCompute } from '../ops/alu.ts';
import { translateBlock, translateRegion } from './translate.ts';
import { chainTarget, loopAgain, regionNext } from './chain.ts';

/**
 * A compiled block: runs it on `cpu` and returns the instructions retired
 * in the last block it ran (blocks it chained through count themselves on
 * the clock and in `cpu.jitLeft`, and leave the last one in `cpu.jitBlock`).
 */
export type CompiledBlock = (cpu: Cpu) => number;

/**
 * Nested chained calls a compiled block may make before control returns to
 * the run loop (each is a JS stack frame; a block's jump to itself is a loop
 * in its function and takes none).
 */
export const JIT_CHAIN_DEPTH = 32;

export interface JitOptions {
  /** Compile hot blocks (off: the interpreter runs everything). */
  enabled: boolean;
  /** Interpreted executions of a block before it is compiled. */
  hotThreshold: number;
  /** Generated source kept alive at most, in bytes; over it, all compiled code is dropped. */
  budgetBytes: number;
  /**
   * Instructions of a block that may lack an inline translation (they call
   * their interpreter handler from the compiled code); a block with more
   * stays interpreted.
   */
  maxHandlerCalls: number;
  /**
   * Chain compiled blocks (chain.ts): exits go on into the next compiled
   * block, and a block jumping to itself loops, without returning to the
   * run loop. Off by default: measured, it does not pay yet (see above).
   */
  chain: boolean;
  /**
   * A block that jumps back to its own start runs again inside its function
   * (chain.ts loopAgain: the same checks as chaining), without chaining into
   * other blocks. Implied by `chain`.
   */
  loops: boolean;
  /**
   * Compile regions rather than single blocks (translate.ts translateRegion):
   * a block turning hot is compiled together with the blocks the run loop
   * has linked it to (successor links, transitively, up to JIT_REGION_MAX
   * blocks) that are warm (heat at least hotThreshold / 4) and not compiled
   * yet, into one function that steps between them without returning to
   * the run loop. Takes precedence over `chain` and `loops` for its blocks.
   * On by default (measured above; POPEK_JIT_REGIONS=off turns it off).
   */
  regions: boolean;
  /** Blocks in one region at most. */
  regionMax: number;
}

/** Blocks in one region at most. */
export const JIT_REGION_MAX = 32;

/**
 * Off by default until it is measurably faster on the guests that matter
 * (see the report on issue 13). The environment variable POPEK_JIT=on
 * turns it on by default for a whole process, so the suite can run both ways
 * (and POPEK_JIT_CHAIN=on chaining likewise).
 */
const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env ?? {};
/** POPEK_JIT_HOT=n overrides the hot threshold likewise (a low one makes small tests run compiled code). */
const envHot = Number(env.POPEK_JIT_HOT);

export const JIT_DEFAULTS: Readonly<JitOptions> = {
  enabled: env.POPEK_JIT === 'on',
  hotThreshold: Number.isInteger(envHot) && envHot >= 1 ? envHot : 5000,
  budgetBytes: 16 << 20,
  maxHandlerCalls: 2,
  chain: env.POPEK_JIT_CHAIN === 'on',
  loops: env.POPEK_JIT_LOOPS === 'on',
  regions: env.POPEK_JIT_REGIONS !== 'off',
  regionMax: JIT_REGION_MAX,
};

export class Jit {
  private readonly cpu: Cpu;
  private options: JitOptions = { ...JIT_DEFAULTS };
  /** Names the generated code uses for the CPU's fixed arrays and the interpreter's helpers. */
  private readonly bindings: readonly unknown[];
  /** Blocks holding compiled code, for the budget (some may since have been invalidated). */
  private compiledBlocks: Block[] = [];
  /** Counters. */
  blocksCompiled = 0;
  blocksRejected = 0;
  regionsCompiled = 0;
  sourceBytes = 0;
  flushes = 0;

  constructor(cpu: Cpu) {
    this.cpu = cpu;
    this.bindings = [
      cpu.regs, cpu.u8, cpu.i32, cpu.tlbRead, cpu.tlbWrite, cpu.segBase, cpu.segRLo, cpu.segRHi, cpu.segWLo, cpu.segWHi,
      cpu.segLimit, PARITY, testCondition, getFlag, aluCompute, setLazy, setLazyCarry, chainTarget, loopAgain,
    ];
    cpu.jitHot = this.options.enabled ? this.options.hotThreshold : -1;
  }

  get enabled(): boolean {
    return this.options.enabled;
  }

  get settings(): Readonly<JitOptions> {
    return this.options;
  }

  /** Applies options; turning the compiler off drops every compiled block. */
  configure(options: Partial<JitOptions>): void {
    const next = { ...this.options, ...options };
    if (!Number.isInteger(next.hotThreshold) || next.hotThreshold < 1) throw new Error(`jit hotThreshold must be a positive integer, got ${next.hotThreshold}`);
    if (!Number.isInteger(next.regionMax) || next.regionMax < 1) throw new Error(`jit regionMax must be a positive integer, got ${next.regionMax}`);
    if (!(next.budgetBytes > 0)) throw new Error(`jit budgetBytes must be positive, got ${next.budgetBytes}`);
    const recompile = next.chain !== this.options.chain || next.loops !== this.options.loops || next.regions !== this.options.regions || next.regionMax !== this.options.regionMax || next.maxHandlerCalls !== this.options.maxHandlerCalls;
    this.options = next;
    if (!next.enabled || recompile) this.flush();
    // Heat counted under an earlier threshold (or while off) starts over.
    else for (const b of this.cpu.blocks.values()) if (b.jit === null) b.heat = 0;
    this.cpu.jitHot = next.enabled ? next.hotThreshold : -1;
  }

  /** Called by the run loop when a block turns hot: compiles it if every instruction has a translation. */
  compile(block: Block): void {
    if (!block.valid) return;
    if (this.options.regions && this.compileRegion(block)) return;
    const body = translateBlock(block, this.options.maxHandlerCalls, this.options.chain, this.options.loops);
    if (body === null) {
      this.blocksRejected++;
      return;
    }
    if (this.sourceBytes + body.length > this.options.budgetBytes) this.reclaim(body.length);
    const factory = new Function(
      'regs', 'u8', 'i32', 'tlbR', 'tlbW', 'sB', 'sRL', 'sRH', 'sWL', 'sWH', 'sLim', 'PARITY', 'testCondition', 'getFlag', 'aluCompute', 'setLazy', 'setLazyCarry', 'CH', 'LOOP', 'I', 'BLK',
      `return function block_${(block.eip >>> 0).toString(16)}(cpu) {\n${body}};`,
    ) as (...bindings: unknown[]) => CompiledBlock;
    block.jit = factory(...this.bindings, block.insns, block);
    block.jitBytes = body.length;
    this.compiledBlocks.push(block);
    this.sourceBytes += body.length;
    this.blocksCompiled++;
  }

  /**
   * The region of `block` (see JitOptions.regions): false, leaving it to the
   * single-block compiler, when it has no warm successors or a member has
   * no translation.
   */
  private compileRegion(block: Block): boolean {
    const stamp = this.cpu.linkStamp;
    const warm = Math.max(1, this.options.hotThreshold >> 2);
    const members: Block[] = [block];
    const seen = new Set<Block>(members);
    const max = this.options.regionMax;
    for (let i = 0; i < members.length && members.length < max; i++) {
      const b = members[i];
      if (b.linkStamp !== stamp) continue;
      for (const s of [b.succ0, b.succ1]) {
        if (s === null || seen.has(s) || !s.valid || s.jit !== null || s.heat < warm || members.length >= max) continue;
        seen.add(s);
        members.push(s);
      }
    }
    // A single block is a region when it links to itself (it loops in its function).
    if (members.length === 1 && (block.linkStamp !== stamp || (block.succ0 !== block && block.succ1 !== block))) return false;
    let body = translateRegion(members, this.options.maxHandlerCalls);
    // A member without a translation: keep those that have one (the others stay interpreted).
    if (body === null) {
      const ok = members.filter((b, i) => i === 0 || translateBlock(b, this.options.maxHandlerCalls) !== null);
      if (translateBlock(block, this.options.maxHandlerCalls) === null) return false;
      members.length = 0;
      members.push(...ok);
      body = translateRegion(members, this.options.maxHandlerCalls);
      if (body === null) return false;
    }
    if (this.sourceBytes + body.length > this.options.budgetBytes) this.reclaim(body.length);
    const factory = new Function(
      'regs', 'u8', 'i32', 'tlbR', 'tlbW', 'sB', 'sRL', 'sRH', 'sWL', 'sWH', 'sLim', 'PARITY', 'testCondition', 'getFlag', 'aluCompute', 'setLazy', 'setLazyCarry', 'CH', 'LOOP', 'NEXT', 'BS', 'IS', 'MI',
      // One function for every member: the run loop enters it with the member as cpu.jitBlock (no
      // wrapper per entry, which V8 would inline the whole region into).
      `return function region_${(block.eip >>> 0).toString(16)}(cpu) {\nlet pc = cpu.jitBlock.jitEntry;\n${body}};`,
    ) as (...bindings: unknown[]) => CompiledBlock;
    const region = factory(...this.bindings, regionNext, members, members.map((b) => b.insns), new Map(members.map((b, i) => [b.eip | 0, i])));
    const share = Math.ceil(body.length / members.length);
    members.forEach((b, i) => {
      b.jit = region;
      b.jitEntry = i;
      b.jitBytes = share;
      this.compiledBlocks.push(b);
    });
    this.sourceBytes += share * members.length;
    this.blocksCompiled += members.length;
    this.regionsCompiled++;
    return true;
  }

  /** Drops every compiled function (the decoded blocks stay and are interpreted, heating up again). */
  flush(): void {
    for (const b of this.compiledBlocks) {
      b.jit = null;
      b.heat = 0;
    }
    this.compiledBlocks = [];
    this.sourceBytes = 0;
    this.flushes++;
  }

  /** Budget exceeded: forget the code of invalidated blocks, and everything if that is not enough. */
  private reclaim(needed: number): void {
    const live: Block[] = [];
    let bytes = 0;
    for (const b of this.compiledBlocks) {
      if (b.valid) {
        live.push(b);
        bytes += b.jitBytes;
      } else b.jit = null;
    }
    this.compiledBlocks = live;
    this.sourceBytes = bytes;
    if (bytes + needed > this.options.budgetBytes) this.flush();
  }

  /** Compiled blocks alive and their generated source size. */
  stats(): { blocks: number; liveBlocks: number; sourceBytes: number; compiled: number; rejected: number; flushes: number; regions: number } {
    return {
      blocks: this.compiledBlocks.length,
      liveBlocks: this.compiledBlocks.filter((b) => b.valid).length,
      sourceBytes: this.sourceBytes,
      compiled: this.blocksCompiled,
      rejected: this.blocksRejected,
      flushes: this.flushes,
      regions: this.regionsCompiled,
    };
  }
}
