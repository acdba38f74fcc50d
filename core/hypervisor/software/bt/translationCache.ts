/**
 * The translation cache: a region of monitor-owned machine memory, mapped
 * at a linear address the guest cannot see, holding translated blocks back
 * to back (a bump allocator: VMware's TC was also filled linearly and
 * flushed whole when full). Indexes: blocks by the memory-buffer offset of
 * their first guest byte (the key the processor's own decoded-block cache
 * uses), blocks by guest physical frame (for invalidation), callout sites by
 * TC address, and every block ever built since the last flush by TC start
 * (so that a TC address, even in a block already invalidated, maps back to
 * its guest EIP).
 */
import type { CalloutSite, TranslatedBlock } from './translatedBlock.ts';

/** Where the TC lives: the monitor gives it. */
export interface TcRegion {
  /** Linear address where the processor sees it (supervisor-only, outside what the guest may use). */
  linear: number;
  /** Physical (machine) address of the first byte: the region is contiguous there, unless `frames` is given. */
  physical: number;
  size: number;
  /** The machine frames of the region, page by page (when they are not contiguous). */
  frames?: number[];
}

/** The machine address of TC byte `offset`. */
export function tcPhysical(region: TcRegion, offset: number): number {
  const f = region.frames;
  return f === undefined ? (region.physical + offset) >>> 0 : (f[offset >>> 12] * 4096 + (offset & 0xfff)) >>> 0;
}

export class TranslationCache {
  readonly region: TcRegion;
  /** Next free byte (offset in the region). */
  private top = 0;
  private readonly byKey = new Map<number, TranslatedBlock>();
  private readonly byFrame = new Map<number, TranslatedBlock[]>();
  private readonly sites = new Map<number, CalloutSite>();
  /** Every block since the last flush, in TC order (TC addresses only grow). */
  private readonly all: TranslatedBlock[] = [];

  constructor(region: TcRegion) {
    this.region = region;
  }

  /** TC linear address where the next block will start (int32: the TC may lie above 2 GiB), or null when `size` bytes no longer fit. */
  reserve(size: number): number | null {
    return this.top + size <= this.region.size ? (this.region.linear + this.top) | 0 : null;
  }

  add(block: TranslatedBlock): void {
    this.top += block.tcLength;
    this.byKey.set(block.key, block);
    for (const f of block.frames) {
      const list = this.byFrame.get(f);
      if (list === undefined) this.byFrame.set(f, [block]);
      else list.push(block);
    }
    for (const s of block.sites) this.sites.set(s.at, s);
    this.all.push(block);
  }

  lookup(key: number, guestEip: number, csBase: number): TranslatedBlock | null {
    const b = this.byKey.get(key);
    return b !== undefined && b.guestEip === guestEip && b.guestCsBase === csBase ? b : null;
  }

  siteAt(lin: number): CalloutSite | null {
    return this.sites.get(lin) ?? null;
  }

  /** The block (valid or not, since the last flush) whose TC bytes hold `lin`. */
  blockAt(lin: number): TranslatedBlock | null {
    const off = (lin - this.region.linear) >>> 0;
    if (off >= this.top) return null;
    const all = this.all;
    let lo = 0, hi = all.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (((all[mid].tcStart - this.region.linear) >>> 0) <= off) lo = mid;
      else hi = mid - 1;
    }
    const b = all[lo];
    return b !== undefined && off < ((b.tcStart - this.region.linear) >>> 0) + b.tcLength ? b : null;
  }

  /** Removes the blocks made from `frame` from the indexes (they stay in `all` for address mapping); returns them. */
  dropFrame(frame: number): TranslatedBlock[] {
    const list = this.byFrame.get(frame);
    if (list === undefined) return [];
    this.byFrame.delete(frame);
    const dropped: TranslatedBlock[] = [];
    for (const b of list) {
      if (!b.valid) continue;
      b.valid = false;
      dropped.push(b);
      if (this.byKey.get(b.key) === b) this.byKey.delete(b.key);
      for (const f of b.frames) {
        if (f === frame) continue;
        const other = this.byFrame.get(f);
        if (other !== undefined) this.byFrame.set(f, other.filter((x) => x !== b));
      }
    }
    return dropped;
  }

  hasFrame(frame: number): boolean {
    return this.byFrame.has(frame);
  }

  frames(): number[] {
    return [...this.byFrame.keys()];
  }

  /** Everything goes; TC addresses start over. */
  flush(): void {
    for (const b of this.all) b.valid = false;
    this.top = 0;
    this.byKey.clear();
    this.byFrame.clear();
    this.sites.clear();
    this.all.length = 0;
  }

  /** The valid blocks, oldest first (inspection). */
  validBlocks(): TranslatedBlock[] {
    return this.all.filter((b) => b.valid);
  }

  get used(): number {
    return this.top;
  }
}
