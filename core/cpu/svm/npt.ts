/**
 * Nested paging, the second translation stage of SVM guest mode (APM Vol. 2
 * §15.25): the nested page tables at N_CR3 are in the host's own format
 * (here legacy 32-bit paging, with 4 MiB pages under the host's CR4.PSE as
 * it was at VMRUN) and translate every guest-physical address, the guest's
 * own page-table accesses included. As EPT does for VMX (vmx/ept.ts), this
 * class is the PageTableMemory the guest's walk (paging.ts) reads through,
 * and `translateFinal` is applied by the CPU's TLB-miss path to the walk's
 * result, so a TLB hit costs nothing extra.
 *
 * Every nested access is a user access (APM 15.25.5), and the guest's
 * page-table accesses are treated as writes (the walk may set A/D bits in
 * them), so the nested walk itself sets accessed and dirty bits in the
 * nested tables. A violation is a #VMEXIT(NPF) with the page-fault error
 * code in EXITINFO1 (bit 32: final translation, bit 33: guest page-table
 * access) and the guest-physical address in EXITINFO2.
 */
import type { Cpu } from '../cpu.ts';
import { pagingWalk, WalkResult, type PageTableMemory } from '../paging.ts';
import { CR0_WP } from '../regs.ts';
import { NPF_FINAL_TRANSLATION, NPF_PAGE_TABLE_WALK, VMEXIT_NPF } from './vmcb.ts';
import { raiseSvmExitNoInstruction } from './vmexit.ts';

export class Npt implements PageTableMemory {
  private readonly cpu: Cpu;
  private readonly nCr3: number;
  private readonly hostCr4: number;
  private readonly result = new WalkResult();
  /** Permissions of the last final translation (for the TLB fill). */
  writable = true;
  readonly executable = true; // no NX on this part

  constructor(cpu: Cpu, nCr3: number, hostCr4: number) {
    this.cpu = cpu;
    this.nCr3 = nCr3;
    this.hostCr4 = hostCr4;
  }

  /** The guest-physical address of a linear access after the guest's own paging. */
  translateFinal(gpa: number, _lin: number, write: boolean, _fetch: boolean): number {
    const w = this.walk(gpa, write, true);
    // Only a nested page that is writable and already dirty may serve later writes from the TLB.
    this.writable = w.userWrite && w.dirty;
    return w.phys;
  }

  readPhys32(gpa: number): number {
    return this.cpu.readPhys32(this.walk(gpa, true, false).phys);
  }
  writePhys32(gpa: number, value: number): void {
    this.cpu.writePhys32(this.walk(gpa, true, false).phys, value);
  }
  setLinear(_lin: number): void {
    // #NPF reports no linear address (that is a decode-assist feature, not advertised).
  }

  private walk(gpa: number, write: boolean, final: boolean): WalkResult {
    // The host's CR0.WP does not matter: every nested access is a user access.
    const w = pagingWalk(this.cpu, CR0_WP, this.nCr3, this.hostCr4, gpa | 0, write, true, this.result);
    if (w.faultCode >= 0) {
      const svm = this.cpu.svm;
      svm.exitInfo1High = final ? NPF_FINAL_TRANSLATION : NPF_PAGE_TABLE_WALK;
      raiseSvmExitNoInstruction(this.cpu, VMEXIT_NPF, w.faultCode, gpa >>> 0);
    }
    return w;
  }
}
