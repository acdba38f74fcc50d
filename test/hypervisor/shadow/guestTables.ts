/**
 * Test fixture for the shadow-paging tests: a domain whose guest RAM is
 * backed by machine frames that are not an identity (the pool hands out a few
 * frames to "the hypervisor" first), helpers to write the guest's page tables
 * into its memory, and a reader that walks a shadow directory in machine
 * memory exactly as the processor would, independent of the module's own
 * bookkeeping.
 */
import { DomainMemory } from '../../../core/hypervisor/memory/domainMemory.ts';
import { MachineMemory } from '../../../core/hypervisor/memory/machineMemory.ts';

export const P = 1, RW = 2, US = 4, A = 0x20, D = 0x40, PS = 0x80, G = 0x100;
export const CR0_PG = 0x8000_0000, CR0_WP = 0x1_0000, CR0_PE = 1;
export const CR4_PSE = 0x10, CR4_PGE = 0x80;
/** Error-code bits. */
export const PF_P = 1, PF_W = 2, PF_U = 4, PF_RSVD = 8;

export interface Fixture {
  machine: MachineMemory;
  dom: DomainMemory;
  /** Frames the pool had in use before any shadow was built. */
  baseFrames: number;
}

/** A domain with `mib` MiB of RAM at guest-physical 0, behind five frames the hypervisor took first. */
export function newDomain(mib = 16): Fixture {
  const machine = MachineMemory.create(0);
  machine.allocator.allocate(5);
  const dom = new DomainMemory(machine);
  dom.populateRam(0, mib * 1024 * 1024);
  return { machine, dom, baseFrames: machine.allocator.usedFrames };
}

export function put32(dom: DomainMemory, gpa: number, value: number): void {
  dom.write(gpa, Uint8Array.of(value, value >>> 8, value >>> 16, value >>> 24));
}

export function get32(dom: DomainMemory, gpa: number): number {
  return dom.readU32(gpa);
}

/** Sets the PDE of `linear` in the directory at `pd`. */
export function setPde(dom: DomainMemory, pd: number, linear: number, value: number): void {
  put32(dom, pd + (linear >>> 22) * 4, value);
}

/** Sets the PTE of `linear` in the table at `pt`. */
export function setPte(dom: DomainMemory, pt: number, linear: number, value: number): void {
  put32(dom, pt + ((linear >>> 12) & 0x3ff) * 4, value);
}

export function pteAddr(pt: number, linear: number): number {
  return pt + ((linear >>> 12) & 0x3ff) * 4;
}

/** Machine frame of a guest frame. */
export function mfn(dom: DomainMemory, gfn: number): number {
  const m = dom.p2m.machineFrame(gfn);
  if (m < 0) throw new Error(`guest frame ${gfn} is not mapped`);
  return m;
}

/** The shadow PDE of `linear` under machine CR3 `cr3`. */
export function shadowPde(machine: MachineMemory, cr3: number, linear: number): number {
  return machine.view.getUint32((cr3 & ~0xfff) + (linear >>> 22) * 4, true);
}

/** The shadow leaf of `linear` under machine CR3 `cr3`, 0 when the PDE is not present. */
export function shadowPte(machine: MachineMemory, cr3: number, linear: number): number {
  const pde = shadowPde(machine, cr3, linear);
  if ((pde & P) === 0) return 0;
  if ((pde & PS) !== 0) throw new Error('a shadow PDE is a 4 MiB page: the shadows use 4 KiB leaves only');
  return machine.view.getUint32((pde & ~0xfff) + ((linear >>> 12) & 0x3ff) * 4, true);
}

/** The shadow leaf this module must make: machine frame of `gfn`, P, A, D and the given rights. */
export function leaf(dom: DomainMemory, gfn: number, bits: number): number {
  return ((mfn(dom, gfn) << 12) | P | A | D | bits) >>> 0;
}
