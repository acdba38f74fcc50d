/**
 * The shared memory between a domain's device model (in the machine's
 * thread) and its backend in dom0's worker thread: one request slot and a
 * data area per disk (and one, of a page, for virtio-rng's entropy), in a
 * SharedArrayBuffer both threads map. Notifications are event-channel ports of the domain's
 * EventChannels (pending and mask bits in shared memory, core/dom0/eventChannel.ts):
 * the device model sends on the disk's request port and waits on its
 * completion port; dom0 waits on the request ports and sends completions.
 *
 * Slot layout (Float64 words, then the data area):
 *   [0] operation (OP_*)    [1] byte offset on the disk   [2] length
 *   [3] status (STATUS_*)   [4] length of the error text in the data area
 * A request's data (a write's bytes) and a completion's data (a read's
 * bytes, or an error's text as UTF-8) are in the data area.
 */

export const OP_READ = 1;
export const OP_WRITE = 2;
export const OP_FLUSH = 3;
export const OP_DISCARD = 4;
/** virtio-rng: `length` bytes of the host's randomness into the data area. */
export const OP_ENTROPY = 5;
/** The disk's operation counts in dom0 (DiskOperationCounts as JSON in the data area, its length in `length`). */
export const OP_STATS = 6;

/** What dom0 did to one disk's image: the flushes and the discarded ranges [offset, length] (the last 64). */
export interface DiskOperationCounts {
  flushes: number;
  discards: [number, number][];
}

export const STATUS_OK = 0;
/** The backend threw: the error's name and message are in the data area. */
export const STATUS_ERROR = 1;

const SLOT_WORDS = 5;
const SLOT_BYTES = SLOT_WORDS * 8;
/** Bytes moved per request at most; longer reads and writes are split (virtio-blk requests are at most a few hundred KiB). */
export const DATA_BYTES = 1024 * 1024;

export class BlockRing {
  readonly buffer: SharedArrayBuffer;
  readonly slot: Float64Array;
  readonly data: Uint8Array;

  /** A ring over `buffer`, or a new one whose data area holds `dataBytes`. */
  constructor(buffer: SharedArrayBuffer | null = null, dataBytes = DATA_BYTES) {
    this.buffer = buffer ?? new SharedArrayBuffer(SLOT_BYTES + dataBytes);
    this.slot = new Float64Array(this.buffer, 0, SLOT_WORDS);
    this.data = new Uint8Array(this.buffer, SLOT_BYTES);
  }

  get op(): number {
    return this.slot[0];
  }
  get offset(): number {
    return this.slot[1];
  }
  get length(): number {
    return this.slot[2];
  }
  get status(): number {
    return this.slot[3];
  }

  request(op: number, offset: number, length: number): void {
    this.slot[0] = op;
    this.slot[1] = offset;
    this.slot[2] = length;
    this.slot[3] = STATUS_OK;
    this.slot[4] = 0;
  }

  /** dom0: a completion whose answer is `bytes` in the data area. */
  answer(bytes: Uint8Array): void {
    this.data.set(bytes);
    this.slot[2] = bytes.length;
    this.complete(null);
  }

  complete(error: Error | null): void {
    if (error === null) {
      this.slot[3] = STATUS_OK;
      this.slot[4] = 0;
      return;
    }
    const text = new TextEncoder().encode(`${error.name}\n${error.message}`).subarray(0, this.data.length);
    this.data.set(text);
    this.slot[3] = STATUS_ERROR;
    this.slot[4] = text.length;
  }

  /** The error a completion carries: its name and message. */
  error(): { name: string; message: string } {
    const text = new TextDecoder().decode(this.data.slice(0, this.slot[4]));
    const cut = text.indexOf('\n');
    return { name: text.slice(0, cut), message: text.slice(cut + 1) };
  }
}
