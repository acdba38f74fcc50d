/**
 * A one-way ring of tagged byte records in shared memory between the
 * machine's thread and dom0's thread: what a device served in dom0 relays
 * beside its virtqueues (virtio-console's bytes to and from the host's
 * terminals, the PFNs the balloon asks the hypervisor to release or back
 * again: core/dom0/worker/consoleRelay.ts, balloonRelay.ts). One producer,
 * one consumer; wake-ups are event-channel ports beside it.
 *
 * Layout: four Int32 words, then CAPACITY bytes (a power of two).
 *   [0] head: bytes the producer has written (it alone stores it)
 *   [1] tail: bytes the consumer has taken (it alone stores it)
 *   [2] acknowledged: the head the consumer has finished acting on (it alone
 *       stores it; the producer may wait for it)
 * A record is a 4-byte header (tag in the low 8 bits, length in the upper 24)
 * and its bytes, padded to 4; one never wraps: when it does not fit before the
 * end, a PAD record fills the rest and it starts at 0. The counters run on
 * (only head - tail is used, in 32 bits). The producer writes a record before
 * it publishes head (Atomics.store), the consumer reads head (Atomics.load)
 * before the record, so a record is seen whole or not at all.
 */

const HEADER_WORDS = 4;
const HEADER_BYTES = HEADER_WORDS * 4;
const W_HEAD = 0;
const W_TAIL = 1;
const W_ACK = 2;
const PAD = 0xff;
/** Tags a record may carry (PAD is the ring's own). */
export const MAX_TAG = 0xfe;

export class RecordRing {
  readonly buffer: SharedArrayBuffer;
  readonly capacity: number;
  private readonly words: Int32Array;
  private readonly bytes: Uint8Array;
  private readonly view: DataView;

  /** A ring over `buffer`, or a new one of `capacity` bytes (a power of two, at least 64). */
  constructor(buffer: SharedArrayBuffer | null = null, capacity = 64 * 1024) {
    this.buffer = buffer ?? new SharedArrayBuffer(HEADER_BYTES + capacity);
    this.capacity = this.buffer.byteLength - HEADER_BYTES;
    if (this.capacity < 64 || (this.capacity & (this.capacity - 1)) !== 0) throw new RangeError('a record ring holds a power of two of at least 64 bytes');
    this.words = new Int32Array(this.buffer, 0, HEADER_WORDS);
    this.bytes = new Uint8Array(this.buffer, HEADER_BYTES);
    this.view = new DataView(this.buffer, HEADER_BYTES);
  }

  /** The longest record a push takes whole: a quarter of the ring, so one always fits in an empty ring even after a pad. */
  get maxRecord(): number {
    return this.capacity / 4;
  }

  /** Bytes written and not yet taken. */
  get used(): number {
    return (Atomics.load(this.words, W_HEAD) - Atomics.load(this.words, W_TAIL)) | 0;
  }

  get head(): number {
    return Atomics.load(this.words, W_HEAD);
  }

  get acknowledged(): number {
    return Atomics.load(this.words, W_ACK);
  }

  /** The word a producer waits on for room (tail) or a consumer's acknowledgement (ack), for Atomics.wait. */
  word(which: 'tail' | 'ack'): { array: Int32Array; index: number } {
    return { array: this.words, index: which === 'tail' ? W_TAIL : W_ACK };
  }

  /** Producer: appends a record; false when there is no room now (nothing written). */
  push(tag: number, data: Uint8Array): boolean {
    if (!(tag >= 0 && tag <= MAX_TAG)) throw new RangeError(`bad record tag ${tag}`);
    if (data.length > this.maxRecord) throw new RangeError(`a record of ${data.length} bytes is longer than ${this.maxRecord}`);
    const size = 4 + ((data.length + 3) & ~3);
    let head = Atomics.load(this.words, W_HEAD);
    const free = this.capacity - ((head - Atomics.load(this.words, W_TAIL)) | 0);
    let at = (head >>> 0) & (this.capacity - 1);
    const before = this.capacity - at;
    const pad = before < size ? before : 0;
    if (free < size + pad) return false;
    if (pad > 0) {
      this.view.setUint32(at, PAD, true);
      head = (head + pad) | 0;
      at = 0;
    }
    this.bytes.set(data, at + 4);
    this.view.setUint32(at, (tag | (data.length << 8)) >>> 0, true);
    Atomics.store(this.words, W_HEAD, (head + size) | 0);
    return true;
  }

  /** Consumer: takes every record written so far (copies), in order; returns the head reached. */
  drain(each: (tag: number, data: Uint8Array) => void): number {
    const head = Atomics.load(this.words, W_HEAD);
    let tail = Atomics.load(this.words, W_TAIL);
    while (tail !== head) {
      const at = (tail >>> 0) & (this.capacity - 1);
      const word = this.view.getUint32(at, true);
      const tag = word & 0xff;
      if (tag === PAD) {
        tail = (tail + (this.capacity - at)) | 0;
        continue;
      }
      // The other thread wrote the length: one past the ring's end is a broken producer, never a read past it.
      const length = Math.min(word >>> 8, this.capacity - at - 4);
      const data = this.bytes.slice(at + 4, at + 4 + length);
      tail = (tail + 4 + ((length + 3) & ~3)) | 0;
      Atomics.store(this.words, W_TAIL, tail);
      each(tag, data);
    }
    Atomics.store(this.words, W_TAIL, tail);
    Atomics.notify(this.words, W_TAIL);
    return head;
  }

  /** Consumer: it has acted on every record up to `head` (a value drain returned). */
  acknowledge(head: number): void {
    Atomics.store(this.words, W_ACK, head);
    Atomics.notify(this.words, W_ACK);
  }
}

/** How long dom0 waits for the machine's thread to make room in a ring before it calls the machine gone (ms). */
const ROOM_WAIT_MS = 60_000;

/**
 * dom0: appends a record, waiting (bounded) for the machine's thread to take
 * earlier ones when the ring is full; `wake` tells it to (dom0's done port,
 * which its run loop polls and a waiting machine's thread watches).
 */
export function pushWaiting(ring: RecordRing, tag: number, data: Uint8Array, wake: () => void): void {
  if (ring.push(tag, data)) return;
  wake();
  const deadline = performance.now() + ROOM_WAIT_MS;
  const { array, index } = ring.word('tail');
  for (;;) {
    const tail = Atomics.load(array, index);
    if (ring.push(tag, data)) return;
    const left = deadline - performance.now();
    if (left <= 0) throw new Error('the machine\'s thread did not take what dom0 relayed');
    Atomics.wait(array, index, tail, Math.min(left, 50));
  }
}
