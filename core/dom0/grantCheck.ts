/**
 * The grant check between a device model and a domain's memory: before a
 * backend may read or write a guest buffer, its guest-physical range is
 * checked page by page against the domain's physical map (its GuestRamMap:
 * the bus's pageMap on the bare board, the p2m under the hypervisor) and
 * translated page by page: only a range that is entirely plain RAM yields a
 * view; anything else (MMIO, ROM, holes, a page the balloon gave back) is a
 * GuestMemoryError that the device turns into a guest-visible error.
 *
 * A range whose pages are consecutive in the memory buffer (always on the
 * bare board's identity map; under the hypervisor while the domain's RAM is
 * one run of frames) is handed out as a view of the buffer itself. A range
 * across a discontinuity (frames the balloon gave back and took again come
 * from anywhere in the pool) gets a bounce buffer: filled from the pages
 * when the device maps it, copied back page by page when the device says it
 * wrote it (`written`).
 *
 * Xen's backends map only what the guest granted; virtio has no grant
 * table (the guest may point a descriptor anywhere), so the check here is
 * the IOMMU-like one the architecture asks for: "every guest-supplied
 * address and length is checked".
 */
import { GuestMemoryError, MAX_BUFFER_BYTES, type GuestMemory } from '../devices/virtio/guestMemory.ts';
import type { MemoryBus } from '../memory/bus.ts';
import { PAGE_IO, PAGE_ROM } from '../memory/bus.ts';
import { PAGE_MASK } from '../memory/physicalMemory.ts';
import type { SharedGuestRam } from './sharedRamMap.ts';

/** A domain's guest-physical RAM as the grant check sees it. */
export interface GuestRamMap {
  /** The memory buffer RAM pages live in. */
  readonly u8: Uint8Array;
  /** Buffer offset of guest page `pfn` when it is plain RAM, else -1. */
  ramPage(pfn: number): number;
  /** A device wrote [offset, offset + length) of the buffer: decoded code from there is dropped. */
  dmaWritten(offset: number, length: number): void;
  /** The domain's frames as the balloon moves them (absent on the bare board, whose RAM is one fixed buffer). */
  readonly frames?: GuestFrames;
  /** The memory buffer and the map's entries in shared memory, for dom0's worker thread (absent where the map is not shared). */
  readonly shared?: SharedGuestRam;
}

/**
 * Giving guest pages' frames back to the machine's pool and taking them
 * again (virtio-balloon's backend): the hypervisor's DomainMemory, which
 * unmaps them from the p2m and invalidates the processor's view of them.
 */
export interface GuestFrames {
  /** Unmaps RAM page `pfn` and frees its frame to the pool; false when it is not a RAM page the domain holds. */
  release(pfn: number): boolean;
  /** Backs page `pfn` again with a fresh zeroed frame from the pool; false when the pool has none left. */
  restore(pfn: number): boolean;
  /** Frames free in the machine's pool now, as the host counts them. */
  poolFreeFrames(): number;
}

/** The bare board's map: the bus's pageMap, RAM at its own physical address. */
export function busRamMap(bus: MemoryBus): GuestRamMap {
  const map = bus.pageMap;
  return {
    u8: bus.u8,
    ramPage: (pfn) => ((map[pfn] & (PAGE_IO | PAGE_ROM)) !== 0 ? -1 : map[pfn] & ~PAGE_MASK),
    dmaWritten: (offset, length) => bus.notifyDmaWrite(offset, length),
    shared: { memory: bus.u8.buffer as SharedArrayBuffer, entries: map.buffer as SharedArrayBuffer, format: 'bus-page-map' },
  };
}

const FOUR_GIB = 0x1_0000_0000;
const PAGE = 4096;
/** `locate`'s answer for a range that is RAM but not consecutive in the buffer. */
const SCATTERED = -1;
/** Bounce buffers kept for `written` at most (a view taken only as a check is never written back). */
const MAX_BOUNCES = 64;

interface Bounce {
  address: number;
  bytes: Uint8Array;
}

export class CheckedGuestMemory implements GuestMemory {
  private readonly map: GuestRamMap;
  private readonly u8: Uint8Array;
  /** Writable bounce buffers handed out and not yet written back, oldest first. */
  private readonly bounces: Bounce[] = [];
  /** Checks performed and refused (for the device counters and tests). */
  checks = 0;
  refusals = 0;
  /** Ranges that needed a bounce buffer (pages not consecutive in the buffer). */
  bounced = 0;

  constructor(map: GuestRamMap) {
    this.map = map;
    this.u8 = map.u8;
  }

  /** The buffer offset of [address, address + length) when its pages are consecutive in the buffer, else SCATTERED; counts the check. */
  private resolve(address: number, length: number): number {
    this.checks++;
    return this.locate(address, length);
  }

  /**
   * Checks that every page of [address, address + length) is plain RAM;
   * returns the range's buffer offset when its pages are consecutive in the
   * buffer, SCATTERED when they are RAM but not consecutive.
   */
  private locate(address: number, length: number): number {
    if (!Number.isSafeInteger(address) || address < 0 || !Number.isInteger(length) || length < 0) {
      return this.refuse(`bad guest range ${address}+${length}`, address, length);
    }
    if (length > MAX_BUFFER_BYTES) {
      return this.refuse(`guest buffer of ${length} bytes at 0x${address.toString(16)} is longer than ${MAX_BUFFER_BYTES}`, address, length);
    }
    if (address + length > FOUR_GIB) {
      return this.refuse(`guest buffer 0x${address.toString(16)}+${length} is above 4 GiB`, address, length);
    }
    const first = Math.floor(address / PAGE);
    const last = length === 0 ? first : Math.floor((address + length - 1) / PAGE); // an empty range still has to start inside RAM
    const base = this.map.ramPage(first);
    if (base < 0) return this.refuse(`guest address 0x${address.toString(16)} is not RAM`, address, length);
    let consecutive = true;
    for (let pfn = first + 1; pfn <= last; pfn++) {
      const page = this.map.ramPage(pfn);
      if (page < 0) return this.refuse(`guest buffer 0x${address.toString(16)}+${length} leaves RAM at 0x${(pfn * PAGE).toString(16)}`, address, length);
      if (page !== base + (pfn - first) * PAGE) consecutive = false;
    }
    return consecutive ? base + (address % PAGE) : SCATTERED;
  }

  private refuse(message: string, address: number, length: number): never {
    this.refusals++;
    throw new GuestMemoryError(message, address, length);
  }

  /** Calls `fn` with each page-sized piece of a checked range: its buffer offset, its offset in the range, its length. */
  private eachPiece(address: number, length: number, fn: (offset: number, at: number, n: number) => void): void {
    let at = 0;
    while (at < length) {
      const a = address + at;
      const n = Math.min(length - at, PAGE - (a % PAGE));
      fn(this.map.ramPage(Math.floor(a / PAGE)) + (a % PAGE), at, n);
      at += n;
    }
  }

  /** A copy of a checked, scattered range. */
  private gatherPieces(address: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    this.eachPiece(address, length, (offset, at, n) => out.set(this.u8.subarray(offset, offset + n), at));
    return out;
  }

  /** Little-endian value of `size` bytes (at most 4) at a checked address. */
  private load(address: number, size: number): number {
    const i = this.resolve(address, size);
    const u8 = i === SCATTERED ? this.gatherPieces(address, size) : this.u8;
    const at = i === SCATTERED ? 0 : i;
    let v = 0;
    for (let b = size - 1; b >= 0; b--) v = v * 256 + u8[at + b];
    return v;
  }

  private store(address: number, size: number, value: number): void {
    const i = this.resolve(address, size);
    if (i !== SCATTERED) {
      for (let b = 0; b < size; b++) this.u8[i + b] = value >>> (8 * b);
      this.map.dmaWritten(i, size);
      return;
    }
    this.eachPiece(address, size, (offset, at, n) => {
      for (let b = 0; b < n; b++) this.u8[offset + b] = value >>> (8 * (at + b));
      this.map.dmaWritten(offset, n);
    });
  }

  read16(address: number): number {
    return this.load(address, 2);
  }

  read32(address: number): number {
    return this.load(address, 4);
  }

  read64(address: number): number {
    const i = this.resolve(address, 8);
    const u8 = i === SCATTERED ? this.gatherPieces(address, 8) : this.u8;
    const at = i === SCATTERED ? 0 : i;
    const lo = (u8[at] | (u8[at + 1] << 8) | (u8[at + 2] << 16) | (u8[at + 3] << 24)) >>> 0;
    const hi = (u8[at + 4] | (u8[at + 5] << 8) | (u8[at + 6] << 16) | (u8[at + 7] << 24)) >>> 0;
    return hi * FOUR_GIB + lo;
  }

  write16(address: number, value: number): void {
    this.store(address, 2, value);
  }

  write32(address: number, value: number): void {
    this.store(address, 4, value);
  }

  view(address: number, length: number, forWrite: boolean): Uint8Array {
    const i = this.resolve(address, length);
    if (i !== SCATTERED) return this.u8.subarray(i, i + length);
    this.bounced++;
    const bytes = this.gatherPieces(address, length);
    if (forWrite) {
      if (this.bounces.length >= MAX_BOUNCES) this.bounces.shift();
      this.bounces.push({ address, bytes });
    }
    return bytes;
  }

  written(address: number, length: number): void {
    // The range was checked when the device took its view; it is checked again, since the p2m may have changed since.
    const i = this.locate(address, length);
    if (i !== SCATTERED) {
      this.map.dmaWritten(i, length);
      return;
    }
    const k = this.bounces.findIndex((b) => b.address === address && b.bytes.length === length);
    if (k < 0) throw new Error(`written(0x${address.toString(16)}, ${length}) without a view of that range`);
    const [{ bytes }] = this.bounces.splice(k, 1);
    this.eachPiece(address, length, (offset, at, n) => {
      this.u8.set(bytes.subarray(at, at + n), offset);
      this.map.dmaWritten(offset, n);
    });
  }
}
