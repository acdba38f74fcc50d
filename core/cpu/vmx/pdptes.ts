/**
 * The PAE PDPTEs across VM entry and exit (SDM Vol. 3C). A guest uses PAE
 * paging when GUEST_CR0.PG and GUEST_CR4.PAE are set (this part has no
 * IA-32e mode):
 * - 26.3.1.6 / 26.3.2.4: with "enable EPT", VM entry checks the four
 *   GUEST_PDPTEn fields and loads the PDPTE registers from them; without
 *   EPT it loads them from the guest's CR3 in (host-)physical memory. A
 *   present PDPTE with a reserved bit set fails the entry as invalid guest
 *   state with exit qualification 2.
 * - 27.3.4: with "enable EPT", VM exit stores the PDPTE registers of a PAE
 *   guest into the fields (a guest MOV to CR3 may have reloaded them
 *   through EPT); otherwise the fields are left as they were.
 * - 27.5.4: a host using PAE paging gets its PDPTEs from HOST_CR3; an
 *   invalid one is a VMX abort (indicator 2).
 */
import type { Cpu } from '../cpu.ts';
import { loadPdptes, pdpteValid } from '../paePaging.ts';
import { CR3_STORED, paePagingOn } from '../paeControl.ts';
import type { Vmcs } from './vmcs.ts';
import * as F from './vmcsFields.ts';

const FIELDS = [F.GUEST_PDPTE0, F.GUEST_PDPTE1, F.GUEST_PDPTE2, F.GUEST_PDPTE3];

function eptEnabled(v: Vmcs): boolean {
  return (v.get(F.CPU_BASED_VM_EXEC_CONTROL) & F.CPU_BASED_ACTIVATE_SECONDARY_CONTROLS) !== 0
    && (v.get(F.SECONDARY_VM_EXEC_CONTROL) & F.SECONDARY_EXEC_ENABLE_EPT) !== 0;
}

/** VM entry: checks and loads a PAE guest's PDPTEs; false when the entry must fail (qualification ENTRY_FAIL_PDPTE). */
export function loadGuestPdptes(cpu: Cpu, v: Vmcs): boolean {
  if (!paePagingOn(v.get(F.GUEST_CR0), v.get(F.GUEST_CR4))) return true;
  if (!eptEnabled(v)) return loadPdptes(cpu, v.get(F.GUEST_CR3) & CR3_STORED, cpu.pdptes);
  for (const f of FIELDS) if (!pdpteValid(v.get(f), v.getHigh(f))) return false;
  FIELDS.forEach((f, i) => {
    cpu.pdptes[2 * i] = v.get(f);
    cpu.pdptes[2 * i + 1] = v.getHigh(f);
  });
  return true;
}

/** VM exit: a PAE guest's PDPTE registers into the fields when EPT is on. */
export function saveGuestPdptes(cpu: Cpu, v: Vmcs): void {
  if (!eptEnabled(v) || !paePagingOn(cpu.cr0, cpu.cr4)) return;
  FIELDS.forEach((f, i) => {
    v.set(f, cpu.pdptes[2 * i]);
    v.setHigh(f, cpu.pdptes[2 * i + 1]);
  });
}

/** VM exit, after host CR0/CR3/CR4 are loaded: false when a host PDPTE is invalid (VMX abort). */
export function loadHostPdptes(cpu: Cpu): boolean {
  if (!paePagingOn(cpu.cr0, cpu.cr4)) return true;
  return loadPdptes(cpu, cpu.cr3, cpu.pdptes);
}
