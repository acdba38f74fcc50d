/** What the machine's thread hands dom0's worker when it starts it (workerData). */
import type { MessagePort } from 'node:worker_threads';
import type { DiskFormat } from '../block/diskTypes.ts';
import type { SharedGuestRam } from '../sharedRamMap.ts';
import type { NetBackendLink } from './netProtocol.ts';

/** Where virtio-rng's bytes come from (core/dom0/entropySource.ts): the host's randomness, or the fixed-seed stream of the deterministic clock. */
export type EntropyKind = 'host' | 'deterministic';

export interface Dom0Disk {
  path: string;
  format?: DiskFormat;
  readOnly?: boolean;
}

/** What dom0 did to one disk's image: the flushes and the discarded ranges [offset, length] (the last 64). */
export interface DiskOperationCounts {
  flushes: number;
  discards: [number, number][];
}

/**
 * A virtio device whose virtqueues dom0 serves (core/dom0/worker/queueService.ts):
 * virtio-blk over disk `disk` of `disks`, virtio-rng over the entropy source,
 * virtio-net with MAC address `mac` on its link to dom0's network thread,
 * virtio-console or virtio-balloon.
 */
export type Dom0DeviceKind =
  | { kind: 'blk'; disk: number; serial: string }
  | { kind: 'rng' }
  | { kind: 'net'; mac: number[]; net: NetBackendLink }
  /** virtio-console of `ports` ports, its bytes relayed to and from the host's terminals (consoleRelay.ts). */
  | { kind: 'console'; ports: number; input: SharedArrayBuffer; output: SharedArrayBuffer }
  /** virtio-balloon, its PFNs relayed to the hypervisor (balloonRelay.ts); `pooled`: the frames go back to a pool (else the page is zeroed). */
  | { kind: 'balloon'; pooled: boolean; relay: SharedArrayBuffer };

export type Dom0Device = Dom0DeviceKind & {
  /** The device's QueueLink buffer. */
  link: SharedArrayBuffer;
  /** Event channel ports: the machine's thread sends on `port` (a command or a kick), dom0 on `done`. */
  port: number;
  done: number;
};

export interface Dom0Init {
  /** The EventChannels buffer dom0 shares with the domain's device models (pending and mask bits). */
  channels: SharedArrayBuffer;
  portCount: number;
  /** Raised once dom0 has posted its Dom0Ready on `reply`. */
  readyPort: number;
  reply: MessagePort;
  disks: Dom0Disk[];
  /** virtio-rng's entropy source, held by dom0 (absent without one). */
  entropy?: EntropyKind;
  /** The domain's RAM and map in shared memory, for the devices dom0 serves. */
  ram?: SharedGuestRam;
  devices?: Dom0Device[];
  /**
   * The wake word of the thread that runs the machine (one Int32, shared by
   * every dom0 that thread starts): dom0 adds 1 to it and notifies it each
   * time it raises a done port, so that thread can wait for any of its
   * machines' dom0s at once (threadWake.ts).
   */
  wake: SharedArrayBuffer;
}

/** dom0's answer to the start: each disk's geometry, or why it could not be opened. */
export type Dom0Ready =
  | { type: 'ready'; disks: { format: DiskFormat; sizeBytes: number; readOnly: boolean }[] }
  | { type: 'failed'; message: string };
