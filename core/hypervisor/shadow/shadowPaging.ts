/**
 * Shadow page tables: the hypervisor's memory virtualization when the
 * processor has no nested paging to use (VT-x without EPT, SVM without NPT,
 * the software mode). The processor's CR3 points at a shadow directory that
 * maps guest-virtual straight to machine addresses, built lazily from the
 * guest's own tables and the domain's p2m. Nothing here knows VMX or SVM: the
 * vCPU loop calls one entry point per event (guest CR3 load, INVLPG, #PF,
 * a change of CR0.PG/WP or CR4.PSE/PGE, a hypervisor or device write to
 * guest memory) and applies what it asks of the processor (its CR3, CR0/CR4
 * bits, TLB invalidations, or the page fault to inject).
 *
 * Design choices, and why:
 *
 * - Write-protect, then unsync on write, resync on flush (not emulate and
 *   sync). Every guest page that serves as a page directory or page table of
 *   a cached shadow is mapped read-only in all shadows. The first write to
 *   one faults (counted as a page-table write fault); the hypervisor then
 *   marks that page out of sync and lets the guest write it directly, and
 *   brings every shadow of it back in sync, and write-protects it again, at
 *   the guest's next CR3 load or INVLPG. This is what the architecture
 *   allows a TLB to do (SDM 4.10.4: a changed entry needs an invalidation to
 *   be guaranteed seen; a not-present entry is never cached, and a shadow
 *   miss always walks the guest's current tables), and it needs no
 *   instruction emulator: the hypervisor has none, and neither VT-x nor SVM
 *   reports the value a faulting write would have stored, so "emulate the
 *   write" would mean decoding MOV, XCHG, CMPXCHG, locked OR/AND/BTS and REP
 *   STOS against guest memory. It also costs one fault per page-table page
 *   per flush interval rather than one per PTE written, which is what a
 *   fork (thousands of PTEs rewritten) needs.
 *
 * - Lazy fills. A shadow entry is made on the page fault that needs it,
 *   from one guest walk; the guest's A bit (and D on a write) is set then, as
 *   the processor would set it. A shadow entry is writable only when the
 *   guest's D bit is already set, so the first write to a clean page faults
 *   and sets D: the guest sees A and D exactly for the pages it touched.
 *
 * - 4 MiB guest pages are shadowed by 4 KiB shadow entries: the p2m gives no
 *   machine-contiguous 4 MiB, a large page may cover holes, ROM or the
 *   guest's own page tables, and A/D tracking needs per-page rights. The
 *   processor runs with CR4.PSE off.
 *
 * - Global pages: a shadow entry has G only when the guest entry has G and
 *   the guest has CR4.PGE, and the processor runs with the guest's PGE, so
 *   the processor's TLB keeps exactly the guest's global translations across
 *   a CR3 load. The shadows themselves never keep a translation the guest
 *   tables no longer have past a flush (a TLB may drop any entry any time,
 *   so that is always allowed).
 *
 * - CR0.WP: the processor always runs with WP=1, so read-only shadow entries
 *   stop supervisor writes too (needed for D tracking and write protection).
 *   With guest WP=0, a supervisor write to a page the guest maps read-only
 *   gets a writable supervisor-only shadow entry (as KVM does); a later user
 *   access faults and gets the read-only user entry back.
 *
 * - A small cache of shadow directories per guest CR3 (LRU, `cacheSize`),
 *   kept valid across switches by the write protection, so switching back to
 *   a recent process costs no refill. Shadow page tables are per directory
 *   slot (not shared between directories): simpler bookkeeping, at the cost of
 *   refilling the kernel's mappings once per cached address space.
 *
 * - Guest paging off (CR0.PG=0, the protected-mode boot entry, or real mode
 *   under a software mode): an identity shadow of guest-physical space,
 *   user-accessible and writable where the p2m has RAM.
 *
 * - Watched frames (`setWatchedFrames`): guest frames a caller with an
 *   instruction emulator wants to see every write to (the software monitor's
 *   guest GDT, so its shadow GDT follows each descriptor written). They are
 *   write-protected like page-table pages, but a write fault is not an
 *   unsync: it is reported (`watchedWrite`) and the caller emulates the
 *   write with the frame opened for that one instruction
 *   (`openWatchedFrame`, then `closeWatchedFrames`).
 */
import { CR0_PG, CR0_WP, CR4_PGE, CR4_PSE, PF_RSVD, PF_U, PF_W } from '../../cpu/regs.ts';
import { GuestMemoryFault, type DomainMemory } from '../memory/domainMemory.ts';
import { OutOfMachineMemory } from '../memory/frameAllocator.ts';
import { GuestWalk, leafEntry, PTE_A, PTE_D, PTE_G, PTE_P, PTE_RW, PTE_US, readGuest32, setAccessedDirty, walkGuest } from './guestWalk.ts';
import { newShadowCounters, type ShadowCounters } from './shadowCounters.ts';
import { ENTRIES, IDENTITY_ROOT, ShadowRoot, ShadowTable, takeShadowFrame } from './shadowTables.ts';

/** Shadow PDE: present, writable, user, accessed; the rights are in the leaves. */
const SHADOW_PDE_BITS = PTE_P | PTE_RW | PTE_US | PTE_A;
/** A and D are set in every shadow leaf so the processor never writes the shadows. */
const SHADOW_LEAF_BITS = PTE_P | PTE_A | PTE_D;
/** Past this many pending single-page invalidations, ask for a full TLB flush. */
const MAX_PENDING_INVALIDATIONS = 64;
const MODE_BITS_CR0 = CR0_PG | CR0_WP;
const MODE_BITS_CR4 = CR4_PSE | CR4_PGE;

/** What the vCPU loop does after a page fault in the guest. */
export type ShadowFaultOutcome =
  /** The shadow was filled or fixed: resume the guest, which retries the access. */
  | { kind: 'hidden' }
  /** The guest's own fault: inject #PF with this error code, CR2 = `cr2`. */
  | { kind: 'reflect'; errorCode: number; cr2: number }
  /** The access reaches no RAM (a device page) or writes ROM: the device emulation's job. */
  | { kind: 'device'; gpa: number; write: boolean }
  /** A write to a watched frame (`setWatchedFrames`; only its callers get this): the shadow entry is there, read-only; the caller emulates the write. */
  | { kind: 'watchedWrite'; gfn: number; gpa: number }
  /** Something the hypervisor cannot shadow (a guest table outside guest memory): stop the VM with this message. */
  | { kind: 'error'; message: string };

/** Invalidations the processor's TLB needs before the guest runs again. */
export interface TlbFlush {
  /** Drop every translation, global ones too. */
  all: boolean;
  /** Drop every non-global translation (what a MOV CR3 does). */
  nonGlobal: boolean;
  /** Linear addresses to drop (global or not), when neither of the above. */
  addresses: number[];
}

export interface ShadowPagingOptions {
  /** Shadow directories kept per guest CR3 (at least 1). */
  cacheSize?: number;
  /**
   * A directory slot the hypervisor keeps for itself in every shadow (the
   * software monitor's top 4 MiB, `software/monitorSpace.ts`): every root gets
   * `pde` there, and the slot is never filled from the guest's tables.
   */
  reservedSlot?: { slot: number; pde: number };
}

export class ShadowPaging {
  readonly counters: ShadowCounters = newShadowCounters();
  private readonly mem: DomainMemory;
  private readonly cacheSize: number;
  /** Cached roots by key, least recently used first. */
  private readonly roots = new Map<number, ShadowRoot>();
  private current: ShadowRoot;
  private cr0 = 0;
  private cr3 = 0;
  private cr4 = 0;
  /** Guest frames shadowed as a directory or table -> the shadows made from them. */
  private readonly shadowsOf = new Map<number, Set<ShadowRoot | ShadowTable>>();
  /** Guest frame -> machine addresses of the shadow leaves that map it. */
  private readonly leafMaps = new Map<number, Set<number>>();
  /** Shadow page tables by machine frame (to go from a leaf's address to its table). */
  private readonly tablesByFrame = new Map<number, ShadowTable>();
  /** Guest page-table pages the guest may write directly until the next flush. */
  private readonly unsynced = new Set<number>();
  /** Guest frames whose writes are reported to the caller (`setWatchedFrames`). */
  private watched = new Set<number>();
  /** Watched frames the caller lets writes through to, for the instruction it emulates. */
  private readonly opened = new Set<number>();
  private flushAll = false;
  private flushNonGlobal = false;
  private readonly invalidations = new Set<number>();
  private readonly walk = new GuestWalk();
  private readonly reservedSlot: { slot: number; pde: number } | null;

  /** Starts with guest paging off (the identity shadow). */
  constructor(mem: DomainMemory, options: ShadowPagingOptions = {}) {
    this.mem = mem;
    this.cacheSize = Math.max(1, Math.floor(options.cacheSize ?? 4));
    this.reservedSlot = options.reservedSlot ?? null;
    this.current = this.rootFor(IDENTITY_ROOT);
  }

  /** The processor's CR3: the current shadow directory. */
  get machineCr3(): number {
    return this.current.machineCr3;
  }

  /** Shadow directories in the cache now. */
  get cachedRoots(): number {
    return this.roots.size;
  }

  /** Shadow pages (directories and tables) that exist now. */
  get liveShadowPages(): number {
    return this.counters.shadowPagesBuilt - this.counters.shadowPagesDropped;
  }

  /** Guest page-table pages currently out of sync (writable by the guest). */
  get unsyncedPages(): number {
    return this.unsynced.size;
  }

  /** The guest's CR0/CR4 as the processor must have them under shadow paging: paging and WP on, PSE off, the guest's PGE. */
  static processorCr0(guestCr0: number): number {
    return (guestCr0 | CR0_PG | CR0_WP) >>> 0;
  }

  static processorCr4(guestCr4: number): number {
    return (guestCr4 & ~CR4_PSE) >>> 0;
  }

  /**
   * The guest wrote CR0 or CR4 (or the vCPU starts): a change of PG, WP, PSE
   * or PGE changes what every shadow entry means, so all shadows go and the
   * TLB is flushed, as the processor flushes it on such a change.
   */
  setControl(cr0: number, cr4: number): void {
    const changed = ((cr0 ^ this.cr0) & MODE_BITS_CR0) !== 0 || ((cr4 ^ this.cr4) & MODE_BITS_CR4) !== 0;
    this.cr0 = cr0 >>> 0;
    this.cr4 = cr4 >>> 0;
    if (!changed) return;
    this.counters.modeFlushes++;
    this.dropAll();
    this.current = this.rootFor(this.pagingOn ? this.cr3 >>> 12 : IDENTITY_ROOT);
  }

  /**
   * The guest loaded CR3: out-of-sync page tables are brought back in sync,
   * and the processor switches to that address space's shadow directory (from
   * the cache, or a new empty one). Returns the processor's new CR3.
   */
  loadCr3(cr3: number): number {
    this.counters.cr3Switches++;
    this.cr3 = cr3 >>> 0;
    this.resync();
    this.flushNonGlobal = true;
    if (!this.pagingOn) return this.machineCr3;
    const key = this.cr3 >>> 12;
    if (this.roots.has(key)) this.counters.cr3CacheHits++;
    this.current = this.withFrames(() => this.rootFor(key));
    return this.machineCr3;
  }

  /** The guest's CR3 as it last loaded it (what a CR3 read returns to it). */
  get guestCr3(): number {
    return this.cr3;
  }

  /**
   * The guest executed INVLPG: out-of-sync tables are resynced, and the
   * current shadow forgets the address (a 4 MiB guest page: its whole slot).
   */
  invlpg(linear: number): void {
    this.counters.invlpgs++;
    linear >>>= 0;
    this.resync();
    const table = this.current.tables[linear >>> 22];
    if (table !== undefined) {
      if (this.pagingOn && table.guestTable < 0) this.dropTable(table);
      else this.clearLeaf(table, (linear >>> 12) & 0x3ff);
    }
    this.invalidate(linear);
  }

  /**
   * A page fault in the guest at `linear` with the processor's error code
   * (P, W, U as the shadow saw them). Walks the guest's tables: a fault the
   * guest's tables would give is reflected with the guest's error code;
   * otherwise the shadow entry is filled (the guest's A/D bits set) and the
   * fault stays hidden.
   */
  pageFault(linear: number, errorCode: number): ShadowFaultOutcome {
    linear >>>= 0;
    const write = (errorCode & PF_W) !== 0;
    const user = (errorCode & PF_U) !== 0;
    if ((errorCode & PF_RSVD) !== 0) {
      return { kind: 'error', message: `reserved-bit page fault at 0x${linear.toString(16)} in a shadow table (a hypervisor bug)` };
    }
    if (this.reservedSlot !== null && linear >>> 22 === this.reservedSlot.slot) {
      return { kind: 'error', message: `page fault at 0x${linear.toString(16)}, in the hypervisor's reserved slot (a hypervisor bug)` };
    }
    try {
      return this.withFrames(() => (this.pagingOn ? this.fillFromGuest(linear, write, user) : this.fillIdentity(linear, write)));
    } catch (e) {
      if (e instanceof GuestMemoryFault) {
        return { kind: 'error', message: `the guest's page tables for 0x${linear.toString(16)} are outside its memory (0x${e.gpa.toString(16)})` };
      }
      throw e;
    }
  }

  /**
   * Guest memory was written other than through the shadows (the
   * hypervisor's string I/O, a device's DMA, a boot image): page-table pages
   * in the range are treated as written by the guest (resynced at the next
   * flush).
   */
  guestMemoryWritten(gpa: number, length: number): void {
    if (length <= 0) return;
    const first = Math.floor(gpa / 4096);
    const last = Math.floor((gpa + length - 1) / 4096);
    for (let gfn = first; gfn <= last; gfn++) if (this.shadowsOf.has(gfn)) this.unsynced.add(gfn);
  }

  /**
   * Guest memory was written somewhere the caller cannot say cheaply (the
   * hypervisor's string I/O into guest-linear addresses): every shadowed
   * page-table page is treated as written. Rare, and costs one full resync.
   */
  guestMemoryWrittenAnywhere(): void {
    for (const gfn of this.shadowsOf.keys()) this.unsynced.add(gfn);
  }

  /**
   * The guest frames whose writes the caller wants to see (the software
   * monitor's guest GDT): from now on every shadow leaf mapping one is
   * read-only, and a guest write to one is a `watchedWrite` outcome. Frames
   * no longer watched get write access back on their next write fault.
   */
  setWatchedFrames(gfns: Iterable<number>): void {
    const next = new Set(gfns);
    const added = [...next].filter((gfn) => !this.watched.has(gfn));
    this.watched = next;
    for (const gfn of added) this.protectMappingsOf(gfn);
  }

  /** True when guest frame `gfn` is watched. */
  isWatched(gfn: number): boolean {
    return this.watched.has(gfn);
  }

  /** Lets writes through to watched frame `gfn` (its next write fault fills a writable entry) until `closeWatchedFrames`. */
  openWatchedFrame(gfn: number): void {
    this.opened.add(gfn);
  }

  /** Write-protects the opened watched frames again (the caller applies the TLB flush). */
  closeWatchedFrames(): void {
    for (const gfn of this.opened) if (this.watched.has(gfn)) this.protectMappingsOf(gfn);
    this.opened.clear();
  }

  /** The TLB invalidations the processor needs before the next entry; clears them. */
  takeTlbFlush(): TlbFlush {
    const out: TlbFlush = {
      all: this.flushAll,
      nonGlobal: this.flushNonGlobal,
      addresses: [],
    };
    if (!out.all) out.addresses = [...this.invalidations];
    this.flushAll = false;
    this.flushNonGlobal = false;
    this.invalidations.clear();
    return out;
  }

  /** Drops every shadow and gives the frames back (the vCPU is destroyed or the domain's memory changes). */
  release(): void {
    this.dropAll();
  }

  /** Back to the processor's reset state (paging off, CR3 = 0) with every shadow dropped (a guest reset: its memory is not what the shadows were made from). */
  reset(): void {
    this.dropAll();
    this.cr0 = 0;
    this.cr3 = 0;
    this.cr4 = 0;
    this.current = this.rootFor(IDENTITY_ROOT);
  }

  /**
   * Starts over after a change to the p2m (ballooning, page sharing): every
   * shadow entry names a machine frame, so all shadows go.
   */
  p2mChanged(): void {
    this.dropAll();
    this.current = this.rootFor(this.pagingOn ? this.cr3 >>> 12 : IDENTITY_ROOT);
  }

  /**
   * Runs a step that may take shadow frames; when machine memory is full,
   * every shadow is dropped (their frames go back to the pool) and the step
   * runs once more on an empty current shadow. A fill retried this way has
   * not changed the guest's tables yet: the walk sets A/D only after the
   * shadow table exists.
   */
  private withFrames<T>(step: () => T): T {
    try {
      return step();
    } catch (e) {
      if (!(e instanceof OutOfMachineMemory)) throw e;
      this.counters.outOfFrames++;
      this.dropAll();
      this.current = this.rootFor(this.pagingOn ? this.cr3 >>> 12 : IDENTITY_ROOT);
      return step();
    }
  }

  private get pagingOn(): boolean {
    return (this.cr0 & CR0_PG) !== 0;
  }

  // ---- fills ---------------------------------------------------------------

  private fillIdentity(linear: number, write: boolean): ShadowFaultOutcome {
    const gfn = linear >>> 12;
    const kind = this.mem.p2m.kind(gfn);
    if (kind === undefined || (kind === 'rom' && write)) {
      this.counters.deviceFaults++;
      return { kind: 'device', gpa: linear, write };
    }
    const table = this.tableFor(this.current, linear >>> 22, IDENTITY_ROOT, 0);
    const rw = kind === 'ram' && !this.writeProtected(gfn) ? PTE_RW : 0;
    this.setLeaf(table, (linear >>> 12) & 0x3ff, gfn, rw | PTE_US, 0);
    if (write && this.watchedClosed(gfn)) return { kind: 'watchedWrite', gfn, gpa: linear >>> 0 };
    this.counters.hiddenFaults++;
    return { kind: 'hidden' };
  }

  private fillFromGuest(linear: number, write: boolean, user: boolean): ShadowFaultOutcome {
    const w = walkGuest(this.mem, this.cr0, this.cr3, this.cr4, linear, write, user, this.walk);
    if (w.faultCode >= 0) {
      this.counters.reflectedFaults++;
      return { kind: 'reflect', errorCode: w.faultCode, cr2: linear };
    }
    const slot = linear >>> 22;
    const root = this.current;
    const pdeBefore = w.pde | 0;
    // A shadow table made from a PDE the guest has changed since (its directory was out of sync) is stale.
    const existing = root.tables[slot];
    if (existing !== undefined && root.pdeSrc[slot] !== pdeBefore) this.dropTable(existing);
    const table = this.tableFor(root, slot, w.large ? -1 : w.pde >>> 12, w.pde);
    setAccessedDirty(this.mem, w, write);
    // What the tables hold now is what later compares against: not `w`, since a table in ROM keeps its bits
    // (the access goes on, as on the processor) and a directory that maps itself had its PDE written as a PTE.
    const pdeNow = readGuest32(this.mem, w.pdeAddr) | 0;
    root.pdeSrc[slot] = pdeNow;
    const leafNow = w.large ? pdeNow : readGuest32(this.mem, w.pteAddr) | 0;

    const gfn = w.gfn;
    const kind = this.mem.p2m.kind(gfn);
    if (kind === undefined || (kind === 'rom' && write)) {
      this.counters.deviceFaults++;
      return { kind: 'device', gpa: ((gfn << 12) | (linear & 0xfff)) >>> 0, write };
    }
    if (write && this.shadowsOf.has(gfn) && !this.unsynced.has(gfn)) {
      // The guest writes one of its page tables: let it, and resync that page at the next flush.
      this.counters.pageTableWriteFaults++;
      this.unsynced.add(gfn);
    }
    const leaf = leafEntry(w);
    let us = w.rights & PTE_US;
    let rw = 0;
    if ((w.rights & PTE_RW) !== 0) rw = PTE_RW;
    else if (write && !user && (this.cr0 & CR0_WP) === 0) {
      // WP=0: the supervisor may write a read-only page; a supervisor-only writable entry lets it, and user accesses refault.
      rw = PTE_RW;
      us = 0;
    }
    if ((leaf & PTE_D) === 0 || kind !== 'ram' || this.writeProtected(gfn)) rw = 0;
    const g = (leaf & PTE_G) !== 0 && (this.cr4 & CR4_PGE) !== 0 ? PTE_G : 0;
    this.setLeaf(table, (linear >>> 12) & 0x3ff, gfn, rw | us | g, leafNow);
    if (write && this.watchedClosed(gfn)) return { kind: 'watchedWrite', gfn, gpa: ((gfn << 12) | (linear & 0xfff)) >>> 0 };
    this.counters.hiddenFaults++;
    return { kind: 'hidden' };
  }

  /** A guest page-table page that is shadowed and in sync, or a watched frame not opened: its shadow mappings stay read-only. */
  private writeProtected(gfn: number): boolean {
    return (this.shadowsOf.has(gfn) && !this.unsynced.has(gfn)) || this.watchedClosed(gfn);
  }

  private watchedClosed(gfn: number): boolean {
    return this.watched.size !== 0 && this.watched.has(gfn) && !this.opened.has(gfn);
  }

  // ---- structures ----------------------------------------------------------

  /** The cached root for `key`, made most recently used; a new one (evicting the least recently used) when absent. */
  private rootFor(key: number): ShadowRoot {
    let root = this.roots.get(key);
    if (root !== undefined) {
      this.roots.delete(key);
      this.roots.set(key, root);
      return root;
    }
    root = new ShadowRoot(takeShadowFrame(this.mem.machine), key);
    this.counters.shadowPagesBuilt++;
    if (this.reservedSlot !== null) this.mem.machine.view.setUint32(root.frame * 4096 + this.reservedSlot.slot * 4, this.reservedSlot.pde >>> 0, true);
    this.roots.set(key, root);
    if (key !== IDENTITY_ROOT) this.addShadowOf(key, root);
    while (this.roots.size > this.cacheSize) {
      const oldest = this.roots.values().next().value as ShadowRoot;
      this.dropRoot(oldest);
    }
    return root;
  }

  /** The shadow table of `slot`, made when absent from guest table `guestTable` (-1: a 4 MiB page or identity). */
  private tableFor(root: ShadowRoot, slot: number, guestTable: number, pde: number): ShadowTable {
    const existing = root.tables[slot];
    if (existing !== undefined) return existing;
    const table = new ShadowTable(takeShadowFrame(this.mem.machine), root, slot, guestTable);
    this.counters.shadowPagesBuilt++;
    root.tables[slot] = table;
    root.pdeSrc[slot] = pde | 0;
    this.tablesByFrame.set(table.frame, table);
    this.mem.machine.view.setUint32(root.frame * 4096 + slot * 4, (table.frame * 4096) | SHADOW_PDE_BITS, true);
    if (guestTable >= 0) this.addShadowOf(guestTable, table);
    return table;
  }

  /**
   * Registers a shadow made from guest frame `gfn`; the first one makes the
   * frame a protected page-table page, so every shadow leaf mapping it loses
   * write access.
   */
  private addShadowOf(gfn: number, shadow: ShadowRoot | ShadowTable): void {
    let set = this.shadowsOf.get(gfn);
    if (set === undefined) {
      set = new Set();
      this.shadowsOf.set(gfn, set);
      this.protectMappingsOf(gfn);
    }
    set.add(shadow);
  }

  private removeShadowOf(gfn: number, shadow: ShadowRoot | ShadowTable): void {
    const set = this.shadowsOf.get(gfn);
    if (set === undefined) return;
    set.delete(shadow);
    if (set.size === 0) {
      // No longer a page table: its read-only mappings become writable on their next write fault.
      this.shadowsOf.delete(gfn);
      this.unsynced.delete(gfn);
    }
  }

  /** Clears R/W in every shadow leaf that maps guest frame `gfn`. */
  private protectMappingsOf(gfn: number): void {
    const maps = this.leafMaps.get(gfn);
    if (maps === undefined) return;
    const view = this.mem.machine.view;
    for (const at of maps) {
      const e = view.getUint32(at, true);
      if ((e & PTE_RW) === 0) continue;
      view.setUint32(at, (e & ~PTE_RW) >>> 0, true);
      const table = this.tablesByFrame.get(Math.floor(at / 4096))!;
      this.invalidate(table.linear((at % 4096) / 4));
    }
  }

  private setLeaf(table: ShadowTable, index: number, gfn: number, bits: number, src: number): void {
    const mfn = this.mem.p2m.machineFrame(gfn);
    const at = table.entryAddress(index);
    const view = this.mem.machine.view;
    const old = view.getUint32(at, true);
    const entry = ((mfn << 12) | SHADOW_LEAF_BITS | bits) >>> 0;
    const oldGfn = table.leafGfn[index];
    if (oldGfn !== gfn) {
      if (oldGfn >= 0) this.forgetLeafMap(oldGfn, at);
      let maps = this.leafMaps.get(gfn);
      if (maps === undefined) {
        maps = new Set();
        this.leafMaps.set(gfn, maps);
      }
      maps.add(at);
      table.leafGfn[index] = gfn;
    }
    table.src[index] = src | 0;
    view.setUint32(at, entry, true);
    // The processor may still hold the old translation (or, for a fault taken through a stale TLB entry, the same one).
    if (old !== 0) this.invalidate(table.linear(index));
  }

  private clearLeaf(table: ShadowTable, index: number): void {
    const gfn = table.leafGfn[index];
    if (gfn < 0) return;
    const at = table.entryAddress(index);
    this.forgetLeafMap(gfn, at);
    table.leafGfn[index] = -1;
    this.mem.machine.view.setUint32(at, 0, true);
    this.invalidate(table.linear(index));
  }

  private forgetLeafMap(gfn: number, at: number): void {
    const maps = this.leafMaps.get(gfn);
    if (maps === undefined) return;
    maps.delete(at);
    if (maps.size === 0) this.leafMaps.delete(gfn);
  }

  private dropTable(table: ShadowTable): void {
    for (let i = 0; i < ENTRIES; i++) this.clearLeaf(table, i);
    const root = table.root;
    root.tables[table.slot] = undefined;
    root.pdeSrc[table.slot] = 0;
    this.mem.machine.view.setUint32(root.frame * 4096 + table.slot * 4, 0, true);
    this.tablesByFrame.delete(table.frame);
    if (table.guestTable >= 0) this.removeShadowOf(table.guestTable, table);
    this.mem.machine.allocator.free([table.frame]);
    this.counters.shadowPagesDropped++;
  }

  private dropRoot(root: ShadowRoot): void {
    for (const table of root.tables) if (table !== undefined) this.dropTable(table);
    if (root.key !== IDENTITY_ROOT) this.removeShadowOf(root.key, root);
    this.roots.delete(root.key);
    this.mem.machine.allocator.free([root.frame]);
    this.counters.shadowPagesDropped++;
    this.flushNonGlobal = true;
  }

  private dropAll(): void {
    for (const root of [...this.roots.values()]) this.dropRoot(root);
    this.unsynced.clear();
    this.flushAll = true;
  }

  /**
   * Brings every out-of-sync page-table page back in sync: a shadow entry
   * whose guest entry changed since it was made is dropped (the next access
   * refills it from the guest's current tables), then the page is
   * write-protected again.
   */
  private resync(): void {
    if (this.unsynced.size === 0) return;
    for (const gfn of [...this.unsynced]) {
      const shadows = this.shadowsOf.get(gfn);
      if (shadows === undefined) continue;
      this.counters.resyncs++;
      for (const shadow of [...shadows]) {
        if (shadow instanceof ShadowRoot) this.resyncDirectory(shadow);
        else if (shadow.root.tables[shadow.slot] === shadow) this.resyncTable(shadow);
      }
    }
    const stillTables = [...this.unsynced].filter((gfn) => this.shadowsOf.has(gfn));
    this.unsynced.clear();
    for (const gfn of stillTables) this.protectMappingsOf(gfn);
  }

  private resyncDirectory(root: ShadowRoot): void {
    const base = root.key * 4096;
    for (let slot = 0; slot < ENTRIES; slot++) {
      const table = root.tables[slot];
      if (table !== undefined && (readGuest32(this.mem, base + slot * 4) | 0) !== root.pdeSrc[slot]) this.dropTable(table);
    }
  }

  private resyncTable(table: ShadowTable): void {
    const base = table.guestTable * 4096;
    for (let i = 0; i < ENTRIES; i++) {
      if (table.leafGfn[i] >= 0 && (readGuest32(this.mem, base + i * 4) | 0) !== table.src[i]) this.clearLeaf(table, i);
    }
  }

  private invalidate(linear: number): void {
    if (this.flushAll) return;
    this.invalidations.add((linear & ~0xfff) >>> 0);
    if (this.invalidations.size > MAX_PENDING_INVALIDATIONS) {
      this.flushAll = true;
      this.invalidations.clear();
    }
  }
}
