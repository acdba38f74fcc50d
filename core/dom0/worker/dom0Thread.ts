/**
 * dom0's worker thread: it holds the block backends (the image files are
 * opened here, not in the machine's thread) and virtio-rng's entropy source.
 *
 * The board's virtio-blk, virtio-rng, virtio-net, virtio-console and
 * virtio-balloon devices (init.devices) are served
 * here whole: their virtqueues are processed in this thread over the
 * domain's shared RAM, through the grant check against its shared map
 * (QueueService), woken by the device's port and answering on its done port.
 * Each backend's block ring (block I/O, offset, length, bytes; no guest
 * memory) also stays, for a device model in the machine's thread over a
 * RemoteBlockBackend.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openDisk, type BlockBackend } from '../block/blockBackend.ts';
import { EventChannels } from '../eventChannel.ts';
import { deterministicEntropy, hostEntropy, type EntropySource } from '../entropySource.ts';
import { BlockRing, OP_DISCARD, OP_ENTROPY, OP_FLUSH, OP_READ, OP_STATS, OP_WRITE, type DiskOperationCounts } from './blockRing.ts';
import { VirtioBlk } from '../../devices/virtio/virtioBlk.ts';
import { VirtioRng } from '../../devices/virtio/virtioRng.ts';
import { QueueLink } from './queueLink.ts';
import { QueueService } from './queueService.ts';
import { nicBackend } from './netBackend.ts';
import { consoleBackend } from './consoleRelay.ts';
import { balloonBackend } from './balloonRelay.ts';
import type { Dom0Init, Dom0Ready } from './dom0Protocol.ts';

/** How long one wait blocks before dom0 looks for a stop message (ms). */
const IDLE_WAIT_MS = 200;

const init = workerData as Dom0Init;
const channels = new EventChannels(init.portCount, init.channels);
const backends: BlockBackend[] = [];
/** Per disk: what was done to its image from either path (ring or served virtqueue). */
const counts: DiskOperationCounts[] = [];
let stopping = false;

/** A backend whose flushes and discards are counted for OP_STATS. */
function counted(backend: BlockBackend, c: DiskOperationCounts): BlockBackend {
  return {
    get format() { return backend.format; },
    get sizeBytes() { return backend.sizeBytes; },
    get readOnly() { return backend.readOnly; },
    read: (offset, dest) => backend.read(offset, dest),
    write: (offset, src) => backend.write(offset, src),
    flush: () => {
      backend.flush();
      c.flushes++;
    },
    discard: (offset, length) => {
      backend.discard(offset, length);
      if (c.discards.push([offset, length]) > 64) c.discards.shift();
    },
    close: () => backend.close(),
  };
}

parentPort!.on('message', (m: { type: string }) => {
  if (m.type === 'stop') stopping = true;
});

function serve(backend: BlockBackend, ring: BlockRing, c: DiskOperationCounts): void {
  try {
    switch (ring.op) {
      case OP_STATS:
        ring.answer(new TextEncoder().encode(JSON.stringify(c)));
        return;
      case OP_READ:
        backend.read(ring.offset, ring.data.subarray(0, ring.length));
        break;
      case OP_WRITE:
        backend.write(ring.offset, ring.data.subarray(0, ring.length));
        break;
      case OP_FLUSH:
        backend.flush();
        break;
      case OP_DISCARD:
        backend.discard(ring.offset, ring.length);
        break;
      default:
        throw new Error(`unknown block operation ${ring.op}`);
    }
    ring.complete(null);
  } catch (e) {
    ring.complete(e instanceof Error ? e : new Error(String(e)));
  }
}

function serveEntropy(source: EntropySource, ring: BlockRing): void {
  if (ring.op !== OP_ENTROPY || !(ring.length >= 0 && ring.length <= ring.data.length)) {
    ring.complete(new Error(`bad entropy request (operation ${ring.op}, ${ring.length} bytes)`));
    return;
  }
  source(ring.data.subarray(0, ring.length));
  ring.complete(null);
}

function start(): void {
  try {
    init.disks.forEach((d, i) => {
      const c: DiskOperationCounts = { flushes: 0, discards: [] };
      let backend: BlockBackend;
      try {
        backend = openDisk(d.path, { format: d.format, readOnly: d.readOnly });
      } catch (e) {
        // Named as the machine's thread names a disk it cannot open.
        throw new Error(`disk ${i + 1} (${d.path}): ${(e as Error).message}`);
      }
      backends.push(counted(backend, c));
      counts.push(c);
    });
  } catch (e) {
    for (const b of backends) b.close();
    init.reply.postMessage({ type: 'failed', message: (e as Error).message } satisfies Dom0Ready);
    channels.notify(init.readyPort);
    return;
  }
  init.reply.postMessage({
    type: 'ready',
    disks: backends.map((b) => ({ format: b.format, sizeBytes: b.sizeBytes, readOnly: b.readOnly })),
  } satisfies Dom0Ready);
  channels.notify(init.readyPort);
  const rings = init.disks.map((d) => new BlockRing(d.ring));
  // Each request port's work: a disk's block request, or an entropy request.
  const byRequestPort = new Map<number, () => void>(
    init.disks.map((d, i) => [d.request, () => {
      serve(backends[i], rings[i], counts[i]);
      channels.notify(d.completion);
    }]),
  );
  const entropy = init.entropy;
  // One source for the ring and the served device: the deterministic stream is one sequence.
  const source: EntropySource | null = entropy ? (entropy.kind === 'deterministic' ? deterministicEntropy() : hostEntropy()) : null;
  for (const d of init.devices ?? []) {
    if (!init.ram) throw new Error('dom0 serves virtio devices only with the domain\'s RAM');
    if (d.kind === 'rng' && !source) throw new Error('dom0 serves virtio-rng only with an entropy source');
    // A NIC's port is also raised by dom0's network thread when the switch has frames for it.
    const nic = d.kind === 'net' ? nicBackend(d.mac, d.net) : null;
    // The console's and the balloon's relays wake the machine's thread on the done port when their rings fill.
    const wake = () => channels.notify(d.done);
    // The console's port is also raised by the machine's thread when the host typed into it.
    const console = d.kind === 'console' ? consoleBackend(d.ports, d.input, d.output, wake) : null;
    const device =
      d.kind === 'blk' ? new VirtioBlk(backends[d.disk], { serial: d.serial })
      : d.kind === 'rng' ? new VirtioRng(source!)
      : d.kind === 'balloon' ? balloonBackend(d.pooled, d.relay, wake)
      : d.kind === 'console' ? console!.device
      : nic!.device;
    const service = new QueueService(new QueueLink(d.link), device, init.ram);
    byRequestPort.set(d.port, () => {
      service.service();
      if (nic) service.deliver(nic.takeFrames);
      console?.serveInput((work) => service.deliver(work));
      channels.notify(d.done);
    });
  }
  if (entropy && source) {
    const ring = new BlockRing(entropy.ring);
    byRequestPort.set(entropy.request, () => {
      serveEntropy(source, ring);
      channels.notify(entropy.completion);
    });
  }
  const ports = [...byRequestPort.keys()];
  // The message port is only read between waits: a blocked Atomics.wait cannot see it, so waits are bounded.
  const loop = () => {
    for (let n = 0; n < 1000 && !stopping; n++) {
      const ready = channels.wait(ports, IDLE_WAIT_MS);
      if (ready.length === 0) break;
      for (const port of ready) byRequestPort.get(port)!();
    }
    if (stopping) {
      for (const b of backends) b.close();
      process.exit(0);
    }
    setImmediate(loop);
  };
  if (ports.length > 0) loop();
}

start();
