/**
 * virtio-net's backend in dom0's thread (core/dom0/worker/dom0Thread.ts): the
 * same VirtioNet device model as in the machine's thread, served by a
 * QueueService over the domain's shared RAM, with its port on the switch in
 * dom0's network thread (core/dom0/worker/netThread.ts) instead of a switch
 * in this thread. Xen's netback: it reads the guest's transmit buffers
 * through the grant check and copies the switch's frames into the guest's
 * receive buffers.
 *
 * Transmit: the guest's kick reaches the QueueService; VirtioNet gathers each
 * frame and sends it here, onto the link's transmit ring, with an event on
 * the link's port in the network thread's channels.
 * Receive: the network thread pushes the switch's frames on the link's
 * receive ring and raises the device's own port in dom0's channels; dom0's
 * loop then calls `takeFrames` (inside QueueService.deliver), which writes
 * each into the next receive chain the guest has kicked.
 */
import { VirtioNet } from '../../devices/virtio/virtioNet.ts';
import { EventChannels } from '../eventChannel.ts';
import { FrameRing } from './netRing.ts';
import type { NetBackendLink } from './netProtocol.ts';

export interface NicBackend {
  readonly device: VirtioNet;
  /** Hands the frames the switch has delivered since the last call to the device (its receive queue). */
  takeFrames(): void;
}

export function nicBackend(mac: readonly number[], link: NetBackendLink): NicBackend {
  const device = new VirtioNet(new Uint8Array(mac));
  const tx = new FrameRing(link.tx);
  const rx = new FrameRing(link.rx);
  const net = new EventChannels(link.netPortCount, link.netChannels);
  device.port = {
    send: (frame) => {
      if (tx.push(frame)) net.notify(link.txPort);
    },
    // Both rings' producers count in shared memory: this thread's transmits, the network thread's frames for the NIC.
    get dropped() {
      return tx.dropped + rx.dropped;
    },
  };
  return {
    device,
    takeFrames: () => {
      for (let frame = rx.shift(); frame; frame = rx.shift()) device.receive(frame);
    },
  };
}
