/**
 * virtio-net (virtio 1.2, 5.1), the minimal device: one receive queue and
 * one transmit queue, VIRTIO_NET_F_MAC (the configured address) and no
 * offloads, so every packet is a plain Ethernet frame behind the 12-byte
 * struct virtio_net_hdr (VERSION_1 always carries num_buffers).
 *
 * The model runs where its queues are served: in dom0's thread by default
 * (core/dom0/worker/netBackend.ts, its port a link to the switch in dom0's
 * network thread), in the machine's thread with MachineOptions.dom0Thread
 * false (its port on that thread's switch).
 *
 * Transmit: the device-readable buffers are the header and the frame; the
 * frame goes to the attached port (dom0's virtual switch). Receive: a frame
 * from the switch goes into the next posted receive chain (header with
 * num_buffers = 1, then the frame); with no chain posted, or one too small,
 * the frame is dropped and counted, as a real NIC drops on a full ring.
 * A buffer that is not guest RAM: the transmit is dropped, the receive
 * chain is returned empty; both counted as errors.
 */
import type { Descriptor } from './descriptorChain.ts';
import { GuestMemoryError } from './guestMemory.ts';
import { scatter, totalLength, gather } from './descriptorBuffers.ts';
import { DEVICE_ID_NET } from './virtioConstants.ts';
import { serveQueue, type VirtioDeviceContext, type VirtioDeviceType } from './virtioDevice.ts';

export const VIRTIO_NET_F_MAC = 1n << 5n;
const HEADER_BYTES = 12;
const RECEIVEQ = 0;
const TRANSMITQ = 1;
/** Largest frame taken from a transmit chain (no TSO: an Ethernet frame with a VLAN tag). */
const MAX_TX_FRAME = 1518;
const CONFIG_SIZE = 12; // mac[6], status u16, max_virtqueue_pairs u16, mtu u16

export interface NetPort {
  /** Sends a frame the guest transmitted. */
  send(frame: Uint8Array): void;
  /** Frames lost between the NIC and its switch (a ring between threads full, either way); absent when nothing can be. */
  readonly dropped?: number;
}

export class VirtioNet implements VirtioDeviceType {
  readonly name = 'net';
  readonly deviceId = DEVICE_ID_NET;
  readonly pciClass = 0x020000; // Ethernet controller
  readonly features = VIRTIO_NET_F_MAC;
  readonly queueSizes = [256, 256];
  readonly configSize = CONFIG_SIZE;
  readonly mac: Uint8Array;
  port: NetPort | null = null;
  /** Frames dropped because the guest had no receive buffer posted (or too small a one), or had not set the device up yet. */
  rxDropped = 0;
  private ctx: VirtioDeviceContext | null = null;

  constructor(mac: Uint8Array) {
    if (mac.length !== 6) throw new RangeError('a MAC address has 6 bytes');
    this.mac = mac.slice();
  }

  readConfig(offset: number, size: 1 | 2 | 4): number {
    const c = new DataView(new ArrayBuffer(CONFIG_SIZE));
    for (let i = 0; i < 6; i++) c.setUint8(i, this.mac[i]);
    c.setUint16(8, 1, true); // max_virtqueue_pairs (read only with MQ)
    if (offset + size > CONFIG_SIZE) return 0;
    return size === 1 ? c.getUint8(offset) : size === 2 ? c.getUint16(offset, true) : c.getUint32(offset, true);
  }

  writeConfig(): void {
    // The MAC is writable only through the control queue (VIRTIO_NET_F_CTRL_MAC_ADDR), not offered.
  }

  activate(context: VirtioDeviceContext): void {
    this.ctx = context;
  }

  /** Every frame this NIC lost: the receive drops and its port's (the app's and `--stats`' figure). */
  get dropped(): number {
    return this.rxDropped + (this.port?.dropped ?? 0);
  }

  reset(): void {
    this.ctx = null;
  }

  queueNotified(index: number): void {
    if (index === TRANSMITQ) this.transmit();
    // Receive buffers are taken when a frame arrives; a kick on the receive queue needs nothing.
  }

  private transmit(): void {
    const ctx = this.ctx;
    if (!ctx) return;
    serveQueue(ctx, TRANSMITQ, (chain) => {
      ctx.counters.requests++;
      const readable: Descriptor[] = [];
      for (const d of chain) if (!d.writable) readable.push(d);
      const length = totalLength(readable) - HEADER_BYTES;
      if (length < 14 || length > MAX_TX_FRAME) ctx.counters.errors++;
      else {
        try {
          const frame = gather(ctx.mem, readable, HEADER_BYTES + length).subarray(HEADER_BYTES);
          ctx.counters.bytesWritten += frame.length;
          this.port?.send(frame);
        } catch (e) {
          if (!(e instanceof GuestMemoryError)) throw e;
          ctx.counters.errors++;
        }
      }
      return 0;
    });
  }

  /** A frame from the switch for this NIC. */
  receive(frame: Uint8Array): void {
    const ctx = this.ctx;
    if (!ctx || !ctx.queues[RECEIVEQ].ready) {
      this.rxDropped++;
      return;
    }
    try {
      const queue = ctx.queues[RECEIVEQ];
      const chain = queue.pop(ctx.mem);
      if (!chain) {
        this.rxDropped++;
        return;
      }
      const writable: Descriptor[] = [];
      for (const d of chain) if (d.writable) writable.push(d);
      const packet = new Uint8Array(HEADER_BYTES + frame.length);
      packet[10] = 1; // num_buffers
      packet.set(frame, HEADER_BYTES);
      let written = 0;
      if (totalLength(writable) < packet.length) this.rxDropped++;
      else {
        try {
          written = scatter(ctx.mem, writable, packet);
          ctx.counters.bytesRead += frame.length;
        } catch (e) {
          if (!(e instanceof GuestMemoryError)) throw e;
          ctx.counters.errors++;
        }
      }
      queue.addUsed(ctx.mem, chain.head, written);
      ctx.usedBuffers(RECEIVEQ);
    } catch (e) {
      ctx.deviceError(e);
    }
  }
}

/** Parses "52:54:00:12:34:56" (six hex bytes, unicast). */
export function parseMac(text: string): Uint8Array {
  const parts = text.split(':');
  if (parts.length !== 6 || !parts.every((p) => /^[0-9a-fA-F]{2}$/.test(p))) throw new Error(`bad MAC address '${text}': expected six hex bytes like 52:54:00:12:34:56`);
  const mac = new Uint8Array(parts.map((p) => parseInt(p, 16)));
  if (mac[0] & 1) throw new Error(`bad MAC address '${text}': a multicast address cannot name a NIC`);
  return mac;
}
