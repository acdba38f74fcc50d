/**
 * The grant check between a device model and a domain's memory: before a
 * backend may read or write a guest buffer, its guest-physical range is
 * checked page by page against the domain's physical map (its GuestRamMap:
 * the bus's pageMap on the bare board, the p2m under the hypervisor): only a
 * range that is entirely plain RAM, contiguous in the memory buffer, yields a
 * view; anything else (MMIO, ROM, holes) is a GuestMemoryError that the
 * device turns into a guest-visible error.
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

/** A domain's guest-physical RAM as the grant check sees it. */
export interface GuestRamMap {
  /** The memory buffer RAM pages live in. */
  readonly u8: Uint8Array;
  /** Buffer offset of guest page `pfn` when it is plain RAM, else -1. */
  ramPage(pfn: number): number;
  /** A device wrote [offset, offset + length) of the buffer: decoded code from there is dropped. */
  dmaWritten(offset: number, length: number): void;
}

/** The bare board's map: the bus's pageMap, RAM at its own physical address. */
export function busRamMap(bus: MemoryBus): GuestRamMap {
  const map = bus.pageMap;
  return {
    u8: bus.u8,
    ramPage: (pfn) => ((map[pfn] & (PAGE_IO | PAGE_ROM)) !== 0 ? -1 : map[pfn] & ~PAGE_MASK),
    dmaWritten: (offset, length) => bus.notifyDmaWrite(offset, length),
  };
}

const FOUR_GIB = 0x1_0000_0000;

export class CheckedGuestMemory implements GuestMemory {
  private readonly map: GuestRamMap;
  private readonly u8: Uint8Array;
  /** Checks performed and refused (for the device counters and tests). */
  checks = 0;
  refusals = 0;

  constructor(map: GuestRamMap) {
    this.map = map;
    this.u8 = map.u8;
  }

  /**
   * The buffer offset of [address, address + length), after checking that
   * every page of it is plain RAM and that the pages are contiguous in the
   * buffer (always true on the bare board's identity map; under the
   * hypervisor a domain's RAM is allocated in one run of frames when the pool
   * allows, and a buffer across a discontinuity is refused, never misread).
   */
  private resolve(address: number, length: number): number {
    this.checks++;
    return this.locate(address, length);
  }

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
    if (length === 0) {
      // An empty range still has to start inside RAM to mean anything.
      const page = this.map.ramPage(Math.floor(address / 4096));
      if (page < 0) return this.refuse(`guest address 0x${address.toString(16)} is not RAM`, address, length);
      return page + (address & PAGE_MASK);
    }
    const first = Math.floor(address / 4096);
    const last = Math.floor((address + length - 1) / 4096);
    const base = this.map.ramPage(first);
    if (base < 0) return this.refuse(`guest address 0x${address.toString(16)} is not RAM`, address, length);
    for (let pfn = first + 1; pfn <= last; pfn++) {
      if (this.map.ramPage(pfn) !== base + (pfn - first) * 4096) {
        return this.refuse(`guest buffer 0x${address.toString(16)}+${length} leaves RAM at 0x${(pfn * 4096).toString(16)}`, address, length);
      }
    }
    return base + (address & PAGE_MASK);
  }

  private refuse(message: string, address: number, length: number): never {
    this.refusals++;
    throw new GuestMemoryError(message, address, length);
  }

  read16(address: number): number {
    const i = this.resolve(address, 2);
    return this.u8[i] | (this.u8[i + 1] << 8);
  }

  read32(address: number): number {
    const i = this.resolve(address, 4);
    const u8 = this.u8;
    return (u8[i] | (u8[i + 1] << 8) | (u8[i + 2] << 16) | (u8[i + 3] << 24)) >>> 0;
  }

  read64(address: number): number {
    const i = this.resolve(address, 8);
    const u8 = this.u8;
    const lo = (u8[i] | (u8[i + 1] << 8) | (u8[i + 2] << 16) | (u8[i + 3] << 24)) >>> 0;
    const hi = (u8[i + 4] | (u8[i + 5] << 8) | (u8[i + 6] << 16) | (u8[i + 7] << 24)) >>> 0;
    return hi * FOUR_GIB + lo;
  }

  write16(address: number, value: number): void {
    const i = this.resolve(address, 2);
    this.u8[i] = value;
    this.u8[i + 1] = value >>> 8;
    this.map.dmaWritten(i, 2);
  }

  write32(address: number, value: number): void {
    const i = this.resolve(address, 4);
    this.u8[i] = value;
    this.u8[i + 1] = value >>> 8;
    this.u8[i + 2] = value >>> 16;
    this.u8[i + 3] = value >>> 24;
    this.map.dmaWritten(i, 4);
  }

  view(address: number, length: number, _forWrite: boolean): Uint8Array {
    const i = this.resolve(address, length);
    return this.u8.subarray(i, i + length);
  }

  written(address: number, length: number): void {
    // The range was checked when the device took its view.
    this.map.dmaWritten(this.locate(address, length), length);
  }
}
