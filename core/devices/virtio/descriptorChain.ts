/**
 * A descriptor chain of a split virtqueue (virtio 1.2, 2.7.5 and 2.7.5.3),
 * walked lazily as an iterator, as rust-vmm's virtio-queue does. Every
 * descriptor is read through the checked GuestMemory, and every way a guest
 * can make a chain malformed is a VirtqueueError, never a host access, an
 * endless walk or a crash:
 *   - a `next` index past the table (direct or indirect);
 *   - a chain that visits more descriptors than its table has (a loop, or
 *     longer than the queue size);
 *   - an indirect descriptor when VIRTIO_F_INDIRECT_DESC was not negotiated,
 *     inside an indirect table (nesting), with NEXT set, or whose length is
 *     zero or not a multiple of 16;
 *   - a device-readable descriptor after a device-writable one;
 *   - a descriptor table or indirect table that is not guest RAM.
 * Buffer addresses and lengths are not checked here: the device maps each
 * buffer through GuestMemory.view when it uses it, and that check fails for
 * anything that is not RAM (so a device can fail that one request with its
 * own error status instead of giving up on the queue).
 */
import { GuestMemoryError, type GuestMemory } from './guestMemory.ts';
import { DESCRIPTOR_BYTES, VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from './virtioConstants.ts';

export interface Descriptor {
  /** Guest-physical address of the buffer (unchecked until mapped). */
  address: number;
  length: number;
  /** Device-writable (VIRTQ_DESC_F_WRITE). */
  writable: boolean;
}

export type VirtqueueErrorKind =
  | 'avail-index' // the driver's avail.idx ran more than a queue size ahead
  | 'head-index' // a head index from the available ring past the table
  | 'next-index' // a next field past the table
  | 'chain-too-long' // more descriptors than the table holds: a loop
  | 'indirect-not-negotiated'
  | 'indirect-nested'
  | 'indirect-with-next'
  | 'indirect-length'
  | 'read-after-write'
  | 'memory' // a ring or descriptor table that is not guest RAM
  | 'queue-layout'; // size or ring alignment the driver programmed is invalid

export class VirtqueueError extends Error {
  override readonly name = 'VirtqueueError';
  constructor(
    readonly kind: VirtqueueErrorKind,
    message: string,
  ) {
    super(message);
  }
}

/** Reads descriptor `index` of the table at `table`, mapping a memory failure to a VirtqueueError. */
function readDescriptor(mem: GuestMemory, table: number, index: number): { address: number; length: number; flags: number; next: number } {
  const at = table + index * DESCRIPTOR_BYTES;
  try {
    const bytes = mem.view(at, DESCRIPTOR_BYTES, false);
    const lo = (bytes[0] | (bytes[1] << 8) | (bytes[2] << 16) | (bytes[3] << 24)) >>> 0;
    const hi = (bytes[4] | (bytes[5] << 8) | (bytes[6] << 16) | (bytes[7] << 24)) >>> 0;
    return {
      address: hi * 0x1_0000_0000 + lo,
      length: (bytes[8] | (bytes[9] << 8) | (bytes[10] << 16) | (bytes[11] << 24)) >>> 0,
      flags: bytes[12] | (bytes[13] << 8),
      next: bytes[14] | (bytes[15] << 8),
    };
  } catch (e) {
    if (e instanceof GuestMemoryError) throw new VirtqueueError('memory', `descriptor ${index} at 0x${at.toString(16)}: ${e.message}`);
    throw e;
  }
}

export class DescriptorChain implements Iterable<Descriptor> {
  /** The head index: what goes back into the used ring. */
  readonly head: number;
  private readonly mem: GuestMemory;
  private readonly table: number;
  private readonly queueSize: number;
  private readonly indirectAllowed: boolean;

  constructor(mem: GuestMemory, table: number, queueSize: number, head: number, indirectAllowed: boolean) {
    this.mem = mem;
    this.table = table;
    this.queueSize = queueSize;
    this.head = head;
    this.indirectAllowed = indirectAllowed;
  }

  *[Symbol.iterator](): Iterator<Descriptor> {
    let table = this.table;
    let tableSize = this.queueSize;
    let index = this.head;
    let visited = 0;
    let indirect = false;
    let sawWritable = false;
    for (;;) {
      if (index >= tableSize) {
        throw new VirtqueueError(visited === 0 ? 'head-index' : 'next-index', `descriptor index ${index} past a table of ${tableSize}`);
      }
      if (++visited > tableSize) throw new VirtqueueError('chain-too-long', `chain from head ${this.head} visits more than ${tableSize} descriptors`);
      const d = readDescriptor(this.mem, table, index);
      if (d.flags & VIRTQ_DESC_F_INDIRECT) {
        if (!this.indirectAllowed) throw new VirtqueueError('indirect-not-negotiated', 'indirect descriptor without VIRTIO_F_INDIRECT_DESC');
        if (indirect) throw new VirtqueueError('indirect-nested', 'indirect descriptor inside an indirect table');
        if (d.flags & VIRTQ_DESC_F_NEXT) throw new VirtqueueError('indirect-with-next', 'indirect descriptor with NEXT set');
        if (d.length === 0 || d.length % DESCRIPTOR_BYTES !== 0) {
          throw new VirtqueueError('indirect-length', `indirect table length ${d.length} is not a positive multiple of 16`);
        }
        // The table must be RAM as a whole before any entry of it is read.
        try {
          this.mem.view(d.address, d.length, false);
        } catch (e) {
          if (e instanceof GuestMemoryError) throw new VirtqueueError('memory', `indirect table: ${e.message}`);
          throw e;
        }
        indirect = true;
        table = d.address;
        tableSize = d.length / DESCRIPTOR_BYTES;
        index = 0;
        visited = 0;
        continue;
      }
      const writable = (d.flags & VIRTQ_DESC_F_WRITE) !== 0;
      if (!writable && sawWritable) throw new VirtqueueError('read-after-write', `device-readable descriptor ${index} after a device-writable one`);
      sawWritable ||= writable;
      yield { address: d.address, length: d.length, writable };
      if ((d.flags & VIRTQ_DESC_F_NEXT) === 0) return;
      index = d.next;
    }
  }

  /** The whole chain, validated, split into the device-readable and device-writable parts. */
  collect(): { readable: Descriptor[]; writable: Descriptor[] } {
    const readable: Descriptor[] = [];
    const writable: Descriptor[] = [];
    for (const d of this) (d.writable ? writable : readable).push(d);
    return { readable, writable };
  }
}
