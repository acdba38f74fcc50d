/**
 * EPT, the second translation stage of VMX non-root operation (SDM Vol. 3C
 * §28.2): 4-level tables at the EPT pointer translate every guest-physical
 * address, the guest's own page-table reads and A/D writes included. The
 * guest's walk stays paging.ts's: this class is the PageTableMemory it
 * reads through, and `translateFinal` is applied by the CPU's TLB-miss path
 * to the walk's result, so a TLB hit costs nothing extra.
 *
 * Implemented as advertised in IA32_VMX_EPT_VPID_CAP: 4 KiB and 2 MiB pages,
 * UC and WB memory types, no execute-only pages, no accessed/dirty flags,
 * 32-bit physical addresses. Misconfigured entries exit with reason 49,
 * missing permissions with reason 48.
 */
import type { Cpu } from '../cpu.ts';
import type { PageTableMemory } from '../paging.ts';
import * as F from './vmcsFields.ts';
import { raiseVmExitNoInstruction } from './exit.ts';

const EPT_R = 1, EPT_W = 2, EPT_X = 4;
/** Leaf memory types that exist: UC 0, WC 1, WT 4, WP 5, WB 6 (2, 3, 7 are reserved). */
const VALID_MEMORY_TYPE = (1 << 0) | (1 << 1) | (1 << 4) | (1 << 5) | (1 << 6);
const ACCESS_READ = 0, ACCESS_WRITE = 1, ACCESS_FETCH = 2;

export class Ept implements PageTableMemory {
  private readonly cpu: Cpu;
  /** Host-physical address of the PML4 table. */
  private readonly pml4: number;
  /** The linear address being translated (for the violation's GUEST_LINEAR_ADDRESS). */
  private linear = 0;
  /** Permissions of the last final translation (for the TLB fill). */
  writable = true;
  executable = true;
  /**
   * Set while a MOV to CR0/CR3/CR4 loads the PAE PDPTEs (paeControl.ts): a violation there has no
   * guest-linear address (SDM Table 27-7, bit 7 clear).
   */
  loadingPdptes = false;

  constructor(cpu: Cpu, eptpLo: number) {
    this.cpu = cpu;
    this.pml4 = (eptpLo & ~0xfff) >>> 0;
  }

  /** The guest-physical address of a linear access after the guest's own paging. */
  translateFinal(gpa: number, lin: number, write: boolean, fetch: boolean): number {
    this.linear = lin;
    return this.walk(gpa, write ? ACCESS_WRITE : fetch ? ACCESS_FETCH : ACCESS_READ, true);
  }

  /** The guest's page walk reads its tables at guest-physical addresses. */
  readPhys32(gpa: number): number {
    return this.cpu.bus.read32(this.walk(gpa, ACCESS_READ, false));
  }
  writePhys32(gpa: number, value: number): void {
    this.cpu.bus.write32(this.walk(gpa, ACCESS_WRITE, false), value);
  }
  /** Called by the CPU before a walk so violations in the paging structures name the linear address. */
  setLinear(lin: number): void {
    this.linear = lin;
  }

  private walk(gpa: number, access: number, final: boolean): number {
    gpa >>>= 0;
    const bus = this.cpu.bus;
    let table = this.pml4;
    let rights = EPT_R | EPT_W | EPT_X;
    // Guest-physical addresses are 32 bits: the PML4 index (bits 47:39) is always 0.
    for (let level = 4; level >= 1; level--) {
      const shift = 12 + 9 * (level - 1);
      const index = level === 4 ? 0 : Math.floor(gpa / 2 ** shift) & 0x1ff;
      const addr = table + index * 8;
      const lo = bus.read32(addr);
      const hi = bus.read32(addr + 4);
      const perm = lo & 7;
      if (perm === 0) this.violation(gpa, access, 0, final);
      // Write without read, or execute-only (not advertised), or address bits beyond 32: misconfigured.
      if ((perm & (EPT_R | EPT_W)) === EPT_W || perm === EPT_X || (hi & 0x000f_ffff) !== 0) this.misconfig(gpa);
      rights &= perm;
      const large = (lo & 0x80) !== 0;
      if (level === 4 || (level === 3 && large)) {
        if ((lo & 0xf8) !== 0) this.misconfig(gpa); // PML4E bits 7:3 reserved; 1 GiB pages not advertised
      } else if (level === 3 || (level === 2 && !large)) {
        if ((lo & 0x78) !== 0) this.misconfig(gpa); // bits 6:3 reserved in a non-leaf entry
      } else {
        // A leaf: a 2 MiB PDE (bits 20:12 reserved) or a PTE.
        if ((VALID_MEMORY_TYPE & (1 << ((lo >>> 3) & 7))) === 0) this.misconfig(gpa);
        if (level === 2 && (lo & 0x001f_f000) !== 0) this.misconfig(gpa);
        const needed = access === ACCESS_READ ? EPT_R : access === ACCESS_WRITE ? EPT_W : EPT_X;
        if ((rights & needed) === 0) this.violation(gpa, access, rights, final);
        if (final) {
          this.writable = (rights & EPT_W) !== 0;
          this.executable = (rights & EPT_X) !== 0;
        }
        const pageMask = level === 2 ? 0x1f_ffff : 0xfff;
        return (((lo & ~pageMask) >>> 0) + (gpa & pageMask)) >>> 0;
      }
      table = (lo & ~0xfff) >>> 0;
    }
    throw new Error('unreachable');
  }

  private violation(gpa: number, access: number, rights: number, final: boolean): never {
    const vmx = this.cpu.vmx;
    const q = (access === ACCESS_READ ? F.EPT_VIOLATION_READ : access === ACCESS_WRITE ? F.EPT_VIOLATION_WRITE : F.EPT_VIOLATION_FETCH)
      | (rights << 3) | (this.loadingPdptes ? 0 : F.EPT_VIOLATION_LINEAR_VALID) | (final ? F.EPT_VIOLATION_FINAL_TRANSLATION : 0);
    vmx.exitGuestPhysical = gpa;
    vmx.exitGuestLinear = this.linear;
    return raiseVmExitNoInstruction(this.cpu, F.EXIT_REASON_EPT_VIOLATION, q);
  }

  private misconfig(gpa: number): never {
    this.cpu.vmx.exitGuestPhysical = gpa;
    return raiseVmExitNoInstruction(this.cpu, F.EXIT_REASON_EPT_MISCONFIG, 0);
  }
}
