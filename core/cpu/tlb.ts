/**
 * The TLB: a direct-mapped cache of translations over all 2^20 linear pages
 * (Cpu.tlbRead, Cpu.tlbWrite), filled by the page walk on a miss
 * (translateSlow) and dropped by CR3/CR4 loads, INVLPG and A20 changes.
 * Its state lives on the Cpu, so the accessors (memoryAccess.ts) and the
 * compiled code (jit/) reach an entry with one load from the Cpu; the
 * methods below are installed on Cpu.prototype by cpu.ts (memoryAccess.ts
 * says why).
 *
 * The TLB also keeps the translation epochs of the block links (Cpu.linkStamp):
 * dropping or changing the translation of a linear page that code was fetched
 * from ends the epoch of the privilege class that fetched it (endEpochs).
 */
import type { Cpu } from './cpu.ts';
import { PAGE_IO, PAGE_ROM } from '../memory/bus.ts';
import { pagingWalk } from './paging.ts';
import { EFER_NXE, paeWalk } from './paePaging.ts';
import { AC, CR0_AM, CR0_PG, CR4_PAE, CR4_PGE } from './regs.ts';

/** TLB entry bits (the rest of an entry is the page's offset in the memory buffer). */
export const TLB_SUPERVISOR = 1;
export const TLB_USER = 2;
/**
 * A TLB bit no entry carries: while alignment checking (CR0.AM, EFLAGS.AC,
 * CPL 3) or a data breakpoint is active it is the current `tlbBit`, so every
 * data access misses the fast paths and the slow path checks alignment (#AC)
 * and breakpoints. Instruction fetch keeps using the plain privilege bit.
 */
export const TLB_SLOW_PATH = 8;
/**
 * A read-entry bit: the page may be read but not executed (XD under PAE with
 * EFER.NXE). Data accesses ignore it; instruction fetch (fetchBlock, the
 * decoder's page crossing) takes the miss path for such a page and faults.
 */
export const TLB_NOEXEC = 4;
/** Filled pages remembered for a selective flush; beyond that a flush clears the whole TLB. */
export const TLB_LIST_MAX = 8192;
/** Cpu.fetchMarks: a linear page blocks were fetched from at CPL 0-2, at CPL 3 (the two link classes). */
export const FETCH_SUPERVISOR = 1;
export const FETCH_USER = 2;

export const tlbMethods = {
  /** Recomputes `tlbBit` from CPL, CR0.AM and EFLAGS.AC (call after changing any of them). */
  refreshAccessMode(this: Cpu): void {
    this.alignmentCheck = this.cpl === 3 && (this.cr0 & CR0_AM) !== 0 && (this.flags & AC) !== 0;
    if (this.alignmentCheck || this.dataBreakpoints) this.tlbBit = TLB_SLOW_PATH;
    else this.tlbBit = this.cpl === 3 ? TLB_USER : TLB_SUPERVISOR;
  },

  /** Ends the epochs of the classes in `classes` (FETCH_SUPERVISOR | FETCH_USER), forgetting their fetch marks. */
  endEpochs(this: Cpu, classes: number): void {
    if (classes === 0) return;
    if ((classes & FETCH_SUPERVISOR) !== 0) this.supEpoch++;
    if ((classes & FETCH_USER) !== 0) this.userEpoch++;
    this.linkStamp = this.cpl === 3 ? this.userEpoch * 2 + 1 : this.supEpoch * 2;
    const marks = this.fetchMarks, list = this.fetchMarked;
    let kept = 0;
    for (let i = 0; i < list.length; i++) {
      const p = list[i];
      const m = marks[p] & ~classes;
      marks[p] = m;
      if (m !== 0) list[kept++] = p;
    }
    list.length = kept;
  },

  /** Drops cached translations; global ones too when `all` (CR4/CR0 changes, A20). */
  flushTlb(this: Cpu, all: boolean): void {
    const r = this.tlbRead, w = this.tlbWrite;
    if (all || this.tlbCount >= TLB_LIST_MAX || this.tlbGlobalCount >= TLB_LIST_MAX) {
      this.endEpochs(FETCH_SUPERVISOR | FETCH_USER);
      if (this.tlbCount >= TLB_LIST_MAX || this.tlbGlobalCount >= TLB_LIST_MAX) {
        r.fill(0);
        w.fill(0);
      } else {
        for (let i = 0; i < this.tlbGlobalCount; i++) {
          const p = this.tlbGlobalPages[i];
          r[p] = 0;
          w[p] = 0;
        }
        for (let i = 0; i < this.tlbCount; i++) {
          const p = this.tlbPages[i];
          r[p] = 0;
          w[p] = 0;
        }
      }
      this.tlbGlobalCount = 0;
      this.tlbCount = 0;
      return;
    }
    // Only the non-global translations go: the epochs of the classes that fetched code through one of them end.
    const marks = this.fetchMarks;
    let ended = 0;
    for (let i = 0; i < this.tlbCount; i++) {
      const p = this.tlbPages[i];
      ended |= marks[p];
      r[p] = 0;
      w[p] = 0;
    }
    this.tlbCount = 0;
    this.endEpochs(ended);
  },

  /** INVLPG: drops one page's translation, global or not. */
  invalidatePage(this: Cpu, lin: number): void {
    const region = lin >>> 22;
    if (this.tlbLargeRegions[region] !== 0) {
      this.tlbLargeRegions[region] = 0;
      const first = region << 10;
      let ended = 0;
      for (let p = first; p < first + 1024; p++) ended |= this.fetchMarks[p];
      this.endEpochs(ended);
      this.tlbRead.fill(0, first, first + 1024);
      this.tlbWrite.fill(0, first, first + 1024);
      return;
    }
    this.endEpochs(this.fetchMarks[lin >>> 12]);
    this.tlbRead[lin >>> 12] = 0;
    this.tlbWrite[lin >>> 12] = 0;
  },

  flushTlbWrites(this: Cpu): void {
    const w = this.tlbWrite;
    for (let i = 0; i < this.tlbCount; i++) w[this.tlbPages[i]] = 0;
    for (let i = 0; i < this.tlbGlobalCount; i++) w[this.tlbGlobalPages[i]] = 0;
  },

  /**
   * Translates a linear address (walking the page tables when paging is on),
   * raising #PF on a violation, and fills the TLB where the page is RAM/ROM.
   * Returns the physical address.
   */
  translateSlow(this: Cpu, lin: number, write: boolean, user: boolean): number {
    let phys: number;
    let userRead = true, userWrite = true, superWrite = true, dirty = true, global = false, executable = true;
    // The second translation stage: EPT in VMX non-root operation, nested paging in SVM guest mode.
    const ept = this.vmx.ept ?? this.svm.npt;
    if (ept !== null) ept.setLinear(lin);
    if ((this.cr0 & CR0_PG) !== 0) {
      const w = (this.cr4 & CR4_PAE) === 0
        ? pagingWalk(this.pageTables, this.cr0, this.cr3, this.cr4, lin, write, user, this.walk)
        : paeWalk(this.pageTables, this.pdptes, this.cr0, (this.cr4 & CR4_PGE) !== 0, (this.efer & EFER_NXE) !== 0, lin, write, user, this.fetching, this.walk);
      if (w.faultCode >= 0) this.raisePF(lin, w.faultCode);
      phys = w.phys;
      userRead = w.userRead;
      userWrite = w.userWrite;
      superWrite = w.supervisorWrite;
      dirty = w.dirty;
      global = w.global;
      executable = w.executable;
      if (w.large) this.tlbLargeRegions[lin >>> 22] = 1;
    } else {
      phys = lin >>> 0;
    }
    phys = (phys & this.a20Mask) >>> 0;
    let eptRead = true, eptWrite = true;
    if (ept !== null) {
      // VMX non-root with EPT: the guest-physical address goes through the EPT tables.
      phys = ept.translateFinal(phys, lin, write, this.fetching);
      eptRead = ept.executable; // a readable page that is not executable must not serve fetches from the TLB
      eptWrite = ept.writable;
    }
    const page = lin >>> 12;
    const entry = this.bus.pageMap[phys >>> 12];
    if ((entry & PAGE_IO) === 0) {
      const base = entry & ~0xfff;
      const readBits = eptRead ? TLB_SUPERVISOR | (userRead ? TLB_USER : 0) | (executable ? 0 : TLB_NOEXEC) : 0;
      let writeBits = 0;
      if ((entry & PAGE_ROM) === 0 && dirty && eptWrite && this.bus.codePages[phys >>> 12] === 0) {
        writeBits = (superWrite ? TLB_SUPERVISOR : 0) | (userWrite ? TLB_USER : 0);
      }
      if (this.tlbRead[page] === 0 && this.tlbWrite[page] === 0) {
        if (global) {
          if (this.tlbGlobalCount < TLB_LIST_MAX) this.tlbGlobalPages[this.tlbGlobalCount] = page;
          this.tlbGlobalCount++;
        } else {
          if (this.tlbCount < TLB_LIST_MAX) this.tlbPages[this.tlbCount] = page;
          this.tlbCount++;
        }
        if (this.tlbCount > TLB_LIST_MAX || this.tlbGlobalCount > TLB_LIST_MAX) {
          this.flushTlb(true);
          if (global) { this.tlbGlobalPages[0] = page; this.tlbGlobalCount = 1; }
          else { this.tlbPages[0] = page; this.tlbCount = 1; }
        }
      }
      // A refill that changes the translation of a page code was fetched from (its page tables changed under a live entry).
      if (this.fetchMarks[page] !== 0 && this.tlbRead[page] !== (base | readBits)) this.endEpochs(this.fetchMarks[page]);
      this.tlbRead[page] = base | readBits;
      this.tlbWrite[page] = writeBits === 0 ? 0 : base | writeBits;
    }
    return phys;
  },
};
