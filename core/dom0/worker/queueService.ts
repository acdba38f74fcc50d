/**
 * A virtio device's virtqueues served in dom0's worker thread: the device
 * type (VirtioBlk over the image dom0 opened, VirtioRng over dom0's entropy
 * source) runs here unchanged, on split queues configured from the link
 * (core/dom0/worker/queueLink.ts) and guest memory reached only through the
 * grant check over the domain's shared RAM and shared map
 * (core/dom0/sharedRamMap.ts): every descriptor table, ring entry and buffer
 * is checked page by page against the map as it is at that moment, so a
 * balloon change made in the machine's thread is seen at the next access.
 *
 * What comes back to the machine's thread through the link: the used index
 * reached (dom0 writes the used elements, the machine's thread stores
 * used.idx and decides on the interrupt), the ranges dom0 wrote (DMA log),
 * the device's counters, and a reason to enter DEVICE_NEEDS_RESET. A
 * malformed chain or ring is that reason, as it is in the machine's thread;
 * anything else (a device model or backend bug) is a failure the machine's
 * thread stops with; dom0 keeps serving its other devices.
 */
import { VirtqueueError } from '../../devices/virtio/descriptorChain.ts';
import { GuestMemoryError } from '../../devices/virtio/guestMemory.ts';
import { SplitQueue } from '../../devices/virtio/splitQueue.ts';
import { newCounters, type VirtioDeviceContext, type VirtioDeviceType } from '../../devices/virtio/virtioDevice.ts';
import { CheckedGuestMemory } from '../grantCheck.ts';
import { ramMapOverShared, type SharedGuestRam } from '../sharedRamMap.ts';
import { CMD_ACTIVATE, CMD_RESET, CMD_STATS, DMA_LOG_ENTRIES, type QueueLink } from './queueLink.ts';

/** How long dom0 waits for the machine's thread to take logged DMA ranges before it calls the machine gone (ms). */
const LOG_WAIT_MS = 60_000;

export class QueueService {
  private queues: SplitQueue[] = [];
  private active = false;
  /** A needs-reset reason was reported: the queues are left alone until the device is reset. */
  private broken = false;
  private readonly counters = newCounters();
  private readonly mem: CheckedGuestMemory;
  /** Buffer ranges written while serving the current kick, adjacent ones merged. */
  private written: [number, number][] = [];

  constructor(
    private readonly link: QueueLink,
    private readonly device: VirtioDeviceType,
    ram: SharedGuestRam,
    /** The backend's statistics the machine's thread may ask for (CMD_STATS): a disk's flushes and discards. */
    private readonly statistics: () => unknown = () => null,
  ) {
    this.mem = new CheckedGuestMemory(ramMapOverShared(ram, (offset, length) => this.noteWritten(offset, length)));
  }

  /** Grant checks made and refused in this thread (for tests). */
  get checks(): { checks: number; refusals: number } {
    return { checks: this.mem.checks, refusals: this.mem.refusals };
  }

  /** Woken on the device's port: the machine's command first, then each queue kicked since it was last served. */
  service(): void {
    const command = this.link.command;
    if (command === CMD_RESET) this.reset();
    else if (command === CMD_ACTIVATE) this.activate();
    else if (command === CMD_STATS) {
      this.link.writeStatistics(JSON.stringify(this.statistics()));
      this.link.acknowledge();
    }
    for (let q = 0; q < this.queues.length; q++) {
      const kick = this.link.kickIndex(q);
      if (kick !== this.link.servedIndex(q)) this.serve(q, kick);
    }
  }

  private reset(): void {
    this.device.reset();
    this.queues = [];
    this.active = false;
    this.broken = false;
    this.link.clearIndexes();
    this.link.acknowledge();
  }

  private activate(): void {
    const { features, queues } = this.link.readConfig();
    this.queues = queues.map((c, i) => {
      const q = new SplitQueue(this.device.queueSizes[i]);
      Object.assign(q, { size: c.size, desc: c.desc, avail: c.avail, used: c.used, eventIdx: c.eventIdx, indirect: c.indirect, ready: true });
      q.publishUsedIndex = false;
      return q;
    });
    const context: VirtioDeviceContext = {
      mem: this.mem,
      queues: this.queues,
      features,
      counters: this.counters,
      // The used index goes back through the link; the machine's thread decides on the interrupt.
      usedBuffers: () => {},
      // Block and entropy never change their configuration.
      configChanged: () => {},
      deviceError: (e) => this.guestError(e),
    };
    this.device.activate(context);
    this.active = true;
    this.broken = false;
    this.link.acknowledge();
  }

  /** Serves queue `q` up to avail index `kick`, then publishes what changed and marks the kick served. */
  private serve(q: number, kick: number): void {
    if (this.active && !this.broken) {
      const queue = this.queues[q];
      queue.availLimit = kick;
      try {
        this.device.queueNotified(q);
      } catch (e) {
        this.guestError(e, `queue ${q}: `);
      }
      this.publishWritten();
      this.writeCounters();
      // Every queue's: a kick may complete buffers of another (virtio-console answers a control message on the control receiveq).
      this.queues.forEach((other, i) => this.link.setUsedIndex(i, other.usedIndex));
    }
    this.link.setServedIndex(q, kick);
  }

  /**
   * Work the device does without a kick (virtio-net's received frames):
   * runs `work` and publishes what it changed, as a served kick does.
   * Before DRIVER_OK `work` runs with the device not activated (it drops
   * what it cannot place); after a needs-reset reason it does not run at
   * all: the queues are left alone until the device is reset.
   */
  deliver(work: () => void): void {
    if (this.broken) return;
    if (!this.active) {
      work();
      // What it dropped still counts (frames for a NIC whose driver has not set it up).
      this.writeCounters();
      return;
    }
    try {
      work();
    } catch (e) {
      this.guestError(e);
    }
    this.publishWritten();
    this.writeCounters();
    this.queues.forEach((queue, q) => this.link.setUsedIndex(q, queue.usedIndex));
  }

  private writeCounters(): void {
    this.link.writeCounters({ ...this.counters, dropped: this.device.dropped ?? 0 });
  }

  /** A malformed ring or chain: DEVICE_NEEDS_RESET in the machine's thread; anything else stops the machine. */
  private guestError(e: unknown, where = ''): void {
    if (e instanceof VirtqueueError) this.link.reportNeedsReset(e.kind, where + e.message);
    else if (e instanceof GuestMemoryError) this.link.reportNeedsReset('memory', where + e.message);
    else this.link.reportFailure(`dom0's ${this.device.name} device: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    this.broken = true;
  }

  private noteWritten(offset: number, length: number): void {
    const last = this.written[this.written.length - 1];
    if (last && last[0] + last[1] === offset) last[1] += length;
    else this.written.push([offset, length]);
  }

  /** Hands the written ranges to the machine's thread before the used index that covers them. */
  private publishWritten(): void {
    let ranges = this.written;
    this.written = [];
    if (ranges.length === 0) return;
    if (ranges.length > DMA_LOG_ENTRIES) {
      // More pieces than the log holds: one range that covers them all (the bus only drops decoded code there).
      const start = Math.min(...ranges.map((r) => r[0]));
      const end = Math.max(...ranges.map((r) => r[0] + r[1]));
      ranges = [[start, end - start]];
    }
    const deadline = performance.now() + LOG_WAIT_MS;
    const { array, index } = this.link.logHeadWord;
    while (this.link.logSpace() < ranges.length) {
      const left = deadline - performance.now();
      if (left <= 0) throw new Error('the machine\'s thread did not take dom0\'s DMA log');
      Atomics.wait(array, index, Atomics.load(array, index), Math.min(left, 50));
    }
    this.link.appendLog(ranges);
  }
}
