/**
 * A processor's WebAssembly back end at run time: the regions' modules
 * instantiated with their imports bound to the processor (its flag helpers,
 * and the interpreter handlers of instructions without a WebAssembly form,
 * called with the state synced as translate.ts's sync stores it), their
 * functions in one table, the dispatch loop
 * (wasmDispatch.ts) over it, and the one function the run loop calls for
 * every WebAssembly member: it checks the entered region's flat segments
 * (translate.ts flatGuard), hands the loop the CPU's state it needs, and
 * takes back what the last region left in `cpu.jitState`.
 *
 * Members are numbered among all of the processor's WebAssembly members,
 * in the order compiled: Block.jitEntry is that number and Block.jitMembers
 * the list of them all (the run loop finds the last member run, or the one
 * that faulted, by the number the code left), and the state area holds per
 * number a liveness byte (Block.jitLive) and the region's table index. The
 * numbers, the table and the jump cache start over when every compiled
 * region is dropped (Jit.flush).
 */
import type { Cpu } from '../../cpu.ts';
import type { Block } from '../../decoder.ts';
import type { Insn } from '../../insn.ts';
import { testCondition } from '../../flags.ts';
import { CR0_EM, CR0_TS, CR4_OSFXSR, CS, RF, TF } from '../../regs.ts';
import { TLB_SUPERVISOR, TLB_USER } from '../../tlb.ts';
import type { CompiledBlock } from '../jit.ts';
import {
  HANDLER_END_MEMBER, HANDLER_GO_ON, HANDLER_STOP, JIT_EFLAGS, JIT_EIP, JIT_LEFT, JIT_MEMBER, JIT_RESUME, JIT_RETIRED, JIT_SSE_GATE, JIT_TLB_BIT, wasmRegions,
  type HandlerImport, type RegionSource, type WasmImports, type WasmLayout, type WasmModuleCode,
} from './wasmRegion.ts';
import { dispatchModule, JC_CS32, JC_CS_BASE, JC_EIP, JC_KEY, JC_MEMBER, JC_NEED, JC_REGION, jumpCacheSlot } from './wasmDispatch.ts';
import {
  AREA_JUMP_CACHE, AREA_LIVE, AREA_MEMBERS, AREA_REGION_OF, AREA_STATE, JUMP_CACHE_ENTRIES, JUMP_CACHE_ENTRY_BYTES, WASM_PAGE_BYTES,
} from '../../../memory/processorMemory.ts';

type DispatchFunction = (member: number, left: number, tb: number, fetchBit: number, once: number, cs32: number, csBase: number, csLimit: number, flatMask: number) => number;

/** Where the regions' flat-segment needs are kept: after the state slots, one int32 per table index. */
const NEED_OF = AREA_STATE + 1024;
/**
 * Regions compiled one module each before they are compiled again as one
 * (WasmBackend.consolidate): the warm shell loop per round 1.76 s with none,
 * 1.36 with 8, 1.31 with 32 and 64, 1.41 with 128 (more of its ~250 regions
 * left in modules of their own).
 */
const CONSOLIDATE = 32;
/** Regions at once (their needs fill the rest of the state page). */
const MAX_REGIONS = (WASM_PAGE_BYTES - 1024) / 4;

/**
 * Hooks for the measurement tools (test/cpu/jit/measure/wasmExits.ts), null
 * by default: read when a back end is made (and its imports bound), so that
 * a processor made without them pays nothing. `onImport` sees every call
 * out of a region's code by the import's name (and a handler call's
 * instruction); `onReturn` every return of the dispatch loop to the run
 * loop, with the instructions of its last member, of the whole entry, and
 * whether the CPU polled for interrupts, the state as left; `countSteps`
 * has the dispatch loop count its region calls.
 */
export const wasmHooks: {
  onImport: ((name: keyof WasmImports | 'handler', handled?: Insn) => void) | null;
  onReturn: ((cpu: Cpu, d: number, instructions: number, once: boolean) => void) | null;
  /** The dispatch loop counts its region calls in cpu.jitState[JIT_STEPS]. */
  countSteps: boolean;
} = { onImport: null, onReturn: null, countSteps: false };

/** The imports of a region module, for `cpu`, counted by wasmHooks.onImport when set. */
function importsFor(cpu: Cpu): WasmImports {
  const imports = boundImports(cpu);
  const count = wasmHooks.onImport;
  if (count === null) return imports;
  const counted = { ...imports };
  for (const name of Object.keys(imports) as (keyof WasmImports)[]) {
    const f = imports[name] as (...a: number[]) => number;
    (counted as Record<string, unknown>)[name] = (...a: number[]) => {
      count(name);
      return f(...a);
    };
  }
  return counted;
}

function boundImports(cpu: Cpu): WasmImports {
  const out = cpu.jitState;
  return {
    condition: (cc) => {
      cpu.flags = out[JIT_EFLAGS];
      return testCondition(cpu, cc) ? 1 : 0;
    },
  };
}

/** 1 when SSE instructions run (sse/operands.ts sseGate passes), else 0: JIT_SSE_GATE. */
function sseGateOpen(cpu: Cpu): number {
  return (cpu.cr0 & (CR0_EM | CR0_TS)) === 0 && (cpu.cr4 & CR4_OSFXSR) !== 0 ? 1 : 0;
}

/**
 * A region's `handler` import over its instructions `handlers`: the
 * instruction run as the run loop runs it (translate.ts's sync first);
 * HANDLER_STOP if it set cpu.exitBlock (the interpreter ends the block
 * there); HANDLER_END_MEMBER if the run loop must look at the CPU at the
 * next block boundary: what it checks between blocks (attention, single
 * step, an interrupt to take), or what the dispatch loop and the next
 * member were entered with changed (the TLB permission bit, the CPL, the
 * flat segments, the code segment's base, limit and size); else
 * HANDLER_GO_ON.
 */
function handlerImport(cpu: Cpu, handlers: Insn[]): HandlerImport {
  const out = cpu.jitState, segBase = cpu.segBase, segLimit = cpu.segLimit;
  const count = wasmHooks.onImport;
  return (n, k, eip, member, left, retired) => {
    if (count !== null) count('handler', handlers[n]);
    cpu.jitK = k;
    cpu.eip = eip;
    cpu.jitMember = member;
    cpu.jitLeft = left;
    cpu.clock.retired += retired;
    const tb = cpu.tlbBit, cpl = cpu.cpl, flat = cpu.flatMask, csBase = segBase[CS], csLimit = segLimit[CS], cs32 = cpu.cs32;
    const ins = handlers[n];
    cpu.flags = out[JIT_EFLAGS];
    ins.fn(cpu, ins);
    out[JIT_EFLAGS] = cpu.flags;
    out[JIT_EIP] = cpu.eip;
    out[JIT_TLB_BIT] = cpu.tlbBit;
    out[JIT_SSE_GATE] = sseGateOpen(cpu);
    if (cpu.exitBlock === true) return HANDLER_STOP;
    const f = cpu.flags;
    return cpu.attention === true || (f & (TF | RF)) !== 0 || ((f & cpu.intrMask) !== 0 && (cpu.intrLine === true || cpu.pollIntr === true))
      || cpu.tlbBit !== tb || cpu.cpl !== cpl || cpu.flatMask !== flat || segBase[CS] !== csBase || segLimit[CS] !== csLimit || cpu.cs32 !== cs32
      ? HANDLER_END_MEMBER : HANDLER_GO_ON;
  };
}

export class WasmBackend {
  private readonly cpu: Cpu;
  private readonly memory: WebAssembly.Memory;
  private readonly pages: number;
  private readonly table = new WebAssembly.Table({ element: 'anyfunc', initial: 64 });
  /** Every member, by number (Block.jitMembers of them all). */
  private readonly members: Block[] = [];
  /** Each region's members, by table index. */
  private regions: Block[][] = [];
  /** What each region was compiled from, by table index (consolidate compiles it again). */
  private sources: RegionSource[] = [];
  /** The table indices of regions compiled in a module of their own since the last consolidation. */
  private loose: number[] = [];
  /** Regions compiled again into shared modules (consolidate), and returns before an instruction for the run loop to run (Cpu.jitResume), for the tests and tools. */
  consolidated = 0;
  handOvers = 0;
  /** The state area's layout, for wasmRegions. */
  private readonly layout: Omit<WasmLayout, 'live' | 'base'>;
  private readonly live: Uint8Array;
  private readonly regionOf: Int32Array;
  private readonly needOf: Int32Array;
  private readonly jumpCache: Int32Array;
  /** Each member's jump cache entry (its index in jumpCache). */
  private readonly slotOf = new Int32Array(AREA_MEMBERS);
  /** The function the run loop calls for every WebAssembly member (Block.jit). */
  readonly compiled: CompiledBlock;
  /** The imports every region module shares (importsFor). */
  private readonly imports: WasmImports;

  /** The back end of `cpu`, or null if its memory has no WebAssembly.Memory or it has no state area. */
  static for(cpu: Cpu): WasmBackend | null {
    const memory = cpu.bus.memory.wasm;
    return memory === null || cpu.stateArea < 0 ? null : new WasmBackend(cpu, memory);
  }

  private constructor(cpu: Cpu, memory: WebAssembly.Memory) {
    this.cpu = cpu;
    this.memory = memory;
    this.imports = importsFor(cpu);
    this.pages = memory.buffer.byteLength / WASM_PAGE_BYTES;
    const buffer = cpu.u8.buffer, area = cpu.stateArea;
    this.live = new Uint8Array(buffer, area + AREA_LIVE, AREA_MEMBERS);
    this.regionOf = new Int32Array(buffer, area + AREA_REGION_OF, AREA_MEMBERS);
    this.needOf = new Int32Array(buffer, area + NEED_OF, MAX_REGIONS);
    this.jumpCache = new Int32Array(buffer, area + AREA_JUMP_CACHE, (JUMP_CACHE_ENTRIES * JUMP_CACHE_ENTRY_BYTES) >> 2);
    this.layout = {
      regs: cpu.regs.byteOffset, lazy: cpu.lazy.byteOffset, tlbRead: cpu.tlbRead.byteOffset, tlbWrite: cpu.tlbWrite.byteOffset,
      segBase: cpu.segBase.byteOffset, segRLo: cpu.segRLo.byteOffset, segRHi: cpu.segRHi.byteOffset, segWLo: cpu.segWLo.byteOffset,
      segWHi: cpu.segWHi.byteOffset, jitState: cpu.jitState.byteOffset, xmm: cpu.sse.xmm.byteOffset, pages: this.pages,
    };
    const bytes = dispatchModule({
      tlbRead: cpu.tlbRead.byteOffset, jitState: cpu.jitState.byteOffset, live: area + AREA_LIVE, regionOf: area + AREA_REGION_OF,
      jumpCache: area + AREA_JUMP_CACHE, pages: this.pages, countSteps: wasmHooks.countSteps,
    });
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { cpu: { memory, regions: this.table } });
    const dispatch = instance.exports.dispatch as DispatchFunction;
    const out = cpu.jitState, regionOf = this.regionOf, needOf = this.needOf, segBase = cpu.segBase, segLimit = cpu.segLimit;
    const jumpCache = this.jumpCache, slotOf = this.slotOf;
    const compiled = (c: Cpu): number => {
      const need = needOf[regionOf[c.jitMember]];
      if ((c.flatMask & need) !== need) {
        c.jit.dropFlat(this.regions[regionOf[c.jitMember]]);
        c.exitBlock = true;
        return 0;
      }
      // The member entered takes its jump cache slot back from another that shares it (the cache keeps the last used).
      if (jumpCache[slotOf[c.jitMember] + JC_MEMBER] !== c.jitMember) this.fill(this.members[c.jitMember], c.jitMember);
      out[JIT_SSE_GATE] = sseGateOpen(c);
      out[JIT_EFLAGS] = c.flags;
      // `once` (one member, then back to the run loop) only while an interrupt could be taken at the next boundary:
      // the CPU asks for interrupts between blocks, or its line is up, and EFLAGS lets them in (the run loop's test;
      // only a handler changes EFLAGS.IF, and its import then ends the member). A bare CPU polls with IF clear.
      const d = dispatch(c.jitMember, c.jitLeft, c.tlbBit, c.cpl === 3 ? TLB_USER : TLB_SUPERVISOR,
        (c.flags & c.intrMask) !== 0 && (c.pollIntr === true || c.intrLine === true) ? 1 : 0, c.cs32 ? 1 : 0, segBase[CS], segLimit[CS] | 0, c.flatMask);
      c.jitMember = out[JIT_MEMBER];
      c.jitLeft = out[JIT_LEFT];
      c.clock.retired += out[JIT_RETIRED];
      c.eip = out[JIT_EIP];
      c.flags = out[JIT_EFLAGS];
      if (out[JIT_RESUME] !== 0) {
        out[JIT_RESUME] = 0;
        c.jitResume = true;
        this.handOvers++;
      }
      return d;
    };
    const onReturn = wasmHooks.onReturn;
    this.compiled = onReturn === null ? compiled : (c: Cpu): number => {
      const once = c.pollIntr === true || c.intrLine === true;
      const before = c.clock.retired;
      const d = compiled(c);
      onReturn(c, d, c.clock.retired - before + d, once);
      return d;
    };
  }

  /**
   * Compiles `members` into a WebAssembly region (wasmRegion.ts) and makes
   * them WebAssembly members; returns the module's size in bytes, or 0 if a
   * member has no translation there or the back end is full. The region
   * gets a module of its own at once; every CONSOLIDATE regions compiled so,
   * they are compiled again as one module (consolidate).
   */
  install(members: Block[], flat: number, maxHandlerCalls: number): number {
    const base = this.members.length;
    const index = this.regions.length;
    if (base + members.length > AREA_MEMBERS || index >= MAX_REGIONS) return 0;
    const source: RegionSource = { blocks: members, flat, live: this.live.byteOffset + base, base, maxHandlerCalls };
    const code = wasmRegions([source], this.layout);
    if (code === null) return 0;
    if (index >= this.table.length) this.table.grow(Math.max(64, this.table.length));
    this.instantiate(code, [index]);
    this.needOf[index] = code.needs[0];
    this.regions.push(members);
    this.sources.push(source);
    members.forEach((b, i) => {
      const n = base + i;
      this.members.push(b);
      this.regionOf[n] = index;
      this.live[n] = 1;
      b.jit = this.compiled;
      b.jitEntry = n;
      b.jitMembers = this.members;
      b.jitLive = this.live;
      this.slotOf[n] = jumpCacheSlot((b.csBase + b.eip) | 0) * (JUMP_CACHE_ENTRY_BYTES >> 2);
      this.fill(b, n);
    });
    this.loose.push(index);
    if (this.loose.length >= CONSOLIDATE) this.consolidate();
    return code.bytes.length;
  }

  /** Instantiates `code` and puts its regions' functions at table indices `indices`. */
  private instantiate(code: WasmModuleCode, indices: readonly number[]): void {
    const imports = { memory: this.memory, ...this.imports, handler: handlerImport(this.cpu, code.handlers) };
    const exports = new WebAssembly.Instance(new WebAssembly.Module(code.bytes), { cpu: imports }).exports;
    indices.forEach((index, i) => this.table.set(index, exports[`region${i}`] as (...args: number[]) => number));
  }

  /**
   * Compiles the regions that have a module of their own again, as one
   * module: V8 gives each module's code a reservation of its own at a random
   * address, so code spread over hundreds of modules costs every region
   * entry misses in the processor's instruction TLB and caches (jit.ts
   * history, stop 35). The same code, table indices and members.
   */
  private consolidate(): void {
    const indices = this.loose;
    this.loose = [];
    const code = wasmRegions(indices.map((i) => this.sources[i]), this.layout);
    if (code === null) return;
    this.instantiate(code, indices);
    this.consolidated += indices.length;
  }

  /** Makes member `n` (block `b`) its jump cache slot's entry. */
  private fill(b: Block, n: number): void {
    const e = this.slotOf[n];
    this.jumpCache[e + JC_KEY] = b.key;
    this.jumpCache[e + JC_EIP] = b.eip;
    this.jumpCache[e + JC_CS_BASE] = b.csBase;
    this.jumpCache[e + JC_CS32] = b.cs32 ? 3 : 2;
    this.jumpCache[e + JC_MEMBER] = n;
    this.jumpCache[e + JC_REGION] = this.regionOf[n];
    this.jumpCache[e + JC_NEED] = this.needOf[this.regionOf[n]];
  }

  /** Every region was dropped (Jit.flush): numbers, table indices and the jump cache start over. */
  reset(): void {
    this.members.length = 0;
    this.regions = [];
    this.sources = [];
    this.loose = [];
    this.live.fill(0);
    this.jumpCache.fill(0);
  }
}
