/**
 * A domain's memory: its p2m and the machine frames behind it, taken from the
 * shared pool and given back when the domain is destroyed. The hypervisor
 * reads and writes guest-physical memory only through here (boot images,
 * string I/O, the MMIO emulator's operands), so every access goes through the
 * p2m and never reaches another domain's frames.
 */
import type { GuestFrames, GuestRamMap } from '../../dom0/grantCheck.ts';
import { FRAME_SIZE, OutOfMachineMemory } from './frameAllocator.ts';
import type { MachineMemory } from './machineMemory.ts';
import { P2m, type P2mKind } from './p2m.ts';

/** A guest-physical access that hit no mapped frame (a hole or a device page). */
export class GuestMemoryFault extends Error {
  override readonly name = 'GuestMemoryFault';
  constructor(readonly gpa: number) {
    super(`guest-physical address 0x${gpa.toString(16)} is not backed by memory`);
  }
}

export class DomainMemory {
  readonly p2m = new P2m();
  readonly machine: MachineMemory;
  /** Every machine frame this domain owns (each once, even when mapped at two guest addresses). */
  private readonly owned = new Set<number>();
  /**
   * Called after a guest frame's mapping changed at run time (the balloon):
   * the EPT / nested tables and the processor's TLB, or the shadow page
   * tables, must follow the p2m before the guest runs again.
   */
  onP2mChange: ((gfn: number) => void) | null = null;

  constructor(machine: MachineMemory) {
    this.machine = machine;
  }

  /** Frames of the pool this domain holds. */
  get ownedFrames(): number {
    return this.owned.size;
  }

  /** Backs [gpa, gpa + bytes) with fresh zeroed RAM frames. Both must be frame-aligned. */
  populateRam(gpa: number, bytes: number): void {
    const first = alignedFrame(gpa, 'RAM base');
    const count = alignedFrame(bytes, 'RAM size');
    for (let i = 0; i < count; i++) {
      if (this.p2m.kind(first + i) !== undefined) throw new RangeError(`guest frame 0x${(first + i).toString(16)} is already mapped`);
    }
    const frames = this.machine.allocator.allocate(count);
    this.machine.clearFrames(frames);
    frames.forEach((mfn, i) => {
      this.owned.add(mfn);
      this.p2m.map(first + i, mfn, 'ram');
    });
  }

  /**
   * Copies a ROM image into new frames and maps it read-only at each of the
   * guest-physical windows (the firmware's high window and its low alias).
   * A window shorter than the image shows the image's last bytes, as a PC's
   * flash decoding does.
   */
  mapRom(image: Uint8Array, windows: { base: number; size: number }[]): void {
    const count = alignedFrame(image.length, 'ROM size');
    const frames = this.machine.allocator.allocate(count);
    frames.forEach((mfn, i) => {
      this.owned.add(mfn);
      this.machine.u8.set(image.subarray(i * FRAME_SIZE, (i + 1) * FRAME_SIZE), mfn * FRAME_SIZE);
    });
    for (const w of windows) {
      const base = alignedFrame(w.base, 'ROM window');
      const size = alignedFrame(w.size, 'ROM window size');
      if (size > count) throw new RangeError('a ROM window is larger than its image');
      for (let i = 0; i < size; i++) this.p2m.map(base + i, frames[count - size + i], 'rom' satisfies P2mKind);
    }
  }

  /**
   * Gives the frame behind RAM page `gfn` back to the pool, where any domain
   * may take it (the balloon's inflate); the page is a hole of the domain
   * from then on. False when `gfn` is not a RAM page of the domain.
   */
  releaseRamFrame(gfn: number): boolean {
    if (!Number.isInteger(gfn) || this.p2m.kind(gfn) !== 'ram') return false;
    const mfn = this.p2m.unmap(gfn);
    this.onP2mChange?.(gfn);
    this.owned.delete(mfn);
    this.machine.allocator.free([mfn]);
    return true;
  }

  /**
   * Backs the hole at `gfn` with a fresh zeroed frame of the pool (the
   * balloon's deflate). False when the pool has no frame left (OutOfMachineMemory
   * is not thrown: the page stays a hole and the caller may try again).
   */
  restoreRamFrame(gfn: number, dmaWritten: (offset: number, length: number) => void): boolean {
    if (!Number.isInteger(gfn) || gfn < 0 || this.p2m.kind(gfn) !== undefined) return false;
    let mfn: number;
    try {
      mfn = this.machine.allocator.allocateOne();
    } catch (e) {
      if (e instanceof OutOfMachineMemory) return false;
      throw e;
    }
    this.machine.clearFrames([mfn]);
    // The processor may hold code decoded from this frame when it was the domain's before: zeroing it is a write.
    dmaWritten(mfn * FRAME_SIZE, FRAME_SIZE);
    this.owned.add(mfn);
    this.p2m.map(gfn, mfn, 'ram');
    this.onP2mChange?.(gfn);
    return true;
  }

  /** Zeroes every RAM frame (power-on); ROM frames keep their image. */
  clearRam(): void {
    for (const r of this.p2m.ranges()) {
      if (r.kind !== 'ram') continue;
      this.machine.u8.fill(0, r.mfn * FRAME_SIZE, (r.mfn + r.count) * FRAME_SIZE);
    }
  }

  /** Gives every frame back to the pool; the domain has no memory after this. */
  release(): void {
    for (const r of this.p2m.ranges()) for (let i = 0; i < r.count; i++) this.p2m.unmap(r.gfn + i);
    this.machine.allocator.free([...this.owned]);
    this.owned.clear();
  }

  /**
   * Copies an image of guest RAM starting at `gpa` into the domain, page by
   * page, skipping pages that are all zero (the frames are zero already after
   * `clearRam`), so loading a kernel into a large guest touches only its pages.
   */
  writeNonZeroPages(gpa: number, image: Uint8Array): void {
    const words = new Int32Array(image.buffer, image.byteOffset, image.length >>> 2);
    for (let page = 0; page < image.length; page += FRAME_SIZE) {
      for (let w = page >>> 2, end = Math.min(page + FRAME_SIZE, image.length) >>> 2; w < end; w++) {
        if (words[w] !== 0) {
          this.write(gpa + page, image.subarray(page, page + FRAME_SIZE));
          break;
        }
      }
    }
  }

  /**
   * The domain's RAM as a device's grant check sees it (core/dom0/grantCheck.ts):
   * machine-memory offsets of the guest's RAM frames through the p2m, ROM and
   * unmapped frames refused. `dmaWritten` gets machine offsets.
   */
  ramMap(dmaWritten: (offset: number, length: number) => void): GuestRamMap {
    const p2m = this.p2m;
    const allocator = this.machine.allocator;
    const frames: GuestFrames = {
      release: (pfn) => this.releaseRamFrame(pfn),
      restore: (pfn) => this.restoreRamFrame(pfn, dmaWritten),
      poolFreeFrames: () => allocator.availableFrames,
    };
    return {
      u8: this.machine.u8,
      ramPage: (pfn) => (p2m.kind(pfn) === 'ram' ? p2m.machineFrame(pfn) * FRAME_SIZE : -1),
      dmaWritten,
      frames,
      shared: { memory: this.machine.buffer, entries: p2m.sharedEntries, format: 'p2m' },
    };
  }

  /** Copies guest-physical bytes out (ROM and RAM alike); throws GuestMemoryFault on an unmapped frame. */
  read(gpa: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    this.each(gpa, length, false, (ma, offset, n) => out.set(this.machine.u8.subarray(ma, ma + n), offset));
    return out;
  }

  /** Copies bytes into guest RAM; throws GuestMemoryFault on an unmapped frame. Writes to ROM frames are dropped. */
  write(gpa: number, data: Uint8Array): void {
    this.each(gpa, data.length, true, (ma, offset, n) => this.machine.u8.set(data.subarray(offset, offset + n), ma));
  }

  readU8(gpa: number): number {
    return this.machine.u8[this.resolve(gpa)];
  }

  /** Little-endian, may cross a frame boundary. */
  readU16(gpa: number): number {
    return this.readU8(gpa) | (this.readU8(gpa + 1) << 8);
  }

  readU32(gpa: number): number {
    return (this.readU16(gpa) | (this.readU16(gpa + 2) << 16)) >>> 0;
  }

  writeU8(gpa: number, value: number): void {
    const ma = this.resolve(gpa);
    if (this.p2m.kind(Math.floor(gpa / FRAME_SIZE)) === 'ram') this.machine.u8[ma] = value;
  }

  /** Machine address of a mapped guest-physical byte; throws GuestMemoryFault. */
  resolve(gpa: number): number {
    const ma = this.p2m.translate(gpa >>> 0);
    if (ma < 0) throw new GuestMemoryFault(gpa >>> 0);
    return ma;
  }

  /** Walks [gpa, gpa+length) frame by frame; checks every frame before touching any. */
  private each(gpa: number, length: number, writing: boolean, fn: (ma: number, offset: number, n: number) => void): void {
    if (!Number.isInteger(gpa) || gpa < 0 || !Number.isInteger(length) || length < 0 || gpa + length > 2 ** 32) {
      throw new RangeError(`guest-physical range 0x${gpa.toString(16)}+${length} is outside 4 GiB`);
    }
    for (let a = gpa - (gpa % FRAME_SIZE); a < gpa + length; a += FRAME_SIZE) this.resolve(Math.max(a, gpa));
    let offset = 0;
    while (offset < length) {
      const at = gpa + offset;
      const n = Math.min(length - offset, FRAME_SIZE - (at % FRAME_SIZE));
      if (!writing || this.p2m.kind(Math.floor(at / FRAME_SIZE)) === 'ram') fn(this.resolve(at), offset, n);
      offset += n;
    }
  }
}

function alignedFrame(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 0 || value % FRAME_SIZE !== 0) throw new RangeError(`${what} must be a multiple of 4 KiB, got ${value}`);
  return value / FRAME_SIZE;
}
