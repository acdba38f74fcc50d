/**
 * Guest physical memory: one SharedArrayBuffer holding the machine's RAM
 * followed by the images of its ROMs. Views are created once; every consumer
 * (CPU, device DMA, backends in other threads) works on the same bytes, so the
 * I/O path never copies.
 */
export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 1 << PAGE_SHIFT;
export const PAGE_MASK = PAGE_SIZE - 1;

export class PhysicalMemory {
  readonly buffer: SharedArrayBuffer;
  readonly u8: Uint8Array;
  readonly u16: Uint16Array;
  readonly i32: Int32Array;
  readonly view: DataView;
  /** Bytes of RAM at the start of the buffer; the rest holds ROM images. */
  readonly ramSize: number;
  private romTop: number;

  /**
   * @param ramSize bytes of RAM, a multiple of 4 KiB
   * @param romSpace bytes reserved after RAM for ROM images
   * @param buffer an existing buffer to adopt (another thread's machine memory)
   */
  constructor(ramSize: number, romSpace = 0, buffer?: SharedArrayBuffer) {
    if (!Number.isInteger(ramSize) || ramSize <= 0 || ramSize % PAGE_SIZE !== 0) {
      throw new RangeError(`RAM size must be a positive multiple of 4 KiB, got ${ramSize}`);
    }
    if (ramSize > 0x7000_0000) throw new RangeError(`RAM size above 1792 MiB is not supported, got ${ramSize >>> 20} MiB`);
    const total = ramSize + romSpace;
    this.buffer = buffer ?? new SharedArrayBuffer(total);
    if (this.buffer.byteLength < total) throw new RangeError('adopted buffer is smaller than the memory it must hold');
    // Fixed-length views, also over a growable buffer (the hypervisor's machine memory): V8 makes
    // length-tracking views of growable buffers 20-30 times slower to index, and these are the processor's.
    const bytes = this.buffer.byteLength;
    this.u8 = new Uint8Array(this.buffer, 0, bytes);
    this.u16 = new Uint16Array(this.buffer, 0, bytes >>> 1);
    this.i32 = new Int32Array(this.buffer, 0, bytes >>> 2);
    this.view = new DataView(this.buffer, 0, bytes);
    this.ramSize = ramSize;
    this.romTop = ramSize;
  }

  /** Reserves page-aligned space after RAM for a ROM image and copies it in; returns its buffer offset. */
  allocateRom(image: Uint8Array): number {
    const size = Math.ceil(image.length / PAGE_SIZE) * PAGE_SIZE;
    const offset = this.romTop;
    if (offset + size > this.buffer.byteLength) throw new RangeError('no ROM space left in physical memory');
    this.u8.set(image, offset);
    this.romTop += size;
    return offset;
  }
}
