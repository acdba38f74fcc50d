/**
 * dom0's worker thread: it holds the block backends (the image files are
 * opened here, not in the machine's thread) and virtio-rng's entropy source.
 *
 * The board's virtio-blk, virtio-rng, virtio-net, virtio-console and
 * virtio-balloon devices (init.devices) are served
 * here whole: their virtqueues are processed in this thread over the
 * domain's shared RAM, through the grant check against its shared map
 * (QueueService), woken by the device's port and answering on its done port.
 * That is the only way in: the machine's thread sends no block I/O or
 * entropy requests of its own (a disk's flush and discard counts go back
 * through its device's link, CMD_STATS).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openDisk, type BlockBackend } from '../block/blockBackend.ts';
import { EventChannels } from '../eventChannel.ts';
import { deterministicEntropy, hostEntropy, type EntropySource } from '../entropySource.ts';
import { VirtioBlk } from '../../devices/virtio/virtioBlk.ts';
import { VirtioRng } from '../../devices/virtio/virtioRng.ts';
import { QueueLink } from './queueLink.ts';
import { QueueService } from './queueService.ts';
import { raiseThreadWake } from './threadWake.ts';
import { nicBackend } from './netBackend.ts';
import { consoleBackend } from './consoleRelay.ts';
import { balloonBackend } from './balloonRelay.ts';
import type { DiskOperationCounts, Dom0Init, Dom0Ready } from './dom0Protocol.ts';

/** How long one wait blocks before dom0 looks for a stop message (ms). */
const IDLE_WAIT_MS = 200;

const init = workerData as Dom0Init;
const channels = new EventChannels(init.portCount, init.channels);
/** The machine's thread's wake word (threadWake.ts). */
const machineWake = new Int32Array(init.wake);
const backends: BlockBackend[] = [];
/** Per disk: what was done to its image, for the device's statistics. */
const counts: DiskOperationCounts[] = [];
let stopping = false;

/** A backend whose flushes and discards are counted for the device's statistics (CMD_STATS). */
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

/** Whether the wait loop runs (it ends dom0 at a stop; without devices the stop message does). */
let looping = false;

function end(): void {
  for (const b of backends) b.close();
  process.exit(0);
}

parentPort!.on('message', (m: { type: string }) => {
  if (m.type !== 'stop') return;
  stopping = true;
  if (!looping) end();
});

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
  // Each device's port: its command or kick (and the work that comes without one: a NIC's frames, the console's input).
  const byRequestPort = new Map<number, () => void>();
  const entropy = init.entropy;
  const source: EntropySource | null = entropy ? (entropy === 'deterministic' ? deterministicEntropy() : hostEntropy()) : null;
  for (const d of init.devices ?? []) {
    if (!init.ram) throw new Error('dom0 serves virtio devices only with the domain\'s RAM');
    if (d.kind === 'rng' && !source) throw new Error('dom0 serves virtio-rng only with an entropy source');
    // A NIC's port is also raised by dom0's network thread when the switch has frames for it.
    const nic = d.kind === 'net' ? nicBackend(d.mac, d.net) : null;
    // The done port, and the wake word of the machine's thread (a thread that runs several machines waits on it for any of their dom0s).
    const wake = () => {
      channels.notify(d.done);
      raiseThreadWake(machineWake);
    };
    // The console's port is also raised by the machine's thread when the host typed into it.
    const console = d.kind === 'console' ? consoleBackend(d.ports, d.input, d.output, wake) : null;
    const device =
      d.kind === 'blk' ? new VirtioBlk(backends[d.disk], { serial: d.serial })
      : d.kind === 'rng' ? new VirtioRng(source!)
      : d.kind === 'balloon' ? balloonBackend(d.pooled, d.relay, wake)
      : d.kind === 'console' ? console!.device
      : nic!.device;
    const service = new QueueService(new QueueLink(d.link), device, init.ram, d.kind === 'blk' ? () => counts[d.disk] : undefined);
    byRequestPort.set(d.port, () => {
      service.service();
      if (nic) service.deliver(nic.takeFrames);
      console?.serveInput((work) => service.deliver(work));
      wake();
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
    if (stopping) end();
    setImmediate(loop);
  };
  looping = ports.length > 0;
  if (looping) loop();
}

start();
