/**
 * dom0's worker thread: it holds the block backends (the image files are
 * opened here, not in the machine's thread) and virtio-rng's entropy source,
 * and serves each one's requests from its ring, woken by its request port
 * of the domain's event channels and answering on its completion port.
 *
 * First step of dom0 in its own thread: dom0 does not reach guest memory
 * here at all. The device model in the machine's thread still parses the
 * virtqueue and moves the bytes between the grant-checked guest buffers and
 * the ring's data area; what crosses is block I/O (offset, length, bytes).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openDisk, type BlockBackend } from '../block/blockBackend.ts';
import { EventChannels } from '../eventChannel.ts';
import { deterministicEntropy, hostEntropy, type EntropySource } from '../entropySource.ts';
import { BlockRing, OP_DISCARD, OP_ENTROPY, OP_FLUSH, OP_READ, OP_WRITE } from './blockRing.ts';
import type { Dom0Init, Dom0Ready } from './dom0Protocol.ts';

/** How long one wait blocks before dom0 looks for a stop message (ms). */
const IDLE_WAIT_MS = 200;

const init = workerData as Dom0Init;
const channels = new EventChannels(init.portCount, init.channels);
const backends: BlockBackend[] = [];
let stopping = false;

parentPort!.on('message', (m: { type: string }) => {
  if (m.type === 'stop') stopping = true;
});

function serve(backend: BlockBackend, ring: BlockRing): void {
  try {
    switch (ring.op) {
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
    for (const d of init.disks) backends.push(openDisk(d.path, { format: d.format, readOnly: d.readOnly }));
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
      serve(backends[i], rings[i]);
      channels.notify(d.completion);
    }]),
  );
  const entropy = init.entropy;
  if (entropy) {
    const source: EntropySource = entropy.kind === 'deterministic' ? deterministicEntropy() : hostEntropy();
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
