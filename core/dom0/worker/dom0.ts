/**
 * dom0 in its own worker thread, seen from the machine's thread: it starts
 * the worker with the disks it is to hold (and virtio-rng's entropy source)
 * and the virtio devices whose virtqueues it is to serve over the domain's
 * shared RAM, waits (blocking, bounded) until the worker has opened the
 * images, and hands each device's link and ports to the machine's side
 * (remoteDevice.ts). Nothing else crosses: no block I/O and no entropy
 * requests come from the machine's thread; a disk is known here by its
 * geometry (for the device's configuration space) and its operation counts
 * come through its device's link (RemoteVirtioDevice.statistics).
 */
import { receiveMessageOnPort, MessageChannel, Worker } from 'node:worker_threads';
import type { BlockBackend } from '../block/blockBackend.ts';
import type { DiskFormat } from '../block/diskTypes.ts';
import { EventChannels } from '../eventChannel.ts';
import type { EntropySource } from '../entropySource.ts';
import type { Dom0Device, Dom0DeviceKind, Dom0Disk, Dom0Init, Dom0Ready, EntropyKind } from './dom0Protocol.ts';
import { QueueLink } from './queueLink.ts';
import { threadWakeBuffer } from './threadWake.ts';
import type { SharedGuestRam } from '../sharedRamMap.ts';

/** How long the machine's thread waits for dom0 to start or to answer one request before it calls dom0 dead (ms). */
const ANSWER_TIMEOUT_MS = 60_000;
/** Devices one dom0 serves at most: the ports it waits on, one per device, share one pending word (port 0 is reserved). */
export const DOM0_MAX_DEVICES = 31;

/**
 * dom0's worker entry: beside this module in the TypeScript tree (through
 * tsx's loader), or the core bundle's dom0Thread.mjs beside the bundle this
 * code was bundled into (scripts/coreBundle.mjs).
 */
function dom0ThreadUrl(): URL {
  return new URL(import.meta.url.endsWith('.ts') ? './dom0Thread.bootstrap.mjs' : './dom0Thread.mjs', import.meta.url);
}

export class Dom0Error extends Error {
  override readonly name = 'Dom0Error';
}

export interface Dom0DiskOption {
  path: string;
  format?: DiskFormat;
  readOnly?: boolean;
}

export interface Dom0Options {
  /** dom0 also holds virtio-rng's entropy source, of this kind. */
  entropy?: EntropyKind;
  /** The domain's RAM and map in shared memory: needed for `devices`. */
  ram?: SharedGuestRam;
  /** virtio devices whose virtqueues dom0 serves (core/dom0/worker/remoteDevice.ts drives each from the machine's thread). */
  devices?: Dom0DeviceKind[];
}

/** A device dom0 serves, seen from the machine's thread: its link and ports. */
export interface Dom0DeviceLink {
  readonly link: QueueLink;
  /** The machine's thread sends commands and kicks here. */
  readonly port: number;
  /** dom0 sends here when it has acted (command done, kick served). */
  readonly done: number;
}

/** A disk as dom0 opened it. */
export interface DiskGeometry {
  format: DiskFormat;
  sizeBytes: number;
  readOnly: boolean;
}

export class Dom0 {
  /** The disks as dom0 opened them, in the order given to `start`. */
  readonly disks: DiskGeometry[];
  /** The devices dom0 serves, in the order of Dom0Options.devices. */
  readonly devices: Dom0DeviceLink[] = [];
  /** The domain's event channels shared with dom0. */
  channels!: EventChannels;
  /** The done ports' bits in their pending word (`doneWord`). */
  private doneMask = 0;
  private doneWord = 0;
  private readonly worker: Worker;
  private stopped = false;

  private constructor(worker: Worker, disks: DiskGeometry[]) {
    this.worker = worker;
    this.disks = disks;
  }

  /** Starts dom0's worker holding `disks` (and the entropy source); returns once it has opened them (throws Dom0Error with the reason if it could not). */
  static start(disks: readonly Dom0DiskOption[], options: Dom0Options = {}, workerUrl = dom0ThreadUrl()): Dom0 {
    const deviceKinds = options.devices ?? [];
    if (deviceKinds.length > DOM0_MAX_DEVICES) throw new Dom0Error(`dom0 serves at most ${DOM0_MAX_DEVICES} devices, got ${deviceKinds.length}`);
    if (deviceKinds.length > 0 && !options.ram) throw new Dom0Error('dom0 serves virtio devices only with the domain\'s shared RAM');
    for (const d of deviceKinds) {
      if (d.kind === 'blk' && !(d.disk >= 0 && d.disk < disks.length)) throw new Dom0Error(`no disk ${d.disk} for a virtio-blk device`);
      if (d.kind === 'rng' && !options.entropy) throw new Dom0Error('virtio-rng in dom0 needs its entropy source there');
    }
    const channels = new EventChannels(96);
    // Ports dom0 waits on first, so they share the first pending word.
    const devicePorts = deviceKinds.map((d, i) => channels.reserve(`device ${i} (${d.kind}) kick and command`));
    channels.startWord();
    const readyPort = channels.reserve('dom0 ready');
    // The done ports in a word of their own: the machine's run loop polls it with one Atomics.load.
    channels.startWord();
    const doneMask = deviceKinds.length === 0 ? 0 : deviceKinds.length >= 32 ? -1 : (1 << deviceKinds.length) - 1;
    const donePorts = deviceKinds.map((d, i) => channels.reserve(`device ${i} (${d.kind}) done`));
    const links = deviceKinds.map(() => new QueueLink());
    const { port1, port2 } = new MessageChannel();
    const init: Dom0Init = {
      channels: channels.buffer,
      portCount: channels.portCount,
      readyPort,
      reply: port2,
      disks: disks.map((d): Dom0Disk => ({ ...d })),
      ...(options.entropy ? { entropy: options.entropy } : {}),
      ...(options.ram ? { ram: options.ram } : {}),
      devices: deviceKinds.map((d, i): Dom0Device => ({ ...d, link: links[i].buffer, port: devicePorts[i], done: donePorts[i] })),
      wake: threadWakeBuffer,
    };
    const worker = new Worker(workerUrl, { workerData: init, transferList: [port2], name: 'popek-dom0' });
    worker.unref();
    if (channels.wait([readyPort], ANSWER_TIMEOUT_MS).length === 0) {
      void worker.terminate();
      throw new Dom0Error(`dom0 did not start within ${ANSWER_TIMEOUT_MS / 1000} s`);
    }
    const reply = receiveMessageOnPort(port1)?.message as Dom0Ready | undefined;
    port1.close();
    if (reply?.type !== 'ready') {
      void worker.terminate();
      throw new Dom0Error(reply?.message ?? 'dom0 started without answering');
    }
    const dom0 = new Dom0(worker, reply.disks);
    dom0.channels = channels;
    dom0.doneWord = donePorts.length > 0 ? donePorts[0] >>> 5 : 0;
    dom0.doneMask = doneMask;
    deviceKinds.forEach((_, i) => dom0.devices.push({ link: links[i], port: devicePorts[i], done: donePorts[i] }));
    return dom0;
  }

  get running(): boolean {
    return !this.stopped;
  }

  /**
   * Whether dom0 has acted for any served device since the last call
   * (done ports pending; they are taken): one Atomics.load when it has not,
   * for the machine's run loop at its interrupt-check points.
   */
  takeDone(): boolean {
    return this.doneMask !== 0 && this.channels.takePending(this.doneWord, this.doneMask) !== 0;
  }

  /** Whether a done port is raised and not yet taken (nothing is taken). */
  get doneRaised(): boolean {
    return this.doneMask !== 0 && (Atomics.load(this.channels.pending, this.doneWord) & this.doneMask) !== 0;
  }

  /** Blocks (at most `timeoutMs`) until dom0 has acted for a served device; true when it has (the done ports are taken). */
  waitDone(timeoutMs: number): boolean {
    if (this.doneMask === 0) return false;
    return this.channels.wait(this.devices.map((d) => d.done), timeoutMs).length > 0;
  }

  /** Asks dom0 to close its images and end; resolves when its thread is gone. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.postMessage({ type: 'stop' });
    await exited;
  }
}

/**
 * A disk dom0 holds, as the device model in the machine's thread sees it:
 * its geometry, for the virtio-blk configuration space the transport reads
 * here. dom0's thread serves the disk's queues, so no block I/O reaches this
 * object: a call is a bug, refused.
 */
export class DiskServedByDom0 implements BlockBackend {
  readonly format: DiskFormat;
  readonly sizeBytes: number;
  readonly readOnly: boolean;

  constructor(geometry: DiskGeometry) {
    this.format = geometry.format;
    this.sizeBytes = geometry.sizeBytes;
    this.readOnly = geometry.readOnly;
  }

  read(_offset: number, _dest: Uint8Array): never {
    throw new Dom0Error('this disk\'s I/O is dom0\'s: its virtqueues are served there');
  }

  write(offset: number, _src: Uint8Array): never {
    return this.read(offset, _src);
  }

  flush(): never {
    return this.read(0, new Uint8Array(0));
  }

  discard(offset: number, _length: number): never {
    return this.read(offset, new Uint8Array(0));
  }

  /** The image is dom0's: it closes it when it stops. */
  close(): void {}
}

/** virtio-rng's source as the device model in the machine's thread sees it: dom0's thread serves the queue and draws the bytes there. */
export const entropyServedByDom0: EntropySource = () => {
  throw new Dom0Error('virtio-rng\'s bytes are drawn in dom0\'s thread, which serves its queue');
};
