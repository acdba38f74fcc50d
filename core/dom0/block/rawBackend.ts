/**
 * The raw image backend: the virtual disk is the file, byte for byte. A new
 * raw image is a sparse file (ftruncate to the size), so unwritten areas take
 * no host space and read as zeros.
 *
 * DISCARD: Node exposes no fallocate(FALLOC_FL_PUNCH_HOLE), so a range in the
 * middle of the file cannot be turned back into a hole. Instead the range is
 * read in chunks and only chunks holding non-zero bytes are overwritten with
 * zeros (an already-zero chunk, e.g. a hole, is left alone so it is not
 * allocated). A range that reaches the end of the disk is deallocated for
 * real: the file is truncated to the range's start and regrown to its size,
 * which leaves a hole.
 */
import fs from 'node:fs';
import type { BlockBackend } from './blockBackend.ts';
import { BlockFormatError, BlockReadOnlyError } from './blockErrors.ts';
import { readFully, writeFully } from './fileIo.ts';
import { checkRange } from './rangeCheck.ts';

const SECTOR = 512;
const DISCARD_CHUNK = 64 * 1024;

export class RawBackend implements BlockBackend {
  readonly format = 'raw' as const;
  readonly sizeBytes: number;
  readonly readOnly: boolean;
  private readonly path: string;
  private fd: number;

  /** Opens an existing raw image; its size must be a non-zero multiple of 512. */
  constructor(path: string, readOnly: boolean) {
    this.path = path;
    this.readOnly = readOnly;
    this.fd = fs.openSync(path, readOnly ? 'r' : 'r+');
    try {
      const st = fs.fstatSync(this.fd);
      if (!st.isFile()) throw new BlockFormatError(`${path}: not a regular file`);
      if (st.size === 0 || st.size % SECTOR !== 0) {
        throw new BlockFormatError(`${path}: not a disk image (neither qcow2 nor a raw image: size ${st.size} is not a non-zero multiple of 512 bytes)`);
      }
      this.sizeBytes = st.size;
    } catch (e) {
      fs.closeSync(this.fd);
      throw e;
    }
  }

  /** Creates a sparse raw image of sizeBytes (fails if path exists). */
  static create(path: string, sizeBytes: number): void {
    const fd = fs.openSync(path, 'wx');
    try {
      fs.ftruncateSync(fd, sizeBytes);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  read(offset: number, dest: Uint8Array): void {
    this.checkOpen();
    checkRange(this.path, this.sizeBytes, offset, dest.length);
    readFully(this.fd, dest, offset);
  }

  write(offset: number, src: Uint8Array): void {
    this.checkWritable();
    checkRange(this.path, this.sizeBytes, offset, src.length);
    writeFully(this.fd, src, offset);
  }

  flush(): void {
    this.checkOpen();
    if (!this.readOnly) fs.fsyncSync(this.fd);
  }

  discard(offset: number, length: number): void {
    this.checkWritable();
    checkRange(this.path, this.sizeBytes, offset, length);
    if (length === 0) return;
    if (offset + length === this.sizeBytes) {
      fs.ftruncateSync(this.fd, offset);
      fs.ftruncateSync(this.fd, this.sizeBytes);
      return;
    }
    const chunk = new Uint8Array(Math.min(DISCARD_CHUNK, length));
    for (let at = offset; at < offset + length; at += chunk.length) {
      const piece = chunk.subarray(0, Math.min(chunk.length, offset + length - at));
      readFully(this.fd, piece, at);
      if (piece.some((b) => b !== 0)) {
        piece.fill(0);
        writeFully(this.fd, piece, at);
      }
    }
  }

  close(): void {
    this.checkOpen();
    fs.closeSync(this.fd);
    this.fd = -1;
  }

  private checkOpen(): void {
    if (this.fd < 0) throw new Error(`${this.path}: disk is closed`);
  }

  private checkWritable(): void {
    this.checkOpen();
    if (this.readOnly) throw new BlockReadOnlyError(`${this.path}: disk is read-only`);
  }
}
