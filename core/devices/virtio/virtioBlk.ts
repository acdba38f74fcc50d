/**
 * virtio-blk (virtio 1.2, 5.2) over a BlockBackend (core/dom0/block): one
 * request queue; requests are a 16-byte header {type, reserved, sector},
 * data buffers, and a one-byte status the device writes last.
 *
 * Supported: IN (read), OUT (write), FLUSH (the backend's fsync), GET_ID
 * (20-byte serial), DISCARD (VIRTIO_BLK_F_DISCARD, segments of
 * {sector, num_sectors, flags}). A read-only disk advertises VIRTIO_BLK_F_RO
 * and fails writes and discards with IOERR.
 *
 * Guest errors: a request whose data buffers are not guest RAM, whose
 * header is short, whose sectors lie past the disk, whose data is not whole
 * sectors, or whose buffers point the wrong way (data to be read in a
 * device-readable buffer, ...) completes with VIRTIO_BLK_S_IOERR; an unknown
 * type with VIRTIO_BLK_S_UNSUPP. A request without a device-writable status
 * byte cannot be answered: that, like a malformed chain, puts the device in
 * DEVICE_NEEDS_RESET (the VirtqueueError thrown here). Backend I/O errors
 * (the host's) are IOERR too, counted.
 */
import type { BlockBackend } from '../../dom0/block/blockBackend.ts';
import { VirtqueueError, type Descriptor } from './descriptorChain.ts';
import { gather, scatter, splitAt, totalLength } from './descriptorBuffers.ts';
import { GuestMemoryError } from './guestMemory.ts';
import { DEVICE_ID_BLOCK } from './virtioConstants.ts';
import { serveQueue, type VirtioDeviceContext, type VirtioDeviceType } from './virtioDevice.ts';

export const VIRTIO_BLK_F_SEG_MAX = 1n << 2n;
export const VIRTIO_BLK_F_RO = 1n << 5n;
export const VIRTIO_BLK_F_BLK_SIZE = 1n << 6n;
export const VIRTIO_BLK_F_FLUSH = 1n << 9n;
export const VIRTIO_BLK_F_DISCARD = 1n << 13n;

export const VIRTIO_BLK_T_IN = 0;
export const VIRTIO_BLK_T_OUT = 1;
export const VIRTIO_BLK_T_FLUSH = 4;
export const VIRTIO_BLK_T_GET_ID = 8;
export const VIRTIO_BLK_T_DISCARD = 11;

export const VIRTIO_BLK_S_OK = 0;
export const VIRTIO_BLK_S_IOERR = 1;
export const VIRTIO_BLK_S_UNSUPP = 2;

export const SECTOR = 512;
const QUEUE_SIZE = 256;
const ID_BYTES = 20;
const DISCARD_SEGMENT_BYTES = 16;
const MAX_DISCARD_SEGMENTS = 32;
/** Largest discard per segment (sectors): 32 MiB keeps one request's zero-filling short on raw images. */
const MAX_DISCARD_SECTORS = 65536;
const CONFIG_SIZE = 60;

/** A request that fails with a status byte (the guest sees it in the status). */
class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export interface VirtioBlkOptions {
  /** The serial GET_ID returns (at most 20 bytes, ASCII). */
  serial: string;
}

export class VirtioBlk implements VirtioDeviceType {
  readonly name = 'blk';
  readonly deviceId = DEVICE_ID_BLOCK;
  readonly pciClass = 0x010000; // mass storage, SCSI-class code QEMU and Linux use for virtio-blk
  readonly features: bigint;
  readonly queueSizes = [QUEUE_SIZE];
  readonly configSize = CONFIG_SIZE;
  readonly backend: BlockBackend;
  private readonly config = new DataView(new ArrayBuffer(CONFIG_SIZE));
  private readonly serial: Uint8Array;
  private ctx: VirtioDeviceContext | null = null;
  /** The last request that failed, for reports and tests. */
  lastRequestError: string | null = null;

  constructor(backend: BlockBackend, options: VirtioBlkOptions) {
    this.backend = backend;
    this.features = VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_BLK_SIZE | VIRTIO_BLK_F_FLUSH | VIRTIO_BLK_F_DISCARD | (backend.readOnly ? VIRTIO_BLK_F_RO : 0n);
    this.serial = new Uint8Array(ID_BYTES);
    this.serial.set(new TextEncoder().encode(options.serial).subarray(0, ID_BYTES));
    const sectors = Math.floor(backend.sizeBytes / SECTOR);
    const c = this.config;
    c.setUint32(0, sectors % 0x1_0000_0000, true); // capacity
    c.setUint32(4, Math.floor(sectors / 0x1_0000_0000), true);
    c.setUint32(12, QUEUE_SIZE - 2, true); // seg_max: all but header and status
    c.setUint32(20, SECTOR, true); // blk_size
    c.setUint16(34, 1, true); // num_queues
    c.setUint32(36, MAX_DISCARD_SECTORS, true);
    c.setUint32(40, MAX_DISCARD_SEGMENTS, true);
    c.setUint32(44, 1, true); // discard_sector_alignment
  }

  readConfig(offset: number, size: 1 | 2 | 4): number {
    if (offset + size > CONFIG_SIZE) return 0;
    return size === 1 ? this.config.getUint8(offset) : size === 2 ? this.config.getUint16(offset, true) : this.config.getUint32(offset, true);
  }

  writeConfig(): void {
    // Only `writeback` is writable, with VIRTIO_BLK_F_CONFIG_WCE, which is not offered.
  }

  activate(context: VirtioDeviceContext): void {
    this.ctx = context;
  }

  reset(): void {
    this.ctx = null;
  }

  queueNotified(index: number): void {
    const ctx = this.ctx;
    if (!ctx || index !== 0) return;
    serveQueue(ctx, 0, (chain) => this.handle(ctx, chain.collect()));
  }

  /** One request; returns the bytes written into the chain's device-writable buffers. */
  private handle(ctx: VirtioDeviceContext, chain: { readable: Descriptor[]; writable: Descriptor[] }): number {
    ctx.counters.requests++;
    // The status byte is the last byte of the last device-writable buffer.
    const writableBytes = totalLength(chain.writable);
    if (writableBytes === 0) throw new VirtqueueError('read-after-write', 'virtio-blk request without a device-writable status byte');
    const [writableData, statusPart] = splitAt(chain.writable, writableBytes - 1);
    const statusAddress = statusPart[0].address;
    // The status byte must be RAM before anything else is done; if not, the request cannot be answered (GuestMemoryError -> NEEDS_RESET).
    ctx.mem.view(statusAddress, 1, true);
    let status = VIRTIO_BLK_S_OK;
    let written = 0;
    try {
      written = this.execute(ctx, chain.readable, writableData);
    } catch (e) {
      if (e instanceof RequestError) status = e.status;
      else if (e instanceof GuestMemoryError) status = VIRTIO_BLK_S_IOERR;
      else if (e instanceof Error && !(e instanceof VirtqueueError)) status = VIRTIO_BLK_S_IOERR; // the backend's I/O error
      else throw e;
      this.lastRequestError = (e as Error).message;
      ctx.counters.errors++;
      written = 0;
    }
    ctx.mem.view(statusAddress, 1, true)[0] = status;
    ctx.mem.written(statusAddress, 1);
    return written + 1;
  }

  private execute(ctx: VirtioDeviceContext, readable: Descriptor[], writableData: Descriptor[]): number {
    if (totalLength(readable) < 16) throw new RequestError(VIRTIO_BLK_S_IOERR, 'request header shorter than 16 bytes');
    const [headerPart, readableData] = splitAt(readable, 16);
    // Linux never sends an empty data buffer; one is a malformed request (splitAt leaves no empty pieces of its own).
    if ([...readableData, ...writableData].some((d) => d.length === 0)) throw new RequestError(VIRTIO_BLK_S_IOERR, 'zero-length data buffer');
    const header = new DataView(gather(ctx.mem, headerPart, 16).buffer);
    const type = header.getUint32(0, true);
    const sector = header.getUint32(8, true) + header.getUint32(12, true) * 0x1_0000_0000;
    switch (type) {
      case VIRTIO_BLK_T_IN: {
        if (readableData.length) throw new RequestError(VIRTIO_BLK_S_IOERR, 'read request with device-readable data buffers');
        const bytes = this.checkRange(sector, totalLength(writableData));
        let offset = sector * SECTOR;
        for (const d of writableData) {
          const view = ctx.mem.view(d.address, d.length, true);
          this.backend.read(offset, view);
          ctx.mem.written(d.address, d.length);
          offset += d.length;
        }
        ctx.counters.bytesRead += bytes;
        return bytes;
      }
      case VIRTIO_BLK_T_OUT: {
        if (writableData.length) throw new RequestError(VIRTIO_BLK_S_IOERR, 'write request with device-writable data buffers');
        if (this.backend.readOnly) throw new RequestError(VIRTIO_BLK_S_IOERR, 'write to a read-only disk');
        const bytes = this.checkRange(sector, totalLength(readableData));
        // Map every buffer first, so a bad one fails the request before anything reaches the disk.
        const views = readableData.map((d) => ctx.mem.view(d.address, d.length, false));
        let offset = sector * SECTOR;
        for (const view of views) {
          this.backend.write(offset, view);
          offset += view.length;
        }
        ctx.counters.bytesWritten += bytes;
        return 0;
      }
      case VIRTIO_BLK_T_FLUSH:
        this.backend.flush();
        return 0;
      case VIRTIO_BLK_T_GET_ID:
        return scatter(ctx.mem, writableData, this.serial);
      case VIRTIO_BLK_T_DISCARD: {
        if (this.backend.readOnly) throw new RequestError(VIRTIO_BLK_S_IOERR, 'discard on a read-only disk');
        const length = totalLength(readableData);
        if (length === 0 || length % DISCARD_SEGMENT_BYTES !== 0 || length / DISCARD_SEGMENT_BYTES > MAX_DISCARD_SEGMENTS) {
          throw new RequestError(VIRTIO_BLK_S_UNSUPP, `discard payload of ${length} bytes`);
        }
        const segments = new DataView(gather(ctx.mem, readableData, length).buffer);
        const ranges: [number, number][] = [];
        for (let at = 0; at < length; at += DISCARD_SEGMENT_BYTES) {
          const start = segments.getUint32(at, true) + segments.getUint32(at + 4, true) * 0x1_0000_0000;
          const count = segments.getUint32(at + 8, true);
          const flags = segments.getUint32(at + 12, true);
          if (flags !== 0) throw new RequestError(VIRTIO_BLK_S_UNSUPP, `discard flags 0x${flags.toString(16)}`);
          if (count > MAX_DISCARD_SECTORS) throw new RequestError(VIRTIO_BLK_S_IOERR, `discard of ${count} sectors`);
          this.checkRange(start, count * SECTOR);
          ranges.push([start * SECTOR, count * SECTOR]);
        }
        for (const [offset, bytes] of ranges) this.backend.discard(offset, bytes);
        return 0;
      }
      default:
        throw new RequestError(VIRTIO_BLK_S_UNSUPP, `request type ${type}`);
    }
  }

  /** Bytes of a transfer of `bytes` at `sector`, which must be whole sectors inside the disk. */
  private checkRange(sector: number, bytes: number): number {
    if (bytes % SECTOR !== 0) throw new RequestError(VIRTIO_BLK_S_IOERR, `transfer of ${bytes} bytes is not whole sectors`);
    if (!Number.isSafeInteger(sector) || sector * SECTOR + bytes > this.backend.sizeBytes) {
      throw new RequestError(VIRTIO_BLK_S_IOERR, `sectors ${sector}+${bytes / SECTOR} lie past the end of the disk`);
    }
    return bytes;
  }
}
