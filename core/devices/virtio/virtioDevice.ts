/**
 * What a virtio device type (block, entropy, console, ...) implements, and
 * what the transport hands it. The device type owns its configuration
 * space and what it does with buffers; the transport (virtioPci.ts) owns
 * status, feature negotiation, queue setup and notifications, so the same
 * device could sit behind another transport (virtio-mmio) unchanged.
 */
import type { DescriptorChain } from './descriptorChain.ts';
import type { GuestMemory } from './guestMemory.ts';
import type { SplitQueue } from './splitQueue.ts';

/** Per-device counters the app shows (requests, bytes, kicks, interrupts). */
export interface VirtioCounters {
  kicks: number;
  interrupts: number;
  requests: number;
  bytesRead: number;
  bytesWritten: number;
  /** Requests failed with the device's error status. */
  errors: number;
  /** Times the device entered DEVICE_NEEDS_RESET. */
  resetsNeeded: number;
}

export function newCounters(): VirtioCounters {
  return { kicks: 0, interrupts: 0, requests: 0, bytesRead: 0, bytesWritten: 0, errors: 0, resetsNeeded: 0 };
}

export interface VirtioDeviceContext {
  readonly mem: GuestMemory;
  readonly queues: readonly SplitQueue[];
  /** Features both sides agreed on. */
  readonly features: bigint;
  readonly counters: VirtioCounters;
  /** The device put buffers into queue `index`'s used ring: notify the driver if it wants. */
  usedBuffers(index: number): void;
  /** The device configuration changed (config generation + configuration change notification). */
  configChanged(): void;
  /**
   * An error met outside a kick (host-initiated work such as console input):
   * a VirtqueueError or GuestMemoryError puts the device in
   * DEVICE_NEEDS_RESET; anything else is rethrown (a device model bug).
   */
  deviceError(error: unknown): void;
}

export interface VirtioDeviceType {
  readonly name: string;
  /** Virtio device ID (5): 2 block, 3 console, 4 entropy, ... */
  readonly deviceId: number;
  /** PCI class code for the function (class << 16 | subclass << 8 | prog-if). */
  readonly pciClass: number;
  /** Device-type feature bits offered (the transport adds VERSION_1, INDIRECT_DESC, EVENT_IDX). */
  readonly features: bigint;
  /** Maximum size of each of its queues (powers of two). */
  readonly queueSizes: readonly number[];
  /** Bytes of device configuration space. */
  readonly configSize: number;
  readConfig(offset: number, size: 1 | 2 | 4): number;
  writeConfig(offset: number, size: 1 | 2 | 4, value: number): void;
  /** DRIVER_OK: queues are live. */
  activate(context: VirtioDeviceContext): void;
  /**
   * The driver notified queue `index`. May throw VirtqueueError for a
   * malformed ring or chain: the transport then sets DEVICE_NEEDS_RESET.
   */
  queueNotified(index: number): void;
  /** Device reset (status 0 or bus reset): drop all driver-visible state. */
  reset(): void;
  /**
   * Work the device dropped without a request to fail (counted since power-on;
   * absent for devices that never drop): a NIC's frames that found no receive
   * buffer, or were lost on a full ring between it and its switch.
   */
  readonly dropped?: number;
}

/**
 * Completes queue `index`'s available chains in order while `more()` holds:
 * `serve` handles one chain and returns the bytes it wrote into the chain's
 * device-writable buffers (the used element's length). The driver is
 * notified once, after the last, as the spec lets a device batch used buffers.
 */
export function serveQueue(ctx: VirtioDeviceContext, index: number, serve: (chain: DescriptorChain) => number, more: () => boolean = () => true): void {
  const queue = ctx.queues[index];
  let completed = false;
  while (more()) {
    const chain = queue.pop(ctx.mem);
    if (!chain) break;
    queue.addUsed(ctx.mem, chain.head, serve(chain));
    completed = true;
  }
  if (completed) ctx.usedBuffers(index);
}
