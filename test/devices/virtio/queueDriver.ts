/**
 * A test-side virtio driver for one split virtqueue: lays out the rings in
 * a machine's RAM and posts descriptor chains (well-formed or hostile) the
 * way a guest driver would, writing guest memory directly.
 */
import type { MemoryBus } from '../../../core/memory/bus.ts';
import { VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from '../../../core/devices/virtio/virtioConstants.ts';

export interface RawDescriptor {
  address: number;
  length: number;
  flags?: number;
  next?: number;
}

export class QueueDriver {
  readonly bus: MemoryBus;
  readonly size: number;
  readonly desc: number;
  readonly avail: number;
  readonly used: number;
  availIdx = 0;
  lastUsed = 0;
  private nextFree = 0;

  /** Rings at `base` (page aligned): desc, then avail, then used on the next 4 KiB boundary. */
  constructor(bus: MemoryBus, base: number, size: number) {
    this.bus = bus;
    this.size = size;
    this.desc = base;
    this.avail = base + 16 * size;
    this.used = (this.avail + 6 + 2 * size + 4095) & ~4095;
    bus.u8.fill(0, base, this.used + 6 + 8 * size);
  }

  /** Writes descriptor `index` of the table at `table`. */
  writeDescriptor(table: number, index: number, d: RawDescriptor): void {
    const at = table + 16 * index;
    this.bus.write32(at, d.address >>> 0);
    this.bus.write32(at + 4, Math.floor(d.address / 0x1_0000_0000));
    this.bus.write32(at + 8, d.length >>> 0);
    this.bus.write16(at + 12, d.flags ?? 0);
    this.bus.write16(at + 14, d.next ?? 0);
  }

  /** Writes `chain` into consecutive table slots (NEXT links added) and returns the head index. */
  writeChain(chain: { address: number; length: number; write?: boolean }[]): number {
    const head = this.nextFree;
    chain.forEach((d, i) => {
      const index = (head + i) % this.size;
      const last = i === chain.length - 1;
      this.writeDescriptor(this.desc, index, {
        address: d.address,
        length: d.length,
        flags: (d.write ? VIRTQ_DESC_F_WRITE : 0) | (last ? 0 : VIRTQ_DESC_F_NEXT),
        next: (index + 1) % this.size,
      });
    });
    this.nextFree = (head + chain.length) % this.size;
    return head;
  }

  /** An indirect table at `table` holding `chain`; returns the head (one direct descriptor pointing at it). */
  writeIndirect(table: number, chain: { address: number; length: number; write?: boolean }[]): number {
    chain.forEach((d, i) => {
      const last = i === chain.length - 1;
      this.writeDescriptor(table, i, {
        address: d.address,
        length: d.length,
        flags: (d.write ? VIRTQ_DESC_F_WRITE : 0) | (last ? 0 : VIRTQ_DESC_F_NEXT),
        next: i + 1,
      });
    });
    const head = this.nextFree;
    this.writeDescriptor(this.desc, head, { address: table, length: 16 * chain.length, flags: VIRTQ_DESC_F_INDIRECT });
    this.nextFree = (head + 1) % this.size;
    return head;
  }

  /** Reserves `count` table slots for hand-written descriptors; returns the first. */
  reserve(count: number): number {
    const first = this.nextFree;
    this.nextFree = (first + count) % this.size;
    return first;
  }

  /** Puts `head` into the available ring and publishes the new avail.idx. */
  post(head: number): void {
    this.bus.write16(this.avail + 4 + 2 * (this.availIdx % this.size), head);
    this.availIdx = (this.availIdx + 1) & 0xffff;
    this.bus.write16(this.avail + 2, this.availIdx);
  }

  setAvailFlags(flags: number): void {
    this.bus.write16(this.avail, flags);
  }

  setUsedEvent(value: number): void {
    this.bus.write16(this.avail + 4 + 2 * this.size, value);
  }

  get usedIdx(): number {
    return this.bus.read16(this.used + 2);
  }

  get usedFlags(): number {
    return this.bus.read16(this.used);
  }

  get availEvent(): number {
    return this.bus.read16(this.used + 4 + 8 * this.size);
  }

  /** The used entries added since the last call: [id, len]. */
  takeUsed(): [number, number][] {
    const out: [number, number][] = [];
    const idx = this.usedIdx;
    while (this.lastUsed !== idx) {
      const at = this.used + 4 + 8 * (this.lastUsed % this.size);
      out.push([this.bus.read32(at), this.bus.read32(at + 4)]);
      this.lastUsed = (this.lastUsed + 1) & 0xffff;
    }
    return out;
  }
}
