/**
 * Format probing, opening and creation of disk images: the one place that
 * knows every backend class. Backing chains are opened here, so that a loop
 * (A backed by B backed by A) or an absurdly deep chain is refused.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { BlockBackend } from './blockBackend.ts';
import { BlockFormatError } from './blockErrors.ts';
import type { CreateDiskOptions, DiskFormat, OpenDiskOptions } from './diskTypes.ts';
import { readFully } from './fileIo.ts';
import { RawBackend } from './rawBackend.ts';
import { QCOW2_MAGIC } from './qcow2/qcow2Format.ts';
import { Qcow2Backend } from './qcow2/qcow2Backend.ts';
import { createQcow2Image } from './qcow2/qcow2Create.ts';

const SECTOR = 512;
/** Deeper chains than this are refused (a loop through differently named paths also ends here). */
export const MAX_BACKING_DEPTH = 16;

/** 'qcow2' if the file starts with the qcow2 magic, 'raw' if its size is a non-zero multiple of 512, else BlockFormatError. */
export function probeDiskFormat(imagePath: string): DiskFormat {
  const fd = fs.openSync(imagePath, 'r');
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new BlockFormatError(`${imagePath}: not a regular file`);
    const head = new Uint8Array(4);
    readFully(fd, head, 0);
    const magic = new DataView(head.buffer).getUint32(0);
    if (st.size >= 4 && magic === QCOW2_MAGIC) return 'qcow2';
    if (st.size > 0 && st.size % SECTOR === 0) return 'raw';
    throw new BlockFormatError(
      `${imagePath}: not a disk image (no qcow2 header, and its size ${st.size} is not a non-zero multiple of 512 bytes as a raw image's is)`,
    );
  } finally {
    fs.closeSync(fd);
  }
}

export function openDiskImage(imagePath: string, opts: OpenDiskOptions, chain: string[] = []): BlockBackend {
  let real: string;
  try {
    real = fs.realpathSync(imagePath);
  } catch (e) {
    const inChain = chain.length > 0 ? ` (backing file of ${chain[chain.length - 1]})` : '';
    throw new BlockFormatError(`${imagePath}${inChain}: cannot open: ${(e as Error).message}`);
  }
  if (chain.includes(real)) throw new BlockFormatError(`${imagePath}: backing file loop (${[...chain, real].join(' -> ')})`);
  if (chain.length > MAX_BACKING_DEPTH) throw new BlockFormatError(`${imagePath}: backing chain deeper than ${MAX_BACKING_DEPTH} images`);
  const format = opts.format ?? probeDiskFormat(imagePath);
  const readOnly = opts.readOnly ?? false;
  if (format === 'raw') return new RawBackend(imagePath, readOnly);
  return Qcow2Backend.open(imagePath, readOnly, (backingPath, backingFormat) =>
    openDiskImage(backingPath, { format: backingFormat, readOnly: true }, [...chain, real]),
  );
}

export function createDiskImage(imagePath: string, opts: CreateDiskOptions): void {
  if (!Number.isSafeInteger(opts.sizeBytes) || opts.sizeBytes <= 0 || opts.sizeBytes % SECTOR !== 0) {
    throw new BlockFormatError(`${imagePath}: disk size ${opts.sizeBytes} is not a positive multiple of 512 bytes`);
  }
  if (opts.format === 'raw') {
    if (opts.backingFile !== undefined) throw new BlockFormatError(`${imagePath}: a raw image cannot have a backing file (use qcow2)`);
    RawBackend.create(imagePath, opts.sizeBytes);
    return;
  }
  if (opts.backingFile === undefined) {
    createQcow2Image(imagePath, opts.sizeBytes);
    return;
  }
  // The backing image must open now (a clear error at creation, not at first boot); its format goes into the header.
  const backingPath = path.resolve(path.dirname(imagePath), opts.backingFile);
  const backing = openDiskImage(backingPath, { readOnly: true });
  const format = backing.format;
  backing.close();
  createQcow2Image(imagePath, opts.sizeBytes, { name: opts.backingFile, format });
}
