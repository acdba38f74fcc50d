/**
 * The PDPTEs of a PAE guest whose MOV to CR0/CR4 the hypervisor emulates
 * (a write that touched an owned bit, crAccess in exitHandlers.ts). With
 * EPT, VM entry loads the processor's PDPTE registers from the VMCS's
 * GUEST_PDPTEn fields (core/cpu/vmx/pdptes.ts), so the hypervisor must do
 * what the processor would have done for the guest's instruction (SDM
 * Vol. 3A 4.4.1): when PAE paging will be in use and the write changes
 * CR0.PG/CD/NW or CR4.PAE/PGE/PSE, read the four PDPTEs at the guest's CR3
 * (guest-physical, through the p2m), and refuse the write with #GP(0) when
 * a present one has a reserved bit set. KVM's load_pdptrs does the same.
 */
import { pdpteValid } from '../../cpu/paePaging.ts';
import { paePagingOn } from '../../cpu/paeControl.ts';
import { CR0_CD, CR0_NW, CR0_PG, CR4_PAE, CR4_PGE, CR4_PSE } from '../../cpu/regs.ts';
import * as F from '../../cpu/vmx/vmcsFields.ts';
import { GuestMemoryFault } from '../memory/domainMemory.ts';
import type { VmxVcpu } from './vcpu.ts';

const FIELDS = [F.GUEST_PDPTE0, F.GUEST_PDPTE1, F.GUEST_PDPTE2, F.GUEST_PDPTE3];

/**
 * Called before the emulated write takes effect with the CR0/CR4 values it
 * gives. Returns false when the guest must get #GP(0) instead (nothing was
 * changed); otherwise the PDPTE fields hold what the guest's processor
 * would have loaded.
 */
export function reloadGuestPdptes(v: VmxVcpu, cr0: number, cr4: number): boolean {
  const changed = ((v.read(F.GUEST_CR0) ^ cr0) & (CR0_PG | CR0_CD | CR0_NW)) | ((v.read(F.GUEST_CR4) ^ cr4) & (CR4_PAE | CR4_PGE | CR4_PSE));
  if (changed === 0 || !paePagingOn(cr0, cr4)) return true;
  const base = (v.read(F.GUEST_CR3) & 0xffffffe0) >>> 0;
  const entries: number[] = [];
  try {
    for (let i = 0; i < 8; i++) entries.push(v.domain.memory.readU32(base + 4 * i) | 0);
  } catch (e) {
    // A PDPT outside guest RAM: the processor would take an EPT violation on the load; refusing the write is what the guest can see.
    if (e instanceof GuestMemoryFault) return false;
    throw e;
  }
  for (let i = 0; i < 4; i++) if (!pdpteValid(entries[2 * i], entries[2 * i + 1])) return false;
  FIELDS.forEach((f, i) => {
    v.write(f, entries[2 * i]);
    v.write(f + 1, entries[2 * i + 1]); // the field's high half (encoding + 1)
  });
  return true;
}
