/**
 * A processor's WebAssembly back end at run time: the regions' modules
 * instantiated with their imports bound to the processor (its accessors and
 * flag helpers, each taking the state the code synced, as translate.ts's
 * sync stores it), their functions in one table, the dispatch loop
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
import { getFlag, testCondition } from '../../flags.ts';
import { CS } from '../../regs.ts';
import { TLB_SUPERVISOR, TLB_USER } from '../../tlb.ts';
import type { CompiledBlock } from '../jit.ts';
import { JIT_EIP, JIT_EXIT, JIT_LEFT, JIT_MEMBER, JIT_RETIRED, wasmRegion, type WasmImports } from './wasmRegion.ts';
import { dispatchModule, JC_CS32, JC_CS_BASE, JC_EIP, JC_KEY, JC_MEMBER, jumpCacheSlot } from './wasmDispatch.ts';
import {
  AREA_JUMP_CACHE, AREA_LIVE, AREA_MEMBERS, AREA_REGION_OF, AREA_STATE, JUMP_CACHE_ENTRIES, JUMP_CACHE_ENTRY_BYTES, WASM_PAGE_BYTES,
} from '../../../memory/processorMemory.ts';

type DispatchFunction = (member: number, left: number, tb: number, fetchBit: number, once: number, cs32: number, csBase: number, csLimit: number, flatMask: number) => number;

/** Where the regions' flat-segment needs are kept: after the state slots, one int32 per table index. */
const NEED_OF = AREA_STATE + 1024;
/** Regions at once (their needs fill the rest of the state page). */
const MAX_REGIONS = (WASM_PAGE_BYTES - 1024) / 4;

/** The imports of a region module, for `cpu`. */
function importsFor(cpu: Cpu): WasmImports {
  const out = cpu.jitState;
  // translate.ts's sync: what a fault or the clock reads during the call.
  const sync = (k: number, eip: number, member: number, left: number, retired: number) => {
    cpu.jitK = k;
    cpu.eip = eip;
    cpu.jitMember = member;
    cpu.jitLeft = left;
    cpu.clock.retired += retired;
  };
  // After each accessor: whether it asked the block to end (exitBlock), for the code to test.
  const stopped = <T>(v: T): T => {
    out[JIT_EXIT] = cpu.exitBlock ? 1 : 0;
    return v;
  };
  return {
    read8(seg, off, k, eip, member, left, retired) {
      sync(k, eip, member, left, retired);
      return stopped(cpu.read8(seg, off >>> 0));
    },
    read32(seg, off, k, eip, member, left, retired) {
      sync(k, eip, member, left, retired);
      return stopped(cpu.read32(seg, off >>> 0));
    },
    write8(seg, off, v, k, eip, member, left, retired) {
      sync(k, eip, member, left, retired);
      stopped(cpu.write8(seg, off >>> 0, v));
    },
    write32(seg, off, v, k, eip, member, left, retired) {
      sync(k, eip, member, left, retired);
      stopped(cpu.write32(seg, off >>> 0, v));
    },
    push32(v, k, eip, member, left, retired) {
      sync(k, eip, member, left, retired);
      stopped(cpu.push32(v));
    },
    peek32(k, eip, member, left, retired) {
      sync(k, eip, member, left, retired);
      return stopped(cpu.peek32(0));
    },
    condition: (cc) => (testCondition(cpu, cc) ? 1 : 0),
    carry: () => getFlag(cpu, 1),
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
  private readonly live: Uint8Array;
  private readonly regionOf: Int32Array;
  private readonly needOf: Int32Array;
  private readonly jumpCache: Int32Array;
  /** The function the run loop calls for every WebAssembly member (Block.jit). */
  readonly compiled: CompiledBlock;

  /** The back end of `cpu`, or null if its memory has no WebAssembly.Memory or it has no state area. */
  static for(cpu: Cpu): WasmBackend | null {
    const memory = cpu.bus.memory.wasm;
    return memory === null || cpu.stateArea < 0 ? null : new WasmBackend(cpu, memory);
  }

  private constructor(cpu: Cpu, memory: WebAssembly.Memory) {
    this.cpu = cpu;
    this.memory = memory;
    this.pages = memory.buffer.byteLength / WASM_PAGE_BYTES;
    const buffer = cpu.u8.buffer, area = cpu.stateArea;
    this.live = new Uint8Array(buffer, area + AREA_LIVE, AREA_MEMBERS);
    this.regionOf = new Int32Array(buffer, area + AREA_REGION_OF, AREA_MEMBERS);
    this.needOf = new Int32Array(buffer, area + NEED_OF, MAX_REGIONS);
    this.jumpCache = new Int32Array(buffer, area + AREA_JUMP_CACHE, (JUMP_CACHE_ENTRIES * JUMP_CACHE_ENTRY_BYTES) >> 2);
    const bytes = dispatchModule({
      tlbRead: cpu.tlbRead.byteOffset, jitState: cpu.jitState.byteOffset, live: area + AREA_LIVE, regionOf: area + AREA_REGION_OF,
      needOf: area + NEED_OF, jumpCache: area + AREA_JUMP_CACHE, pages: this.pages,
    });
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { cpu: { memory, regions: this.table } });
    const dispatch = instance.exports.dispatch as DispatchFunction;
    const out = cpu.jitState, regionOf = this.regionOf, needOf = this.needOf, segBase = cpu.segBase, segLimit = cpu.segLimit;
    this.compiled = (c: Cpu): number => {
      const need = needOf[regionOf[c.jitMember]];
      if ((c.flatMask & need) !== need) {
        c.jit.dropFlat(this.regions[regionOf[c.jitMember]]);
        c.exitBlock = true;
        return 0;
      }
      const d = dispatch(c.jitMember, c.jitLeft, c.tlbBit, c.cpl === 3 ? TLB_USER : TLB_SUPERVISOR,
        c.pollIntr === true || c.intrLine === true ? 1 : 0, c.cs32 ? 1 : 0, segBase[CS], segLimit[CS] | 0, c.flatMask);
      c.jitMember = out[JIT_MEMBER];
      c.jitLeft = out[JIT_LEFT];
      c.clock.retired += out[JIT_RETIRED];
      c.eip = out[JIT_EIP];
      return d;
    };
  }

  /**
   * Compiles `members` into a WebAssembly region (wasmRegion.ts) and makes
   * them WebAssembly members; returns the module's size in bytes, or 0 if a
   * member has no translation there or the back end is full.
   */
  install(members: Block[], flat: number): number {
    const base = this.members.length;
    const index = this.regions.length;
    if (base + members.length > AREA_MEMBERS || index >= MAX_REGIONS) return 0;
    const cpu = this.cpu;
    const code = wasmRegion(members, flat, {
      regs: cpu.regs.byteOffset, lazy: cpu.lazy.byteOffset, tlbRead: cpu.tlbRead.byteOffset, tlbWrite: cpu.tlbWrite.byteOffset,
      segBase: cpu.segBase.byteOffset, segRLo: cpu.segRLo.byteOffset, segRHi: cpu.segRHi.byteOffset, segWLo: cpu.segWLo.byteOffset,
      segWHi: cpu.segWHi.byteOffset, jitState: cpu.jitState.byteOffset, live: this.live.byteOffset + base, base, pages: this.pages,
    });
    if (code === null) return 0;
    const instance = new WebAssembly.Instance(new WebAssembly.Module(code.bytes), { cpu: { memory: this.memory, ...importsFor(cpu) } });
    if (index >= this.table.length) this.table.grow(Math.max(64, this.table.length));
    this.table.set(index, instance.exports.region as (...args: number[]) => number);
    this.needOf[index] = code.need;
    this.regions.push(members);
    members.forEach((b, i) => {
      const n = base + i;
      this.members.push(b);
      this.regionOf[n] = index;
      this.live[n] = 1;
      b.jit = this.compiled;
      b.jitEntry = n;
      b.jitMembers = this.members;
      b.jitLive = this.live;
      const e = jumpCacheSlot(b.key) * (JUMP_CACHE_ENTRY_BYTES >> 2);
      this.jumpCache[e + JC_KEY] = b.key;
      this.jumpCache[e + JC_EIP] = b.eip;
      this.jumpCache[e + JC_CS_BASE] = b.csBase;
      this.jumpCache[e + JC_CS32] = b.cs32 ? 3 : 2;
      this.jumpCache[e + JC_MEMBER] = n;
    });
    return code.bytes.length;
  }

  /** Every region was dropped (Jit.flush): numbers, table indices and the jump cache start over. */
  reset(): void {
    this.members.length = 0;
    this.regions = [];
    this.live.fill(0);
    this.jumpCache.fill(0);
  }
}
