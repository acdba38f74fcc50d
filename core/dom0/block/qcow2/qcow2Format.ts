/**
 * The qcow2 on-disk format (QEMU's docs/interop/qcow2.txt): constants, the
 * header parser with every sanity check a hostile image needs, and the bit
 * layout of L1/L2 entries. All numbers in the file are big-endian.
 *
 * Supported: version 2 and 3, cluster_bits 9..21, refcount_order 0..6,
 * standard and all-zero clusters, backing files (with or without the
 * backing-format extension). Refused with a BlockFormatError: encryption,
 * external data files, extended L2 entries, unknown incompatible features;
 * compressed clusters are refused when a request touches one. Images with
 * internal snapshots, the dirty bit or the corrupt bit open read-only only.
 */
import { BlockFormatError } from '../blockErrors.ts';

export const QCOW2_MAGIC = 0x514649fb;

/** QEMU's own limits (qcow2.txt notes), which keep in-memory tables bounded. */
export const MAX_L1_TABLE_BYTES = 32 * 1024 * 1024;
export const MAX_REFCOUNT_TABLE_BYTES = 8 * 1024 * 1024;
export const MIN_CLUSTER_BITS = 9;
export const MAX_CLUSTER_BITS = 21;
export const MAX_BACKING_NAME = 1023;

export const V2_HEADER_LENGTH = 72;
export const V3_HEADER_LENGTH = 112; // through compression_type (104) and its padding

/** Incompatible feature bits. */
export const INCOMPAT_DIRTY = 1n << 0n;
export const INCOMPAT_CORRUPT = 1n << 1n;
export const INCOMPAT_EXTERNAL_DATA = 1n << 2n;
export const INCOMPAT_COMPRESSION_TYPE = 1n << 3n;
export const INCOMPAT_EXTENDED_L2 = 1n << 4n;
const INCOMPAT_KNOWN = INCOMPAT_DIRTY | INCOMPAT_CORRUPT | INCOMPAT_EXTERNAL_DATA | INCOMPAT_COMPRESSION_TYPE | INCOMPAT_EXTENDED_L2;

/** Header extension types. */
export const EXT_END = 0x00000000;
export const EXT_BACKING_FORMAT = 0xe2792aca;

/** Byte offsets of the header fields this backend rewrites. */
export const HDR_REFCOUNT_TABLE_OFFSET = 48; // 8 bytes, followed by refcount_table_clusters (4)
export const HDR_AUTOCLEAR_FEATURES = 88;

/**
 * L1/L2 entry bits, split into the high and low 32-bit words of the 64-bit
 * big-endian value (JavaScript numbers hold 53 bits; offsets use bits 9..55).
 */
export const HI_COPIED = 0x80000000; // bit 63: refcount is exactly one
export const HI_COMPRESSED = 0x40000000; // bit 62 (L2 only)
export const LO_ZERO = 0x1; // bit 0 (L2, version 3): cluster reads as zeros
const HI_OFFSET_MASK = 0x00ffffff; // bits 32..55
const LO_OFFSET_MASK = 0xfffffe00; // bits 9..31
const L1_HI_RESERVED = 0x7f000000; // bits 56..62
const L2_HI_RESERVED = 0x3f000000; // bits 56..61
const LO_RESERVED = 0x000001fe; // bits 1..8

export interface Qcow2Header {
  version: 2 | 3;
  backingFileOffset: number;
  backingFileSize: number;
  clusterBits: number;
  size: number;
  l1Size: number;
  l1TableOffset: number;
  refcountTableOffset: number;
  refcountTableClusters: number;
  nbSnapshots: number;
  incompatibleFeatures: bigint;
  autoclearFeatures: bigint;
  refcountOrder: number;
  headerLength: number;
  /** From the backing-format header extension, when present. */
  backingFormat?: string;
}

/** The offset bits (9..55) of an L1/L2/refcount-table entry given as two words. */
export function entryOffset(hi: number, lo: number): number {
  return (hi & HI_OFFSET_MASK) * 0x1_0000_0000 + ((lo & LO_OFFSET_MASK) >>> 0);
}

export function l1EntryReservedBits(hi: number, lo: number): boolean {
  return (hi & L1_HI_RESERVED) !== 0 || (lo & (LO_RESERVED | 1)) !== 0;
}

export function l2EntryReservedBits(hi: number, lo: number): boolean {
  return (hi & L2_HI_RESERVED) !== 0 || (lo & LO_RESERVED) !== 0;
}

/** Splits a cluster-aligned host offset plus flags into the two big-endian words. */
export function encodeEntry(offset: number, hiFlags: number, loFlags: number): [number, number] {
  const hi = Math.floor(offset / 0x1_0000_0000);
  const lo = offset % 0x1_0000_0000;
  return [(hi | hiFlags) >>> 0, (lo | loFlags) >>> 0];
}

function u64(view: DataView, at: number): number {
  const hi = view.getUint32(at);
  const lo = view.getUint32(at + 4);
  if (hi >= 0x200000) return Number.POSITIVE_INFINITY; // >= 2^53: absurd for any field we read
  return hi * 0x1_0000_0000 + lo;
}

function bits64(view: DataView, at: number): bigint {
  return view.getBigUint64(at);
}

/**
 * Parses and validates the header in `cluster0` (the first cluster of the
 * file, or the whole file when it is smaller). fileSize bounds every table.
 */
export function parseQcow2Header(path: string, cluster0: Uint8Array, fileSize: number): Qcow2Header {
  const bad = (what: string): never => {
    throw new BlockFormatError(`${path}: not a usable qcow2 image: ${what}`);
  };
  if (cluster0.length < V2_HEADER_LENGTH) bad('file too short for a qcow2 header');
  const v = new DataView(cluster0.buffer, cluster0.byteOffset, cluster0.byteLength);
  if (v.getUint32(0) !== QCOW2_MAGIC) bad('no qcow2 magic');
  const version = v.getUint32(4);
  if (version !== 2 && version !== 3) bad(`version ${version} (only 2 and 3 exist)`);
  const clusterBits = v.getUint32(20);
  if (clusterBits < MIN_CLUSTER_BITS || clusterBits > MAX_CLUSTER_BITS) bad(`cluster_bits ${clusterBits} outside ${MIN_CLUSTER_BITS}..${MAX_CLUSTER_BITS}`);
  const clusterSize = 2 ** clusterBits;
  if (v.getUint32(32) !== 0) bad(`encrypted (crypt_method ${v.getUint32(32)}); encryption is not supported`);

  let incompatibleFeatures = 0n;
  let autoclearFeatures = 0n;
  let refcountOrder = 4;
  let headerLength = V2_HEADER_LENGTH;
  if (version === 3) {
    if (cluster0.length < 104) bad('file too short for a version 3 header');
    incompatibleFeatures = bits64(v, 72);
    autoclearFeatures = bits64(v, 88);
    refcountOrder = v.getUint32(96);
    headerLength = v.getUint32(100);
    if (headerLength < 104 || headerLength % 8 !== 0 || headerLength > Math.min(clusterSize, cluster0.length)) bad(`header_length ${headerLength}`);
    const unknown = incompatibleFeatures & ~INCOMPAT_KNOWN;
    if (unknown !== 0n) bad(`unknown incompatible features 0x${unknown.toString(16)}`);
    if (incompatibleFeatures & INCOMPAT_EXTERNAL_DATA) bad('uses an external data file, which is not supported');
    if (incompatibleFeatures & INCOMPAT_EXTENDED_L2) bad('uses extended L2 entries (subclusters), which are not supported');
    if (refcountOrder > 6) bad(`refcount_order ${refcountOrder} (at most 6)`);
  }

  const size = u64(v, 24);
  if (!Number.isSafeInteger(size)) bad('absurd virtual size');
  if (size % 512 !== 0) bad(`virtual size ${size} is not a multiple of 512`);
  const l2Entries = clusterSize / 8;
  const l1Size = v.getUint32(36);
  const l1Needed = Math.ceil(size / (clusterSize * l2Entries));
  if (l1Size < l1Needed) bad(`L1 table (${l1Size} entries) too small for the virtual size ${size}`);
  if (l1Size * 8 > MAX_L1_TABLE_BYTES) bad(`L1 table of ${l1Size} entries is absurdly large`);
  const l1TableOffset = u64(v, 40);
  if (l1Size > 0) {
    if (l1TableOffset % clusterSize !== 0 || l1TableOffset === 0) bad(`L1 table offset ${l1TableOffset} is not a non-zero cluster boundary`);
    if (l1TableOffset + l1Size * 8 > fileSize) bad(`L1 table (offset ${l1TableOffset}, ${l1Size} entries) reaches past the end of the file (${fileSize} bytes)`);
  }
  const refcountTableOffset = u64(v, 48);
  const refcountTableClusters = v.getUint32(56);
  if (refcountTableOffset % clusterSize !== 0 || refcountTableOffset === 0) bad(`refcount table offset ${refcountTableOffset} is not a non-zero cluster boundary`);
  if (refcountTableClusters === 0) bad('refcount table has no clusters');
  if (refcountTableClusters * clusterSize > MAX_REFCOUNT_TABLE_BYTES) bad(`refcount table of ${refcountTableClusters} clusters is absurdly large`);
  if (refcountTableOffset + refcountTableClusters * clusterSize > fileSize) bad(`refcount table (offset ${refcountTableOffset}) reaches past the end of the file (${fileSize} bytes)`);
  const nbSnapshots = v.getUint32(60);

  const backingFileOffset = u64(v, 8);
  const backingFileSize = v.getUint32(16);
  if (backingFileOffset !== 0) {
    if (backingFileSize === 0 || backingFileSize > MAX_BACKING_NAME) bad(`backing file name length ${backingFileSize}`);
    if (backingFileOffset + backingFileSize > Math.min(clusterSize, cluster0.length)) bad('backing file name lies outside the first cluster');
  }

  const header: Qcow2Header = {
    version: version as 2 | 3, backingFileOffset, backingFileSize, clusterBits, size, l1Size, l1TableOffset,
    refcountTableOffset, refcountTableClusters, nbSnapshots, incompatibleFeatures, autoclearFeatures,
    refcountOrder, headerLength,
  };
  if (version === 3) readExtensions(header, v, Math.min(clusterSize, cluster0.length), bad);
  return header;
}

/** Walks the header extensions (each advances by at least 8 bytes, so the walk ends). */
function readExtensions(header: Qcow2Header, v: DataView, limit: number, bad: (what: string) => never): void {
  let at = header.headerLength;
  while (at + 8 <= limit) {
    const type = v.getUint32(at);
    const length = v.getUint32(at + 4);
    if (type === EXT_END) return;
    const dataEnd = at + 8 + length;
    if (dataEnd > limit) bad(`header extension 0x${type.toString(16)} reaches past the first cluster`);
    if (type === EXT_BACKING_FORMAT) {
      header.backingFormat = new TextDecoder().decode(new Uint8Array(v.buffer, v.byteOffset + at + 8, length));
    }
    at = at + 8 + Math.ceil(length / 8) * 8;
  }
  bad('header extension area is not terminated inside the first cluster');
}
