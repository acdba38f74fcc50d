/**
 * virtio-balloon (virtio 1.2, 5.5): the host sets a target (num_pages, in
 * 4 KiB pages) in the configuration space and signals a configuration
 * change; the guest's driver inflates (gives pages, as arrays of 32-bit
 * page frame numbers on the inflate queue) or deflates (takes them back on
 * the deflate queue) and reports its balloon size in `actual`.
 *
 * Offered: VIRTIO_BALLOON_F_MUST_TELL_HOST, so deflates are announced too.
 * Every PFN is checked against guest RAM (the grant check) before the
 * device accepts it. What happens to a page the guest gives up depends on
 * the domain's memory:
 *  - under the hypervisor (`frames`: the domain's p2m over the machine's
 *    pool) its frame is unmapped from the p2m (the EPT / nested tables and
 *    the processor's TLB follow) and freed to the pool, where any domain
 *    can allocate it; a deflated page gets a fresh zeroed frame from the
 *    pool, mapped at the same guest-physical address;
 *  - on the bare PC (acceleration 'none': no p2m, guest RAM is one fixed
 *    buffer) the page is zeroed and held: the guest cannot use it, but no
 *    host memory is freed.
 * A PFN that is not guest RAM (or a page already given), and a deflate of a
 * page the host does not hold, are counted as errors and ignored. A deflate
 * the pool cannot back (every frame taken) is counted as an error too and
 * the page stays a hole; it is backed again on the next try or at reset.
 * A device reset (the driver forgot its balloon) gives every page back.
 */
import type { GuestFrames } from '../../dom0/grantCheck.ts';
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
  /** Pages currently given to the host (by PFN). */
  private readonly reclaimed = new Set<number>();
  private ctx: VirtioDeviceContext | null = null;
  /** The domain's frames, when the pages go back to a pool (under the hypervisor). */
  private readonly frames: GuestFrames | null;
  /** Deflates the pool could not back (the page stays a hole until a retry or a reset). */
  restoreFailures = 0;

  constructor(frames?: GuestFrames) {
    this.frames = frames ?? null;
  }

  /** Free frames of the machine's pool now (null on the bare PC, which has no pool). */
  get poolFreeFrames(): number | null {
    return this.frames ? this.frames.poolFreeFrames() : null;
  }

  get reclaimedPages(): number {
    return this.reclaimed.size;
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
    if (this.frames) {
      for (const pfn of this.reclaimed) {
        if (this.frames.restore(pfn)) this.reclaimed.delete(pfn);
        else this.restoreFailures++;
      }
    } else {
      this.reclaimed.clear();
    }
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
    const address = pfn * PAGE;
    if (!inflate) {
      if (!this.reclaimed.has(pfn)) {
        ctx.counters.errors++;
        return;
      }
      if (this.frames && !this.frames.restore(pfn)) {
        this.restoreFailures++;
        ctx.counters.errors++;
        return;
      }
      this.reclaimed.delete(pfn);
      return;
    }
    try {
      // The grant check: the whole page must be the domain's RAM (not MMIO, ROM, or a page already given).
      const page = ctx.mem.view(address, PAGE, true);
      if (this.frames) {
        if (!this.frames.release(pfn)) throw new GuestMemoryError(`page 0x${address.toString(16)} is not a RAM frame of the domain`, address, PAGE);
      } else {
        page.fill(0);
        ctx.mem.written(address, PAGE);
      }
      this.reclaimed.add(pfn);
    } catch (e) {
      if (!(e instanceof GuestMemoryError)) throw e;
      ctx.counters.errors++;
    }
  }
}
