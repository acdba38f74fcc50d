/**
 * The decoded-block cache (the translator's side of QEMU's cpu-exec and
 * translate-all): the block at CS:EIP is looked up by the physical location
 * of its first byte, decoded (decoder.ts) on a miss, and registered with
 * the RAM pages it was decoded from, so that a write to such a page
 * (reported by the bus for pages marked in `bus.codePages`) forgets every
 * block decoded from it. Instruction fetch translates through the TLB with
 * the plain privilege bit and refuses no-execute pages.
 *
 * The cache's maps live on the Cpu (Cpu.blocks, Cpu.pageBlocks); the
 * methods are installed on Cpu.prototype by cpu.ts (memoryAccess.ts says why).
 */
import type { Cpu } from './cpu.ts';
import { decodeBlock, type Block } from './decoder.ts';
import { CS } from './regs.ts';
import { FETCH_SUPERVISOR, FETCH_USER, TLB_NOEXEC, TLB_SUPERVISOR, TLB_USER } from './tlb.ts';

export const blockCache = {
  /** The block starting at CS:EIP, decoding it if needed. May throw a fetch fault. */
  fetchBlock(this: Cpu): Block {
    const lin = (this.segBase[CS] + this.eip) | 0;
    if (this.eip >>> 0 > this.segLimit[CS]) this.raiseGP(0);
    let e = this.tlbRead[lin >>> 12];
    // Instruction fetches are not alignment-checked: they use the plain user bit.
    const bit = this.cpl === 3 ? TLB_USER : TLB_SUPERVISOR;
    if ((e & (bit | TLB_NOEXEC)) !== bit) {
      this.translateFetch(lin);
      e = this.tlbRead[lin >>> 12];
      if ((e & bit) === 0) throw new Error(`executing from an MMIO region at linear 0x${(lin >>> 0).toString(16)} is not supported`);
    }
    // Links made to this block during the current epoch rely on this page's translation.
    const mark = this.cpl === 3 ? FETCH_USER : FETCH_SUPERVISOR;
    const page = lin >>> 12;
    if ((this.fetchMarks[page] & mark) === 0) {
      if (this.fetchMarks[page] === 0) this.fetchMarked.push(page);
      this.fetchMarks[page] |= mark;
    }
    const key = (e & ~0xfff) | (lin & 0xfff);
    const b = this.blocks.get(key);
    if (b !== undefined && b.eip === this.eip && b.csBase === this.segBase[CS] && b.cs32 === this.cs32) return b;
    return this.decodeAt(key, lin);
  },

  /** The decoder's check when an instruction continues on the next page: that page must be executable too. */
  checkFetch(this: Cpu, lin: number): void {
    const bit = this.cpl === 3 ? TLB_USER : TLB_SUPERVISOR;
    if ((this.tlbRead[lin >>> 12] & (bit | TLB_NOEXEC)) !== bit) this.translateFetch(lin);
  },

  /** A TLB miss on instruction fetch (EPT checks execute permission for it). */
  translateFetch(this: Cpu, lin: number): void {
    const outer = this.fetching; // the decoder's page-crossing check runs inside decodeAt's fetch
    this.fetching = true;
    try {
      this.translateSlow(lin, false, this.cpl === 3);
    } finally {
      this.fetching = outer;
    }
  },

  decodeAt(this: Cpu, key: number, lin: number): Block {
    let block: Block;
    this.fetching = true;
    try {
      block = decodeBlock(this, lin, this.eip);
    } finally {
      this.fetching = false;
    }
    block.key = key;
    this.blocks.set(key, block);
    const first = key >>> 12;
    this.registerCodePage(first, block);
    // Only the first instruction may straddle into a second page.
    const lastLin = (lin + block.insns[0].len - 1) | 0;
    if ((lastLin >>> 12) !== (lin >>> 12)) {
      const e2 = this.tlbRead[lastLin >>> 12];
      this.registerCodePage(e2 >>> 12, block);
    }
    return block;
  },

  registerCodePage(this: Cpu, bufferPage: number, block: Block): void {
    // Only RAM pages can change under the code; ROM pages need no watch.
    if (bufferPage << 12 >= this.bus.memory.ramSize) return;
    let list = this.pageBlocks.get(bufferPage);
    if (list === undefined) {
      list = [];
      this.pageBlocks.set(bufferPage, list);
    }
    list.push(block);
    if (this.bus.codePages[bufferPage] === 0) {
      this.bus.codePages[bufferPage] = 1;
      // Direct-write TLB entries may point at this page: drop them so writes take the watched path.
      this.flushTlbWrites();
    }
  },

  /** A write hit a page holding decoded code: forget every block decoded from it. */
  invalidateCodePage(this: Cpu, pfn: number): void {
    const list = this.pageBlocks.get(pfn);
    if (list !== undefined) {
      for (const b of list) {
        b.valid = false;
        b.leaveRegion();
        if (this.blocks.get(b.key) === b) this.blocks.delete(b.key);
      }
      this.pageBlocks.delete(pfn);
    }
    this.bus.codePages[pfn] = 0;
    this.exitBlock = true;
  },

  flushCodeCache(this: Cpu): void {
    this.jit.flush();
    this.blocks.clear();
    for (const pfn of this.pageBlocks.keys()) this.bus.codePages[pfn] = 0;
    this.pageBlocks.clear();
  },
};
