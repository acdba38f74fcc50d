/**
 * PAE paging (Intel SDM Vol. 3A 4.4): CR4.PAE with CR0.PG. A 32-bit linear
 * address selects one of four page-directory-pointer-table entries (PDPTEs)
 * by bits 31:30, a 64-bit PDE by bits 29:21 and a 64-bit PTE by bits 20:12;
 * a PDE with PS maps a 2 MiB page. Bit 63 of a PDE or PTE is XD (execute
 * disable) when IA32_EFER.NXE is 1, and a reserved bit otherwise.
 *
 * The PDPTEs are not read during the walk: the processor loads them into
 * internal registers when CR3 is written with PAE paging in use, when paging
 * or a paging-mode bit changes (system.ts), on a task switch and on VM entry
 * and exit (vmx/). `loadPdptes` is that load, with its reserved-bit check
 * (a failing MOV to CR0/CR3/CR4 is #GP(0)); `paeWalk` uses the registers.
 *
 * Physical addresses: this processor's MAXPHYADDR is 32 (CPUID.80000008H:
 * EAX[7:0] = 32, as on the 32-bit Core Solo/Duo parts), so bits 62:32 of
 * every entry are reserved and every physical address fits the 32-bit bus.
 *
 * The PAT bits (bit 7 of a PTE, bit 12 of a 2 MiB PDE) are accepted and
 * ignored, as the two-level walk (paging.ts) accepts them: the memory type
 * is not modelled.
 */
import { CR0_WP, PF_P, PF_RSVD, PF_U, PF_W } from './regs.ts';
import { PTE_A, PTE_D, PTE_G, PTE_P, PTE_PS, PTE_RW, PTE_US, type PageTableMemory, type WalkResult } from './paging.ts';
import { pinned } from './pinnedArrays.ts';

/** #PF error code bit 4: the access was an instruction fetch (reported with PAE and EFER.NXE). */
export const PF_ID = 0x10;
/** IA32_EFER (MSR C000_0080H) bit 11: execute-disable enable. */
export const EFER_NXE = 1 << 11;

/** PDPTE bits 2:1 and 8:5 are reserved; bits 63:32 too (MAXPHYADDR 32). */
const PDPTE_RESERVED_LO = 0x0000_01e6;
/** High dword of a PDE/PTE: bits 62:32 reserved (MAXPHYADDR 32); bit 63 is XD. */
const ENTRY_RESERVED_HI = 0x7fff_ffff;
const XD_HI = 0x8000_0000 | 0;
/** A 2 MiB PDE: bits 20:13 are reserved (bit 12 is PAT). */
const PDE2M_RESERVED_LO = 0x001f_e000;

/** Scratch for a PDPTE load, so a failed load leaves the registers untouched. */
const scratch = pinned(Int32Array, 8);

/**
 * Reads the four PDPTEs at CR3[31:5] into `out` (low/high dword pairs).
 * Returns false, leaving `out` as it was, when a present PDPTE has a
 * reserved bit set: the caller raises #GP(0) (MOV to CR) or fails the
 * operation as the SDM says for it.
 */
export function loadPdptes(mem: PageTableMemory, cr3: number, out: Int32Array): boolean {
  const base = (cr3 & 0xffff_ffe0) >>> 0;
  for (let i = 0; i < 4; i++) {
    const lo = mem.readPhys32(base + 8 * i);
    const hi = mem.readPhys32(base + 8 * i + 4);
    if (!pdpteValid(lo, hi)) return false;
    scratch[2 * i] = lo;
    scratch[2 * i + 1] = hi;
  }
  out.set(scratch);
  return true;
}

/** A PDPTE may be loaded: not present, or present with no reserved bit set. */
export function pdpteValid(lo: number, hi: number): boolean {
  return (lo & PTE_P) === 0 || ((lo & PDPTE_RESERVED_LO) === 0 && hi === 0);
}

/**
 * Walks the PAE tables for `lin` from the PDPTE registers `pdptes`.
 * `fetch` marks an instruction fetch (never a write). On a violation
 * `out.faultCode` is the #PF error code (P, W/R, U/S, RSVD, I/D) and the
 * tables are not written; otherwise the accessed (and for writes dirty)
 * bits are set as the SDM orders: PDE A, then PTE A/D.
 */
export function paeWalk(
  mem: PageTableMemory,
  pdptes: Int32Array,
  cr0: number,
  pge: boolean,
  nxe: boolean,
  lin: number,
  write: boolean,
  user: boolean,
  fetch: boolean,
  out: WalkResult,
): WalkResult {
  const errBase = (write ? PF_W : 0) | (user ? PF_U : 0) | (fetch && nxe ? PF_ID : 0);
  const reservedHi = nxe ? ENTRY_RESERVED_HI : ENTRY_RESERVED_HI | XD_HI;
  const slot = lin >>> 30;
  const pdpte = pdptes[2 * slot];
  if ((pdpte & PTE_P) === 0) {
    out.faultCode = errBase;
    return out;
  }
  const pdeAddr = ((pdpte & 0xffff_f000) >>> 0) + ((lin >>> 21) & 0x1ff) * 8;
  const pde = mem.readPhys32(pdeAddr);
  if ((pde & PTE_P) === 0) {
    out.faultCode = errBase;
    return out;
  }
  const pdeHi = mem.readPhys32(pdeAddr + 4);
  const wp = (cr0 & CR0_WP) !== 0;
  if ((pde & PTE_PS) !== 0) {
    if ((pdeHi & reservedHi) !== 0 || (pde & PDE2M_RESERVED_LO) !== 0) {
      out.faultCode = errBase | PF_P | PF_RSVD;
      return out;
    }
    const executable = (pdeHi & XD_HI) === 0;
    if (!allowed(pde, executable, write, user, fetch, wp)) {
      out.faultCode = errBase | PF_P;
      return out;
    }
    const updated = pde | PTE_A | (write ? PTE_D : 0);
    if (updated !== pde) mem.writePhys32(pdeAddr, updated);
    out.phys = ((pde & 0xffe0_0000) | (lin & 0x001f_ffff)) >>> 0;
    fill(out, pde, updated, executable, wp);
    out.global = pge && (pde & PTE_G) !== 0;
    out.large = true;
    out.faultCode = -1;
    return out;
  }
  if ((pdeHi & reservedHi) !== 0) {
    out.faultCode = errBase | PF_P | PF_RSVD;
    return out;
  }
  const pteAddr = ((pde & 0xffff_f000) >>> 0) + ((lin >>> 12) & 0x1ff) * 8;
  const pte = mem.readPhys32(pteAddr);
  if ((pte & PTE_P) === 0) {
    out.faultCode = errBase;
    return out;
  }
  const pteHi = mem.readPhys32(pteAddr + 4);
  if ((pteHi & reservedHi) !== 0) {
    out.faultCode = errBase | PF_P | PF_RSVD;
    return out;
  }
  // Rights are the intersection of both levels; XD at either level forbids fetches.
  const rights = pde & pte;
  const executable = ((pdeHi | pteHi) & XD_HI) === 0;
  if (!allowed(rights, executable, write, user, fetch, wp)) {
    out.faultCode = errBase | PF_P;
    return out;
  }
  if ((pde & PTE_A) === 0) mem.writePhys32(pdeAddr, pde | PTE_A);
  const updated = pte | PTE_A | (write ? PTE_D : 0);
  if (updated !== pte) mem.writePhys32(pteAddr, updated);
  out.phys = ((pte & 0xffff_f000) | (lin & 0xfff)) >>> 0;
  fill(out, rights, updated, executable, wp);
  out.global = pge && (pte & PTE_G) !== 0;
  out.large = false;
  out.faultCode = -1;
  return out;
}

/** SDM 4.6: user accesses need U/S (and R/W for writes); supervisor writes need R/W under CR0.WP; fetches need no XD. */
function allowed(rights: number, executable: boolean, write: boolean, user: boolean, fetch: boolean, wp: boolean): boolean {
  if (fetch && !executable) return false;
  if (user) {
    if ((rights & PTE_US) === 0) return false;
    return !write || (rights & PTE_RW) !== 0;
  }
  return !write || !wp || (rights & PTE_RW) !== 0;
}

function fill(out: WalkResult, rights: number, leafAfter: number, executable: boolean, wp: boolean): void {
  out.userRead = (rights & PTE_US) !== 0;
  out.userWrite = out.userRead && (rights & PTE_RW) !== 0;
  out.supervisorWrite = !wp || (rights & PTE_RW) !== 0;
  out.dirty = (leafAfter & PTE_D) !== 0;
  out.executable = executable;
}
