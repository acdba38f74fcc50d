/**
 * The guest's paging state after a VT-x exit, for the hypervisor's own walks
 * of its tables (exits/guestPaging.ts: string I/O operands, the MMIO
 * emulator's instruction fetch): CR0/CR3/CR4 and CPL from the VMCS, and for
 * a PAE guest the PDPTE registers (GUEST_PDPTEn, which the exit stored with
 * EPT on) and EFER.NXE (the processor's EFER is the guest's, guestEfer.ts).
 * On shadow page tables the guest's own CR0/CR3/CR4 come from the shadow
 * paging state (the guest has no PAE there: exits/cpuid.ts).
 */
import { EFER_NXE } from '../../cpu/paePaging.ts';
import { CR4_PAE } from '../../cpu/regs.ts';
import * as F from '../../cpu/vmx/vmcsFields.ts';
import type { GuestPagingState } from '../exits/guestPaging.ts';
import type { VmxVcpu } from './vcpu.ts';

const PDPTE_FIELDS = [F.GUEST_PDPTE0, F.GUEST_PDPTE1, F.GUEST_PDPTE2, F.GUEST_PDPTE3];

export function vmxGuestPagingState(v: VmxVcpu): GuestPagingState {
  const cpl = (v.read(F.GUEST_SS_AR_BYTES) >>> 5) & 3;
  // On shadow page tables the VMCS holds the processor's CR0/CR3/CR4, not the guest's.
  if (v.shadowPaging !== null) return v.shadowPaging.guestPaging(v, cpl);
  const s: GuestPagingState = {
    cr0: v.read(F.GUEST_CR0),
    cr3: v.read(F.GUEST_CR3),
    cr4: v.read(F.GUEST_CR4),
    cpl,
  };
  if ((s.cr4 & CR4_PAE) !== 0) {
    s.pdptes = PDPTE_FIELDS.flatMap((f) => [v.read(f), v.read(f + 1)]);
    s.nxe = (v.cpu.efer & EFER_NXE) !== 0;
  }
  return s;
}
