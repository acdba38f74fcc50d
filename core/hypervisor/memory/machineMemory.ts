/**
 * Machine memory: the one pool of 4 KiB frames every domain's memory comes
 * from, and the hypervisor's own structures too (host page tables, VMCS
 * regions, EPT tables). One SharedArrayBuffer, growable up to the machine's
 * limit of 4 GiB, with a frame allocator whose state is shared as well, so
 * every worker that adopts the pool sees the same bytes and allocates from the
 * same bitmap; each worker's allocator tags the frames it takes with its
 * domain (its owner), so the host takes them all back when a VM's worker ends.
 *
 * Views are fixed-length and made again when this worker sees the pool grow:
 * V8 (Node 20) indexes length-tracking views of a growable buffer 20 to 30
 * times slower than fixed ones (measured). The processor's own views of a
 * pool shared by several VMs cannot follow growth at all (they are the
 * processor's memory path), so the host's pool is created at its full size
 * (`create(limit, limit)`: a plain SharedArrayBuffer whose untouched pages
 * the OS never commits) and grows only in frames used, not in bytes.
 *
 * Machine addresses are offsets in this buffer; the emulated processor's
 * physical address space is this buffer when the hypervisor runs it. A pool
 * made at its full size is a shared WebAssembly.Memory's buffer with state
 * areas for the processors of every VM it serves after the frames
 * (core/memory/processorMemory.ts), when both fit in WebAssembly's 4 GiB.
 */
import { FRAME_SIZE, FrameAllocator } from './frameAllocator.ts';
import { areasBytes, ProcessorAreas, sharedBufferOf, sharedWasmMemory, WASM_PAGE_BYTES } from '../../memory/processorMemory.ts';
import type { AdoptedMemory } from '../../memory/physicalMemory.ts';

/** The machine's limit: typed arrays index at most 4 GiB, and the 32-bit processor addresses no more. */
export const MACHINE_MEMORY_LIMIT = 2 ** 32;

/**
 * ES2024 growable shared buffers, which Node 20 has but the project's
 * TypeScript lib (ES2023) does not declare yet.
 */
interface GrowableSharedArrayBuffer extends SharedArrayBuffer {
  readonly growable: boolean;
  readonly maxByteLength: number;
  grow(newByteLength: number): void;
}
type GrowableSharedArrayBufferConstructor = new (byteLength: number, options: { maxByteLength: number }) => GrowableSharedArrayBuffer;

/** Processor areas in a pool made at its full size: two per VM (its processor and the software monitor's real-mode one) for 32 VMs. */
export const MACHINE_PROCESSOR_AREAS = 64;

/** What another worker needs to map the same machine memory (plain data; crosses postMessage). */
export interface MachineMemoryShare {
  buffer: SharedArrayBuffer;
  /** The WebAssembly.Memory of the buffer, null for a growable pool (processorMemory.ts). */
  wasm: WebAssembly.Memory | null;
  allocatorState: SharedArrayBuffer;
  limitBytes: number;
}

export class MachineMemory {
  readonly buffer: GrowableSharedArrayBuffer;
  readonly allocator: FrameAllocator;
  readonly limitBytes: number;
  readonly wasm: WebAssembly.Memory | null;
  /** The processors' state areas after the frames, null for a growable pool. */
  readonly areas: ProcessorAreas | null;
  /** The owner id this worker's allocator tags frames with (its domain), and claims processor areas with. */
  readonly owner: number;
  /** Fixed-length views of the pool as this worker last saw it (made again when it grows). */
  u8: Uint8Array;
  view: DataView;

  private constructor(
    buffer: SharedArrayBuffer,
    wasm: WebAssembly.Memory | null,
    allocator: (grow: (frames: number) => void) => FrameAllocator,
    limitBytes: number,
    owner: number,
  ) {
    this.buffer = buffer as GrowableSharedArrayBuffer;
    this.wasm = wasm;
    this.limitBytes = limitBytes;
    this.owner = owner;
    this.areas = wasm === null ? null : new ProcessorAreas(buffer, areasStart(limitBytes), MACHINE_PROCESSOR_AREAS);
    this.u8 = new Uint8Array(buffer, 0, buffer.byteLength);
    this.view = new DataView(buffer, 0, buffer.byteLength);
    this.allocator = allocator((frames) => this.growTo(frames));
  }

  /**
   * A new pool holding `initialBytes` now, growable to `limitBytes`.
   * Both are rounded up to whole frames.
   */
  static create(initialBytes: number, limitBytes = MACHINE_MEMORY_LIMIT): MachineMemory {
    if (!Number.isInteger(limitBytes) || limitBytes < FRAME_SIZE || limitBytes > MACHINE_MEMORY_LIMIT) {
      throw new RangeError(`machine memory limit must be 4 KiB .. 4 GiB, got ${limitBytes}`);
    }
    if (!Number.isInteger(initialBytes) || initialBytes < 0 || initialBytes > limitBytes) {
      throw new RangeError(`initial machine memory must be 0 .. ${limitBytes} bytes, got ${initialBytes}`);
    }
    const limitFrames = Math.ceil(limitBytes / FRAME_SIZE);
    const initialFrames = Math.ceil(initialBytes / FRAME_SIZE);
    // At its full size from the start, a WebAssembly.Memory's buffer (or a plain one where the processor areas do not
    // fit under 4 GiB): nothing to grow, nothing length-tracking.
    const bytes = limitFrames * FRAME_SIZE;
    const full = initialFrames === limitFrames;
    const wasm = full && areasStart(bytes) + areasBytes(MACHINE_PROCESSOR_AREAS) <= MACHINE_MEMORY_LIMIT ? sharedWasmMemory(areasStart(bytes) + areasBytes(MACHINE_PROCESSOR_AREAS)) : null;
    const buffer =
      wasm !== null
        ? sharedBufferOf(wasm)
        : full
          ? new SharedArrayBuffer(bytes)
          : new (SharedArrayBuffer as unknown as GrowableSharedArrayBufferConstructor)(initialFrames * FRAME_SIZE, { maxByteLength: bytes });
    return new MachineMemory(buffer, wasm, (grow) => FrameAllocator.create(initialFrames, limitFrames, grow), bytes, 0);
  }

  /** The same pool in another worker; the frames it allocates are tagged with `owner` (its domain; 0: none). */
  static adopt(share: MachineMemoryShare, owner = 0): MachineMemory {
    const limitFrames = share.limitBytes / FRAME_SIZE;
    return new MachineMemory(share.buffer, share.wasm, (grow) => FrameAllocator.adopt(share.allocatorState, limitFrames, grow, owner), share.limitBytes, owner);
  }

  share(): MachineMemoryShare {
    return { buffer: this.buffer, wasm: this.wasm, allocatorState: this.allocator.state, limitBytes: this.limitBytes };
  }

  /** The pool as a processor's physical memory (PhysicalMemory's `adopt`): its processor areas are claimed by this worker's owner id. */
  adoptable(): AdoptedMemory {
    return { buffer: this.buffer, wasm: this.wasm, areas: this.areas, holder: this.owner };
  }

  /** Bytes the pool holds now (the frames; the processor areas after them are not machine memory). */
  get byteLength(): number {
    return Math.min(this.buffer.byteLength, this.limitBytes);
  }

  /** Machine address of a frame. */
  static addressOf(frame: number): number {
    return frame * FRAME_SIZE;
  }

  static frameOf(address: number): number {
    return Math.floor(address / FRAME_SIZE);
  }

  /** Zeroes frames (new frames of a grown buffer are zero already; reused ones are not). */
  clearFrames(frames: readonly number[]): void {
    for (const f of frames) this.u8.fill(0, f * FRAME_SIZE, (f + 1) * FRAME_SIZE);
  }

  /** The domain `owner`'s worker is gone: its frames and processor areas go back. Returns the frames freed. */
  freeOwnedBy(owner: number): number {
    this.areas?.releaseHeldBy(owner);
    return this.allocator.freeOwnedBy(owner);
  }

  private growTo(frames: number): void {
    const bytes = frames * FRAME_SIZE;
    if (bytes > this.limitBytes) throw new RangeError(`machine memory cannot grow past ${this.limitBytes} bytes`);
    // Another worker may grow the same buffer between the check and the call; growing to less than it has throws.
    if (this.buffer.byteLength < bytes) {
      try {
        this.buffer.grow(bytes);
      } catch (e) {
        if (this.buffer.byteLength < bytes) throw e;
      }
    }
    const length = this.buffer.byteLength;
    if (this.u8.length !== length) {
      this.u8 = new Uint8Array(this.buffer, 0, length);
      this.view = new DataView(this.buffer, 0, length);
    }
  }
}

/** Where the processor areas start in a pool of `limitBytes`: the first 64 KiB boundary after the frames. */
function areasStart(limitBytes: number): number {
  return Math.ceil(limitBytes / WASM_PAGE_BYTES) * WASM_PAGE_BYTES;
}
