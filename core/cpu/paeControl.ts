/**
 * The control side of PAE paging and NX on the Intel part: when the PDPTE
 * registers are (re)loaded, IA32_EFER with its one bit NXE, and the CPUID
 * bits that advertise them. The walk itself is paePaging.ts.
 *
 * SDM Vol. 3A 4.4.1: with PAE paging in use after the instruction, the
 * PDPTEs are loaded from CR3 by MOV to CR3, and by MOV to CR0/CR4 when it
 * changes CR0.PG, CR0.CD, CR0.NW, CR4.PAE, CR4.PGE or CR4.PSE. A PDPTE
 * with P = 1 and a reserved bit set makes the instruction #GP(0) with
 * nothing changed.
 *
 * The AMD part (svm/) has neither: its CR4.PAE stays reserved and its CPUID
 * does not advertise PAE (svm/cpuid.ts), since its nested paging walks only
 * the two-level format.
 */
import type { Cpu } from './cpu.ts';
import { CR0_PG, CR4_PAE, EAX, EDX } from './regs.ts';
import { EFER_NXE, loadPdptes } from './paePaging.ts';

export const MSR_EFER = 0xc000_0080;
/**
 * What CR3 keeps: bits 31:5 (the PAE PDPT address; the two-level walk
 * ignores bits 11:5) and PCD/PWT; bits 2:0 are ignored and read as 0.
 */
export const CR3_STORED = 0xffff_fff8 | 0;
/** CPUID.80000001H:EDX bit 20: XD (execute disable), Linux's `nx`. */
export const CPUID_EXT_EDX_NX = 1 << 20;

/** PAE paging is in use with these CR0/CR4 values. */
export function paePagingOn(cr0: number, cr4: number): boolean {
  return (cr0 & CR0_PG) !== 0 && (cr4 & CR4_PAE) !== 0;
}

/**
 * Called by MOV to CR0/CR3/CR4 before it changes anything, with the values
 * the registers will have: when PAE paging will be in use and `relevant`
 * (the changed bits that demand a reload, or 1 for MOV to CR3) is nonzero,
 * loads the PDPTEs from `cr3`. Returns false when a PDPTE is invalid (the
 * caller raises #GP(0)); the registers are then unchanged.
 */
export function paePagingControl(cpu: Cpu, cr0: number, cr4: number, relevant: number, cr3 = cpu.cr3): boolean {
  if (relevant === 0 || !paePagingOn(cr0, cr4)) return true;
  // In VMX non-root operation with EPT the loads are guest-physical and go through EPT.
  const ept = cpu.vmx.ept;
  if (ept === null) return loadPdptes(cpu.pageTables, cr3, cpu.pdptes);
  ept.loadingPdptes = true;
  try {
    return loadPdptes(cpu.pageTables, cr3, cpu.pdptes);
  } finally {
    ept.loadingPdptes = false;
  }
}

/** RDMSR IA32_EFER on the Intel part. */
export function readEferIntel(cpu: Cpu): void {
  cpu.regs[EAX] = cpu.efer;
  cpu.regs[EDX] = 0;
}

/**
 * WRMSR IA32_EFER on the Intel part: NXE is the only bit this 32-bit part
 * has (no SCE/LME: no SYSCALL, no long mode); any other bit is #GP(0).
 * Cached translations carry the execute permission NXE decides, so a change
 * drops them all.
 */
export function writeEferIntel(cpu: Cpu): void {
  const lo = cpu.regs[EAX], hi = cpu.regs[EDX];
  if (hi !== 0 || (lo & ~EFER_NXE) !== 0) cpu.raiseGP(0);
  const changed = cpu.efer ^ lo;
  cpu.efer = lo;
  if (changed !== 0) cpu.flushTlb(true);
}
