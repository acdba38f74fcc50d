/**
 * qcow2 host cluster management: the two-level refcount structure (refcount
 * table -> refcount blocks) and the cluster allocator.
 *
 * Every change is written through to the file at once, in an order that
 * keeps the image consistent if the process dies between any two writes:
 * a cluster's refcount is raised before anything points at it, and lowered
 * only after the last pointer to it is gone. Dying in between leaves a leak
 * (refcount > 0, nothing points at it), which `qemu-img check` reports as
 * harmless and `-r leaks` repairs; never a reference to a cluster whose
 * refcount is 0 (corruption).
 *
 * Allocation takes the first cluster with refcount 0 at or after a hint
 * (clusters freed by discard are reused), else appends at the end of the file.
 */
import { BlockFormatError } from '../blockErrors.ts';
import type { Qcow2File } from './qcow2File.ts';
import { MAX_REFCOUNT_TABLE_BYTES, HDR_REFCOUNT_TABLE_OFFSET, encodeEntry } from './qcow2Format.ts';
import { LruCache } from './lruCache.ts';

const BLOCK_CACHE_CLUSTERS = 32;
/** The layout search below converges in a handful of rounds; this only guards against a logic error looping. */
const MAX_LAYOUT_ROUNDS = 64;

export class Qcow2Refcounts {
  private readonly file: Qcow2File;
  private readonly bits: number;
  private readonly entriesPerBlock: number;
  private readonly maxRefcount: number;
  /** Refcount block offsets, one per table entry (0: not allocated). */
  private table: number[];
  private tableOffset: number;
  private tableClusters: number;
  private readonly blocks = new LruCache<number, Uint8Array>(BLOCK_CACHE_CLUSTERS);
  /** No cluster below this index has refcount 0 (as far as this process has seen). */
  private freeHint = 0;
  /** First cluster index at or past the end of the file. */
  private endCluster: number;

  constructor(file: Qcow2File, refcountOrder: number, tableOffset: number, tableClusters: number) {
    this.file = file;
    this.bits = 2 ** refcountOrder;
    this.entriesPerBlock = (file.clusterSize * 8) / this.bits;
    this.maxRefcount = this.bits >= 53 ? Number.MAX_SAFE_INTEGER : 2 ** this.bits - 1;
    this.tableOffset = tableOffset;
    this.tableClusters = tableClusters;
    this.endCluster = Math.ceil(file.fileSize / file.clusterSize);
    this.table = this.loadTable();
    for (const off of this.table) if (off !== 0) file.markTable(off);
    file.setFixedRegion('refcount table', tableOffset, tableClusters * file.clusterSize);
  }

  private loadTable(): number[] {
    const raw = new Uint8Array(this.tableClusters * this.file.clusterSize);
    this.file.read(this.tableOffset, raw);
    const v = new DataView(raw.buffer);
    const table: number[] = [];
    for (let i = 0; i < raw.length / 8; i++) {
      const hi = v.getUint32(i * 8);
      const lo = v.getUint32(i * 8 + 4);
      if ((lo & 0x1ff) !== 0 || hi >= 0x200000) this.file.corrupt(`refcount table entry ${i} is malformed`);
      table.push(hi * 0x1_0000_0000 + lo);
    }
    return table;
  }

  /** The refcount of host cluster `cluster` (0 where no refcount block exists). */
  get(cluster: number): number {
    const ti = Math.floor(cluster / this.entriesPerBlock);
    if (ti >= this.table.length || this.table[ti] === 0) return 0;
    return this.readEntry(this.block(this.table[ti]), cluster % this.entriesPerBlock);
  }

  /**
   * A host cluster index with refcount 0, not handed out before unless freed
   * since. The caller fills it, then calls increment. Clusters holding
   * metadata (header, L1 table, refcount table, L2 tables, refcount blocks)
   * are never handed out, even where a damaged image gives them refcount 0.
   */
  allocate(): number {
    const cs = this.file.clusterSize;
    for (let c = this.freeHint; c < this.endCluster; c++) {
      if (this.get(c) === 0 && !this.file.isMetadata(c * cs)) {
        this.freeHint = c + 1;
        return c;
      }
    }
    const c = this.endCluster++;
    this.freeHint = this.endCluster;
    return c;
  }

  increment(cluster: number): void {
    const ti = Math.floor(cluster / this.entriesPerBlock);
    if (ti >= this.table.length || this.table[ti] === 0) {
      this.addBlocks([cluster]);
      return;
    }
    const value = this.get(cluster);
    if (value >= this.maxRefcount) throw new BlockFormatError(`${this.file.path}: refcount of cluster ${cluster} would overflow ${this.bits} bits`);
    this.writeEntry(this.table[ti], cluster % this.entriesPerBlock, value + 1);
  }

  decrement(cluster: number): void {
    const value = this.get(cluster);
    if (value === 0) this.file.corrupt(`refcount of cluster ${cluster} is already 0`);
    const ti = Math.floor(cluster / this.entriesPerBlock);
    this.writeEntry(this.table[ti], cluster % this.entriesPerBlock, value - 1);
    if (value === 1 && cluster < this.freeHint) this.freeHint = cluster;
  }

  private block(offset: number): Uint8Array {
    let data = this.blocks.get(offset);
    if (data === undefined) {
      this.file.checkTableCluster(offset, 'refcount block');
      data = new Uint8Array(this.file.clusterSize);
      this.file.read(offset, data);
      this.blocks.set(offset, data);
    }
    return data;
  }

  private readEntry(block: Uint8Array, i: number): number {
    const bits = this.bits;
    if (bits < 8) return (block[(i * bits) >> 3] >> ((i * bits) & 7)) & ((1 << bits) - 1);
    const v = new DataView(block.buffer, block.byteOffset);
    switch (bits) {
      case 8: return block[i];
      case 16: return v.getUint16(i * 2);
      case 32: return v.getUint32(i * 4);
      default: {
        const hi = v.getUint32(i * 8);
        if (hi >= 0x200000) this.file.corrupt(`refcount entry ${i} is absurdly large`);
        return hi * 0x1_0000_0000 + v.getUint32(i * 8 + 4);
      }
    }
  }

  /** Sets entry i of `block` in memory and returns the byte range [start, end) that changed. */
  private setEntry(block: Uint8Array, i: number, value: number): [number, number] {
    const bits = this.bits;
    if (bits < 8) {
      const at = (i * bits) >> 3;
      const shift = (i * bits) & 7;
      const mask = ((1 << bits) - 1) << shift;
      block[at] = (block[at] & ~mask) | ((value << shift) & mask);
      return [at, at + 1];
    }
    const bytes = bits / 8;
    const v = new DataView(block.buffer, block.byteOffset);
    const at = i * bytes;
    switch (bits) {
      case 8: block[at] = value; break;
      case 16: v.setUint16(at, value); break;
      case 32: v.setUint32(at, value); break;
      default: v.setUint32(at, Math.floor(value / 0x1_0000_0000)); v.setUint32(at + 4, value % 0x1_0000_0000);
    }
    return [at, at + bytes];
  }

  private writeEntry(blockOffset: number, i: number, value: number): void {
    const block = this.block(blockOffset);
    const [start, end] = this.setEntry(block, i, value);
    this.file.write(blockOffset + start, block.subarray(start, end));
  }

  /**
   * Gives `targets` (clusters whose refcount block does not exist yet) a
   * refcount of 1 by creating refcount blocks, and a larger refcount table
   * when the table has no entry for them. The new blocks and table are
   * placed at the end of the file and count themselves, so the layout is
   * searched to a fixed point: more clusters may need more blocks, which
   * may need a bigger table.
   *
   * Write order: new blocks (and raised counts in existing blocks), then the
   * table entries or the new table, then the header's table pointer, then
   * the old table's clusters are released. A kill anywhere leaves a leak.
   */
  private addBlocks(targets: number[]): void {
    const cs = this.file.clusterSize;
    const epb = this.entriesPerBlock;
    const start = Math.max(this.endCluster, ...targets.map((c) => c + 1));
    let entries = this.table.length;
    let newBlocks: number[] = [];
    let tableClusters = 0; // clusters of a new table, 0 if the old one suffices
    for (let round = 0; ; round++) {
      if (round > MAX_LAYOUT_ROUNDS) throw new Error(`${this.file.path}: refcount layout did not converge`);
      const regionEnd = start + newBlocks.length + tableClusters;
      const indexes = new Set(targets.map((c) => Math.floor(c / epb)));
      for (let c = start; c < regionEnd; c += 1) indexes.add(Math.floor(c / epb));
      const missing = [...indexes].filter((b) => b >= this.table.length || this.table[b] === 0).sort((a, b) => a - b);
      const maxIndex = Math.max(...indexes);
      let wantEntries = entries;
      if (maxIndex >= wantEntries) wantEntries = Math.max(wantEntries * 2, maxIndex + 1);
      const wantClusters = wantEntries > this.table.length ? Math.ceil((wantEntries * 8) / cs) : 0;
      if (wantClusters > 0) wantEntries = (wantClusters * cs) / 8;
      if (wantClusters * cs > MAX_REFCOUNT_TABLE_BYTES) throw new BlockFormatError(`${this.file.path}: the image outgrew the largest refcount table (${MAX_REFCOUNT_TABLE_BYTES} bytes)`);
      if (missing.length === newBlocks.length && wantClusters === tableClusters && wantEntries === entries) break;
      newBlocks = missing;
      tableClusters = wantClusters;
      entries = wantEntries;
    }

    const blockOffset = new Map<number, number>();
    newBlocks.forEach((b, k) => blockOffset.set(b, (start + k) * cs));
    const regionEnd = start + newBlocks.length + tableClusters;
    const counted = [...targets];
    for (let c = start; c < regionEnd; c++) counted.push(c);

    // 1. New blocks, holding the counts of the clusters they cover; raised counts in existing blocks.
    for (const b of newBlocks) {
      this.file.markTable(blockOffset.get(b)!);
      const block = new Uint8Array(cs);
      for (const c of counted) if (Math.floor(c / epb) === b) this.setEntry(block, c % epb, 1);
      this.file.write(blockOffset.get(b)!, block);
      this.blocks.set(blockOffset.get(b)!, block);
    }
    for (const c of counted) {
      const b = Math.floor(c / epb);
      if (!blockOffset.has(b)) this.writeEntry(this.table[b], c % epb, this.get(c) + 1);
    }

    // 2. Point the table at the new blocks.
    if (tableClusters === 0) {
      for (const b of newBlocks) {
        this.table[b] = blockOffset.get(b)!;
        this.writeTableEntry(this.tableOffset, b, this.table[b]);
      }
    } else {
      const newTable = [...this.table];
      while (newTable.length < entries) newTable.push(0);
      for (const b of newBlocks) newTable[b] = blockOffset.get(b)!;
      const newTableOffset = (start + newBlocks.length) * cs;
      const raw = new Uint8Array(tableClusters * cs);
      const v = new DataView(raw.buffer);
      newTable.forEach((off, i) => {
        const [hi, lo] = encodeEntry(off, 0, 0);
        v.setUint32(i * 8, hi);
        v.setUint32(i * 8 + 4, lo);
      });
      this.file.write(newTableOffset, raw);
      // 3. Switch the header to the new table in one write (offset and cluster count are adjacent).
      const hdr = new Uint8Array(12);
      const hv = new DataView(hdr.buffer);
      const [hi, lo] = encodeEntry(newTableOffset, 0, 0);
      hv.setUint32(0, hi);
      hv.setUint32(4, lo);
      hv.setUint32(8, tableClusters);
      this.file.write(HDR_REFCOUNT_TABLE_OFFSET, hdr);
      const oldOffset = this.tableOffset;
      const oldClusters = this.tableClusters;
      this.table = newTable;
      this.tableOffset = newTableOffset;
      this.tableClusters = tableClusters;
      this.file.setFixedRegion('refcount table', newTableOffset, tableClusters * cs);
      // 4. Release the old table.
      for (let k = 0; k < oldClusters; k++) this.decrement(oldOffset / cs + k);
    }
    this.endCluster = Math.max(this.endCluster, regionEnd);
  }

  private writeTableEntry(tableOffset: number, index: number, offset: number): void {
    const raw = new Uint8Array(8);
    const v = new DataView(raw.buffer);
    const [hi, lo] = encodeEntry(offset, 0, 0);
    v.setUint32(0, hi);
    v.setUint32(4, lo);
    this.file.write(tableOffset + index * 8, raw);
  }
}
