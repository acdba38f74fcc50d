/**
 * virtio-console (virtio 1.2, 5.3) with one port and no MULTIPORT: queue 0
 * (receiveq) carries host -> guest bytes in device-writable buffers the
 * driver posts ahead, queue 1 (transmitq) guest -> host bytes in
 * device-readable buffers. Linux binds it as /dev/hvc0.
 *
 * Host input waits in a bounded buffer until the driver has posted
 * receive buffers; output goes to `onOutput` as it is transmitted. A
 * buffer that is not guest RAM completes with 0 bytes and is counted.
 */
import { GuestMemoryError } from './guestMemory.ts';
import { DEVICE_ID_CONSOLE } from './virtioConstants.ts';
import { serveQueue, type VirtioDeviceContext, type VirtioDeviceType } from './virtioDevice.ts';

const RECEIVEQ = 0;
const TRANSMITQ = 1;
/** Host input kept while the guest posts no receive buffers (older bytes are dropped past this). */
const INPUT_LIMIT = 64 * 1024;
const CONFIG_SIZE = 12; // cols u16, rows u16, max_nr_ports u32, emerg_wr u32

export class VirtioConsole implements VirtioDeviceType {
  readonly name = 'console';
  readonly deviceId = DEVICE_ID_CONSOLE;
  readonly pciClass = 0x078000; // simple communication controller, other
  readonly features = 0n;
  readonly queueSizes = [64, 64];
  readonly configSize = CONFIG_SIZE;
  private readonly onOutput: (bytes: Uint8Array) => void;
  private input: number[] = [];
  private ctx: VirtioDeviceContext | null = null;

  constructor(onOutput: (bytes: Uint8Array) => void) {
    this.onOutput = onOutput;
  }

  readConfig(offset: number, size: 1 | 2 | 4): number {
    // cols/rows are 0 without VIRTIO_CONSOLE_F_SIZE; max_nr_ports = 1 (read only with MULTIPORT).
    const config = new DataView(new ArrayBuffer(CONFIG_SIZE));
    config.setUint32(4, 1, true);
    if (offset + size > CONFIG_SIZE) return 0;
    return size === 1 ? config.getUint8(offset) : size === 2 ? config.getUint16(offset, true) : config.getUint32(offset, true);
  }

  writeConfig(): void {
    // emerg_wr needs VIRTIO_CONSOLE_F_EMERG_WRITE, which is not offered.
  }

  activate(context: VirtioDeviceContext): void {
    this.ctx = context;
    this.deliverInput();
  }

  reset(): void {
    this.ctx = null;
  }

  /** Bytes typed into the console from the host side. */
  hostInput(bytes: Uint8Array): void {
    for (const b of bytes) this.input.push(b);
    if (this.input.length > INPUT_LIMIT) this.input = this.input.slice(this.input.length - INPUT_LIMIT);
    // Host-initiated, so not under the transport's kick handling: report ring errors through the context.
    try {
      this.deliverInput();
    } catch (e) {
      if (this.ctx) this.ctx.deviceError(e);
      else throw e;
    }
  }

  queueNotified(index: number): void {
    if (index === RECEIVEQ) this.deliverInput();
    else if (index === TRANSMITQ) this.transmit();
  }

  private transmit(): void {
    const ctx = this.ctx;
    if (!ctx) return;
    serveQueue(ctx, TRANSMITQ, (chain) => {
      ctx.counters.requests++;
      try {
        for (const d of chain) {
          if (d.writable) continue;
          const bytes = ctx.mem.view(d.address, d.length, false).slice();
          ctx.counters.bytesWritten += bytes.length;
          this.onOutput(bytes);
        }
      } catch (e) {
        if (!(e instanceof GuestMemoryError)) throw e;
        ctx.counters.errors++;
      }
      return 0;
    });
  }

  private deliverInput(): void {
    const ctx = this.ctx;
    if (!ctx || this.input.length === 0 || !ctx.queues[RECEIVEQ].ready) return;
    serveQueue(ctx, RECEIVEQ, (chain) => {
      let total = 0;
      try {
        for (const d of chain) {
          if (!d.writable || this.input.length === 0) continue;
          const n = Math.min(d.length, this.input.length);
          ctx.mem.view(d.address, n, true).set(this.input.slice(0, n));
          ctx.mem.written(d.address, n);
          this.input.splice(0, n);
          total += n;
        }
      } catch (e) {
        if (!(e instanceof GuestMemoryError)) throw e;
        ctx.counters.errors++;
      }
      ctx.counters.bytesRead += total;
      return total;
    }, () => this.input.length > 0);
  }
}
