/**
 * virtio-rng, the entropy device (virtio 1.2, 5.4): one request queue of
 * device-writable buffers that the device fills with random bytes from the
 * host (`fill`, node:crypto's randomFillSync on the board). No
 * configuration space, no device features.
 *
 * A chain with a device-readable buffer is malformed for this device (the
 * driver MUST NOT place them, 5.4.6.1): it completes with 0 bytes and is
 * counted as an error; a buffer that is not guest RAM also completes with
 * 0 bytes (the driver sees an empty read).
 */
import type { Descriptor } from './descriptorChain.ts';
import { GuestMemoryError } from './guestMemory.ts';
import { DEVICE_ID_ENTROPY } from './virtioConstants.ts';
import { serveQueue, type VirtioDeviceContext, type VirtioDeviceType } from './virtioDevice.ts';

/** Bytes handed out per request at most (Linux asks for 64 at a time; a guest cannot make the host fill megabytes per kick). */
const MAX_REQUEST_BYTES = 4096;

export class VirtioRng implements VirtioDeviceType {
  readonly name = 'rng';
  readonly deviceId = DEVICE_ID_ENTROPY;
  readonly pciClass = 0x00ff00;
  readonly features = 0n;
  readonly queueSizes = [64];
  readonly configSize = 0;
  private readonly fill: (dest: Uint8Array) => void;
  private ctx: VirtioDeviceContext | null = null;

  constructor(fill: (dest: Uint8Array) => void) {
    this.fill = fill;
  }

  readConfig(): number {
    return 0;
  }

  writeConfig(): void {}

  activate(context: VirtioDeviceContext): void {
    this.ctx = context;
  }

  reset(): void {
    this.ctx = null;
  }

  queueNotified(index: number): void {
    const ctx = this.ctx;
    if (!ctx || index !== 0) return;
    serveQueue(ctx, 0, (chain) => {
      ctx.counters.requests++;
      const { readable, writable } = chain.collect();
      return readable.length ? this.refuse(ctx) : this.fillBuffers(ctx, writable);
    });
  }

  private refuse(ctx: VirtioDeviceContext): number {
    ctx.counters.errors++;
    return 0;
  }

  private fillBuffers(ctx: VirtioDeviceContext, writable: Descriptor[]): number {
    let total = 0;
    try {
      for (const d of writable) {
        const n = Math.min(d.length, MAX_REQUEST_BYTES - total);
        if (n <= 0) break;
        this.fill(ctx.mem.view(d.address, n, true));
        ctx.mem.written(d.address, n);
        total += n;
      }
    } catch (e) {
      if (!(e instanceof GuestMemoryError)) throw e;
      return this.refuse(ctx);
    }
    ctx.counters.bytesRead += total;
    return total;
  }
}
