/**
 * The qcow2 block backend (BlockBackend over a qcow2 v2/v3 image).
 *
 * Reads walk L1 -> L2 per guest cluster: data clusters are read from the
 * file, zero clusters read as zeros, unallocated clusters come from the
 * backing image (zeros past its end, or with no backing image).
 *
 * Writes to an allocated cluster go in place. A write to an unallocated or
 * zero cluster builds the whole new cluster in memory (backing data or zeros
 * around the written bytes), then, in this order:
 *   1. the L2 table exists (allocated, zeroed, counted, then linked from L1),
 *   2. the data cluster is allocated and written,
 *   3. its refcount is raised (see Qcow2Refcounts for new refcount blocks),
 *   4. the L2 entry points at it.
 * A kill -9 between any two steps leaves at worst a leaked cluster, never an
 * entry pointing at an uncounted or unwritten cluster. FLUSH is fsync.
 *
 * DISCARD deallocates: a whole cluster's L2 entry becomes "unallocated" (no
 * backing image) or "reads as zeros" (backing image, version 3) and the data
 * cluster's refcount is lowered after the entry is rewritten (so a kill leaks
 * it at worst); freed clusters are reused by later writes. Partial clusters
 * (and whole ones in a version 2 overlay, which has no zero flag) get zeros
 * written. Afterwards the range reads as zeros either way.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { BlockBackend } from '../blockBackend.ts';
import { BlockFormatError, BlockReadOnlyError } from '../blockErrors.ts';
import type { DiskFormat } from '../diskTypes.ts';
import { checkRange } from '../rangeCheck.ts';
import { Qcow2File } from './qcow2File.ts';
import {
  HDR_AUTOCLEAR_FEATURES, HI_COPIED, INCOMPAT_CORRUPT, INCOMPAT_DIRTY, LO_ZERO, MAX_CLUSTER_BITS, parseQcow2Header,
  type Qcow2Header,
} from './qcow2Format.ts';
import { Qcow2Mapping } from './qcow2Mapping.ts';
import { Qcow2Refcounts } from './qcow2Refcounts.ts';

/** Opens a backing image read-only (the factory passes one that tracks the chain, refusing loops). */
export type BackingOpener = (backingPath: string, format: DiskFormat | undefined) => BlockBackend;

export class Qcow2Backend implements BlockBackend {
  readonly format = 'qcow2' as const;
  readonly sizeBytes: number;
  readonly readOnly: boolean;
  /** The backing file name as stored in the image (undefined without one). */
  readonly backingFileName: string | undefined;
  private readonly file: Qcow2File;
  private readonly header: Qcow2Header;
  private readonly mapping: Qcow2Mapping;
  private readonly refcounts: Qcow2Refcounts;
  private readonly backing: BlockBackend | undefined;
  private readonly clusterSize: number;
  private closed = false;

  private constructor(file: Qcow2File, header: Qcow2Header, readOnly: boolean, backingFileName: string | undefined, backing: BlockBackend | undefined) {
    this.file = file;
    this.header = header;
    this.readOnly = readOnly;
    this.sizeBytes = header.size;
    this.clusterSize = file.clusterSize;
    this.backingFileName = backingFileName;
    this.backing = backing;
    file.setFixedRegion('header', 0, file.clusterSize);
    this.mapping = new Qcow2Mapping(file, header.version, header.l1TableOffset, header.l1Size);
    this.refcounts = new Qcow2Refcounts(file, header.refcountOrder, header.refcountTableOffset, header.refcountTableClusters);
  }

  /** Opens an existing qcow2 image; any inconsistency found on the way is a BlockFormatError. */
  static open(imagePath: string, readOnly: boolean, openBacking: BackingOpener): Qcow2Backend {
    const fd = fs.openSync(imagePath, readOnly ? 'r' : 'r+');
    let backing: BlockBackend | undefined;
    try {
      const fileSize = fs.fstatSync(fd).size;
      const head = new Uint8Array(Math.min(fileSize, 2 ** MAX_CLUSTER_BITS));
      fs.readSync(fd, head, 0, head.length, 0);
      const header = parseQcow2Header(imagePath, head, fileSize);
      if (!readOnly) Qcow2Backend.checkWritable(imagePath, header);
      const clusterSize = 2 ** header.clusterBits;
      const file = new Qcow2File(fd, imagePath, clusterSize, fileSize);
      let backingName: string | undefined;
      if (header.backingFileOffset !== 0) {
        backingName = new TextDecoder().decode(head.subarray(header.backingFileOffset, header.backingFileOffset + header.backingFileSize));
        const format = header.backingFormat;
        if (format !== undefined && format !== 'raw' && format !== 'qcow2') {
          throw new BlockFormatError(`${imagePath}: backing file format '${format}' is not supported (raw or qcow2)`);
        }
        backing = openBacking(path.resolve(path.dirname(imagePath), backingName), format);
      }
      const image = new Qcow2Backend(file, header, readOnly, backingName, backing);
      if (!readOnly && header.version === 3 && header.autoclearFeatures !== 0n) {
        // The spec: a writer that does not maintain an auto-clear feature (e.g. bitmaps) clears its bit first.
        file.write(HDR_AUTOCLEAR_FEATURES, new Uint8Array(8));
      }
      return image;
    } catch (e) {
      backing?.close();
      fs.closeSync(fd);
      throw e;
    }
  }

  private static checkWritable(imagePath: string, header: Qcow2Header): void {
    const refuse = (why: string): never => {
      throw new BlockFormatError(`${imagePath}: cannot open for writing: ${why}; open it read-only`);
    };
    if (header.incompatibleFeatures & INCOMPAT_CORRUPT) refuse('the image is marked corrupt (repair it with qemu-img check -r all)');
    if (header.incompatibleFeatures & INCOMPAT_DIRTY) refuse('the image is marked dirty (its refcounts need a repair: qemu-img check -r all)');
    if (header.nbSnapshots !== 0) refuse(`it has ${header.nbSnapshots} internal snapshot(s), whose shared clusters this backend does not copy on write`);
  }

  read(offset: number, dest: Uint8Array): void {
    this.checkOpen();
    checkRange(this.file.path, this.sizeBytes, offset, dest.length);
    this.forEachPiece(offset, dest.length, (gc, inCluster, at, length) => {
      this.readPiece(gc, inCluster, dest.subarray(at, at + length));
    });
  }

  write(offset: number, src: Uint8Array): void {
    this.checkWritable();
    checkRange(this.file.path, this.sizeBytes, offset, src.length);
    this.forEachPiece(offset, src.length, (gc, inCluster, at, length) => {
      this.writePiece(gc, inCluster, src.subarray(at, at + length));
    });
  }

  flush(): void {
    this.checkOpen();
    if (!this.readOnly) fs.fsyncSync(this.file.fd);
  }

  discard(offset: number, length: number): void {
    this.checkWritable();
    checkRange(this.file.path, this.sizeBytes, offset, length);
    this.forEachPiece(offset, length, (gc, inCluster, _at, pieceLength) => {
      const wholeCluster = inCluster === 0 && (pieceLength === this.clusterSize || gc * this.clusterSize + pieceLength === this.sizeBytes);
      if (wholeCluster && (this.backing === undefined || this.header.version === 3)) this.deallocate(gc);
      else this.zeroPiece(gc, inCluster, pieceLength);
    });
  }

  close(): void {
    this.checkOpen();
    this.closed = true;
    this.backing?.close();
    fs.closeSync(this.file.fd);
  }

  /** Splits [offset, offset+length) at guest cluster boundaries. */
  private forEachPiece(offset: number, length: number, visit: (gc: number, inCluster: number, at: number, length: number) => void): void {
    let at = 0;
    while (at < length) {
      const pos = offset + at;
      const gc = Math.floor(pos / this.clusterSize);
      const inCluster = pos - gc * this.clusterSize;
      const piece = Math.min(this.clusterSize - inCluster, length - at);
      visit(gc, inCluster, at, piece);
      at += piece;
    }
  }

  private readPiece(gc: number, inCluster: number, dest: Uint8Array): void {
    const m = this.mapping.lookup(gc);
    if (m.kind === 'data') this.file.read(m.host + inCluster, dest);
    else if (m.kind === 'zero') dest.fill(0);
    else this.readBacking(gc * this.clusterSize + inCluster, dest);
  }

  /** What an unallocated guest range reads as: the backing image's bytes where it has them, zeros elsewhere. */
  private readBacking(guestOffset: number, dest: Uint8Array): void {
    const available = this.backing === undefined ? 0 : Math.max(0, Math.min(dest.length, this.backing.sizeBytes - guestOffset));
    if (available > 0) this.backing!.read(guestOffset, dest.subarray(0, available));
    dest.fill(0, available);
  }

  private writePiece(gc: number, inCluster: number, src: Uint8Array): void {
    const m = this.mapping.lookup(gc);
    if (m.kind === 'data') {
      if (!m.copied) this.checkUnshared(m.host);
      this.file.write(m.host + inCluster, src);
      return;
    }
    // Build the whole new cluster: the old contents around the written bytes.
    let cluster: Uint8Array;
    if (inCluster === 0 && src.length === this.clusterSize) {
      cluster = src;
    } else {
      cluster = new Uint8Array(this.clusterSize);
      if (m.kind === 'unallocated') this.readBacking(gc * this.clusterSize, cluster.subarray(0, Math.min(this.clusterSize, this.sizeBytes - gc * this.clusterSize)));
      cluster.set(src, inCluster);
    }
    const l2 = this.mapping.l2TableForWrite(gc, this.refcounts);
    if (m.kind === 'zero' && m.host !== 0 && this.refcounts.get(m.host / this.clusterSize) === 1) {
      // A preallocated zero cluster: fill it, then clear the zero flag.
      this.file.write(m.host, cluster);
      this.mapping.setL2Entry(l2, gc, m.host, HI_COPIED, 0);
      return;
    }
    const host = this.refcounts.allocate() * this.clusterSize;
    this.file.write(host, cluster);
    this.refcounts.increment(host / this.clusterSize);
    this.mapping.setL2Entry(l2, gc, host, HI_COPIED, 0);
    // A zero entry may have carried a preallocated cluster we did not reuse: release it after the entry stops naming it.
    if (m.kind === 'zero' && m.host !== 0) this.refcounts.decrement(m.host / this.clusterSize);
  }

  private deallocate(gc: number): void {
    const m = this.mapping.lookup(gc);
    const needZeroFlag = this.backing !== undefined;
    if (m.kind === 'unallocated' && !needZeroFlag) return;
    if (m.kind === 'zero' && m.host === 0) return;
    const l2 = this.mapping.l2TableForWrite(gc, this.refcounts);
    this.mapping.setL2Entry(l2, gc, 0, 0, needZeroFlag ? LO_ZERO : 0);
    if (m.kind !== 'unallocated' && m.host !== 0) this.refcounts.decrement(m.host / this.clusterSize);
  }

  private zeroPiece(gc: number, inCluster: number, length: number): void {
    const current = new Uint8Array(length);
    this.readPiece(gc, inCluster, current);
    if (current.some((b) => b !== 0)) this.writePiece(gc, inCluster, new Uint8Array(length));
  }

  private checkUnshared(host: number): void {
    if (this.refcounts.get(host / this.clusterSize) !== 1) {
      throw new BlockFormatError(`${this.file.path}: data cluster at ${host} is shared (internal snapshot); writing it is not supported`);
    }
  }

  private checkOpen(): void {
    if (this.closed) throw new Error(`${this.file.path}: disk is closed`);
  }

  private checkWritable(): void {
    this.checkOpen();
    if (this.readOnly) throw new BlockReadOnlyError(`${this.file.path}: disk is read-only`);
  }
}
