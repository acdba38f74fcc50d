/**
 * IA32_EFER (MSR C000_0080H) of a VT-x guest. Its only bit on this 32-bit
 * Intel part is NXE (core/cpu/paeControl.ts). The processor's VMX has no
 * "load IA32_EFER" entry/exit controls, so the guest runs with the
 * processor's own EFER, as guests did on the first VT-x parts: the
 * hypervisor, which is TypeScript and uses no paging of its own, performs
 * the guest's RDMSR/WRMSR on the processor after the checks the guest's
 * processor would make: #GP(0) for any bit but NXE, and for NXE itself when
 * the domain runs on shadow page tables, where NX is hidden from CPUID
 * (exits/cpuid.ts) because the shadows follow only two-level guest tables.
 * One domain runs on a processor, so nothing else sees the value.
 */
import { rdmsr, wrmsr } from '../../cpu/system.ts';
import { EFER_NXE } from '../../cpu/paePaging.ts';
import { MSR_EFER } from '../../cpu/paeControl.ts';
import { EAX, ECX, EDX } from '../../cpu/regs.ts';
import type { VmxVcpu } from './vcpu.ts';

/** The guest's RDMSR/WRMSR names EFER. */
export function isEferAccess(v: VmxVcpu): boolean {
  return (v.cpu.regs[ECX] >>> 0) === MSR_EFER;
}

/** RDMSR EFER: EDX:EAX get the processor's EFER, which is the guest's. */
export function readGuestEfer(v: VmxVcpu): void {
  rdmsr(v.cpu);
}

/** WRMSR EFER with the guest's EDX:EAX; false when the guest must get #GP(0). */
export function writeGuestEfer(v: VmxVcpu): boolean {
  const r = v.cpu.regs;
  const allowed = v.shadowPaging ? 0 : EFER_NXE;
  if (r[EDX] !== 0 || (r[EAX] & ~allowed) !== 0) return false;
  wrmsr(v.cpu); // cannot fault: the value is one the processor accepts
  return true;
}
