/**
 * One split virtqueue (virtio 1.2, 2.7): the descriptor table, the driver's
 * available ring and the device's used ring, all in guest memory, plus the
 * device's private indexes. Like rust-vmm's virtio-queue, the queue knows
 * nothing of notification delivery: it says whether the driver wants one
 * (`needsNotification`) and the transport decides how to raise it.
 *
 * Layout (N = size):
 *   desc   16 * N bytes, 16-aligned
 *   avail  flags u16, idx u16, ring[N] u16, used_event u16     (2-aligned)
 *   used   flags u16, idx u16, ring[N] {id u32, len u32}, avail_event u16 (4-aligned)
 * Indexes are free-running 16-bit counters; a ring slot is index % N, which
 * wraps cleanly because N is a power of two.
 *
 * With VIRTIO_F_RING_EVENT_IDX (2.7.7, 2.7.10) the driver says in used_event
 * which used index it wants an interrupt after, and the device says in
 * avail_event which avail index it wants a kick after: `pop` publishes it
 * whenever it finds the ring empty, so a device that drains its queue on
 * every kick is kicked again for the next buffer.
 *
 * Split between two threads (dom0's worker serving the queue, the machine's
 * thread running the guest), the two 16-bit indexes the guest and the
 * device race on are touched only in the machine's thread, where the guest
 * is stopped: at a kick it reads avail.idx and publishes it as avail_event
 * (`takeKick`), so every buffer added after it is kicked again, and dom0
 * pops only up to that index (`availLimit`); dom0 writes used elements but
 * not used.idx (`publishUsedIndex` false), which the machine's thread stores
 * when it takes dom0's completion (`publishUsed`). The emulated processor
 * writes a 16-bit index as two byte stores, so a concurrent reader could see
 * half of one; this way no index is ever read while the guest may write it.
 */
import { DescriptorChain, VirtqueueError } from './descriptorChain.ts';
import { GuestMemoryError, type GuestMemory } from './guestMemory.ts';
import { DESCRIPTOR_BYTES, MAX_QUEUE_SIZE, VIRTQ_AVAIL_F_NO_INTERRUPT, VIRTQ_USED_F_NO_NOTIFY } from './virtioConstants.ts';

export interface SplitQueueState {
  size: number;
  ready: boolean;
  desc: number;
  avail: number;
  used: number;
  nextAvail: number;
  nextUsed: number;
  signalledUsed: number | null;
}

/** The used index at which the driver last got a notification decision, as vring_need_event compares it. */
function needEvent(eventIdx: number, newIdx: number, oldIdx: number): boolean {
  return ((newIdx - eventIdx - 1) & 0xffff) < ((newIdx - oldIdx) & 0xffff);
}

export class SplitQueue {
  readonly maxSize: number;
  size: number;
  ready = false;
  desc = 0;
  avail = 0;
  used = 0;
  /** Negotiated features the queue itself obeys (set by the transport at FEATURES_OK). */
  eventIdx = false;
  indirect = false;
  /** dom0's side of a split queue: pop takes chains up to this avail index (the kick's), null to read avail.idx. */
  availLimit: number | null = null;
  /** dom0's side: false leaves used.idx to the machine's thread (`publishUsed`). */
  publishUsedIndex = true;
  private nextAvail = 0;
  private nextUsed = 0;
  private signalledUsed: number | null = null;

  constructor(maxSize: number) {
    if (maxSize < 1 || maxSize > MAX_QUEUE_SIZE || (maxSize & (maxSize - 1)) !== 0) throw new RangeError(`queue size ${maxSize} is not a power of two up to 32768`);
    this.maxSize = maxSize;
    this.size = maxSize;
  }

  reset(): void {
    this.size = this.maxSize;
    this.ready = false;
    this.desc = this.avail = this.used = 0;
    this.nextAvail = this.nextUsed = 0;
    this.signalledUsed = null;
    this.eventIdx = this.indirect = false;
    this.availLimit = null;
  }

  /** The used index the device has reached (elements written, published or not). */
  get usedIndex(): number {
    return this.nextUsed;
  }

  /**
   * The machine's side of a kick served in dom0's thread: the driver's
   * avail.idx now, also published as avail_event (with EVENT_IDX) so the
   * driver kicks for any buffer it adds after this one.
   */
  takeKick(mem: GuestMemory): number {
    const idx = this.availIndex(mem);
    if (this.eventIdx) this.guard(() => mem.write16(this.used + 4 + 8 * this.size, idx));
    return idx;
  }

  /** The machine's side of dom0's completion: used.idx = `index`, the used elements before it written by dom0. */
  publishUsed(mem: GuestMemory, index: number): void {
    this.guard(() => mem.write16(this.used + 2, index));
    this.nextUsed = index & 0xffff;
  }

  /** Bytes of each area for the current size. */
  get descBytes(): number {
    return DESCRIPTOR_BYTES * this.size;
  }
  get availBytes(): number {
    return 6 + 2 * this.size;
  }
  get usedBytes(): number {
    return 6 + 8 * this.size;
  }

  /**
   * Checks what the driver programmed before the queue goes live: a power
   * of two size within the maximum, the areas aligned (2.7) and entirely in
   * guest RAM. Throws VirtqueueError('queue-layout' | 'memory').
   */
  validate(mem: GuestMemory): void {
    const n = this.size;
    if (n < 1 || n > this.maxSize || (n & (n - 1)) !== 0) throw new VirtqueueError('queue-layout', `queue size ${n} is not a power of two up to ${this.maxSize}`);
    if (this.desc % 16 !== 0 || this.avail % 2 !== 0 || this.used % 4 !== 0) {
      throw new VirtqueueError('queue-layout', 'virtqueue areas are misaligned (descriptor table 16, available ring 2, used ring 4)');
    }
    try {
      mem.view(this.desc, this.descBytes, false);
      mem.view(this.avail, this.availBytes, false);
      mem.view(this.used, this.usedBytes, true);
    } catch (e) {
      if (e instanceof GuestMemoryError) throw new VirtqueueError('memory', `virtqueue area: ${e.message}`);
      throw e;
    }
  }

  /** The driver's avail.idx. */
  availIndex(mem: GuestMemory): number {
    return this.guard(() => mem.read16(this.avail + 2));
  }

  /** True when the driver has made buffers available that the device has not taken yet. */
  hasAvailable(mem: GuestMemory): boolean {
    return this.availIndex(mem) !== this.nextAvail;
  }

  /**
   * Takes the next available descriptor chain, or null when there is none.
   * A driver index more than `size` ahead of the device's is an error (the
   * ring cannot hold that many).
   */
  pop(mem: GuestMemory): DescriptorChain | null {
    if (!this.ready) return null;
    let idx = this.availLimit ?? this.availIndex(mem);
    if (idx === this.nextAvail) {
      if (!this.eventIdx || this.availLimit !== null) return null;
      // Ran empty: ask for a kick at the next buffer (avail_event), then look
      // once more, for a buffer the driver added before it could see that.
      this.enableNotification(mem);
      idx = this.availIndex(mem);
      if (idx === this.nextAvail) return null;
    }
    if (((idx - this.nextAvail) & 0xffff) > this.size) {
      throw new VirtqueueError('avail-index', `avail.idx ${idx} is more than ${this.size} ahead of ${this.nextAvail}`);
    }
    const slot = this.nextAvail % this.size;
    const head = this.guard(() => mem.read16(this.avail + 4 + 2 * slot));
    this.nextAvail = (this.nextAvail + 1) & 0xffff;
    if (head >= this.size) throw new VirtqueueError('head-index', `head index ${head} past a table of ${this.size}`);
    return new DescriptorChain(mem, this.desc, this.size, head, this.indirect);
  }

  /** Puts `head` back into the used ring with `length` bytes written by the device. */
  addUsed(mem: GuestMemory, head: number, length: number): void {
    const slot = this.nextUsed % this.size;
    const at = this.used + 4 + 8 * slot;
    this.guard(() => {
      mem.write32(at, head);
      mem.write32(at + 4, length >>> 0);
      this.nextUsed = (this.nextUsed + 1) & 0xffff;
      if (this.publishUsedIndex) mem.write16(this.used + 2, this.nextUsed);
    });
  }

  /**
   * Asks the driver for kicks again (the device will look at the ring once
   * more after this). With EVENT_IDX: avail_event = next avail index; else
   * clears used.flags NO_NOTIFY.
   */
  enableNotification(mem: GuestMemory): void {
    this.guard(() => {
      if (this.eventIdx) mem.write16(this.used + 4 + 8 * this.size, this.nextAvail);
      else mem.write16(this.used, mem.read16(this.used) & ~VIRTQ_USED_F_NO_NOTIFY);
    });
  }

  /** Asks the driver not to kick (only meaningful without EVENT_IDX; with it the avail_event stays behind). */
  disableNotification(mem: GuestMemory): void {
    if (this.eventIdx) return;
    this.guard(() => mem.write16(this.used, mem.read16(this.used) | VIRTQ_USED_F_NO_NOTIFY));
  }

  /**
   * Whether the driver wants a used-buffer notification now, for the used
   * entries added since the last call. Without EVENT_IDX: unless
   * avail.flags has NO_INTERRUPT. With it: when used_event lies in the
   * window of entries added since the last decision (vring_need_event).
   */
  needsNotification(mem: GuestMemory): boolean {
    return this.guard(() => {
      if (!this.eventIdx) return (mem.read16(this.avail) & VIRTQ_AVAIL_F_NO_INTERRUPT) === 0;
      const usedEvent = mem.read16(this.avail + 4 + 2 * this.size);
      const old = this.signalledUsed;
      this.signalledUsed = this.nextUsed;
      if (old === null) return true;
      return needEvent(usedEvent, this.nextUsed, old);
    });
  }

  saveState(): SplitQueueState {
    return {
      size: this.size,
      ready: this.ready,
      desc: this.desc,
      avail: this.avail,
      used: this.used,
      nextAvail: this.nextAvail,
      nextUsed: this.nextUsed,
      signalledUsed: this.signalledUsed,
    };
  }

  loadState(s: SplitQueueState): void {
    Object.assign(this, { size: s.size, ready: s.ready, desc: s.desc, avail: s.avail, used: s.used });
    this.nextAvail = s.nextAvail;
    this.nextUsed = s.nextUsed;
    this.signalledUsed = s.signalledUsed;
  }

  /** Ring accesses that fail the memory check become a VirtqueueError the transport reports as DEVICE_NEEDS_RESET. */
  private guard<T>(access: () => T): T {
    try {
      return access();
    } catch (e) {
      if (e instanceof GuestMemoryError) throw new VirtqueueError('memory', `virtqueue ring: ${e.message}`);
      throw e;
    }
  }
}
