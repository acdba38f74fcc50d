/**
 * The guest's own address translation, as the hypervisor needs it to reach
 * an exiting instruction's memory operands (string I/O, instruction bytes
 * for the MMIO emulator): guest-linear to guest-physical through the guest's
 * 32-bit page tables (4 KiB pages, and 4 MiB pages under CR4.PSE), read
 * through the domain's p2m. This processor has no PAE, so the two-level
 * format is the only one.
 *
 * A translation that fails reports the page fault the guest would take
 * (error code and linear address), for the handler to inject.
 */
import type { DomainMemory } from '../memory/domainMemory.ts';

const PTE_P = 1;
const PTE_W = 2;
const PTE_U = 4;
const PDE_PS = 0x80;
const CR0_WP = 1 << 16;
const CR0_PG = 1 << 31;
const CR4_PSE = 1 << 4;

export interface GuestPagingState {
  cr0: number;
  cr3: number;
  cr4: number;
  /** Current privilege level (3 = user access). */
  cpl: number;
}

/** A translation failure: the #PF the guest takes. */
export class GuestPageFault extends Error {
  override readonly name = 'GuestPageFault';
  constructor(
    readonly linear: number,
    readonly errorCode: number,
  ) {
    super(`guest page fault at 0x${(linear >>> 0).toString(16)} (error code ${errorCode})`);
  }
}

/**
 * Translates one guest-linear address; sets accessed (and, for writes, dirty)
 * bits as the processor's own walk would. Throws GuestPageFault, or
 * GuestMemoryFault when a page table is not in guest RAM.
 */
export function guestLinearToPhysical(mem: DomainMemory, s: GuestPagingState, linear: number, write: boolean): number {
  linear >>>= 0;
  if ((s.cr0 & CR0_PG) === 0) return linear;
  const user = s.cpl === 3;
  const fault = (present: boolean): never => {
    throw new GuestPageFault(linear, (present ? 1 : 0) | (write ? 2 : 0) | (user ? 4 : 0));
  };
  const pdeAddr = ((s.cr3 & 0xfffff000) + ((linear >>> 22) << 2)) >>> 0;
  const pde = mem.readU32(pdeAddr);
  if ((pde & PTE_P) === 0) fault(false);
  const wpApplies = user || (s.cr0 & CR0_WP) !== 0;
  if ((pde & PDE_PS) !== 0 && (s.cr4 & CR4_PSE) !== 0) {
    if (user && (pde & PTE_U) === 0) fault(true);
    if (write && wpApplies && (pde & PTE_W) === 0) fault(true);
    setBits(mem, pdeAddr, pde, write ? 0x60 : 0x20);
    return ((pde & 0xffc00000) | (linear & 0x3fffff)) >>> 0;
  }
  const pteAddr = ((pde & 0xfffff000) + (((linear >>> 12) & 0x3ff) << 2)) >>> 0;
  const pte = mem.readU32(pteAddr);
  if ((pte & PTE_P) === 0) fault(false);
  const u = (pde & pte & PTE_U) !== 0;
  const w = (pde & pte & PTE_W) !== 0;
  if (user && !u) fault(true);
  if (write && wpApplies && !w) fault(true);
  setBits(mem, pdeAddr, pde, 0x20);
  setBits(mem, pteAddr, pte, write ? 0x60 : 0x20);
  return ((pte & 0xfffff000) | (linear & 0xfff)) >>> 0;
}

function setBits(mem: DomainMemory, addr: number, entry: number, bits: number): void {
  if ((entry & bits) !== bits) {
    const v = (entry | bits) >>> 0;
    mem.write(addr, Uint8Array.of(v, v >>> 8, v >>> 16, v >>> 24));
  }
}
