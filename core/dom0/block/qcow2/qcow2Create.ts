/**
 * Creates an empty qcow2 version 3 image: 64 KiB clusters, 16-bit refcounts.
 *
 * Layout: cluster 0 the header (then the backing-format extension, the end
 * marker and the backing file name), cluster 1 the refcount table, cluster 2
 * its first refcount block (counting clusters 0..3+L1), clusters 3.. the L1
 * table, all zero. Everything else is allocated on first write.
 */
import fs from 'node:fs';
import { BlockFormatError } from '../blockErrors.ts';
import type { DiskFormat } from '../diskTypes.ts';
import { writeFully } from '../fileIo.ts';
import { EXT_BACKING_FORMAT, MAX_BACKING_NAME, QCOW2_MAGIC, V3_HEADER_LENGTH, encodeEntry } from './qcow2Format.ts';

export const CREATE_CLUSTER_BITS = 16;
const REFCOUNT_ORDER = 4;
/** With 64 KiB clusters the first refcount block counts 2 GiB of file, far more than the metadata of this size. */
export const MAX_CREATE_SIZE = 64 * 2 ** 40;

export interface BackingSpec {
  /** As stored in the image (relative names are resolved against the image's directory). */
  name: string;
  format: DiskFormat;
}

export function createQcow2Image(imagePath: string, sizeBytes: number, backing?: BackingSpec): void {
  if (sizeBytes > MAX_CREATE_SIZE) throw new BlockFormatError(`${imagePath}: size ${sizeBytes} is larger than the ${MAX_CREATE_SIZE / 2 ** 40} TiB this creator supports`);
  const cs = 2 ** CREATE_CLUSTER_BITS;
  const l2Entries = cs / 8;
  const l1Size = Math.ceil(sizeBytes / (cs * l2Entries));
  const l1Clusters = Math.max(1, Math.ceil((l1Size * 8) / cs));
  const refcountTableAt = cs;
  const refcountBlockAt = 2 * cs;
  const l1At = 3 * cs;
  const totalClusters = 3 + l1Clusters;

  const image = new Uint8Array(totalClusters * cs);
  const v = new DataView(image.buffer);
  v.setUint32(0, QCOW2_MAGIC);
  v.setUint32(4, 3);
  v.setUint32(20, CREATE_CLUSTER_BITS);
  setU64(v, 24, sizeBytes);
  v.setUint32(36, l1Size);
  setU64(v, 40, l1At);
  setU64(v, 48, refcountTableAt);
  v.setUint32(56, 1);
  v.setUint32(96, REFCOUNT_ORDER);
  v.setUint32(100, V3_HEADER_LENGTH);

  let at = V3_HEADER_LENGTH;
  if (backing !== undefined) {
    const name = new TextEncoder().encode(backing.name);
    if (name.length === 0 || name.length > MAX_BACKING_NAME) throw new BlockFormatError(`${imagePath}: backing file name must be 1..${MAX_BACKING_NAME} bytes`);
    const format = new TextEncoder().encode(backing.format);
    v.setUint32(at, EXT_BACKING_FORMAT);
    v.setUint32(at + 4, format.length);
    image.set(format, at + 8);
    at += 8 + Math.ceil(format.length / 8) * 8;
    at += 8; // end-of-extensions marker (zeros)
    image.set(name, at);
    setU64(v, 8, at);
    v.setUint32(16, name.length);
  }

  const [tableHi, tableLo] = encodeEntry(refcountBlockAt, 0, 0);
  v.setUint32(refcountTableAt, tableHi);
  v.setUint32(refcountTableAt + 4, tableLo);
  for (let c = 0; c < totalClusters; c++) v.setUint16(refcountBlockAt + c * 2, 1);

  const fd = fs.openSync(imagePath, 'wx');
  try {
    writeFully(fd, image, 0);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function setU64(v: DataView, at: number, value: number): void {
  v.setUint32(at, Math.floor(value / 0x1_0000_0000));
  v.setUint32(at + 4, value % 0x1_0000_0000);
}
