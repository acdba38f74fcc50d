/**
 * The guest's own address translation, as the hypervisor needs it to reach
 * an exiting instruction's memory operands (string I/O, instruction bytes
 * for the MMIO emulator): guest-linear to guest-physical through the guest's
 * 32-bit page tables (4 KiB pages, and 4 MiB pages under CR4.PSE), read
 * through the domain's p2m; a guest with CR4.PAE is walked by the
 * processor's own PAE walk (core/cpu/paePaging.ts) over the same p2m. Its
 * PDPTEs are the registers the caller saved (`pdptes`, e.g. the VMCS's
 * GUEST_PDPTEn after an exit with EPT) or, without them, the four entries
 * at CR3 in guest memory (what the guest's last CR3 load read, unless it
 * changed them since without reloading, which the SDM leaves undefined).
 * Without `nxe` bit 63 is taken as XD (never a reserved-bit fault): the
 * hypervisor only reads through the guest's tables and executes nothing.
 *
 * A translation that fails reports the page fault the guest would take
 * (error code and linear address), for the handler to inject.
 */
import type { DomainMemory } from '../memory/domainMemory.ts';
import { paeWalk } from '../../cpu/paePaging.ts';
import { WalkResult, type PageTableMemory } from '../../cpu/paging.ts';

const PTE_P = 1;
const PTE_W = 2;
const PTE_U = 4;
const PDE_PS = 0x80;
const CR0_WP = 1 << 16;
const CR0_PG = 1 << 31;
const CR4_PSE = 1 << 4;
const CR4_PAE = 1 << 5;
const CR4_PGE = 1 << 7;

export interface GuestPagingState {
  cr0: number;
  cr3: number;
  cr4: number;
  /** Current privilege level (3 = user access). */
  cpl: number;
  /** PAE: the PDPTE registers (low, high dword pairs); read from guest memory at CR3 when absent. */
  pdptes?: ArrayLike<number>;
  /** PAE: IA32_EFER.NXE of the guest (bit 63 reserved when false); taken as set when absent. */
  nxe?: boolean;
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
  if ((s.cr4 & CR4_PAE) !== 0) return paeLinearToPhysical(mem, s, linear, write);
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

/** The walker's view of guest-physical memory through the p2m (GuestMemoryFault off guest RAM/ROM). */
class DomainTables implements PageTableMemory {
  constructor(private readonly mem: DomainMemory) {}
  readPhys32(gpa: number): number {
    return this.mem.readU32(gpa >>> 0) | 0;
  }
  writePhys32(gpa: number, value: number): void {
    this.mem.write(gpa >>> 0, Uint8Array.of(value, value >>> 8, value >>> 16, value >>> 24));
  }
}

function paeLinearToPhysical(mem: DomainMemory, s: GuestPagingState, linear: number, write: boolean): number {
  const tables = new DomainTables(mem);
  const pdptes = new Int32Array(8);
  if (s.pdptes !== undefined) {
    for (let i = 0; i < 8; i++) pdptes[i] = s.pdptes[i];
  } else {
    const base = (s.cr3 & 0xffffffe0) >>> 0;
    for (let i = 0; i < 8; i++) pdptes[i] = tables.readPhys32(base + 4 * i);
  }
  const user = s.cpl === 3;
  const w = paeWalk(tables, pdptes, s.cr0, (s.cr4 & CR4_PGE) !== 0, s.nxe ?? true, linear, write, user, false, new WalkResult());
  if (w.faultCode >= 0) throw new GuestPageFault(linear, w.faultCode);
  return w.phys;
}
