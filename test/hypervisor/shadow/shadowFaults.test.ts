import { describe, expect, it } from 'vitest';
import { DomainMemory } from '../../../core/hypervisor/memory/domainMemory.ts';
import { MachineMemory } from '../../../core/hypervisor/memory/machineMemory.ts';
import { ShadowPaging } from '../../../core/hypervisor/shadow/shadowPaging.ts';
import {
  A, CR0_PE, CR0_PG, CR0_WP, CR4_PGE, CR4_PSE, D, G, P, PF_P, PF_RSVD, PF_U, PF_W, PS, RW, US,
  get32, leaf, newDomain, pteAddr, put32, setPde, setPte, shadowPde, shadowPte,
} from './guestTables.ts';

const PD = 0x10000, PT = 0x11000;
const SUP_RW = 0x0040_0000; // supervisor read/write
const USER_RO = 0x0040_1000; // user read-only
const USER_RW = 0x0040_2000; // user read/write
const NOT_PRESENT = 0x0040_3000;
const NO_TABLE = 0x00c0_0000; // PDE not present
const BIG = 0x0080_0000; // a 4 MiB page at guest-physical 0x800000

function space(cr0 = CR0_PE | CR0_PG | CR0_WP, cr4 = 0) {
  const f = newDomain(16);
  setPde(f.dom, PD, SUP_RW, PT | P | RW | US);
  setPte(f.dom, PT, SUP_RW, 0x100000 | P | RW);
  setPte(f.dom, PT, USER_RO, 0x101000 | P | US);
  setPte(f.dom, PT, USER_RW, 0x102000 | P | RW | US);
  setPte(f.dom, PT, NOT_PRESENT, 0x103000);
  setPde(f.dom, PD, BIG, 0x800000 | P | RW | US | PS);
  const s = new ShadowPaging(f.dom);
  s.loadCr3(PD);
  s.setControl(cr0, cr4);
  return { ...f, s, cr3: s.machineCr3 };
}

describe('shadow paging: faults reflected to the guest', () => {
  it('not present, at either level: the guest error code (W, U, no P) and CR2, tables untouched', () => {
    const { dom, s } = space();
    const pdeBefore = get32(dom, PD + 4);
    expect(s.pageFault(NOT_PRESENT + 0x44, PF_U | PF_W)).toEqual({ kind: 'reflect', errorCode: PF_U | PF_W, cr2: NOT_PRESENT + 0x44 });
    expect(s.pageFault(NO_TABLE + 8, 0)).toEqual({ kind: 'reflect', errorCode: 0, cr2: NO_TABLE + 8 });
    expect(s.pageFault(NO_TABLE, PF_W)).toEqual({ kind: 'reflect', errorCode: PF_W, cr2: NO_TABLE });
    expect(get32(dom, PD + 4)).toBe(pdeBefore);
    expect(s.counters).toMatchObject({ reflectedFaults: 3, hiddenFaults: 0 });
  });

  it('protection: user access to a supervisor page, user write to a read-only page, supervisor write with WP', () => {
    const { dom, s } = space();
    expect(s.pageFault(SUP_RW, PF_U)).toEqual({ kind: 'reflect', errorCode: PF_P | PF_U, cr2: SUP_RW });
    expect(s.pageFault(USER_RO + 4, PF_U | PF_W)).toEqual({ kind: 'reflect', errorCode: PF_P | PF_U | PF_W, cr2: USER_RO + 4 });
    expect(s.pageFault(USER_RO, PF_W)).toEqual({ kind: 'reflect', errorCode: PF_P | PF_W, cr2: USER_RO });
    expect(get32(dom, pteAddr(PT, USER_RO))).toBe(0x101000 | P | US);
    expect(s.counters.reflectedFaults).toBe(3);
  });

  it('a supervisor page is shadowed supervisor-only; a user read-only page read-only for both', () => {
    const { machine, dom, s, cr3 } = space();
    expect(s.pageFault(SUP_RW, PF_W)).toEqual({ kind: 'hidden' });
    expect(shadowPte(machine, cr3, SUP_RW)).toBe(leaf(dom, 0x100, RW));
    expect(s.pageFault(USER_RO, PF_U)).toEqual({ kind: 'hidden' });
    expect(shadowPte(machine, cr3, USER_RO)).toBe(leaf(dom, 0x101, US));
  });

  it('reserved bits in a 4 MiB PDE: P | RSVD', () => {
    const { dom, s } = space(CR0_PE | CR0_PG | CR0_WP, CR4_PSE);
    setPde(dom, PD, BIG, 0x800000 | P | RW | US | PS | 0x2000);
    expect(s.pageFault(BIG, PF_U)).toEqual({ kind: 'reflect', errorCode: PF_P | PF_RSVD | PF_U, cr2: BIG });
  });
});

describe('shadow paging: CR0.WP', () => {
  it('WP=0: a supervisor write to a read-only page gets a supervisor-only writable entry; a user read then refills read-only', () => {
    const { machine, dom, s, cr3 } = space(CR0_PE | CR0_PG);
    s.pageFault(USER_RO, PF_U);
    expect(shadowPte(machine, cr3, USER_RO)).toBe(leaf(dom, 0x101, US));
    expect(s.pageFault(USER_RO + 0x10, PF_P | PF_W)).toEqual({ kind: 'hidden' });
    expect(shadowPte(machine, cr3, USER_RO)).toBe(leaf(dom, 0x101, RW));
    expect(get32(dom, pteAddr(PT, USER_RO))).toBe(0x101000 | P | US | A | D);
    expect(s.pageFault(USER_RO, PF_P | PF_U)).toEqual({ kind: 'hidden' });
    expect(shadowPte(machine, cr3, USER_RO)).toBe(leaf(dom, 0x101, US));
    expect(s.pageFault(USER_RO, PF_P | PF_U | PF_W)).toEqual({ kind: 'reflect', errorCode: PF_P | PF_U | PF_W, cr2: USER_RO });
    expect(s.counters).toMatchObject({ hiddenFaults: 3, reflectedFaults: 1 });
  });

  it('turning WP on drops every shadow, and the same write is then the guest\'s fault', () => {
    const { s } = space(CR0_PE | CR0_PG);
    s.pageFault(USER_RO, PF_W);
    s.setControl(CR0_PE | CR0_PG | CR0_WP, 0);
    expect(s.liveShadowPages).toBe(1);
    expect(s.pageFault(USER_RO, PF_P | PF_W)).toEqual({ kind: 'reflect', errorCode: PF_P | PF_W, cr2: USER_RO });
  });
});

describe('shadow paging: accessed and dirty bits as the guest sees them', () => {
  it('A on the first access, D only on the first write; a read-only shadow until then', () => {
    const { machine, dom, s, cr3 } = space();
    s.pageFault(USER_RW, PF_U);
    expect(get32(dom, pteAddr(PT, USER_RW))).toBe(0x102000 | P | RW | US | A);
    expect(shadowPte(machine, cr3, USER_RW)).toBe(leaf(dom, 0x102, US));
    expect(get32(dom, pteAddr(PT, SUP_RW))).toBe(0x100000 | P | RW); // never touched
    s.pageFault(USER_RW, PF_P | PF_U | PF_W);
    expect(get32(dom, pteAddr(PT, USER_RW))).toBe(0x102000 | P | RW | US | A | D);
    expect(shadowPte(machine, cr3, USER_RW)).toBe(leaf(dom, 0x102, RW | US));
  });

  it('a page already dirty is mapped writable on a read; after the guest clears D and invalidates, the next write sets D again', () => {
    const { machine, dom, s, cr3 } = space();
    setPte(dom, PT, USER_RW, 0x102000 | P | RW | US | D);
    s.pageFault(USER_RW, PF_U);
    expect(shadowPte(machine, cr3, USER_RW)).toBe(leaf(dom, 0x102, RW | US));
    // The guest's kernel cleans the page (its PT is write-protected: the store faults and unsyncs the page).
    put32(dom, pteAddr(PT, USER_RW), 0x102000 | P | RW | US | A);
    s.guestMemoryWritten(pteAddr(PT, USER_RW), 4);
    s.invlpg(USER_RW);
    expect(shadowPte(machine, cr3, USER_RW)).toBe(0);
    s.pageFault(USER_RW, PF_U);
    expect(shadowPte(machine, cr3, USER_RW)).toBe(leaf(dom, 0x102, US));
    s.pageFault(USER_RW, PF_P | PF_U | PF_W);
    expect(get32(dom, pteAddr(PT, USER_RW))).toBe(0x102000 | P | RW | US | A | D);
  });
});

describe('shadow paging: 4 MiB guest pages', () => {
  it('are shadowed by 4 KiB entries from the p2m; A and D go to the PDE; INVLPG drops the whole 4 MiB', () => {
    const { machine, dom, s, cr3 } = space(CR0_PE | CR0_PG | CR0_WP, CR4_PSE);
    expect(s.pageFault(BIG + 0x12345, PF_U)).toEqual({ kind: 'hidden' });
    expect(shadowPde(machine, cr3, BIG) & (PS | 0xfff)).toBe(P | RW | US | A);
    expect(shadowPte(machine, cr3, BIG + 0x12000)).toBe(leaf(dom, 0x812, US));
    expect(get32(dom, PD + (BIG >>> 22) * 4)).toBe(0x800000 | P | RW | US | PS | A);
    s.pageFault(BIG + 0x3ff000, PF_U | PF_W);
    expect(shadowPte(machine, cr3, BIG + 0x3ff000)).toBe(leaf(dom, 0xbff, RW | US));
    expect(get32(dom, PD + (BIG >>> 22) * 4)).toBe(0x800000 | P | RW | US | PS | A | D);
    // The page filled before the write stays read-only until its own write fault.
    expect(shadowPte(machine, cr3, BIG + 0x12000)).toBe(leaf(dom, 0x812, US));
    s.pageFault(BIG + 0x12000, PF_P | PF_U | PF_W);
    expect(shadowPte(machine, cr3, BIG + 0x12000)).toBe(leaf(dom, 0x812, RW | US));
    const live = s.liveShadowPages;
    s.invlpg(BIG + 0x200000);
    expect(shadowPde(machine, cr3, BIG)).toBe(0);
    expect(s.liveShadowPages).toBe(live - 1);
  });

  it('with CR4.PSE off the PS bit is ignored and the PDE names a page table', () => {
    const { machine, dom, s, cr3 } = space();
    setPte(dom, 0x800000, BIG + 0x5000, 0x200000 | P | US);
    expect(s.pageFault(BIG + 0x5000, PF_U)).toEqual({ kind: 'hidden' });
    expect(shadowPte(machine, cr3, BIG + 0x5000)).toBe(leaf(dom, 0x200, US));
  });

  it('a 4 MiB page over device space is handed to the device model with its guest-physical address', () => {
    const { dom, s } = space(CR0_PE | CR0_PG | CR0_WP, CR4_PSE);
    setPde(dom, PD, 0xfec0_0000, 0xfec0_0000 | P | RW | PS);
    expect(s.pageFault(0xfec0_0010, PF_W)).toEqual({ kind: 'device', gpa: 0xfec0_0010, write: true });
    expect(s.counters.deviceFaults).toBe(1);
  });
});

describe('shadow paging: global pages and CR4.PGE', () => {
  it('a shadow entry is global only when the guest entry is and PGE is on', () => {
    const { machine, dom, s, cr3 } = space();
    setPte(dom, PT, USER_RW, 0x102000 | P | RW | US | G);
    s.pageFault(USER_RW, PF_U);
    expect(shadowPte(machine, cr3, USER_RW)).toBe(leaf(dom, 0x102, US));
    s.setControl(CR0_PE | CR0_PG | CR0_WP, CR4_PGE);
    const cr3g = s.machineCr3;
    expect(shadowPte(machine, cr3g, USER_RW)).toBe(0);
    s.pageFault(USER_RW, PF_U);
    expect(shadowPte(machine, cr3g, USER_RW)).toBe(leaf(dom, 0x102, US | G));
    s.pageFault(USER_RO, PF_U);
    expect(shadowPte(machine, cr3g, USER_RO)).toBe(leaf(dom, 0x101, US));
    // The processor runs with the guest's PGE, so its TLB keeps the global translation across a CR3 load (non-global flush).
    expect(ShadowPaging.processorCr4(CR4_PGE | CR4_PSE)).toBe(CR4_PGE);
    s.takeTlbFlush();
    s.loadCr3(PD);
    expect(s.takeTlbFlush()).toEqual({ all: false, nonGlobal: true, addresses: [] });
  });

  it('a global 4 MiB page', () => {
    const { machine, dom, s } = space(CR0_PE | CR0_PG | CR0_WP, CR4_PSE | CR4_PGE);
    setPde(dom, PD, BIG, 0x800000 | P | RW | PS | G | D);
    s.pageFault(BIG + 0x1000, PF_W);
    expect(shadowPte(machine, s.machineCr3, BIG + 0x1000)).toBe(leaf(dom, 0x801, RW | G));
  });
});

describe('shadow paging: hostile tables', () => {
  it('a page directory outside guest memory stops the VM with a clear error', () => {
    const { s } = space();
    s.loadCr3(0xf000_0000);
    expect(s.pageFault(0x1000, 0)).toEqual({
      kind: 'error',
      message: "the guest's page tables for 0x1000 are outside its memory (0xf0000000)",
    });
  });
});

describe('shadow paging: machine memory running out', () => {
  it('drops every shadow and goes on when no frame is left for a new shadow table', () => {
    const machine = MachineMemory.create(0, (256 + 3) * 4096);
    const dom = new DomainMemory(machine);
    dom.populateRam(0, 256 * 4096); // 1 MiB of guest RAM; three frames left for the shadows
    for (let slot = 0; slot < 3; slot++) {
      setPde(dom, PD, slot << 22, (PT + slot * 0x1000) | P | RW | US);
      setPte(dom, PT + slot * 0x1000, slot << 22, (0x20000 + slot * 0x1000) | P | RW | US);
    }
    const s = new ShadowPaging(dom);
    s.loadCr3(PD);
    s.setControl(CR0_PE | CR0_PG | CR0_WP, 0);
    expect(s.pageFault(0 << 22, PF_U)).toEqual({ kind: 'hidden' });
    expect(s.pageFault(1 << 22, PF_U)).toEqual({ kind: 'hidden' });
    expect(s.counters.outOfFrames).toBe(0);
    expect(s.pageFault(2 << 22, PF_U)).toEqual({ kind: 'hidden' });
    expect(s.counters.outOfFrames).toBe(1);
    expect(s.liveShadowPages).toBe(2);
    expect(shadowPte(machine, s.machineCr3, 2 << 22)).toBe(leaf(dom, 0x22, US));
    expect(shadowPte(machine, s.machineCr3, 0)).toBe(0);
    expect(get32(dom, pteAddr(PT + 0x2000, 2 << 22))).toBe(0x22000 | P | RW | US | A);
  });
});

describe('shadow paging: guest tables in ROM', () => {
  it('A/D bits cannot be written there: accesses go on, and faults in one slot do not undo each other', () => {
    const { machine, dom } = newDomain(16);
    const image = new Uint8Array(2 * 4096);
    const v = new DataView(image.buffer);
    v.setUint32(1 * 4, 0xfffff000 | P | RW | US, true); // PDE of 0x400000 -> the PT in the second ROM frame
    v.setUint32(4096 + 0 * 4, 0x100000 | P | RW | US, true);
    v.setUint32(4096 + 1 * 4, 0x101000 | P | RW | US, true);
    dom.mapRom(image, [{ base: 0xffffe000, size: 2 * 4096 }]);
    const s = new ShadowPaging(dom);
    s.loadCr3(0xffffe000);
    s.setControl(CR0_PE | CR0_PG | CR0_WP, 0);
    const cr3 = s.machineCr3;
    expect(s.pageFault(0x400000, PF_U | PF_W)).toEqual({ kind: 'hidden' });
    expect(s.pageFault(0x401000, PF_U)).toEqual({ kind: 'hidden' });
    expect(shadowPte(machine, cr3, 0x400000)).toBe(leaf(dom, 0x100, RW | US));
    expect(shadowPte(machine, cr3, 0x401000)).toBe(leaf(dom, 0x101, US));
    expect(get32(dom, 0xfffff000)).toBe(0x100000 | P | RW | US);
    expect(s.counters.shadowPagesBuilt).toBe(3); // identity root, the ROM directory's root, one table: never rebuilt
  });
});
