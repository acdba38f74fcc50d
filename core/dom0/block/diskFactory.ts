/**
 * Format probing, opening and creation of disk images: the one place that
 * knows every backend class.
 */
import fs from 'node:fs';
import type { BlockBackend } from './blockBackend.ts';
import { BlockFormatError } from './blockErrors.ts';
import type { CreateDiskOptions, DiskFormat, OpenDiskOptions } from './diskTypes.ts';
import { readFully } from './fileIo.ts';
import { RawBackend } from './rawBackend.ts';

/** 'QFI\xfb', big-endian, at offset 0 of every qcow2 image. */
const QCOW2_MAGIC = 0x514649fb;

const SECTOR = 512;

/** 'qcow2' if the file starts with the qcow2 magic, 'raw' if its size is a non-zero multiple of 512, else BlockFormatError. */
export function probeDiskFormat(path: string): DiskFormat {
  const fd = fs.openSync(path, 'r');
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new BlockFormatError(`${path}: not a regular file`);
    const head = new Uint8Array(4);
    readFully(fd, head, 0);
    const magic = new DataView(head.buffer).getUint32(0);
    if (st.size >= 4 && magic === QCOW2_MAGIC) return 'qcow2';
    if (st.size > 0 && st.size % SECTOR === 0) return 'raw';
    throw new BlockFormatError(
      `${path}: not a disk image (no qcow2 header, and its size ${st.size} is not a non-zero multiple of 512 bytes as a raw image's is)`,
    );
  } finally {
    fs.closeSync(fd);
  }
}

export function openDiskImage(path: string, opts: OpenDiskOptions): BlockBackend {
  const format = opts.format ?? probeDiskFormat(path);
  const readOnly = opts.readOnly ?? false;
  if (format === 'qcow2') throw new BlockFormatError(`${path}: the qcow2 backend is not committed yet`);
  return new RawBackend(path, readOnly);
}

export function createDiskImage(path: string, opts: CreateDiskOptions): void {
  if (!Number.isSafeInteger(opts.sizeBytes) || opts.sizeBytes <= 0 || opts.sizeBytes % SECTOR !== 0) {
    throw new BlockFormatError(`${path}: disk size ${opts.sizeBytes} is not a positive multiple of 512 bytes`);
  }
  if (opts.format === 'raw') {
    if (opts.backingFile !== undefined) throw new BlockFormatError(`${path}: a raw image cannot have a backing file (use qcow2)`);
    RawBackend.create(path, opts.sizeBytes);
  } else {
    throw new BlockFormatError(`${path}: the qcow2 backend is not committed yet`);
  }
}
