/**
 * dom0 in its own worker thread, seen from the machine's thread: it starts
 * the worker with the disks it is to hold (and virtio-rng's entropy source),
 * waits (blocking, bounded) until the worker has opened them, and gives each
 * disk a RemoteBlockBackend that the virtio-blk device model uses like a
 * local one, and virtio-rng an EntropySource that asks dom0 for its bytes.
 *
 * Every request is block I/O through the disk's BlockRing: the device model
 * fills the slot (and the data area for a write), sends on the disk's
 * request port and blocks on its completion port, the way the machine's
 * thread blocks on a local image's synchronous file I/O today; dom0's
 * thread does the I/O and answers. Guest memory does not cross: the device
 * model copies between the grant-checked guest buffers and the data area.
 */
import { receiveMessageOnPort, MessageChannel, Worker } from 'node:worker_threads';
import type { BlockBackend } from '../block/blockBackend.ts';
import { BlockRangeError, BlockReadOnlyError } from '../block/blockErrors.ts';
import type { DiskFormat } from '../block/diskTypes.ts';
import { EventChannels } from '../eventChannel.ts';
import type { EntropySource } from '../entropySource.ts';
import { BlockRing, DATA_BYTES, OP_DISCARD, OP_ENTROPY, OP_FLUSH, OP_READ, OP_STATS, OP_WRITE, STATUS_OK, type DiskOperationCounts } from './blockRing.ts';
import type { Dom0Device, Dom0DeviceKind, Dom0Disk, Dom0Init, Dom0Ready, EntropyKind } from './dom0Protocol.ts';
import { QueueLink } from './queueLink.ts';
import type { SharedGuestRam } from '../sharedRamMap.ts';

/** How long the machine's thread waits for dom0 to start or to answer one request before it calls dom0 dead (ms). */
const ANSWER_TIMEOUT_MS = 60_000;
/** Disks one dom0 serves at most (the ports dom0 waits on, two per disk and two for the entropy, share one pending word). */
export const DOM0_MAX_DISKS = 14;
/** The entropy ring's data area: virtio-rng hands out at most 4 KiB per request. */
const ENTROPY_BYTES = 4096;

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

export class Dom0 {
  readonly backends: RemoteBlockBackend[];
  /** The devices dom0 serves, in the order of Dom0Options.devices. */
  readonly devices: Dom0DeviceLink[] = [];
  /** The domain's event channels shared with dom0. */
  channels!: EventChannels;
  /** The done ports' bits in their pending word (`doneWord`). */
  private doneMask = 0;
  private doneWord = 0;
  /** virtio-rng's bytes from dom0's source (null when dom0 holds none). */
  entropy: EntropySource | null = null;
  /** Entropy requests dom0 answered, for tests and counters. */
  entropyRequests = 0;
  private readonly worker: Worker;
  private stopped = false;

  private constructor(worker: Worker, backends: RemoteBlockBackend[]) {
    this.worker = worker;
    this.backends = backends;
  }

  /** Starts dom0's worker holding `disks` (and the entropy source); returns once it has opened them (throws Dom0Error with the reason if it could not). */
  static start(disks: readonly Dom0DiskOption[], options: Dom0Options = {}, workerUrl = dom0ThreadUrl()): Dom0 {
    if (disks.length > DOM0_MAX_DISKS) throw new Dom0Error(`dom0 serves at most ${DOM0_MAX_DISKS} disks`);
    const deviceKinds = options.devices ?? [];
    if (deviceKinds.length > 0 && !options.ram) throw new Dom0Error('dom0 serves virtio devices only with the domain\'s shared RAM');
    for (const d of deviceKinds) {
      if (d.kind === 'blk' && !(d.disk >= 0 && d.disk < disks.length)) throw new Dom0Error(`no disk ${d.disk} for a virtio-blk device`);
      if (d.kind === 'rng' && !options.entropy) throw new Dom0Error('virtio-rng in dom0 needs its entropy source there');
    }
    // The ports dom0 waits on share the first pending word (port 0 is reserved).
    const waited = disks.length + (options.entropy ? 1 : 0) + deviceKinds.length;
    if (waited > 31) throw new Dom0Error(`dom0 waits on at most 31 ports (a disk's, the entropy's and a device's one each), got ${waited}`);
    const channels = new EventChannels(96);
    // Ports dom0 waits on first, so they share the first pending word.
    const requests = disks.map((_, i) => channels.reserve(`disk ${i} request`));
    const entropyRequest = options.entropy ? channels.reserve('entropy request') : 0;
    const devicePorts = deviceKinds.map((d, i) => channels.reserve(`device ${i} (${d.kind}) kick and command`));
    channels.startWord();
    const completions = disks.map((_, i) => channels.reserve(`disk ${i} completion`));
    const entropyCompletion = options.entropy ? channels.reserve('entropy completion') : 0;
    const readyPort = channels.reserve('dom0 ready');
    // The done ports in a word of their own: the machine's run loop polls it with one Atomics.load.
    channels.startWord();
    const doneMask = deviceKinds.length === 0 ? 0 : deviceKinds.length >= 32 ? -1 : (1 << deviceKinds.length) - 1;
    const donePorts = deviceKinds.map((d, i) => channels.reserve(`device ${i} (${d.kind}) done`));
    const links = deviceKinds.map(() => new QueueLink());
    const rings = disks.map(() => new BlockRing());
    const entropyRing = options.entropy ? new BlockRing(null, ENTROPY_BYTES) : null;
    const { port1, port2 } = new MessageChannel();
    const init: Dom0Init = {
      channels: channels.buffer,
      portCount: channels.portCount,
      readyPort,
      reply: port2,
      disks: disks.map((d, i): Dom0Disk => ({ ...d, ring: rings[i].buffer, request: requests[i], completion: completions[i] })),
      ...(options.entropy && entropyRing ? { entropy: { kind: options.entropy, ring: entropyRing.buffer, request: entropyRequest, completion: entropyCompletion } } : {}),
      ...(options.ram ? { ram: options.ram } : {}),
      devices: deviceKinds.map((d, i): Dom0Device => ({ ...d, link: links[i].buffer, port: devicePorts[i], done: donePorts[i] })),
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
    const dom0 = new Dom0(worker, []);
    dom0.channels = channels;
    dom0.doneWord = donePorts.length > 0 ? donePorts[0] >>> 5 : 0;
    dom0.doneMask = doneMask;
    deviceKinds.forEach((_, i) => dom0.devices.push({ link: links[i], port: devicePorts[i], done: donePorts[i] }));
    reply.disks.forEach((geometry, i) => {
      dom0.backends.push(new RemoteBlockBackend(new RingLink(dom0, channels, rings[i], requests[i], completions[i]), geometry));
    });
    if (entropyRing) {
      const link = new RingLink(dom0, channels, entropyRing, entropyRequest, entropyCompletion);
      dom0.entropy = (dest) => {
        for (let at = 0; at < dest.length; at += ENTROPY_BYTES) {
          const n = Math.min(ENTROPY_BYTES, dest.length - at);
          link.call(OP_ENTROPY, 0, n);
          dest.set(entropyRing.data.subarray(0, n), at);
          dom0.entropyRequests++;
        }
      };
    }
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
 * One backend's ring and ports: a request is the slot filled, an event on
 * the request port, and a bounded wait on the completion port; dom0's
 * refusal comes back as the backend's own error class.
 */
class RingLink {
  /** Requests completed, for tests and counters. */
  requests = 0;

  constructor(
    private readonly dom0: Dom0,
    private readonly channels: EventChannels,
    readonly ring: BlockRing,
    private readonly requestPort: number,
    private readonly completionPort: number,
  ) {}

  call(op: number, offset: number, length: number): void {
    if (!this.dom0.running) throw new Dom0Error('dom0 has stopped');
    this.ring.request(op, offset, length);
    this.channels.notify(this.requestPort);
    if (this.channels.wait([this.completionPort], ANSWER_TIMEOUT_MS).length === 0) {
      throw new Dom0Error(`dom0 did not answer a request within ${ANSWER_TIMEOUT_MS / 1000} s`);
    }
    this.requests++;
    if (this.ring.status === STATUS_OK) return;
    const { name, message } = this.ring.error();
    // The backend's own error classes, so callers tell a range or read-only refusal from an I/O error as with a local backend.
    if (name === 'BlockRangeError') throw new BlockRangeError(message);
    if (name === 'BlockReadOnlyError') throw new BlockReadOnlyError(message);
    const e = new Error(message);
    e.name = name;
    throw e;
  }
}

/** A block backend held by dom0's worker: each call is one (or, past the data area, several) request and completion on the disk's ring. */
export class RemoteBlockBackend implements BlockBackend {
  readonly format: DiskFormat;
  readonly sizeBytes: number;
  readonly readOnly: boolean;
  private readonly ring: BlockRing;

  constructor(
    private readonly link: RingLink,
    geometry: { format: DiskFormat; sizeBytes: number; readOnly: boolean },
  ) {
    this.ring = link.ring;
    this.format = geometry.format;
    this.sizeBytes = geometry.sizeBytes;
    this.readOnly = geometry.readOnly;
  }

  /** Requests completed, for tests and counters. */
  get requests(): number {
    return this.link.requests;
  }

  read(offset: number, dest: Uint8Array): void {
    for (let at = 0; at < dest.length || (at === 0 && dest.length === 0); at += DATA_BYTES) {
      const n = Math.min(DATA_BYTES, dest.length - at);
      this.call(OP_READ, offset + at, n);
      dest.set(this.ring.data.subarray(0, n), at);
      if (dest.length === 0) break;
    }
  }

  write(offset: number, src: Uint8Array): void {
    for (let at = 0; at < src.length || (at === 0 && src.length === 0); at += DATA_BYTES) {
      const n = Math.min(DATA_BYTES, src.length - at);
      this.ring.data.set(src.subarray(at, at + n));
      this.call(OP_WRITE, offset + at, n);
      if (src.length === 0) break;
    }
  }

  flush(): void {
    this.call(OP_FLUSH, 0, 0);
  }

  discard(offset: number, length: number): void {
    this.call(OP_DISCARD, offset, length);
  }

  /** The flushes and discards dom0 made on this image, by any path (this ring or a virtqueue dom0 serves). */
  operations(): DiskOperationCounts {
    this.call(OP_STATS, 0, 0);
    return JSON.parse(new TextDecoder().decode(this.ring.data.slice(0, this.ring.length))) as DiskOperationCounts;
  }

  /** The image stays open in dom0 until dom0 stops (Dom0.stop closes every image). */
  close(): void {}

  private call(op: number, offset: number, length: number): void {
    this.link.call(op, offset, length);
  }
}
