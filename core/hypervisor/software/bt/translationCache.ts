/**
 * The translation cache: a region of monitor-owned machine memory, mapped
 * at a linear address the guest cannot see, holding translated blocks back
 * to back. It is cut into TC_SECTIONS equal sections filled in turn by a
 * bump allocator; when the last one is full the oldest section is emptied
 * and filled again (a FIFO of sections), so a full cache loses an eighth of
 * its translations instead of all of them (VMware's TC was flushed whole; a
 * Debian boot filled 256 KiB 36 times, each time translating its hot code
 * again). Indexes: blocks by the memory-buffer offset of their first guest
 * byte (the key the processor's own decoded-block cache uses), blocks by
 * guest physical frame (for invalidation), callout sites by TC address, and
 * every block in each section, valid or not, by TC start (so that a TC
 * address, even in a block already invalidated, maps back to its guest EIP
 * until its section is reused).
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

/** How many sections the TC is cut into (each reused whole, oldest first, when the cache is full). */
export const TC_SECTIONS = 8;

export class TranslationCache {
  readonly region: TcRegion;
  private readonly sectionSize: number;
  /** The section being filled. */
  private current = 0;
  /** Next free byte (offset in the region), inside the current section. */
  private top = 0;
  private readonly byKey = new Map<number, TranslatedBlock>();
  private readonly byFrame = new Map<number, TranslatedBlock[]>();
  private readonly sites = new Map<number, CalloutSite>();
  /** Each section's blocks (valid or not) in TC order, and how many of its bytes they use. */
  private readonly sections: { blocks: TranslatedBlock[]; used: number }[] = [];

  constructor(region: TcRegion) {
    this.region = region;
    this.sectionSize = Math.floor(region.size / TC_SECTIONS);
    for (let k = 0; k < TC_SECTIONS; k++) this.sections.push({ blocks: [], used: 0 });
  }

  /** TC linear address where the next block will start (int32: the TC may lie above 2 GiB), or null when `size` bytes no longer fit in the current section. */
  reserve(size: number): number | null {
    return this.top + size <= (this.current + 1) * this.sectionSize ? (this.region.linear + this.top) | 0 : null;
  }

  /**
   * Moves allocation to the next section, emptying it first (when the cache
   * has gone round, it holds the oldest translations): its blocks leave every
   * index and are returned, marked invalid, for the translator to unlink the
   * jumps chained into them and poison their bytes.
   */
  nextSection(): TranslatedBlock[] {
    this.current = (this.current + 1) % TC_SECTIONS;
    this.top = this.current * this.sectionSize;
    const section = this.sections[this.current];
    const evicted = section.blocks;
    this.sections[this.current] = { blocks: [], used: 0 };
    for (const b of evicted) {
      for (const s of b.sites) if (this.sites.get(s.at) === s) this.sites.delete(s.at);
      if (!b.valid) continue; // invalidated earlier: already out of the key and frame indexes
      b.valid = false;
      this.unindex(b, -1);
    }
    return evicted;
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
    const section = this.sections[this.current];
    section.blocks.push(block);
    section.used = this.top - this.current * this.sectionSize;
  }

  lookup(key: number, guestEip: number, csBase: number): TranslatedBlock | null {
    const b = this.byKey.get(key);
    return b !== undefined && b.guestEip === guestEip && b.guestCsBase === csBase ? b : null;
  }

  siteAt(lin: number): CalloutSite | null {
    return this.sites.get(lin) ?? null;
  }

  /** The block (valid or not, until its section is reused) whose TC bytes hold `lin`. */
  blockAt(lin: number): TranslatedBlock | null {
    const off = (lin - this.region.linear) >>> 0;
    const index = Math.floor(off / this.sectionSize);
    if (index >= TC_SECTIONS) return null;
    const blocks = this.sections[index].blocks;
    let lo = 0, hi = blocks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (((blocks[mid].tcStart - this.region.linear) >>> 0) <= off) lo = mid;
      else hi = mid - 1;
    }
    const b = blocks[lo];
    return b !== undefined && ((b.tcStart - this.region.linear) >>> 0) <= off && off < ((b.tcStart - this.region.linear) >>> 0) + b.tcLength ? b : null;
  }

  /** Removes the blocks made from `frame` from the indexes (they stay in their section for address mapping); returns them. */
  dropFrame(frame: number): TranslatedBlock[] {
    const list = this.byFrame.get(frame);
    if (list === undefined) return [];
    this.byFrame.delete(frame);
    const dropped: TranslatedBlock[] = [];
    for (const b of list) {
      if (!b.valid) continue;
      b.valid = false;
      dropped.push(b);
      this.unindex(b, frame);
    }
    return dropped;
  }

  /** Takes block `b` out of the key index and the frame lists (but that of `skipFrame`, which the caller drops whole). */
  private unindex(b: TranslatedBlock, skipFrame: number): void {
    if (this.byKey.get(b.key) === b) this.byKey.delete(b.key);
    for (const f of b.frames) {
      if (f === skipFrame) continue;
      const other = this.byFrame.get(f);
      if (other === undefined) continue;
      const rest = other.filter((x) => x !== b);
      if (rest.length === 0) this.byFrame.delete(f);
      else this.byFrame.set(f, rest);
    }
  }

  hasFrame(frame: number): boolean {
    return this.byFrame.has(frame);
  }

  frames(): number[] {
    return [...this.byFrame.keys()];
  }

  /** Everything goes; TC addresses start over. */
  flush(): void {
    for (const section of this.sections) {
      for (const b of section.blocks) b.valid = false;
      section.blocks = [];
      section.used = 0;
    }
    this.current = 0;
    this.top = 0;
    this.byKey.clear();
    this.byFrame.clear();
    this.sites.clear();
  }

  /** The valid blocks, oldest first (inspection). */
  validBlocks(): TranslatedBlock[] {
    const out: TranslatedBlock[] = [];
    for (let k = 1; k <= TC_SECTIONS; k++) for (const b of this.sections[(this.current + k) % TC_SECTIONS].blocks) if (b.valid) out.push(b);
    return out;
  }

  /** Every block still in the cache's sections (valid or not), oldest first (inspection). */
  allBlocks(): TranslatedBlock[] {
    const out: TranslatedBlock[] = [];
    for (let k = 1; k <= TC_SECTIONS; k++) out.push(...this.sections[(this.current + k) % TC_SECTIONS].blocks);
    return out;
  }

  /** TC bytes the sections' blocks occupy. */
  get used(): number {
    return this.sections.reduce((n, s) => n + s.used, 0);
  }
}
