/**
 * What becomes of the pages a balloon driver gives and takes back: the
 * hypervisor's half of the balloon, which owns the domain's frames.
 * VirtioBalloon (the device model: queues, PFN arrays, the grant check)
 * calls a BalloonPages for each PFN; BalloonFrames is the one that acts, in
 * the machine's thread (directly, or for the device in dom0's thread the
 * PFNs dom0 relays: core/dom0/worker/balloonRelay.ts).
 *
 *  - With a pool (`frames`: the domain's p2m over the machine's pool, under
 *    the hypervisor) a given page's frame is unmapped from the p2m and freed
 *    to the pool, where any domain can allocate it; a page taken back gets a
 *    fresh zeroed frame from the pool at the same guest-physical address.
 *  - Without (the bare PC: guest RAM is one fixed buffer) the device zeroes a
 *    given page and the host holds it: no host memory is freed.
 * A page given twice (under a pool: no longer a RAM frame), or taken back
 * while the host does not hold it, is refused. A take-back the pool cannot
 * back (every frame taken) is refused too and the page stays a hole; it is
 * backed again on the next try or at reset.
 */
import type { GuestFrames } from '../../dom0/grantCheck.ts';

export interface BalloonPages {
  /** Pages go back to a pool (the device does not zero them). */
  readonly pooled: boolean;
  /** The guest gave page `pfn` (the device checked it is the domain's RAM); false when it is refused. */
  give(pfn: number): boolean;
  /** The guest takes page `pfn` back; false when it is refused. */
  take(pfn: number): boolean;
  /** The driver was reset: every page is the guest's again. */
  reset(): void;
}

export class BalloonFrames implements BalloonPages {
  readonly pooled: boolean;
  /** Pages currently given to the host (by PFN). */
  private readonly reclaimed = new Set<number>();
  /** Take-backs the pool could not back (the page stays a hole until a retry or a reset). */
  restoreFailures = 0;

  constructor(private readonly frames: GuestFrames | null) {
    this.pooled = frames !== null;
  }

  get reclaimedPages(): number {
    return this.reclaimed.size;
  }

  /** Free frames of the machine's pool now (null on the bare PC, which has no pool). */
  get poolFreeFrames(): number | null {
    return this.frames ? this.frames.poolFreeFrames() : null;
  }

  give(pfn: number): boolean {
    if (this.frames && !this.frames.release(pfn)) return false;
    this.reclaimed.add(pfn);
    return true;
  }

  take(pfn: number): boolean {
    if (!this.reclaimed.has(pfn)) return false;
    if (this.frames && !this.frames.restore(pfn)) {
      this.restoreFailures++;
      return false;
    }
    this.reclaimed.delete(pfn);
    return true;
  }

  reset(): void {
    if (!this.frames) {
      this.reclaimed.clear();
      return;
    }
    for (const pfn of this.reclaimed) {
      if (this.frames.restore(pfn)) this.reclaimed.delete(pfn);
      else this.restoreFailures++;
    }
  }
}
