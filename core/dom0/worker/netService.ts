/**
 * The internal networks' switches in dom0's network thread, seen from a
 * machine's thread (the default; MachineOptions.dom0Thread false keeps the
 * switch and the NICs in the machine's thread).
 *
 * Design: one dom0 network thread per process (per thread that runs
 * machines: `popek run`, a host machine worker, a test), started on first
 * use and ended when its last link goes, holds every internal network's
 * switch for all machines of that process, as a Xen network driver domain
 * serves every guest's netfront. Machines therefore share a network as they
 * did with the switch in their own thread, while each machine's dom0
 * (core/dom0/worker/dom0.ts, its disks and entropy) stays its own. Frames
 * that leave the process go through the machine's uplink as before: the
 * uplink is a link of the switch like a NIC, whose frames the machine hands
 * to MachineHooks.onNetworkFrame (core/host/networkHub.ts, hostNetwork.ts).
 *
 * A link is two FrameRings and two event-channel ports:
 * - transmit: the sender pushes a frame on the link's tx ring and raises
 *   the link's port in the service's channels; the network thread waits on
 *   them (all in one pending word, so a process has at most MAX_LINKS links);
 * - receive: the network thread pushes the switch's frame on the rx ring
 *   and raises the link's receive port.
 * A NIC's sender and receiver is the machine's dom0 thread, which serves the
 * virtio-net device's virtqueues (reserveBackend; core/dom0/worker/netBackend.ts):
 * its receive port is the device's port in dom0's channels. An uplink's, and
 * a NIC's when dom0 cannot reach the domain's RAM, is the machine's thread
 * (attach): its receive ports are in the machine's own channels (NetFrontend),
 * which the run loop polls at each device check (NetFrontend.poll: one
 * Atomics.load when nothing arrived).
 */
import { Worker } from 'node:worker_threads';
import { EventChannels } from '../eventChannel.ts';
import { FrameRing } from './netRing.ts';
import { threadWakeBuffer } from './threadWake.ts';
import type { NetAttach, NetBackendLink, NetInit, NetMessage } from './netProtocol.ts';

/** Links (NICs and uplinks) of one process at most: their transmit ports and the control port share the first pending word. */
export const MAX_LINKS = 30;
const CONTROL_PORT = 1;
const ACK_PORT = 32;
/** How long a machine's thread waits for dom0's network thread to start or to attach a link before it calls the thread dead (ms). */
const ATTACH_TIMEOUT_MS = 60_000;
/** Links of one machine at most (its receive ports share its channels' first pending word). */
const MAX_MACHINE_LINKS = 31;

export class NetServiceError extends Error {
  override readonly name = 'NetServiceError';
}

/** dom0's network thread entry, as dom0ThreadUrl (core/dom0/worker/dom0.ts) finds dom0's. */
function netThreadUrl(): URL {
  return new URL(import.meta.url.endsWith('.ts') ? './netThread.bootstrap.mjs' : './netThread.mjs', import.meta.url);
}

/** The running network thread of this process and the transmit ports in use. */
class NetService {
  readonly channels = new EventChannels(64);
  private readonly worker: Worker;
  private readonly freePorts = Array.from({ length: MAX_LINKS }, (_, i) => CONTROL_PORT + 1 + i);
  private nextId = 1;
  private links = 0;
  /** Why the network thread ended early, if it did (frames then go nowhere). */
  failure: Error | null = null;

  constructor(url: URL) {
    const init: NetInit = { channels: this.channels.buffer, portCount: this.channels.portCount, controlPort: CONTROL_PORT, ackPort: ACK_PORT };
    this.worker = new Worker(url, { workerData: init, name: 'popek-dom0-net' });
    this.worker.unref();
    this.worker.on('error', (e) => {
      this.failure = e;
    });
  }

  /** Takes a transmit port (and an id) for a link that `connect` puts on its switch. */
  reserve(): { id: number; txPort: number } {
    if (this.failure) throw new NetServiceError(`dom0's network thread failed: ${this.failure.message}`);
    const txPort = this.freePorts.shift();
    if (txPort === undefined) throw new NetServiceError(`dom0's network thread serves at most ${MAX_LINKS} network links per process`);
    this.links++;
    return { id: this.nextId++, txPort };
  }

  /** Puts a reserved link on its switch; returns once dom0's network thread has (blocking, bounded, as dom0's start does). */
  connect(message: Omit<NetAttach, 'type'>): void {
    if (this.failure) throw new NetServiceError(`dom0's network thread failed: ${this.failure.message}`);
    this.post({ type: 'attach', ...message });
    if (this.channels.wait([ACK_PORT], ATTACH_TIMEOUT_MS).length === 0) {
      this.failure = new NetServiceError('it did not answer an attach');
      throw new NetServiceError(`dom0's network thread did not attach a link within ${ATTACH_TIMEOUT_MS / 1000} s`);
    }
  }

  /** Takes the link off its switch; true when it was the process's last (the thread has then been asked to end). */
  detach(id: number, txPort: number): boolean {
    this.post({ type: 'detach', id });
    this.freePorts.push(txPort);
    if (--this.links > 0) return false;
    this.post({ type: 'stop' });
    return true;
  }

  private post(message: NetMessage): void {
    this.worker.postMessage(message);
    this.channels.notify(CONTROL_PORT);
  }
}

let service: NetService | null = null;

function theService(): NetService {
  service ??= new NetService(netThreadUrl());
  return service;
}

/** One NIC's or uplink's end in the machine's thread. */
export interface NetLink {
  /** Sends a frame into the switch (dropped and counted when the transmit ring is full). */
  send(frame: Uint8Array): void;
  /** Frames dropped because the transmit ring was full. */
  readonly txDropped: number;
  /** Frames lost on the link either way: the transmit ring full here, the receive ring full in the network thread. */
  readonly dropped: number;
}

interface FrontLink extends NetLink {
  net: NetService;
  id: number;
  txPort: number;
  rxPort: number;
  tx: FrameRing;
  rx: FrameRing;
  deliver: (frame: Uint8Array) => void;
}

/**
 * A machine's links to dom0's network thread, and the receive poll of its
 * run loop (VirtioBoard.poll calls `poll` at every device check).
 */
export class NetFrontend {
  /** The machine's receive ports: dom0's network thread raises them, the run loop takes them. */
  private readonly channels = new EventChannels(32);
  private readonly links: FrontLink[] = [];
  private readonly byRxPort = new Map<number, FrontLink>();
  private closed = false;

  /** Connects a link to internal network `network`; the switch's frames for it reach `deliver` from the run loop. */
  attach(network: string, deliver: (frame: Uint8Array) => void): NetLink {
    if (this.closed) throw new NetServiceError('the machine\'s network links are closed');
    if (this.links.length >= MAX_MACHINE_LINKS) throw new NetServiceError(`a machine has at most ${MAX_MACHINE_LINKS} network links`);
    const net = theService();
    const tx = new FrameRing();
    const rx = new FrameRing();
    const rxPort = this.channels.reserve(`network ${network} receive`);
    const { id, txPort } = net.reserve();
    const link: FrontLink = {
      net,
      id,
      txPort,
      rxPort,
      tx,
      rx,
      deliver,
      send: (frame) => {
        if (this.closed) return;
        if (tx.push(frame)) net.channels.notify(txPort);
      },
      get txDropped() {
        return tx.dropped;
      },
      get dropped() {
        return tx.dropped + rx.dropped;
      },
    };
    // Recorded before the attach: a refused one still gives its port back at close.
    this.links.push(link);
    // The run loop takes this link's frames: the network thread also raises this thread's wake word (an idle driver's wait).
    net.connect({ id, network, txPort, tx: tx.buffer, rx: rx.buffer, rxChannels: this.channels.buffer, rxPortCount: this.channels.portCount, rxPort, wake: threadWakeBuffer });
    this.byRxPort.set(rxPort, link);
    return link;
  }

  /**
   * A link for a NIC whose virtio-net device dom0's thread serves: the rings
   * and the transmit port, for dom0 (Dom0DeviceKind 'net'), now; `connect`
   * puts it on the switch once dom0 has started, with the device's port in
   * dom0's channels as its receive port. What dom0 transmits before that
   * waits in the ring; the network thread takes it at the attach.
   */
  reserveBackend(network: string): { link: NetBackendLink; connect(rxChannels: SharedArrayBuffer, rxPortCount: number, rxPort: number): void } {
    if (this.closed) throw new NetServiceError('the machine\'s network links are closed');
    const net = theService();
    const tx = new FrameRing();
    const rx = new FrameRing();
    const { id, txPort } = net.reserve();
    this.links.push({ net, id, txPort, rxPort: 0, tx, rx, deliver: () => {}, send: () => {}, txDropped: 0, dropped: 0 });
    return {
      link: { tx: tx.buffer, rx: rx.buffer, netChannels: net.channels.buffer, netPortCount: net.channels.portCount, txPort },
      connect: (rxChannels, rxPortCount, rxPort) => net.connect({ id, network, txPort, tx: tx.buffer, rx: rx.buffer, rxChannels, rxPortCount, rxPort }),
    };
  }

  /** Whether this machine's thread takes frames of its own here (an uplink, a NIC whose model runs in it): an idle driver then waits for them. */
  get receivesHere(): boolean {
    return this.byRxPort.size > 0;
  }

  /** Whether a receive port is raised and not yet taken by `poll` (nothing is taken). */
  get raised(): boolean {
    return Atomics.load(this.channels.pending, 0) !== 0;
  }

  /** Hands the frames that arrived since the last check to their NICs. */
  poll(): void {
    const pending = this.channels.pending;
    const ready = Atomics.load(pending, 0);
    if (ready === 0) return;
    // Take the events before the frames: a frame pushed after this raises its port again.
    Atomics.and(pending, 0, ~ready);
    for (const [port, link] of this.byRxPort) {
      if ((ready & (1 << port)) === 0) continue;
      for (let frame = link.rx.shift(); frame; frame = link.rx.shift()) link.deliver(frame);
    }
  }

  /** Frames the network thread has delivered to this machine's links and their receiver (the run loop, or dom0 for a served NIC) has not yet taken. */
  get waiting(): number {
    let n = 0;
    for (const l of this.links) n += l.rx.length;
    return n;
  }

  /** Takes every link off its switch (the last link of the process ends dom0's network thread). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const link of this.links.splice(0)) {
      if (link.net.detach(link.id, link.txPort) && service === link.net) service = null;
    }
    this.byRxPort.clear();
  }

  // A NIC's frames in flight are not machine state: a reset or restore starts with the rings as they are.
  reset(): void {}
  saveState(): unknown {
    return null;
  }
  loadState(): void {}
}
