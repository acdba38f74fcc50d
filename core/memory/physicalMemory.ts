/**
 * Guest physical memory: one SharedArrayBuffer holding the machine's RAM
 * followed by the images of its ROMs. Views are created once; every consumer
 * (CPU, device DMA, backends in other threads) works on the same bytes, so the
 * I/O path never copies. The buffer is a shared WebAssembly.Memory's, with the
 * processors' state areas after the ROMs (processorMemory.ts), or adopted
 * from the hypervisor's machine memory.
 */
import { areasBytes, ProcessorAreas, sharedBufferOf, sharedWasmMemory, WASM_PAGE_BYTES } from './processorMemory.ts';

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;
export const PAGE_MASK = PAGE_SIZE - 1;

/** Processor areas of a memory made here: the processor's, and one spare (a test's second processor). */
const OWN_AREAS = 2;

/** Memory adopted with its WebAssembly.Memory and processor areas (the hypervisor's machine memory). */
export interface AdoptedMemory {
  readonly buffer: SharedArrayBuffer;
  readonly wasm: WebAssembly.Memory | null;
  readonly areas: ProcessorAreas | null;
  /** Who claims a processor area here (the domain's owner id; ProcessorAreas.releaseHeldBy). */
  readonly holder: number;
}

export class PhysicalMemory {
  readonly buffer: SharedArrayBuffer;
  /** The WebAssembly.Memory whose buffer this is, null for a plain adopted buffer. */
  readonly wasm: WebAssembly.Memory | null;
  /** The processors' state areas in the buffer, null for a plain adopted buffer. */
  readonly areas: ProcessorAreas | null;
  /** Who claims a processor area (processorMemory.ts). */
  readonly areaHolder: number;
  readonly u8: Uint8Array;
  readonly u16: Uint16Array;
  readonly i32: Int32Array;
  readonly view: DataView;
  /** Bytes of RAM at the start of the buffer; the rest holds ROM images. */
  readonly ramSize: number;
  private romTop: number;
  /** End of the ROM space (the processor areas may follow it). */
  private readonly romEnd: number;

  /**
   * @param ramSize bytes of RAM, a multiple of 4 KiB
   * @param romSpace bytes reserved after RAM for ROM images
   * @param adopt an existing memory to adopt (another thread's, or the hypervisor's machine memory)
   */
  constructor(ramSize: number, romSpace = 0, adopt?: SharedArrayBuffer | AdoptedMemory) {
    if (!Number.isInteger(ramSize) || ramSize <= 0 || ramSize % PAGE_SIZE !== 0) {
      throw new RangeError(`RAM size must be a positive multiple of 4 KiB, got ${ramSize}`);
    }
    if (ramSize > 0x7000_0000) throw new RangeError(`RAM size above 1792 MiB is not supported, got ${ramSize >>> 20} MiB`);
    const total = ramSize + romSpace;
    if (adopt === undefined) {
      const areasAt = Math.ceil(total / WASM_PAGE_BYTES) * WASM_PAGE_BYTES;
      this.wasm = sharedWasmMemory(areasAt + areasBytes(OWN_AREAS));
      this.buffer = sharedBufferOf(this.wasm);
      this.areas = new ProcessorAreas(this.buffer, areasAt, OWN_AREAS);
      this.areaHolder = 0;
    } else if (adopt instanceof SharedArrayBuffer) {
      this.buffer = adopt;
      this.wasm = null;
      this.areas = null;
      this.areaHolder = 0;
    } else {
      this.buffer = adopt.buffer;
      this.wasm = adopt.wasm;
      this.areas = adopt.areas;
      this.areaHolder = adopt.holder;
    }
    if (this.buffer.byteLength < total) throw new RangeError('adopted buffer is smaller than the memory it must hold');
    // Fixed-length views, also over a growable buffer (the hypervisor's machine memory): V8 makes
    // length-tracking views of growable buffers 20-30 times slower to index, and these are the processor's.
    // The views cover RAM and ROM (the processor areas after them are not guest memory), all of a plain adopted buffer.
    const bytes = adopt instanceof SharedArrayBuffer ? this.buffer.byteLength : total;
    this.u8 = new Uint8Array(this.buffer, 0, bytes);
    this.u16 = new Uint16Array(this.buffer, 0, bytes >>> 1);
    this.i32 = new Int32Array(this.buffer, 0, bytes >>> 2);
    this.view = new DataView(this.buffer, 0, bytes);
    this.ramSize = ramSize;
    this.romTop = ramSize;
    this.romEnd = bytes;
  }

  /** Reserves page-aligned space after RAM for a ROM image and copies it in; returns its buffer offset. */
  allocateRom(image: Uint8Array): number {
    const size = Math.ceil(image.length / PAGE_SIZE) * PAGE_SIZE;
    const offset = this.romTop;
    if (offset + size > this.romEnd) throw new RangeError('no ROM space left in physical memory');
    this.u8.set(image, offset);
    this.romTop += size;
    return offset;
  }
}
