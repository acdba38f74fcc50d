/**
 * The IA-32 two-level page walk (32-bit paging, no PAE): CR3 -> page
 * directory -> page table, with 4 MiB pages under CR4.PSE, global pages
 * under CR4.PGE, accessed/dirty updates and U/S, R/W (+CR0.WP) checks.
 *
 * With CR4.PAE the processor walks the PAE format instead (paePaging.ts).
 *
 * This is the one place that reads guest page tables. A second-level walk
 * (EPT/NPT) wraps it by supplying `readPhys32`/`writePhys32` that translate
 * guest-physical to host-physical addresses.
 */
import { CR0_WP, CR4_PGE, CR4_PSE, PF_P, PF_RSVD, PF_U, PF_W } from './regs.ts';

/** Memory the walker reads page-table entries from (and writes A/D bits to). */
export interface PageTableMemory {
  readPhys32(pa: number): number;
  writePhys32(pa: number, value: number): void;
}

export const PTE_P = 1, PTE_RW = 2, PTE_US = 4, PTE_A = 0x20, PTE_D = 0x40, PTE_PS = 0x80, PTE_G = 0x100;

/** The outcome of a successful walk; reused, never allocated per walk. */
export class WalkResult {
  /** Physical address of the accessed byte. */
  phys = 0;
  /** The page may be read at CPL 3. */
  userRead = false;
  /** The page may be written at CPL 3. */
  userWrite = false;
  /** The page may be written at CPL 0-2 (always, unless CR0.WP and a read-only entry). */
  supervisorWrite = false;
  /** The dirty bit is set (so later writes need not walk again). */
  dirty = false;
  /** The translation survives CR3 reloads (G bit with CR4.PGE). */
  global = false;
  /** The translation came from a 4 MiB (or PAE 2 MiB) page (INVLPG must then drop the whole 4 MiB region). */
  large = false;
  /** Instruction fetches may use the page (no XD bit under PAE with EFER.NXE; always true without PAE). */
  executable = true;
  /** Set when the walk failed: the #PF error code. */
  faultCode = -1;
}

/** 4 MiB PDE bits 21:13 must be zero when PSE-36 is not implemented (it is not). */
const PDE4M_RESERVED = 0x003f_e000;

/**
 * Walks the tables for linear address `lin`. `write`/`user` describe the
 * access (user = a CPL 3 access that is not an implicit supervisor access).
 * On a violation, `out.faultCode` is set to the #PF error code and nothing
 * is written to the tables; otherwise A (and for writes D) bits are set.
 */
export function pagingWalk(
  mem: PageTableMemory,
  cr0: number,
  cr3: number,
  cr4: number,
  lin: number,
  write: boolean,
  user: boolean,
  out: WalkResult,
): WalkResult {
  const errBase = (write ? PF_W : 0) | (user ? PF_U : 0);
  const pdeAddr = ((cr3 & 0xffff_f000) + ((lin >>> 22) << 2)) >>> 0;
  const pde = mem.readPhys32(pdeAddr);
  if ((pde & PTE_P) === 0) {
    out.faultCode = errBase;
    return out;
  }
  const wp = (cr0 & CR0_WP) !== 0;
  if ((pde & PTE_PS) !== 0 && (cr4 & CR4_PSE) !== 0) {
    if ((pde & PDE4M_RESERVED) !== 0) {
      out.faultCode = errBase | PF_P | PF_RSVD;
      return out;
    }
    if (!permitted(pde, write, user, wp)) {
      out.faultCode = errBase | PF_P;
      return out;
    }
    const updated = pde | PTE_A | (write ? PTE_D : 0);
    if (updated !== pde) mem.writePhys32(pdeAddr, updated);
    out.phys = ((pde & 0xffc0_0000) | (lin & 0x003f_ffff)) >>> 0;
    fillPermissions(out, pde, pde, updated, wp);
    out.global = (pde & PTE_G) !== 0 && (cr4 & CR4_PGE) !== 0;
    out.large = true;
    out.faultCode = -1;
    return out;
  }
  const pteAddr = ((pde & 0xffff_f000) + (((lin >>> 12) & 0x3ff) << 2)) >>> 0;
  const pte = mem.readPhys32(pteAddr);
  if ((pte & PTE_P) === 0) {
    out.faultCode = errBase;
    return out;
  }
  // Effective rights are the intersection of both levels.
  const combined = pde & pte;
  if (!permitted(combined, write, user, wp)) {
    out.faultCode = errBase | PF_P;
    return out;
  }
  if ((pde & PTE_A) === 0) mem.writePhys32(pdeAddr, pde | PTE_A);
  const updated = pte | PTE_A | (write ? PTE_D : 0);
  if (updated !== pte) mem.writePhys32(pteAddr, updated);
  out.phys = ((pte & 0xffff_f000) | (lin & 0xfff)) >>> 0;
  fillPermissions(out, combined, pte, updated, wp);
  out.global = (pte & PTE_G) !== 0 && (cr4 & CR4_PGE) !== 0;
  out.large = false;
  out.faultCode = -1;
  return out;
}

function permitted(rights: number, write: boolean, user: boolean, wp: boolean): boolean {
  if (user) {
    if ((rights & PTE_US) === 0) return false;
    return !write || (rights & PTE_RW) !== 0;
  }
  return !write || !wp || (rights & PTE_RW) !== 0;
}

function fillPermissions(out: WalkResult, rights: number, _leaf: number, leafAfter: number, wp: boolean): void {
  out.userRead = (rights & PTE_US) !== 0;
  out.userWrite = out.userRead && (rights & PTE_RW) !== 0;
  out.supervisorWrite = !wp || (rights & PTE_RW) !== 0;
  out.dirty = (leafAfter & PTE_D) !== 0;
  out.executable = true;
}
