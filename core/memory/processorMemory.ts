/**
 * The memory a processor runs in: one shared WebAssembly.Memory holding the
 * physical memory (RAM and ROM images, or the hypervisor's machine memory)
 * from offset 0, then an area per processor for the state its compiled code
 * reads and writes at every instruction: the TLB, the registers, the lazy
 * flags and the segment caches. Code generated as WebAssembly can import one
 * linear memory only (Node 20 has no multi-memory), so guest memory and the
 * processor's state must be in the same one, as in v86; the JavaScript side
 * (interpreter, JS-compiled regions, devices) works on views of the same
 * bytes. jit.ts's history (stop 33) says why WebAssembly.
 *
 * The areas start with a table of who holds each one (0 free, else the
 * holder's id + 1), claimed with Atomics, since the host's machine memory is
 * shared by the workers of every VM it runs. A processor that finds no free
 * area keeps its state in arrays of its own (processorState below).
 */

/** A WebAssembly page: memory sizes are multiples of it. */
export const WASM_PAGE_BYTES = 65536;

/** The TLB: one Int32 per linear page (buffer offset | permission bits, tlb.ts), for reads and for writes. */
const TLB_BYTES = 4 << 20;
/** Offsets inside an area. */
export const AREA_TLB_READ = 0;
export const AREA_TLB_WRITE = TLB_BYTES;
/** The state words after the TLB: 32-byte slots, one per array below. */
export const AREA_STATE = 2 * TLB_BYTES;
const STATE_SLOT = 32;
/** The processor's state arrays, in slot order; each fits in STATE_SLOT bytes but the last, `jit`, which takes two slots. */
export const STATE_ARRAYS = ['regs', 'lazy', 'segSel', 'segBase', 'segLimit', 'segAttr', 'segRLo', 'segRHi', 'segWLo', 'segWHi', 'jit'] as const;
export type StateArrayName = (typeof STATE_ARRAYS)[number];
/** The XMM registers (sse/state.ts: eight of four dwords), after the slots. */
export const AREA_XMM = AREA_STATE + 512;
/**
 * What WebAssembly-compiled code keeps per member block (jit/wasm): one
 * liveness byte per member (Block.jitLive), the table index of the region
 * each member is in, and a jump cache from code addresses to members (its
 * dispatch loop's lookup, wasmDispatch.ts), after the state page.
 */
export const AREA_LIVE = AREA_STATE + WASM_PAGE_BYTES;
/** Members WebAssembly regions may have at once (a liveness byte and a region index each). */
export const AREA_MEMBERS = 65536;
export const AREA_REGION_OF = AREA_LIVE + AREA_MEMBERS;
export const AREA_JUMP_CACHE = AREA_REGION_OF + 4 * AREA_MEMBERS;
/** Jump cache entries, and the bytes of one (wasmDispatch.ts). */
export const JUMP_CACHE_ENTRIES = 16384;
export const JUMP_CACHE_ENTRY_BYTES = 32;
/** Bytes of one processor's area, a whole number of WebAssembly pages. */
export const AREA_BYTES = AREA_JUMP_CACHE + JUMP_CACHE_ENTRIES * JUMP_CACHE_ENTRY_BYTES;
/** The holders' table before the areas: one page. */
const TABLE_BYTES = WASM_PAGE_BYTES;

/** Bytes to add after the physical memory for `areas` processor areas. */
export function areasBytes(areas: number): number {
  return TABLE_BYTES + areas * AREA_BYTES;
}

/** Rounds up to a whole number of WebAssembly pages. */
export function wasmPagesFor(bytes: number): number {
  return Math.ceil(bytes / WASM_PAGE_BYTES);
}

/**
 * A shared WebAssembly.Memory of `bytes` (rounded up to whole pages), at its
 * full size from the start: its pages cost nothing until written, and a
 * memory that never grows keeps one buffer, so views of it never go stale.
 */
export function sharedWasmMemory(bytes: number): WebAssembly.Memory {
  const pages = wasmPagesFor(bytes);
  return new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
}

/** The buffer of a shared WebAssembly.Memory (TypeScript's lib types every memory's buffer as an ArrayBuffer). */
export function sharedBufferOf(memory: WebAssembly.Memory): SharedArrayBuffer {
  return memory.buffer as unknown as SharedArrayBuffer;
}

/** The processor areas after the physical memory in a memory's buffer. */
export class ProcessorAreas {
  /** Buffer offset of the holders' table. */
  readonly base: number;
  readonly count: number;
  private readonly table: Int32Array;

  constructor(buffer: SharedArrayBuffer, base: number, count: number) {
    if (base % WASM_PAGE_BYTES !== 0) throw new RangeError(`processor areas must start on a 64 KiB boundary, not at 0x${base.toString(16)}`);
    if (base + areasBytes(count) > buffer.byteLength) throw new RangeError('the memory is too small for its processor areas');
    this.base = base;
    this.count = count;
    this.table = new Int32Array(buffer, base, count);
  }

  /** Buffer offset of area `i`. */
  offsetOf(i: number): number {
    return this.base + TABLE_BYTES + i * AREA_BYTES;
  }

  /** Takes a free area for `holder` (a non-negative id); its buffer offset, or -1 if all are taken. */
  claim(holder: number): number {
    for (let i = 0; i < this.count; i++) {
      if (Atomics.compareExchange(this.table, i, 0, holder + 1) === 0) return this.offsetOf(i);
    }
    return -1;
  }

  /** Gives back the area at `offset`. */
  release(offset: number): void {
    const i = (offset - this.base - TABLE_BYTES) / AREA_BYTES;
    if (!Number.isInteger(i) || i < 0 || i >= this.count) throw new RangeError(`0x${offset.toString(16)} is not a processor area`);
    Atomics.store(this.table, i, 0);
  }

  /** Gives back every area `holder` took (its worker is gone). Returns how many. */
  releaseHeldBy(holder: number): number {
    let n = 0;
    for (let i = 0; i < this.count; i++) {
      if (Atomics.compareExchange(this.table, i, holder + 1, 0) === holder + 1) n++;
    }
    return n;
  }

  /** Areas held now. */
  get held(): number {
    let n = 0;
    for (let i = 0; i < this.count; i++) if (Atomics.load(this.table, i) !== 0) n++;
    return n;
  }
}

/** A processor's state arrays and TLB: views of its area, or arrays of its own. */
export interface ProcessorState {
  /** Buffer offset of the area, -1 when the state is in arrays of its own. */
  readonly area: number;
  readonly tlbRead: Int32Array;
  readonly tlbWrite: Int32Array;
  readonly regs: Int32Array;
  readonly lazy: Int32Array;
  readonly segSel: Uint16Array;
  readonly segBase: Int32Array;
  readonly segLimit: Uint32Array;
  readonly segAttr: Uint16Array;
  readonly segRLo: Uint32Array;
  readonly segRHi: Uint32Array;
  readonly segWLo: Uint32Array;
  readonly segWHi: Uint32Array;
  /** What WebAssembly code hands to the run loop when it returns (jit/wasm/wasmRegion.ts JIT_*). */
  readonly jit: Int32Array;
  /** XMM0..XMM7 (sse/state.ts), which WebAssembly code reads and writes as v128 values. */
  readonly xmm: Uint32Array;
}

/**
 * The state of a processor in the area at `area` of `buffer`, or, with
 * `area` -1, in arrays over ArrayBuffers of its own (off the V8 heap either
 * way: pinnedArrays.ts says why that matters). The area's bytes are zeroed:
 * an area given back by one processor starts clean for the next.
 */
export function processorState(buffer: SharedArrayBuffer | null, area: number): ProcessorState {
  const own = area < 0 || buffer === null;
  const mem: ArrayBufferLike = own ? new ArrayBuffer(AREA_BYTES) : buffer;
  const at = own ? 0 : area;
  if (!own) new Uint8Array(mem, at, AREA_BYTES).fill(0);
  const slot = (i: number) => at + AREA_STATE + i * STATE_SLOT;
  const i = (name: StateArrayName) => STATE_ARRAYS.indexOf(name);
  return {
    area: own ? -1 : area,
    tlbRead: new Int32Array(mem, at + AREA_TLB_READ, TLB_BYTES >> 2),
    tlbWrite: new Int32Array(mem, at + AREA_TLB_WRITE, TLB_BYTES >> 2),
    regs: new Int32Array(mem, slot(i('regs')), 8),
    lazy: new Int32Array(mem, slot(i('lazy')), 6),
    segSel: new Uint16Array(mem, slot(i('segSel')), 8),
    segBase: new Int32Array(mem, slot(i('segBase')), 8),
    segLimit: new Uint32Array(mem, slot(i('segLimit')), 8),
    segAttr: new Uint16Array(mem, slot(i('segAttr')), 8),
    segRLo: new Uint32Array(mem, slot(i('segRLo')), 6),
    segRHi: new Uint32Array(mem, slot(i('segRHi')), 6),
    segWLo: new Uint32Array(mem, slot(i('segWLo')), 6),
    segWHi: new Uint32Array(mem, slot(i('segWHi')), 6),
    jit: new Int32Array(mem, slot(i('jit')), 16),
    xmm: new Uint32Array(mem, at + AREA_XMM, 32),
  };
}
