/**
 * The guest's own 32-bit page walk as the shadow-paging code needs it: the
 * same rules as the processor's (core/cpu/paging.ts: 4 MiB pages under
 * CR4.PSE, U/S and R/W combined over both levels, CR0.WP for supervisor
 * writes, reserved bits of a 4 MiB PDE), but split in two steps. `walkGuest`
 * only reads the tables and reports what it found (the entries, their
 * guest-physical addresses, the fault the guest would take); the caller then
 * decides whether to fill a shadow entry and sets the accessed/dirty bits
 * itself (`setAccessedDirty`), so a walk that ends in a reflected fault
 * changes nothing in the guest's tables, as on the processor.
 *
 * Tables are read through the domain's p2m: a table outside guest RAM/ROM is
 * a GuestMemoryFault for the caller to report.
 */
import { CR0_WP, CR4_PSE, PF_P, PF_RSVD, PF_U, PF_W } from '../../cpu/regs.ts';
import { PTE_A, PTE_D, PTE_G, PTE_P, PTE_PS, PTE_RW, PTE_US } from '../../cpu/paging.ts';
import { GuestMemoryFault, type DomainMemory } from '../memory/domainMemory.ts';

/** 4 MiB PDE bits 21:13 must be zero (no PSE-36), as the processor's walk checks. */
const PDE4M_RESERVED = 0x003f_e000;

/** What one guest walk found; reused by its owner, never allocated per fault. */
export class GuestWalk {
  /** -1 when the walk succeeded, else the #PF error code the guest takes. */
  faultCode = -1;
  pdeAddr = 0;
  pde = 0;
  /** -1 for a 4 MiB page. */
  pteAddr = -1;
  pte = 0;
  large = false;
  /** Guest frame of the accessed byte (valid when the walk succeeded). */
  gfn = 0;
  /** U/S and R/W of both levels combined (a 4 MiB page: its PDE's). */
  rights = 0;
}

/** Reads an aligned guest-physical dword through the p2m. */
export function readGuest32(mem: DomainMemory, gpa: number): number {
  const ma = mem.p2m.translate(gpa >>> 0);
  if (ma < 0) throw new GuestMemoryFault(gpa >>> 0);
  return mem.machine.view.getUint32(ma, true);
}

/** Writes an aligned guest-physical dword when it is RAM (a write to ROM is dropped, as the bus drops it). */
export function writeGuest32(mem: DomainMemory, gpa: number, value: number): void {
  const ma = mem.p2m.translate(gpa >>> 0);
  if (ma < 0) throw new GuestMemoryFault(gpa >>> 0);
  if (mem.p2m.kind(Math.floor((gpa >>> 0) / 4096)) === 'ram') mem.machine.view.setUint32(ma, value >>> 0, true);
}

/**
 * Walks the guest's tables for `linear` with paging on. `write`/`user`
 * describe the access (user = CPL 3, as the U bit of a page-fault error code).
 */
export function walkGuest(mem: DomainMemory, cr0: number, cr3: number, cr4: number, linear: number, write: boolean, user: boolean, out: GuestWalk): GuestWalk {
  const errBase = (write ? PF_W : 0) | (user ? PF_U : 0);
  out.faultCode = -1;
  out.pdeAddr = ((cr3 & 0xffff_f000) + ((linear >>> 22) << 2)) >>> 0;
  out.pde = readGuest32(mem, out.pdeAddr);
  out.pteAddr = -1;
  out.pte = 0;
  out.large = false;
  if ((out.pde & PTE_P) === 0) {
    out.faultCode = errBase;
    return out;
  }
  const wp = (cr0 & CR0_WP) !== 0;
  if ((out.pde & PTE_PS) !== 0 && (cr4 & CR4_PSE) !== 0) {
    out.large = true;
    if ((out.pde & PDE4M_RESERVED) !== 0) {
      out.faultCode = errBase | PF_P | PF_RSVD;
      return out;
    }
    out.rights = out.pde & (PTE_US | PTE_RW);
    if (!permitted(out.rights, write, user, wp)) out.faultCode = errBase | PF_P;
    out.gfn = ((out.pde >>> 22) << 10) | ((linear >>> 12) & 0x3ff);
    return out;
  }
  out.pteAddr = ((out.pde & 0xffff_f000) + (((linear >>> 12) & 0x3ff) << 2)) >>> 0;
  out.pte = readGuest32(mem, out.pteAddr);
  if ((out.pte & PTE_P) === 0) {
    out.faultCode = errBase;
    return out;
  }
  out.rights = out.pde & out.pte & (PTE_US | PTE_RW);
  if (!permitted(out.rights, write, user, wp)) out.faultCode = errBase | PF_P;
  out.gfn = out.pte >>> 12;
  return out;
}

/**
 * Sets the accessed bits of a successful walk (and the dirty bit of the leaf
 * on a write) in the guest's tables, as the processor does when it loads a
 * translation; updates `w.pde`/`w.pte` to what the tables now hold.
 */
export function setAccessedDirty(mem: DomainMemory, w: GuestWalk, write: boolean): void {
  const leafBits = PTE_A | (write ? PTE_D : 0);
  if (w.large) {
    if ((w.pde & leafBits) !== leafBits) {
      w.pde = (w.pde | leafBits) >>> 0;
      writeGuest32(mem, w.pdeAddr, w.pde);
    }
    return;
  }
  if ((w.pde & PTE_A) === 0) {
    w.pde = (w.pde | PTE_A) >>> 0;
    writeGuest32(mem, w.pdeAddr, w.pde);
  }
  if ((w.pte & leafBits) !== leafBits) {
    w.pte = (w.pte | leafBits) >>> 0;
    writeGuest32(mem, w.pteAddr, w.pte);
  }
}

/** The leaf entry of a successful walk (the PDE of a 4 MiB page): where D and G live. */
export function leafEntry(w: GuestWalk): number {
  return w.large ? w.pde : w.pte;
}

export { PTE_A, PTE_D, PTE_G, PTE_P, PTE_PS, PTE_RW, PTE_US };

function permitted(rights: number, write: boolean, user: boolean, wp: boolean): boolean {
  if (user) return (rights & PTE_US) !== 0 && (!write || (rights & PTE_RW) !== 0);
  return !write || !wp || (rights & PTE_RW) !== 0;
}
