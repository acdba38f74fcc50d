/**
 * The hypervisor's side of PAE guests: the CPUID filter hides PAE and NX
 * when the domain runs on shadow page tables (which follow only two-level
 * guest tables) and passes the processor's bits through otherwise; the
 * hypervisor's own walk of guest tables (string I/O, the MMIO emulator's
 * instruction fetch) follows a PAE guest's format, from the PDPTE
 * registers it is given or from the memory at CR3.
 */
import { describe, expect, it } from 'vitest';
import { guestCpuid } from '../../../core/hypervisor/exits/cpuid.ts';
import { GuestPageFault, guestLinearToPhysical } from '../../../core/hypervisor/exits/guestPaging.ts';
import { DomainMemory } from '../../../core/hypervisor/memory/domainMemory.ts';
import { MachineMemory } from '../../../core/hypervisor/memory/machineMemory.ts';

const EAX = 0, ECX = 1, EDX = 2;
const PAE = 1 << 6, NX = 1 << 20;
/** A stand-in processor with PAE in leaf 1 and NX in 8000_0001h (and other bits that must stay). */
const physical = (r: Int32Array) => {
  const leaf = r[EAX] >>> 0;
  r[EAX] = r[ECX] = 0;
  r[EDX] = leaf === 1 ? PAE | 0x813d : leaf === 0x80000001 ? NX | 1 : 0;
};
const edxOf = (leaf: number, shadowPaging: boolean): number => {
  const r = Int32Array.of(leaf, 0, 0, 0, 0, 0, 0, 0);
  guestCpuid(r, physical, shadowPaging);
  return r[EDX] >>> 0;
};

describe('guest CPUID and PAE/NX', () => {
  it('passes PAE and NX through with nested paging', () => {
    expect(edxOf(1, false)).toBe(PAE | 0x813d);
    expect(edxOf(0x80000001, false)).toBe(NX | 1);
  });

  it('hides PAE and NX, and nothing else, on shadow paging', () => {
    expect(edxOf(1, true)).toBe(0x813d);
    expect(edxOf(0x80000001, true)).toBe(1);
  });
});

describe("the hypervisor's walk of a PAE guest's tables", () => {
  /** PDPT at 0x10020; PDPTE0 -> PD 0x11000: PDE 0 -> PT 0x12000, PDE 1 = 2 MiB page at 0 (supervisor). */
  function paeGuest(): DomainMemory {
    const mem = new DomainMemory(MachineMemory.create(0));
    mem.populateRam(0, 64 * 4096);
    const u64 = (at: number, lo: number, hi = 0) => mem.write(at, Uint8Array.of(lo, lo >>> 8, lo >>> 16, lo >>> 24, hi, hi >>> 8, hi >>> 16, hi >>> 24));
    u64(0x10020, 0x11000 | 1);
    u64(0x11000, 0x12000 | 7);
    u64(0x11008, 0x00000000 | 0x83);
    u64(0x12000 + 3 * 8, 0x5000 | 5); // linear 0x3000 -> 0x5000, user, read-only
    u64(0x12000 + 4 * 8, 0x6000 | 7, 0x100); // bit 40: reserved (MAXPHYADDR 32)
    return mem;
  }
  const paging = (cpl: number, pdptes?: number[]) => ({ cr0: 0x80010011, cr3: 0x10020, cr4: 0x20, cpl, pdptes });

  it('translates 4 KiB and 2 MiB pages from the PDPTEs at CR3 and sets accessed/dirty bits', () => {
    const mem = paeGuest();
    expect(guestLinearToPhysical(mem, paging(3), 0x3123, false)).toBe(0x5123);
    expect(mem.readU32(0x12000 + 3 * 8) & 0x60).toBe(0x20);
    expect(guestLinearToPhysical(mem, paging(0), 0x212345, true)).toBe(0x12345);
    expect(mem.readU32(0x11008) & 0x60).toBe(0x60);
  });

  it('uses the PDPTE registers it is given rather than the memory at CR3', () => {
    const mem = paeGuest();
    expect(() => guestLinearToPhysical(mem, paging(0, [0, 0, 0, 0, 0, 0, 0, 0]), 0x3000, false)).toThrow(new GuestPageFault(0x3000, 0));
  });

  it('reports the page faults the guest takes, RSVD included', () => {
    const mem = paeGuest();
    expect(() => guestLinearToPhysical(mem, paging(3), 0x3000, true)).toThrow(new GuestPageFault(0x3000, 7));
    expect(() => guestLinearToPhysical(mem, paging(3), 0x200000, false)).toThrow(new GuestPageFault(0x200000, 5));
    expect(() => guestLinearToPhysical(mem, paging(0), 0x4000, false)).toThrow(new GuestPageFault(0x4000, 9));
    expect(() => guestLinearToPhysical(mem, paging(0), 0x40000000, false)).toThrow(new GuestPageFault(0x40000000, 0));
  });
});
