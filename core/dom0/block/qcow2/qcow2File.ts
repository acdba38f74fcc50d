/**
 * The open qcow2 file: positioned I/O, the file's current size, and the
 * sanity checks every offset read from the image's own tables must pass
 * before it is used (a hostile or damaged image gets a BlockFormatError,
 * never a read of garbage as metadata or a write over the header or tables).
 */
import { BlockFormatError } from '../blockErrors.ts';
import { readFully, writeFully } from '../fileIo.ts';

interface Region {
  start: number;
  end: number;
  what: string;
}

export class Qcow2File {
  readonly fd: number;
  readonly path: string;
  readonly clusterSize: number;
  /** Bytes in the file; grows as clusters are appended. */
  fileSize: number;
  /** Fixed metadata (header cluster, L1 table, refcount table) that no table or data pointer may name. */
  private readonly fixed: Region[] = [];
  /** Offsets of the L2 tables and refcount blocks named by the L1 and refcount tables. */
  private readonly tables = new Set<number>();

  constructor(fd: number, path: string, clusterSize: number, fileSize: number) {
    this.fd = fd;
    this.path = path;
    this.clusterSize = clusterSize;
    this.fileSize = fileSize;
  }

  read(offset: number, dest: Uint8Array): void {
    readFully(this.fd, dest, offset);
  }

  write(offset: number, src: Uint8Array): void {
    writeFully(this.fd, src, offset);
    if (offset + src.length > this.fileSize) this.fileSize = offset + src.length;
  }

  /** Ends the current request: the image's metadata contradicts itself. */
  corrupt(what: string): never {
    throw new BlockFormatError(`${this.path}: qcow2 metadata is inconsistent: ${what}`);
  }

  /** Declares (or, with the same `what`, moves) a fixed metadata region. */
  setFixedRegion(what: string, start: number, length: number): void {
    const i = this.fixed.findIndex((r) => r.what === what);
    const region = { start, end: start + length, what };
    if (i >= 0) this.fixed[i] = region;
    else this.fixed.push(region);
  }

  /** An L2 table or refcount block offset: cluster-aligned, non-zero, inside the file, not over fixed metadata. */
  checkTableCluster(offset: number, what: string): void {
    if (offset === 0 || offset % this.clusterSize !== 0) this.corrupt(`${what} offset ${offset} is not a non-zero cluster boundary`);
    if (offset + this.clusterSize > this.fileSize) this.corrupt(`${what} at ${offset} lies past the end of the file (${this.fileSize} bytes)`);
    this.checkNotFixed(offset, what);
  }

  /** A data cluster offset: cluster-aligned, non-zero, starting inside the file, not over fixed metadata. */
  checkDataCluster(offset: number): void {
    if (offset === 0 || offset % this.clusterSize !== 0) this.corrupt(`data cluster offset ${offset} is not a non-zero cluster boundary`);
    if (offset >= this.fileSize) this.corrupt(`data cluster at ${offset} lies past the end of the file (${this.fileSize} bytes)`);
    this.checkNotFixed(offset, 'data cluster');
  }

  /** Declares a one-cluster table (an L2 table or refcount block) the image names. */
  markTable(offset: number): void {
    this.tables.add(offset);
  }

  /**
   * True when the cluster at `offset` holds metadata: fixed regions, or an L2
   * table or refcount block the image names. The allocator skips such clusters
   * whatever their refcount says, so a damaged refcount cannot make a write
   * land on a table.
   */
  isMetadata(offset: number): boolean {
    if (this.tables.has(offset)) return true;
    const end = offset + this.clusterSize;
    return this.fixed.some((r) => offset < r.end && end > r.start);
  }

  private checkNotFixed(offset: number, what: string): void {
    const end = offset + this.clusterSize;
    for (const r of this.fixed) {
      if (offset < r.end && end > r.start) this.corrupt(`${what} at ${offset} overlaps the ${r.what}`);
    }
  }
}
