import { describe, expect, it } from 'vitest';
import { ShadowPaging } from '../../../core/hypervisor/shadow/shadowPaging.ts';
import {
  A, CR0_PE, CR0_PG, CR0_WP, CR4_PGE, D, G, P, PF_P, PF_U, PF_W, RW, US,
  get32, leaf, mfn, newDomain, pteAddr, put32, setPde, setPte, shadowPde, shadowPte,
} from './guestTables.ts';

const PD1 = 0x10000, PT1 = 0x11000, PD2 = 0x20000, PT2 = 0x21000;
const LIN = 0x0040_3000; // slot 1, index 3
const DATA = 0x100000; // guest frame 0x100

/** Two address spaces: PD1 maps LIN -> DATA through PT1, PD2 maps LIN -> DATA + 0x1000 through PT2. */
function twoSpaces() {
  const f = newDomain();
  setPde(f.dom, PD1, LIN, PT1 | P | RW | US);
  setPte(f.dom, PT1, LIN, DATA | P | RW | US);
  setPde(f.dom, PD2, LIN, PT2 | P | RW | US);
  setPte(f.dom, PT2, LIN, (DATA + 0x1000) | P | RW | US);
  const s = new ShadowPaging(f.dom, { cacheSize: 2 });
  s.setControl(CR0_PE | CR0_PG | CR0_WP, 0);
  return { ...f, s };
}

describe('shadow paging: guest paging off', () => {
  it('shadows guest-physical space by identity, writable RAM, read-only ROM, device pages left to the device model', () => {
    const { machine, dom } = newDomain(1);
    dom.mapRom(new Uint8Array(4096), [{ base: 0xfffff000, size: 4096 }]);
    const s = new ShadowPaging(dom);
    s.setControl(CR0_PE, 0);
    expect(s.pageFault(0x5123, PF_W)).toEqual({ kind: 'hidden' });
    expect(shadowPte(machine, s.machineCr3, 0x5000)).toBe(leaf(dom, 5, RW | US));
    expect(shadowPde(machine, s.machineCr3, 0x5000) & 0xfff).toBe(P | RW | US | A);
    expect(s.pageFault(0xfffff000, 0)).toEqual({ kind: 'hidden' });
    expect(shadowPte(machine, s.machineCr3, 0xfffff000)).toBe(leaf(dom, 0xfffff, US));
    expect(s.pageFault(0xfffff010, PF_P | PF_W)).toEqual({ kind: 'device', gpa: 0xfffff010, write: true });
    expect(s.pageFault(0xfee00030, 0)).toEqual({ kind: 'device', gpa: 0xfee00030, write: false });
    expect(shadowPte(machine, s.machineCr3, 0xfee00000)).toBe(0);
    expect(s.counters).toMatchObject({ hiddenFaults: 2, deviceFaults: 2, reflectedFaults: 0 });
    // The shadow frames are the hypervisor's: the p2m maps none of them.
    const shadowFrame = s.machineCr3 >>> 12;
    for (const r of dom.p2m.ranges()) expect(shadowFrame >= r.mfn && shadowFrame < r.mfn + r.count).toBe(false);
  });
});

describe('shadow paging: CR3 loads and the shadow cache', () => {
  it('fills an entry on a fault, from the guest tables and the p2m, setting the guest A bits', () => {
    const { machine, dom, s } = twoSpaces();
    const cr3 = s.loadCr3(PD1);
    expect(s.guestCr3).toBe(PD1);
    expect(shadowPte(machine, cr3, LIN)).toBe(0);
    expect(s.pageFault(LIN + 0x10, PF_U)).toEqual({ kind: 'hidden' });
    // Read first: not writable until the guest's D bit is set.
    expect(shadowPte(machine, cr3, LIN)).toBe(leaf(dom, 0x100, US));
    expect(get32(dom, pteAddr(PT1, LIN))).toBe(DATA | P | RW | US | A);
    expect(get32(dom, PD1 + 4)).toBe(PT1 | P | RW | US | A);
    expect(shadowPde(machine, cr3, LIN) & 0xfff).toBe(P | RW | US | A);
    expect(s.pageFault(LIN + 0x10, PF_P | PF_W | PF_U)).toEqual({ kind: 'hidden' });
    expect(shadowPte(machine, cr3, LIN)).toBe(leaf(dom, 0x100, RW | US));
    expect(get32(dom, pteAddr(PT1, LIN))).toBe(DATA | P | RW | US | A | D);
  });

  it('switches shadows per CR3, keeps recent ones cached and counted, evicts the least recently used', () => {
    const { machine, dom, s, baseFrames } = twoSpaces();
    const cr3a = s.loadCr3(PD1);
    s.pageFault(LIN, PF_U);
    const cr3b = s.loadCr3(PD2);
    expect(cr3b).not.toBe(cr3a);
    expect(shadowPte(machine, cr3b, LIN)).toBe(0);
    s.pageFault(LIN, PF_U);
    expect(shadowPte(machine, cr3b, LIN)).toBe(leaf(dom, 0x101, US));
    // Back to the first address space: its shadow is still there, no refill needed.
    expect(s.loadCr3(PD1)).toBe(cr3a);
    expect(shadowPte(machine, cr3a, LIN)).toBe(leaf(dom, 0x100, US));
    expect(s.counters).toMatchObject({ cr3Switches: 3, cr3CacheHits: 1, hiddenFaults: 2 });
    // Cache of 2 (the identity root went when PD1 came in): two roots + two tables live.
    expect(s.cachedRoots).toBe(2);
    expect(s.liveShadowPages).toBe(4);
    expect(machine.allocator.usedFrames).toBe(baseFrames + 4);
    // A third address space evicts PD2's shadow (least recently used), directory and table.
    setPde(dom, 0x30000, LIN, PT1 | P | RW | US);
    s.loadCr3(0x30000);
    expect(s.cachedRoots).toBe(2);
    expect(s.counters.cr3CacheHits).toBe(1);
    // Built: the identity root, the root of CR3 = 0 when paging came on, PD1, PT1's shadow, PD2, PT2's shadow, the third root.
    expect(s.counters.shadowPagesBuilt).toBe(7);
    // Dropped: the identity root (paging came on), CR3 = 0's root (evicted by PD2), PD2 and its table.
    expect(s.counters.shadowPagesDropped).toBe(4);
    expect(machine.allocator.usedFrames).toBe(baseFrames + 3);
    expect(s.loadCr3(PD2)).not.toBe(0);
    expect(s.counters.cr3CacheHits).toBe(1);
    s.release();
    expect(machine.allocator.usedFrames).toBe(baseFrames);
    expect(s.liveShadowPages).toBe(0);
  });

  it('asks the processor to drop non-global translations on a CR3 load, and everything on a paging-mode change', () => {
    const { s } = twoSpaces();
    s.takeTlbFlush();
    s.loadCr3(PD1);
    expect(s.takeTlbFlush()).toEqual({ all: false, nonGlobal: true, addresses: [] });
    expect(s.takeTlbFlush()).toEqual({ all: false, nonGlobal: false, addresses: [] });
    s.setControl(CR0_PE | CR0_PG | CR0_WP, CR4_PGE);
    expect(s.takeTlbFlush().all).toBe(true);
    expect(s.counters.modeFlushes).toBe(2);
    s.setControl(CR0_PE | CR0_PG | CR0_WP | 8 /* TS */, CR4_PGE);
    expect(s.counters.modeFlushes).toBe(2);
    expect(ShadowPaging.processorCr0(CR0_PE)).toBe((CR0_PE | CR0_PG | CR0_WP) >>> 0);
    expect(ShadowPaging.processorCr4(0x10 | CR4_PGE)).toBe(CR4_PGE);
  });
});

describe('shadow paging: INVLPG', () => {
  it('drops the shadow entry of the address and nothing else', () => {
    const { machine, dom, s } = twoSpaces();
    setPte(dom, PT1, LIN + 0x1000, (DATA + 0x2000) | P | RW | US | A | D);
    const cr3 = s.loadCr3(PD1);
    s.pageFault(LIN, PF_U);
    s.pageFault(LIN + 0x1000, PF_U | PF_W);
    expect(shadowPte(machine, cr3, LIN + 0x1000)).toBe(leaf(dom, 0x102, RW | US));
    s.takeTlbFlush();
    s.invlpg(LIN + 0x1abc);
    expect(shadowPte(machine, cr3, LIN + 0x1000)).toBe(0);
    expect(shadowPte(machine, cr3, LIN)).toBe(leaf(dom, 0x100, US));
    expect(s.takeTlbFlush()).toEqual({ all: false, nonGlobal: false, addresses: [LIN + 0x1000] });
    expect(s.counters.invlpgs).toBe(1);
  });
});

describe('shadow paging: writes to guest page tables', () => {
  const PT_VIEW = 0x0080_0000; // where the guest maps its own PT1 (slot 2)
  const PT_VIEW_TABLE = 0x12000;

  function guestSeesItsTable() {
    const t = twoSpaces();
    setPde(t.dom, PD1, PT_VIEW, PT_VIEW_TABLE | P | RW);
    setPte(t.dom, PT_VIEW_TABLE, PT_VIEW, PT1 | P | RW | A | D);
    return t;
  }

  it('write-protects a page-table page in the shadows, even where the guest maps it writable and dirty', () => {
    const { machine, dom, s } = guestSeesItsTable();
    const cr3 = s.loadCr3(PD1);
    // PT1 is not a page table yet for the shadows: mapped writable.
    expect(s.pageFault(PT_VIEW, 0)).toEqual({ kind: 'hidden' });
    expect(shadowPte(machine, cr3, PT_VIEW)).toBe(leaf(dom, PT1 >>> 12, RW));
    // The first fill through PT1 makes it one: the existing writable mapping loses R/W and leaves the processor's TLB.
    s.takeTlbFlush();
    s.pageFault(LIN, PF_U);
    expect(shadowPte(machine, cr3, PT_VIEW)).toBe(leaf(dom, PT1 >>> 12, 0));
    expect(s.takeTlbFlush().addresses).toContain(PT_VIEW);
    // Mapped afresh, it is read-only from the start.
    s.invlpg(PT_VIEW);
    s.pageFault(PT_VIEW, 0);
    expect(shadowPte(machine, cr3, PT_VIEW)).toBe(leaf(dom, PT1 >>> 12, 0));
    expect(s.counters.pageTableWriteFaults).toBe(0);
  });

  it('a write fault on it unsyncs the page; the next INVLPG resyncs the changed entries and protects it again', () => {
    const { machine, dom, s } = guestSeesItsTable();
    const cr3 = s.loadCr3(PD1);
    s.pageFault(LIN, PF_U | PF_W);
    s.pageFault(PT_VIEW, 0);
    expect(s.pageFault(PT_VIEW + 0xc, PF_P | PF_W)).toEqual({ kind: 'hidden' });
    expect(s.counters.pageTableWriteFaults).toBe(1);
    expect(s.unsyncedPages).toBe(1);
    expect(shadowPte(machine, cr3, PT_VIEW)).toBe(leaf(dom, PT1 >>> 12, RW));
    // The guest rewrites the PTE of LIN through its now-writable mapping (the processor's store).
    put32(dom, pteAddr(PT1, LIN), (DATA + 0x5000) | P | RW | US);
    // Until the guest invalidates, the shadow may keep the old translation, as a TLB may.
    expect(shadowPte(machine, cr3, LIN)).toBe(leaf(dom, 0x100, RW | US));
    s.invlpg(LIN);
    expect(shadowPte(machine, cr3, LIN)).toBe(0);
    expect(shadowPte(machine, cr3, PT_VIEW)).toBe(leaf(dom, PT1 >>> 12, 0));
    expect(s.unsyncedPages).toBe(0);
    expect(s.counters.resyncs).toBe(1);
    s.pageFault(LIN, PF_U);
    expect(shadowPte(machine, cr3, LIN)).toBe(leaf(dom, 0x105, US));
    // A second write faults again: one write-protection fault per page per flush interval.
    s.pageFault(PT_VIEW, PF_P | PF_W);
    expect(s.counters.pageTableWriteFaults).toBe(2);
  });

  it('a CR3 load resyncs too, and keeps unchanged entries of every cached shadow', () => {
    const { machine, dom, s } = guestSeesItsTable();
    setPte(dom, PT1, LIN + 0x1000, (DATA + 0x2000) | P | US);
    const cr3 = s.loadCr3(PD1);
    s.pageFault(LIN, PF_U);
    s.pageFault(LIN + 0x1000, PF_U);
    s.pageFault(PT_VIEW, PF_W);
    expect(s.counters.pageTableWriteFaults).toBe(1);
    put32(dom, pteAddr(PT1, LIN + 0x1000), 0); // unmapped
    s.loadCr3(PD2);
    expect(shadowPte(machine, cr3, LIN + 0x1000)).toBe(0);
    expect(shadowPte(machine, cr3, LIN)).toBe(leaf(dom, 0x100, US));
    expect(s.loadCr3(PD1)).toBe(cr3);
    expect(s.pageFault(LIN + 0x1000, PF_U)).toEqual({ kind: 'reflect', errorCode: PF_U, cr2: LIN + 0x1000 });
  });

  it('a page-directory write (a new page table) is seen after the flush; a hypervisor or device write to a table is treated as a guest write', () => {
    const { machine, dom, s } = twoSpaces();
    const cr3 = s.loadCr3(PD1);
    s.pageFault(LIN, PF_U);
    // PD1 changes slot 1 to PT2, written by the hypervisor (e.g. string I/O into guest memory).
    put32(dom, PD1 + 4, PT2 | P | RW | US | A);
    s.guestMemoryWritten(PD1 + 4, 4);
    expect(shadowPte(machine, cr3, LIN)).toBe(leaf(dom, 0x100, US));
    s.loadCr3(PD1);
    expect(shadowPde(machine, cr3, LIN)).toBe(0);
    s.pageFault(LIN, PF_U);
    expect(shadowPte(machine, cr3, LIN)).toBe(leaf(dom, 0x101, US));
    expect(s.counters.resyncs).toBe(1);
  });

  it('a fault under a directory entry the guest changed before flushing rebuilds that slot from the new page table', () => {
    const { machine, dom, s } = twoSpaces();
    setPte(dom, PT2, LIN + 0x1000, (DATA + 0x3000) | P | RW | US);
    const cr3 = s.loadCr3(PD1);
    s.pageFault(LIN, PF_U);
    // The directory is written (out of sync until the next flush) and the guest touches the slot before flushing.
    put32(dom, PD1 + 4, PT2 | P | RW | US);
    s.guestMemoryWritten(PD1 + 4, 4);
    s.pageFault(LIN + 0x1000, PF_U);
    expect(shadowPte(machine, cr3, LIN + 0x1000)).toBe(leaf(dom, 0x103, US));
    expect(shadowPte(machine, cr3, LIN)).toBe(0); // made from PT1: gone with the old slot
    expect(s.pageFault(LIN, PF_U)).toEqual({ kind: 'hidden' });
    expect(shadowPte(machine, cr3, LIN)).toBe(leaf(dom, 0x101, US));
  });

  it('a guest that maps its own page directory through itself: table pages read-only, PTE writes through the self-map resynced', () => {
    const { machine, dom, s } = twoSpaces();
    const SELF = 0xffc0_0000;
    setPde(dom, PD1, SELF, PD1 | P | RW);
    const cr3 = s.loadCr3(PD1);
    s.pageFault(LIN, PF_U);
    const ptOfLin = SELF + (LIN >>> 22) * 0x1000; // PT1 seen through the self-map
    const pdSelf = SELF + (SELF >>> 22) * 0x1000; // 0xfffff000: PD1 itself
    expect(s.pageFault(ptOfLin, 0)).toEqual({ kind: 'hidden' });
    expect(s.pageFault(pdSelf, 0)).toEqual({ kind: 'hidden' });
    expect(shadowPte(machine, cr3, ptOfLin)).toBe(leaf(dom, PT1 >>> 12, 0));
    expect(shadowPte(machine, cr3, pdSelf)).toBe(leaf(dom, PD1 >>> 12, 0));
    // The PDE serving as a PTE got A as a leaf would.
    expect(get32(dom, PD1 + 4)).toBe(PT1 | P | RW | US | A);
    // The guest writes the PTE of LIN at ptOfLin + 4 * index.
    const at = ptOfLin + ((LIN >>> 12) & 0x3ff) * 4;
    expect(s.pageFault(at, PF_P | PF_W)).toEqual({ kind: 'hidden' });
    expect(s.counters.pageTableWriteFaults).toBe(1);
    expect(get32(dom, PD1 + 4)).toBe(PT1 | P | RW | US | A | D);
    expect(shadowPte(machine, cr3, ptOfLin)).toBe(leaf(dom, PT1 >>> 12, RW));
    put32(dom, pteAddr(PT1, LIN), (DATA + 0x7000) | P | RW | US | A | D);
    s.invlpg(LIN);
    expect(shadowPte(machine, cr3, ptOfLin)).toBe(leaf(dom, PT1 >>> 12, 0));
    expect(s.pageFault(LIN, PF_U | PF_W)).toEqual({ kind: 'hidden' });
    expect(shadowPte(machine, cr3, LIN)).toBe(leaf(dom, 0x107, RW | US));
    // A write to the directory through the self-map unsyncs the directory as well.
    expect(s.pageFault(pdSelf + 8, PF_P | PF_W)).toEqual({ kind: 'hidden' });
    expect(s.counters.pageTableWriteFaults).toBe(2);
    expect(s.counters.reflectedFaults).toBe(0);
  });
});

describe('shadow paging: writes the hypervisor cannot place', () => {
  it('treat every shadowed table as written: the next flush resyncs them all', () => {
    const { machine, dom, s } = twoSpaces();
    const cr3 = s.loadCr3(PD1);
    s.pageFault(LIN, PF_U);
    put32(dom, pteAddr(PT1, LIN), (DATA + 0x4000) | P | RW | US);
    s.guestMemoryWrittenAnywhere();
    expect(s.unsyncedPages).toBe(3); // PD1, PT1, and guest frame 0 (the directory of CR3 = 0 when paging came on, still cached)
    s.invlpg(0x1000); // any flush
    expect(shadowPte(machine, cr3, LIN)).toBe(0);
    expect(s.unsyncedPages).toBe(0);
    s.pageFault(LIN, PF_U);
    expect(shadowPte(machine, cr3, LIN)).toBe(leaf(dom, 0x104, US));
  });
});
