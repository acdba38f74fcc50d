/**
 * virtio-console (virtio 1.2, 5.3) with `ports` console ports. Each port has
 * a receiveq carrying host -> guest bytes in device-writable buffers the
 * driver posts ahead and a transmitq carrying guest -> host bytes in
 * device-readable buffers.
 *
 * VIRTIO_CONSOLE_F_MULTIPORT is always offered, as QEMU's virtio-serial
 * does: with it the driver says DEVICE_READY on the control transmitq, the
 * device announces every port (PORT_ADD), and for each port the driver
 * reports ready the device makes it a console port (CONSOLE_PORT) and says
 * its host end is open (PORT_OPEN). Linux gives console ports hvc numbers in
 * the order it learns of them, so port n is /dev/hvcn, as a QEMU virtconsole
 * is. Ports are not named (PORT_NAME): a name only serves Linux's
 * /dev/virtio-ports/NAME links for generic ports, and the hvc number already
 * says which port a console is. A driver without MULTIPORT sees port 0 only.
 *
 * Host input waits per port in a bounded buffer until the driver has posted
 * receive buffers; output goes to `onOutput` as it is transmitted. A buffer
 * that is not guest RAM completes with 0 bytes and is counted, as is a
 * control message the device cannot act on (unknown event, no such port).
 */
import { GuestMemoryError } from './guestMemory.ts';
import { DEVICE_ID_CONSOLE } from './virtioConstants.ts';
import { serveQueue, type VirtioDeviceContext, type VirtioDeviceType } from './virtioDevice.ts';
import type { DescriptorChain } from './descriptorChain.ts';
import {
  CONSOLE_CONSOLE_PORT,
  CONSOLE_DEVICE_ADD,
  CONSOLE_DEVICE_READY,
  CONSOLE_PORT_OPEN,
  CONSOLE_PORT_READY,
  CONTROL_RECEIVEQ,
  CONTROL_TRANSMITQ,
  decodeControl,
  encodeControl,
  portReceiveQueue,
  VIRTIO_CONSOLE_F_MULTIPORT,
} from './virtioConsoleControl.ts';

/** Host input kept per port while the guest posts no receive buffers (older bytes are dropped past this). */
const INPUT_LIMIT = 64 * 1024;
/** Longest control message read from the driver (a header; the driver sends no names). */
const CONTROL_READ_LIMIT = 4096;
const CONFIG_SIZE = 12; // cols u16, rows u16, max_nr_ports u32, emerg_wr u32
/** Linux's hvc layer has 16 console slots (MAX_NR_HVC_CONSOLES). */
export const MAX_CONSOLE_PORTS = 16;

interface PortState {
  /** Host input not yet delivered. */
  input: number[];
  /** The driver reported the port ready (PORT_READY 1). */
  ready: boolean;
  /** The guest has the port open (its PORT_OPEN), as the driver last said. */
  guestOpen: boolean;
}

export class VirtioConsole implements VirtioDeviceType {
  readonly name = 'console';
  readonly deviceId = DEVICE_ID_CONSOLE;
  readonly pciClass = 0x078000; // simple communication controller, other
  readonly features = VIRTIO_CONSOLE_F_MULTIPORT;
  readonly queueSizes: readonly number[];
  readonly configSize = CONFIG_SIZE;
  private readonly onOutput: (port: number, bytes: Uint8Array) => void;
  private readonly ports: PortState[];
  /** Control messages waiting for control receiveq buffers. */
  private control: Uint8Array[] = [];
  private ctx: VirtioDeviceContext | null = null;

  constructor(ports: number, onOutput: (port: number, bytes: Uint8Array) => void) {
    if (!Number.isInteger(ports) || ports < 1 || ports > MAX_CONSOLE_PORTS) throw new RangeError(`virtio-console: 1 to ${MAX_CONSOLE_PORTS} ports, got ${ports}`);
    this.onOutput = onOutput;
    this.ports = Array.from({ length: ports }, () => ({ input: [], ready: false, guestOpen: false }));
    // Port 0's pair, the control pair, then one pair per further port.
    this.queueSizes = new Array<number>(2 * (ports + 1)).fill(64);
  }

  get portCount(): number {
    return this.ports.length;
  }

  /** Whether the driver reported port `port` ready (always false without MULTIPORT). */
  portReady(port: number): boolean {
    return this.ports[port]?.ready ?? false;
  }

  /** Whether the guest has port `port` open, as its last PORT_OPEN said. */
  guestOpen(port: number): boolean {
    return this.ports[port]?.guestOpen ?? false;
  }

  readConfig(offset: number, size: 1 | 2 | 4): number {
    // cols/rows are 0 without VIRTIO_CONSOLE_F_SIZE.
    const config = new DataView(new ArrayBuffer(CONFIG_SIZE));
    config.setUint32(4, this.ports.length, true);
    if (offset + size > CONFIG_SIZE) return 0;
    return size === 1 ? config.getUint8(offset) : size === 2 ? config.getUint16(offset, true) : config.getUint32(offset, true);
  }

  writeConfig(): void {
    // emerg_wr needs VIRTIO_CONSOLE_F_EMERG_WRITE, which is not offered.
  }

  activate(context: VirtioDeviceContext): void {
    this.ctx = context;
    for (let port = 0; port < this.usablePorts(); port++) this.deliverInput(port);
  }

  reset(): void {
    this.ctx = null;
    this.control = [];
    for (const p of this.ports) {
      p.ready = false;
      p.guestOpen = false;
    }
  }

  /** Bytes typed into port `port` from the host side (ignored for a port the device does not have). */
  hostInput(bytes: Uint8Array, port = 0): void {
    const state = this.ports[port];
    if (!state) return;
    for (const b of bytes) state.input.push(b);
    if (state.input.length > INPUT_LIMIT) state.input = state.input.slice(state.input.length - INPUT_LIMIT);
    // Host-initiated, so not under the transport's kick handling: report ring errors through the context.
    try {
      this.deliverInput(port);
    } catch (e) {
      if (this.ctx) this.ctx.deviceError(e);
      else throw e;
    }
  }

  queueNotified(index: number): void {
    if (index === CONTROL_RECEIVEQ || index === CONTROL_TRANSMITQ) {
      if (!this.multiport) return;
      if (index === CONTROL_RECEIVEQ) this.deliverControl();
      else this.receiveControl();
      return;
    }
    const port = index < 2 ? 0 : (index >> 1) - 1;
    if (port >= this.usablePorts()) return;
    if ((index & 1) === 0) this.deliverInput(port);
    else this.transmit(port, index);
  }

  private get multiport(): boolean {
    return this.ctx !== null && (this.ctx.features & VIRTIO_CONSOLE_F_MULTIPORT) !== 0n;
  }

  /** Ports the negotiated features give the driver: all with MULTIPORT, else port 0. */
  private usablePorts(): number {
    return this.multiport ? this.ports.length : 1;
  }

  private transmit(port: number, index: number): void {
    const ctx = this.ctx;
    if (!ctx) return;
    serveQueue(ctx, index, (chain) => {
      ctx.counters.requests++;
      try {
        for (const d of chain) {
          if (d.writable) continue;
          const bytes = ctx.mem.view(d.address, d.length, false).slice();
          ctx.counters.bytesWritten += bytes.length;
          this.onOutput(port, bytes);
        }
      } catch (e) {
        if (!(e instanceof GuestMemoryError)) throw e;
        ctx.counters.errors++;
      }
      return 0;
    });
  }

  private deliverInput(port: number): void {
    const ctx = this.ctx;
    const state = this.ports[port];
    const index = portReceiveQueue(port);
    if (!ctx || state.input.length === 0 || port >= this.usablePorts() || !ctx.queues[index].ready) return;
    serveQueue(ctx, index, (chain) => {
      const n = this.fill(ctx, chain, state.input, state.input.length);
      state.input.splice(0, n);
      ctx.counters.bytesRead += n;
      return n;
    }, () => state.input.length > 0);
  }

  /** Writes up to `limit` bytes of `source` into the chain's writable buffers; returns how many (0 after a buffer outside RAM, counted). */
  private fill(ctx: VirtioDeviceContext, chain: DescriptorChain, source: ArrayLike<number>, limit: number): number {
    let total = 0;
    try {
      for (const d of chain) {
        if (!d.writable || total === limit) continue;
        const n = Math.min(d.length, limit - total);
        const view = ctx.mem.view(d.address, n, true);
        for (let i = 0; i < n; i++) view[i] = source[total + i];
        ctx.mem.written(d.address, n);
        total += n;
      }
    } catch (e) {
      if (!(e instanceof GuestMemoryError)) throw e;
      ctx.counters.errors++;
    }
    return total;
  }

  /** Queues control message(s) for the driver and delivers what its posted buffers take. */
  private sendControl(...messages: Uint8Array[]): void {
    this.control.push(...messages);
    this.deliverControl();
  }

  private deliverControl(): void {
    const ctx = this.ctx;
    if (!ctx || this.control.length === 0 || !ctx.queues[CONTROL_RECEIVEQ].ready) return;
    serveQueue(ctx, CONTROL_RECEIVEQ, (chain) => {
      // One message per buffer (Linux parses each used buffer as one message); a buffer too small for it loses it, counted.
      const message = this.control.shift()!;
      const n = this.fill(ctx, chain, message, message.length);
      if (n < message.length) {
        ctx.counters.errors++;
        return 0;
      }
      return n;
    }, () => this.control.length > 0);
  }

  private receiveControl(): void {
    const ctx = this.ctx;
    if (!ctx) return;
    serveQueue(ctx, CONTROL_TRANSMITQ, (chain) => {
      ctx.counters.requests++;
      let bytes: Uint8Array;
      try {
        bytes = this.gather(ctx, chain);
      } catch (e) {
        if (!(e instanceof GuestMemoryError)) throw e;
        ctx.counters.errors++;
        return 0;
      }
      const message = decodeControl(bytes);
      if (!message || !this.handleControl(message.id, message.event, message.value)) ctx.counters.errors++;
      return 0;
    });
  }

  /** The chain's device-readable bytes, at most CONTROL_READ_LIMIT. */
  private gather(ctx: VirtioDeviceContext, chain: DescriptorChain): Uint8Array {
    const parts: Uint8Array[] = [];
    let total = 0;
    for (const d of chain) {
      if (d.writable || total === CONTROL_READ_LIMIT) continue;
      const n = Math.min(d.length, CONTROL_READ_LIMIT - total);
      parts.push(ctx.mem.view(d.address, n, false).slice());
      total += n;
    }
    const out = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  /** Acts on one message from the driver; false when it names no port of this device or an event a driver does not send. */
  private handleControl(id: number, event: number, value: number): boolean {
    if (event === CONSOLE_DEVICE_READY) {
      // value 0: the driver failed to set up; it then expects nothing more. DEVICE_ADD's value is unused.
      if (value === 1) this.sendControl(...this.ports.map((_, port) => encodeControl(port, CONSOLE_DEVICE_ADD, 0)));
      return true;
    }
    const state = this.ports[id];
    if (!state) return false;
    if (event === CONSOLE_PORT_READY) {
      // value 0: the driver could not add the port.
      state.ready = value === 1;
      if (state.ready) this.sendControl(encodeControl(id, CONSOLE_CONSOLE_PORT, 1), encodeControl(id, CONSOLE_PORT_OPEN, 1));
      return true;
    }
    if (event === CONSOLE_PORT_OPEN) {
      state.guestOpen = value === 1;
      return true;
    }
    return false;
  }
}
