/**
 * virtio-balloon (virtio 1.2, 5.5): the host sets a target (num_pages, in
 * 4 KiB pages) in the configuration space and signals a configuration
 * change; the guest's driver inflates (gives pages, as arrays of 32-bit
 * page frame numbers on the inflate queue) or deflates (takes them back on
 * the deflate queue) and reports its balloon size in `actual`.
 *
 * Offered: VIRTIO_BALLOON_F_MUST_TELL_HOST, so deflates are announced too.
 * Every PFN is checked against guest RAM (the grant check) before the
 * device passes it on; what happens to the page is its BalloonPages'
 * (virtioBalloonPages.ts: frames back to the machine's pool under the
 * hypervisor, zeroed and held on the bare PC). A PFN that is not guest RAM,
 * and a page its BalloonPages refuses, are counted as errors and ignored.
 * A device reset (the driver forgot its balloon) gives every page back.
 *
 * The configuration (target, actual) is the transport's, in the machine's
 * thread; the queues may be served in dom0's thread by a second instance
 * whose BalloonPages relays the PFNs to the machine's
 * (core/dom0/worker/balloonRelay.ts).
 */
import type { GuestFrames } from '../../dom0/grantCheck.ts';
import { BalloonFrames, type BalloonPages } from './virtioBalloonPages.ts';
import { GuestMemoryError } from './guestMemory.ts';
import { DEVICE_ID_BALLOON } from './virtioConstants.ts';
import { serveQueue, type VirtioDeviceContext, type VirtioDeviceType } from './virtioDevice.ts';

export const VIRTIO_BALLOON_F_MUST_TELL_HOST = 1n << 0n;
const INFLATEQ = 0;
const DEFLATEQ = 1;
const PAGE = 4096;
const CONFIG_SIZE = 8; // num_pages u32, actual u32

export class VirtioBalloon implements VirtioDeviceType {
  readonly name = 'balloon';
  readonly deviceId = DEVICE_ID_BALLOON;
  readonly pciClass = 0x00ff00;
  readonly features = VIRTIO_BALLOON_F_MUST_TELL_HOST;
  readonly queueSizes = [128, 128];
  readonly configSize = CONFIG_SIZE;
  /** Host's target balloon size in pages. */
  targetPages = 0;
  /** What the guest reports (config `actual`). */
  actualPages = 0;
  private ctx: VirtioDeviceContext | null = null;
  /** What becomes of the pages given and taken back. */
  readonly pages: BalloonPages;

  /**
   * @param frames the domain's frames over the machine's pool (under the hypervisor); none on the bare PC
   * @param pages what acts on the pages: by default BalloonFrames over `frames`
   */
  constructor(frames?: GuestFrames, pages: BalloonPages = new BalloonFrames(frames ?? null)) {
    this.pages = pages;
  }

  /** Free frames of the machine's pool now (null on the bare PC, which has no pool, or where the pages are not acted on here). */
  get poolFreeFrames(): number | null {
    return this.pages instanceof BalloonFrames ? this.pages.poolFreeFrames : null;
  }

  /** Pages the host holds now (0 where the pages are not acted on here). */
  get reclaimedPages(): number {
    return this.pages instanceof BalloonFrames ? this.pages.reclaimedPages : 0;
  }

  /** Deflates the pool could not back (the page stays a hole until a retry or a reset). */
  get restoreFailures(): number {
    return this.pages instanceof BalloonFrames ? this.pages.restoreFailures : 0;
  }

  /** Sets the target and tells the driver (a configuration change notification). */
  setTarget(pages: number, context = this.ctx): void {
    if (!Number.isInteger(pages) || pages < 0 || pages > 0xffff_ffff) throw new RangeError(`bad balloon target ${pages}`);
    this.targetPages = pages;
    context?.configChanged();
  }

  readConfig(offset: number, size: 1 | 2 | 4): number {
    const c = new DataView(new ArrayBuffer(CONFIG_SIZE));
    c.setUint32(0, this.targetPages, true);
    c.setUint32(4, this.actualPages, true);
    if (offset + size > CONFIG_SIZE) return 0;
    return size === 1 ? c.getUint8(offset) : size === 2 ? c.getUint16(offset, true) : c.getUint32(offset, true);
  }

  writeConfig(offset: number, size: 1 | 2 | 4, value: number): void {
    if (offset === 4 && size === 4) this.actualPages = value >>> 0;
  }

  activate(context: VirtioDeviceContext): void {
    this.ctx = context;
    // A target set before the driver was ready is announced now.
    if (this.targetPages !== 0) context.configChanged();
  }

  reset(): void {
    this.ctx = null;
    this.actualPages = 0;
    // A reset driver has forgotten its balloon: the pages are the guest's again.
    this.pages.reset();
  }

  queueNotified(index: number): void {
    const ctx = this.ctx;
    if (!ctx || (index !== INFLATEQ && index !== DEFLATEQ)) return;
    serveQueue(ctx, index, (chain) => {
      ctx.counters.requests++;
      for (const d of chain) {
        if (d.writable || d.length % 4 !== 0) {
          ctx.counters.errors++;
          continue;
        }
        let pfns: Uint8Array;
        try {
          pfns = ctx.mem.view(d.address, d.length, false).slice();
        } catch (e) {
          if (!(e instanceof GuestMemoryError)) throw e;
          ctx.counters.errors++;
          continue;
        }
        const view = new DataView(pfns.buffer);
        for (let at = 0; at < pfns.length; at += 4) this.page(ctx, view.getUint32(at, true), index === INFLATEQ);
      }
      return 0;
    });
  }

  private page(ctx: VirtioDeviceContext, pfn: number, inflate: boolean): void {
    if (!inflate) {
      if (!this.pages.take(pfn)) ctx.counters.errors++;
      return;
    }
    const address = pfn * PAGE;
    try {
      // The grant check: the whole page must be the domain's RAM (not MMIO, ROM, or a page already given to a pool).
      const page = ctx.mem.view(address, PAGE, true);
      if (!this.pages.pooled) {
        page.fill(0);
        ctx.mem.written(address, PAGE);
      }
    } catch (e) {
      if (!(e instanceof GuestMemoryError)) throw e;
      ctx.counters.errors++;
      return;
    }
    if (!this.pages.give(pfn)) ctx.counters.errors++;
  }
}
