/**
 * dom0's network thread: the internal networks' virtual switches of every
 * machine of the process that started it (core/dom0/worker/netService.ts).
 * Each NIC (and each machine's uplink) is a link: a port on its network's
 * switch, a ring of the frames sent into it (woken by the link's transmit
 * port of the service's event channels) and a ring of the frames the switch
 * has for it (raised on the link's receive port: for a NIC, the virtio-net
 * device's port in its machine's dom0 channels, where dom0's thread writes
 * them into the guest's receive buffers; for an uplink, a port in the
 * machine's own channels, which its run loop polls).
 *
 * The switch is the same learning switch as in the machine's thread
 * (core/dom0/virtualSwitch.ts); here its registry is this thread's, so all
 * machines of the process that name one network share one switch.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { EventChannels } from '../eventChannel.ts';
import { internalNetwork, type VirtualSwitch } from '../virtualSwitch.ts';
import { FrameRing } from './netRing.ts';
import { raiseThreadWake } from './threadWake.ts';
import type { NetAttach, NetInit, NetMessage } from './netProtocol.ts';

/** How long one wait blocks before the thread looks for messages (ms): messages are also announced on the control port. */
const IDLE_WAIT_MS = 200;

interface Link {
  sw: VirtualSwitch;
  switchPort: number;
  tx: FrameRing;
}

const init = workerData as NetInit;
const channels = new EventChannels(init.portCount, init.channels);
const links = new Map<number, Link>(); // by id
const byTxPort = new Map<number, Link>();
const txPortOf = new Map<number, number>(); // id -> transmit port
/** Each machine's channels, by buffer: one view per machine, not one per link. */
const machineChannels = new Map<SharedArrayBuffer, EventChannels>();
let stopping = false;

/** Every port of the first pending word but the reserved port 0: the control port and any link's transmit port. */
const waitPorts = Array.from({ length: 31 }, (_, i) => i + 1);

function attach(m: NetAttach): void {
  let rxChannels = machineChannels.get(m.rxChannels);
  if (!rxChannels) {
    rxChannels = new EventChannels(m.rxPortCount, m.rxChannels);
    machineChannels.set(m.rxChannels, rxChannels);
  }
  const rx = new FrameRing(m.rx);
  const events = rxChannels;
  const sw = internalNetwork(m.network);
  const wake = m.wake ? new Int32Array(m.wake) : null;
  const switchPort = sw.attach((frame) => {
    if (!rx.push(frame)) return;
    events.notify(m.rxPort);
    if (wake) raiseThreadWake(wake);
  });
  const link: Link = { sw, switchPort, tx: new FrameRing(m.tx) };
  links.set(m.id, link);
  byTxPort.set(m.txPort, link);
  txPortOf.set(m.id, m.txPort);
}

function detach(id: number): void {
  const link = links.get(id);
  if (!link) return;
  link.sw.detach(link.switchPort);
  links.delete(id);
  byTxPort.delete(txPortOf.get(id)!);
  txPortOf.delete(id);
}

function drain(link: Link): void {
  for (let frame = link.tx.shift(); frame; frame = link.tx.shift()) link.sw.send(link.switchPort, frame);
}

parentPort!.on('message', (m: NetMessage) => {
  if (m.type === 'attach') {
    attach(m);
    // A link reserved before it was attached (a NIC dom0 serves) may hold frames sent meanwhile.
    drain(links.get(m.id)!);
    // The machine's thread waits for this: a frame it sends after attach() returned finds the link on the switch.
    channels.notify(init.ackPort);
  } else if (m.type === 'detach') detach(m.id);
  else stopping = true;
});

// The message port is only read between waits (a blocked Atomics.wait cannot see it): the
// control port ends the wait so a posted message is read at once, and waits are bounded.
const loop = (): void => {
  let control = false;
  for (let n = 0; n < 1000 && !stopping && !control; n++) {
    const ready = channels.wait(waitPorts, IDLE_WAIT_MS);
    if (ready.length === 0) break;
    for (const port of ready) {
      if (port === init.controlPort) control = true;
      else {
        const link = byTxPort.get(port);
        if (link) drain(link);
      }
    }
  }
  if (stopping) process.exit(0);
  setImmediate(loop);
};
loop();
