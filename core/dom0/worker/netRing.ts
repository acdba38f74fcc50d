/**
 * A one-way ring of Ethernet frames in shared memory between two threads:
 * a NIC's transmitted frames from the machine's thread to dom0's network
 * thread, or the switch's frames for the NIC back (core/dom0/worker/netService.ts).
 * One producer and one consumer, like the two halves of a Xen netfront /
 * netback ring pair; the wake-ups are event-channel ports beside it.
 *
 * Layout: four Int32 words, then SLOTS slots of SLOT_BYTES each.
 *   [0] head: frames the producer has written (it alone stores it)
 *   [1] tail: frames the consumer has taken (it alone stores it)
 *   [2] dropped, [3] malformed: the producer's refusals, in shared memory so
 *       the other side can show them (a NIC's drops, in its machine's stats)
 *   slot i % SLOTS: a 2-byte little-endian length, then the frame.
 * The counters run on (wrapping at 2^31 is harmless: only head - tail is used).
 * The producer fills a slot before it publishes head with Atomics.store, and
 * the consumer reads head with Atomics.load before it reads the slot, so a
 * frame is seen whole or not at all. A full ring drops the frame and counts
 * it, as a NIC drops when its ring is full; so does a frame shorter or
 * longer than Ethernet's (the switch would drop it too).
 */
import { MAX_FRAME, MIN_FRAME } from '../virtualSwitch.ts';

/** Frames a ring holds: as many as Linux's virtio-net posts receive buffers (a 256-entry queue). */
export const RING_SLOTS = 256;
const SLOT_BYTES = 1536; // 2-byte length + up to 1518 bytes, rounded up
const HEADER_BYTES = 16;

export class FrameRing {
  readonly buffer: SharedArrayBuffer;
  private readonly index: Int32Array;
  private readonly bytes: Uint8Array;

  constructor(buffer: SharedArrayBuffer | null = null) {
    this.buffer = buffer ?? new SharedArrayBuffer(HEADER_BYTES + RING_SLOTS * SLOT_BYTES);
    if (this.buffer.byteLength !== HEADER_BYTES + RING_SLOTS * SLOT_BYTES) throw new RangeError('not a frame ring');
    this.index = new Int32Array(this.buffer, 0, 4);
    this.bytes = new Uint8Array(this.buffer, HEADER_BYTES);
  }

  /** Frames the producer dropped because the ring was full (counted on the producer's side, readable from either). */
  get dropped(): number {
    return Atomics.load(this.index, 2);
  }

  /** Frames the producer refused for their size. */
  get malformed(): number {
    return Atomics.load(this.index, 3);
  }

  /** Frames waiting for the consumer. */
  get length(): number {
    return (Atomics.load(this.index, 0) - Atomics.load(this.index, 1)) | 0;
  }

  /** Producer: appends `frame`; false (and counted) when the ring is full or the frame is not 14 to 1518 bytes. */
  push(frame: Uint8Array): boolean {
    if (frame.length < MIN_FRAME || frame.length > MAX_FRAME) {
      Atomics.add(this.index, 3, 1);
      return false;
    }
    const head = Atomics.load(this.index, 0);
    if (((head - Atomics.load(this.index, 1)) | 0) >= RING_SLOTS) {
      Atomics.add(this.index, 2, 1);
      return false;
    }
    const at = ((head >>> 0) % RING_SLOTS) * SLOT_BYTES;
    this.bytes[at] = frame.length & 0xff;
    this.bytes[at + 1] = frame.length >>> 8;
    this.bytes.set(frame, at + 2);
    Atomics.store(this.index, 0, (head + 1) | 0);
    return true;
  }

  /** Consumer: takes the next frame (a copy), or null when the ring is empty. */
  shift(): Uint8Array | null {
    const tail = Atomics.load(this.index, 1);
    if (Atomics.load(this.index, 0) === tail) return null;
    const at = ((tail >>> 0) % RING_SLOTS) * SLOT_BYTES;
    const length = this.bytes[at] | (this.bytes[at + 1] << 8);
    // The other thread wrote the length: a value past the slot is a broken producer, never a read past it.
    const frame = this.bytes.slice(at + 2, at + 2 + Math.min(length, SLOT_BYTES - 2));
    Atomics.store(this.index, 1, (tail + 1) | 0);
    return frame;
  }
}
