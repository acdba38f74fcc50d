/**
 * The block backend interface: what a disk device (virtio-blk in dom0, the
 * CLI, the host) sees of a disk image, whatever its format.
 *
 * All I/O is synchronous (fs.readSync/writeSync on a file descriptor): the
 * backends run in a worker thread (the machine's, later dom0's), where a
 * blocking call stalls only that worker, and synchronous completion keeps the
 * device model simple and its ordering obvious.
 *
 * Formats: `raw` (a plain, possibly sparse file; see rawBackend.ts) and
 * `qcow2` version 3 (see qcow2/qcow2Backend.ts), with backing files.
 */
import type { CreateDiskOptions, DiskFormat, OpenDiskOptions } from './diskTypes.ts';
import { createDiskImage, openDiskImage } from './diskFactory.ts';

export type { CreateDiskOptions, DiskFormat, OpenDiskOptions } from './diskTypes.ts';
export { BlockFormatError, BlockRangeError, BlockReadOnlyError } from './blockErrors.ts';

export interface BlockBackend {
  readonly format: DiskFormat;
  /** The virtual disk's size in bytes (a multiple of 512). */
  readonly sizeBytes: number;
  readonly readOnly: boolean;
  /** Fills dest from the disk at offset; offset + dest.length must be within sizeBytes (else BlockRangeError). Unwritten areas read as zeros. */
  read(offset: number, dest: Uint8Array): void;
  /** Writes src at offset; BlockReadOnlyError on a read-only disk, BlockRangeError outside the disk. */
  write(offset: number, src: Uint8Array): void;
  /** fsync: every completed write, data and metadata, is durable when this returns. */
  flush(): void;
  /**
   * The guest no longer needs these bytes; afterwards they read as zeros.
   * raw: zeros written over the non-zero parts (Node has no hole punching), a
   * tail range is cut off with ftruncate and regrown as a hole.
   * qcow2: see Qcow2Backend.discard.
   */
  discard(offset: number, length: number): void;
  /** Releases the file descriptors (and those of backing files). Further calls throw. */
  close(): void;
}

/**
 * Opens an image. Without opts.format the format is probed: a file starting
 * with the qcow2 magic is qcow2, else a file whose size is a non-zero
 * multiple of 512 is raw, else BlockFormatError.
 */
export function openDisk(path: string, opts: OpenDiskOptions = {}): BlockBackend {
  return openDiskImage(path, opts);
}

/** Creates a new image (fails if path exists). sizeBytes must be a positive multiple of 512. */
export function createDisk(path: string, opts: CreateDiskOptions): void {
  createDiskImage(path, opts);
}
