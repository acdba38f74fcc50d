/**
 * A virtio device whose virtqueues dom0's worker thread serves, as the
 * machine's thread sees it: the device type the transport (virtioPci.ts)
 * drives. The transport stays here (PCI configuration, feature negotiation,
 * status, ISR, INTx); what this object does is the hypervisor's half of
 * Xen's split driver:
 *
 *   - at DRIVER_OK it hands dom0 the queue addresses and negotiated features
 *     (QueueLink ACTIVATE) and at a device reset it has dom0 stop (RESET),
 *     waiting, bounded, until dom0 has acted: after a reset dom0 no longer
 *     touches the queues;
 *   - a kick (the guest's write to the notify address, an exit under the
 *     hypervisor) reads avail.idx and publishes it as avail_event while the
 *     guest is stopped (SplitQueue.takeKick), stores it in the link and sends
 *     an event to dom0 (Atomics.notify wakes its thread);
 *   - dom0's completion (its done port, polled at the run loop's
 *     interrupt-check points: Dom0.takeDone) is taken here: the ranges dom0
 *     wrote go to the memory bus (decoded code there is dropped), then
 *     used.idx is stored and the transport decides on the interrupt (ISR bit
 *     and INTx), as for a device served in this thread; a reason dom0 gave
 *     for DEVICE_NEEDS_RESET goes to the transport too.
 *
 * A device may have a part in this thread beyond its transport (a
 * MachineHalf): the balloon's frames, which the hypervisor owns, and the
 * console's host terminals. What dom0 relays to it is taken with each
 * completion, before the used indexes are stored.
 *
 * Determinism: with `waitForCompletion` (the deterministic clock) the kick
 * blocks, bounded, until dom0 has served it and the completion is taken
 * before the guest's notify write returns, so the guest sees the used
 * buffers and the interrupt at the same instruction as with the device in
 * this thread. On the realtime clock the guest runs on while dom0 serves.
 */
import { VirtqueueError, type VirtqueueErrorKind } from '../../devices/virtio/descriptorChain.ts';
import type { VirtioDeviceContext, VirtioDeviceType } from '../../devices/virtio/virtioDevice.ts';
import type { GuestRamMap } from '../grantCheck.ts';
import { CMD_ACTIVATE, CMD_RESET, CMD_STATS } from './queueLink.ts';
import { Dom0Error, type Dom0, type Dom0DeviceLink } from './dom0.ts';

/**
 * The part of a device dom0 serves that stays in the machine's thread besides
 * its transport: what dom0 relays to it (console bytes for the host, the
 * balloon's PFNs for the hypervisor) and the state it keeps here.
 */
export interface MachineHalf {
  /** DRIVER_OK, once dom0 has taken the queues. */
  activate?(context: VirtioDeviceContext): void;
  /** A device reset, once dom0 has stopped using the queues (and what it relayed before was taken). */
  reset?(): void;
  /** Takes what dom0 relayed: at each completion before the used indexes are stored, and while waiting for dom0. */
  take(): void;
  /** Requests this half refused, counted with the device's errors. */
  readonly errors: number;
  /** Whether something sent to dom0 outside a kick waits for it to act (a halted guest then waits for dom0). */
  readonly awaiting?: boolean;
}

/** How long the machine's thread waits for dom0 to act on a command or serve a kick it waits for (ms). */
const ANSWER_TIMEOUT_MS = 60_000;

export class RemoteVirtioDevice implements VirtioDeviceType {
  readonly name: string;
  readonly deviceId: number;
  readonly pciClass: number;
  readonly features: bigint;
  readonly queueSizes: readonly number[];
  readonly configSize: number;
  private ctx: VirtioDeviceContext | null = null;
  private resetsSeen = 0;

  /**
   * @param local the same device type in this thread, for what the transport
   *   asks of it here (identity, features, configuration space); its queues
   *   are never served here
   */
  constructor(
    private readonly local: VirtioDeviceType,
    private readonly dom0: Dom0,
    private readonly device: Dom0DeviceLink,
    private readonly guestRam: GuestRamMap,
    private readonly waitForCompletion: boolean,
    private readonly half: MachineHalf | null = null,
  ) {
    this.name = local.name;
    this.deviceId = local.deviceId;
    this.pciClass = local.pciClass;
    this.features = local.features;
    this.queueSizes = local.queueSizes;
    this.configSize = local.configSize;
  }

  readConfig(offset: number, size: 1 | 2 | 4): number {
    return this.local.readConfig(offset, size);
  }

  writeConfig(offset: number, size: 1 | 2 | 4, value: number): void {
    this.local.writeConfig(offset, size, value);
  }

  activate(context: VirtioDeviceContext): void {
    const link = this.device.link;
    link.writeConfig(
      context.features,
      context.queues.map((q) => ({ size: q.size, desc: q.desc, avail: q.avail, used: q.used, eventIdx: q.eventIdx, indirect: q.indirect })),
    );
    this.resetsSeen = link.resetSequence;
    this.command(CMD_ACTIVATE);
    this.ctx = context;
    this.half?.activate?.(context);
  }

  reset(): void {
    this.ctx = null;
    if (!this.dom0.running) return; // the board was closed: dom0 has ended, nothing of it runs
    this.command(CMD_RESET);
    // What dom0 wrote before it stopped still drops decoded code there.
    this.device.link.drainLog((offset, length) => this.guestRam.dmaWritten(offset, length));
    this.half?.take();
    this.half?.reset?.();
  }

  queueNotified(index: number): void {
    const ctx = this.ctx;
    if (!ctx) return;
    const kick = ctx.queues[index].takeKick(ctx.mem);
    this.device.link.setKickIndex(index, kick);
    this.dom0.channels.notify(this.device.port);
    if (!this.waitForCompletion) return;
    this.waitUntil(() => this.device.link.servedIndex(index) === kick, 'serve a kick');
    this.takeCompletion();
  }

  /** What the device dropped in dom0 (a NIC's lost frames), read from the link at any time; absent for a device type that never drops. */
  get dropped(): number | undefined {
    return this.local.dropped === undefined ? undefined : this.device.link.readCounters().dropped;
  }

  /** The statistics dom0 keeps of the device's backend (a virtio-blk disk's DiskOperationCounts), asked through the link. */
  statistics(): unknown {
    this.command(CMD_STATS);
    return JSON.parse(this.device.link.readStatistics());
  }

  /**
   * Tells dom0 the device's half sent it something outside a kick (host
   * input); with `waitForCompletion`, waits until `acted` holds and takes
   * the completion, so the guest sees the result at this point.
   */
  signal(acted: () => boolean): void {
    this.dom0.channels.notify(this.device.port);
    if (!this.waitForCompletion) return;
    this.waitUntil(acted, 'act on relayed input');
    this.takeCompletion();
  }

  /**
   * Whether a kick (or relayed input) is waiting for dom0 to serve it, or
   * dom0 served it and its done event is still on the way (dom0 raises the
   * done port after it published the used index: a thread descheduled in
   * between must still be waited for, not polled in a loop).
   */
  get awaitingDom0(): boolean {
    if (this.half?.awaiting) return true;
    const ctx = this.ctx;
    if (!ctx) return false;
    const link = this.device.link;
    for (let q = 0; q < ctx.queues.length; q++) {
      if (link.kickIndex(q) !== link.servedIndex(q) || link.usedIndex(q) !== ctx.queues[q].usedIndex) return true;
    }
    return false;
  }

  /** Takes what dom0 has completed: DMA ranges, used indexes (and the interrupt the driver wants), counters, a needs-reset reason. */
  takeCompletion(): void {
    const ctx = this.ctx;
    const link = this.device.link;
    const failure = link.failure();
    if (failure !== null) throw new Dom0Error(failure);
    if (!ctx) {
      this.half?.take();
      return;
    }
    // Used indexes first: every range written for the elements they cover is in the log by then.
    const used = ctx.queues.map((_, q) => link.usedIndex(q));
    link.drainLog((offset, length) => this.guestRam.dmaWritten(offset, length));
    // What dom0 relayed for those elements (frames moved, bytes for the host) before the guest sees them used.
    this.half?.take();
    const counters = link.readCounters();
    ctx.counters.requests = counters.requests;
    ctx.counters.bytesRead = counters.bytesRead;
    ctx.counters.bytesWritten = counters.bytesWritten;
    ctx.counters.errors = counters.errors + (this.half?.errors ?? 0);
    const broken = link.resetSequence !== this.resetsSeen;
    this.resetsSeen = link.resetSequence;
    ctx.queues.forEach((q, i) => {
      if (used[i] === q.usedIndex) return;
      q.publishUsed(ctx.mem, used[i]);
      // As in this thread: a kick that ended in an error published its earlier elements without a used-buffer notification.
      if (!broken) ctx.usedBuffers(i);
    });
    if (broken) {
      const { kind, reason } = link.needsResetReason();
      ctx.deviceError(new VirtqueueError(kind as VirtqueueErrorKind, reason));
    }
  }

  /** Sends a command and waits until dom0 has acted on it, taking completions meanwhile. */
  private command(command: number): void {
    const link = this.device.link;
    link.setCommand(command);
    this.dom0.channels.notify(this.device.port);
    this.waitUntil(() => link.command !== command, command === CMD_RESET ? 'stop using the queues' : command === CMD_STATS ? 'give its statistics' : 'take the queues');
  }

  private waitUntil(done: () => boolean, what: string): void {
    const deadline = performance.now() + ANSWER_TIMEOUT_MS;
    while (!done()) {
      const failure = this.device.link.failure();
      if (failure !== null) throw new Dom0Error(failure);
      const left = deadline - performance.now();
      if (left <= 0 || !this.dom0.running) throw new Dom0Error(`dom0 did not ${what} within ${ANSWER_TIMEOUT_MS / 1000} s`);
      // dom0 may be waiting for room in the DMA log: take its ranges while waiting.
      this.device.link.drainLog((offset, length) => this.guestRam.dmaWritten(offset, length));
      // Or for room in a relay ring.
      this.half?.take();
      this.dom0.channels.wait([this.device.done], Math.min(left, 50));
    }
  }
}
