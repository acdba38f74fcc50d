/**
 * qcow2 guest-to-host cluster mapping: the L1 table (held in memory) and the
 * L2 tables (one cluster each, an LRU cache of them). Writes go through to
 * the file at once; callers order them (see Qcow2Backend).
 */
import { BlockFormatError } from '../blockErrors.ts';
import type { Qcow2File } from './qcow2File.ts';
import type { Qcow2Refcounts } from './qcow2Refcounts.ts';
import {
  HI_COMPRESSED, HI_COPIED, LO_ZERO, encodeEntry, entryOffset, l1EntryReservedBits, l2EntryReservedBits,
} from './qcow2Format.ts';
import { LruCache } from './lruCache.ts';

const L2_CACHE_TABLES = 64;

/** What one guest cluster maps to. */
export type GuestCluster =
  | { kind: 'unallocated' } // read from the backing file, or zeros
  | { kind: 'zero'; host: number } // reads as zeros; host is a preallocated cluster or 0
  | { kind: 'data'; host: number; copied: boolean };

export class Qcow2Mapping {
  private readonly file: Qcow2File;
  private readonly version: 2 | 3;
  private readonly l1TableOffset: number;
  private readonly l1Hi: Uint32Array;
  private readonly l1Lo: Uint32Array;
  private readonly l2Entries: number;
  private readonly l2Cache = new LruCache<number, DataView>(L2_CACHE_TABLES);

  constructor(file: Qcow2File, version: 2 | 3, l1TableOffset: number, l1Size: number) {
    this.file = file;
    this.version = version;
    this.l1TableOffset = l1TableOffset;
    this.l2Entries = file.clusterSize / 8;
    this.l1Hi = new Uint32Array(l1Size);
    this.l1Lo = new Uint32Array(l1Size);
    if (l1Size > 0) {
      const raw = new Uint8Array(l1Size * 8);
      file.read(l1TableOffset, raw);
      const v = new DataView(raw.buffer);
      for (let i = 0; i < l1Size; i++) {
        this.l1Hi[i] = v.getUint32(i * 8);
        this.l1Lo[i] = v.getUint32(i * 8 + 4);
        const l2 = entryOffset(this.l1Hi[i], this.l1Lo[i]);
        if (l2 !== 0) file.markTable(l2);
      }
      const cs = file.clusterSize;
      file.setFixedRegion('L1 table', l1TableOffset, Math.ceil((l1Size * 8) / cs) * cs);
    }
  }

  /** The mapping of guest cluster `gc` (which the caller keeps below the virtual size). */
  lookup(gc: number): GuestCluster {
    const l2 = this.l2Table(Math.floor(gc / this.l2Entries));
    if (l2 === null) return { kind: 'unallocated' };
    const at = (gc % this.l2Entries) * 8;
    return this.decodeL2(l2.getUint32(at), l2.getUint32(at + 4), gc);
  }

  /**
   * The L2 table offset for guest cluster gc, allocating a zeroed L2 table
   * when there is none: the table cluster is written and counted before the
   * L1 entry points at it.
   */
  l2TableForWrite(gc: number, refcounts: Qcow2Refcounts): number {
    const l1Index = Math.floor(gc / this.l2Entries);
    const hi = this.l1Hi[l1Index];
    const lo = this.l1Lo[l1Index];
    const offset = entryOffset(hi, lo);
    if (offset !== 0) {
      this.l2Table(l1Index); // validates
      if ((hi & HI_COPIED) === 0 && refcounts.get(offset / this.file.clusterSize) !== 1) {
        throw new BlockFormatError(`${this.file.path}: L2 table at ${offset} is shared (internal snapshot); writing it is not supported`);
      }
      return offset;
    }
    const cluster = refcounts.allocate();
    const tableOffset = cluster * this.file.clusterSize;
    const zeros = new Uint8Array(this.file.clusterSize);
    this.file.markTable(tableOffset);
    this.file.write(tableOffset, zeros);
    refcounts.increment(cluster);
    this.l2Cache.set(tableOffset, new DataView(zeros.buffer));
    const [newHi, newLo] = encodeEntry(tableOffset, HI_COPIED, 0);
    const raw = new Uint8Array(8);
    new DataView(raw.buffer).setUint32(0, newHi);
    new DataView(raw.buffer).setUint32(4, newLo);
    this.file.write(this.l1TableOffset + l1Index * 8, raw);
    this.l1Hi[l1Index] = newHi;
    this.l1Lo[l1Index] = newLo;
    return tableOffset;
  }

  /** Writes the L2 entry of guest cluster gc in table `tableOffset` (from l2TableForWrite). */
  setL2Entry(tableOffset: number, gc: number, host: number, hiFlags: number, loFlags: number): void {
    const l2 = this.l2Cache.get(tableOffset) ?? this.loadL2(tableOffset);
    const at = (gc % this.l2Entries) * 8;
    const [hi, lo] = encodeEntry(host, hiFlags, loFlags);
    l2.setUint32(at, hi);
    l2.setUint32(at + 4, lo);
    this.file.write(tableOffset + at, new Uint8Array(l2.buffer, at, 8));
  }

  private l2Table(l1Index: number): DataView | null {
    const hi = this.l1Hi[l1Index];
    const lo = this.l1Lo[l1Index];
    if (l1EntryReservedBits(hi, lo)) this.file.corrupt(`L1 entry ${l1Index} has reserved bits set`);
    const offset = entryOffset(hi, lo);
    if (offset === 0) return null;
    return this.l2Cache.get(offset) ?? this.loadL2(offset);
  }

  private loadL2(offset: number): DataView {
    this.file.checkTableCluster(offset, 'L2 table');
    const raw = new Uint8Array(this.file.clusterSize);
    this.file.read(offset, raw);
    const view = new DataView(raw.buffer);
    this.l2Cache.set(offset, view);
    return view;
  }

  private decodeL2(hi: number, lo: number, gc: number): GuestCluster {
    if (hi & HI_COMPRESSED) throw new BlockFormatError(`${this.file.path}: guest cluster ${gc} is compressed; compressed clusters are not supported`);
    if (l2EntryReservedBits(hi, lo)) this.file.corrupt(`L2 entry of guest cluster ${gc} has reserved bits set`);
    const host = entryOffset(hi, lo);
    if (lo & LO_ZERO) {
      if (this.version === 2) this.file.corrupt(`L2 entry of guest cluster ${gc} has the zero flag in a version 2 image`);
      if (host !== 0) this.file.checkDataCluster(host);
      return { kind: 'zero', host };
    }
    if (host === 0) {
      if (hi & HI_COPIED) this.file.corrupt(`L2 entry of guest cluster ${gc} is marked copied but has no cluster`);
      return { kind: 'unallocated' };
    }
    this.file.checkDataCluster(host);
    return { kind: 'data', host, copied: (hi & HI_COPIED) !== 0 };
  }
}
