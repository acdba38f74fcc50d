/**
 * VT-x without EPT: the VMCS settings and exit handlers that put the
 * hypervisor's shadow page tables (../shadow/) under a VMX guest. The VMX
 * edge only: what the exits mean for memory is decided by ShadowPaging.
 *
 * - Controls: no EPT, no unrestricted guest, no VPID (so the processor
 *   flushes its TLB on every VM entry and exit, which covers every
 *   invalidation the shadows ask for); CR3-load, CR3-store and INVLPG
 *   exiting; #PF in the exception bitmap (every #PF exits: error-code
 *   mask = match = 0).
 * - CR0.PE/PG/WP/NE and CR4.PSE/PGE/VMXE are the hypervisor's (guest/host
 *   masks): the guest reads its own values from the read shadows, the
 *   processor runs with PE = PG = WP = 1, PSE = 0 and the guest's PGE.
 * - Boot: without unrestricted guest, VMX non-root code runs only in
 *   protected mode with paging. The boot protocols' 32-bit entry (protected
 *   mode, paging off) runs on the identity shadow of guest-physical space
 *   until the guest turns paging on; real mode (firmware at the reset
 *   vector, or a guest clearing CR0.PE) is refused with a clear error.
 * - What the intercepts mean (a hidden or reflected fault, a control-register
 *   write) is decided by ../shadow/shadowExits.ts, shared with AMD-V.
 */
import { ESP, EXC_GP, EXC_PF } from '../../cpu/regs.ts';
import * as F from '../../cpu/vmx/vmcsFields.ts';
import { RESUME, type ExitAction } from '../exits/exitContext.ts';
import type { GuestPagingState } from '../exits/guestPaging.ts';
import type { DomainMemory } from '../memory/domainMemory.ts';
import { ShadowFaultHandler, shadowControlWrite } from '../shadow/shadowExits.ts';
import { ShadowPaging } from '../shadow/shadowPaging.ts';
import { emulateDeviceAccess } from './memoryExit.ts';
import type { VmxVcpu } from './vcpu.ts';
import type { VmxControls } from './vmcsSetup.ts';

const CR0_PE = 1 << 0;
const CR0_NE = 1 << 5;
const CR0_WP = 1 << 16;
const CR0_PG = 1 << 31;
const CR4_PSE = 1 << 4;
const CR4_PGE = 1 << 7;
const CR4_VMXE = 1 << 13;

/** CR0 bits the hypervisor owns under shadow paging. */
export const SHADOW_CR0_OWNED = CR0_PE | CR0_PG | CR0_WP | CR0_NE;
/** CR4 bits the hypervisor owns under shadow paging. */
export const SHADOW_CR4_OWNED = CR4_PSE | CR4_PGE | CR4_VMXE;

/** The EPT controls with nested paging taken out and the shadow-paging exits put in. */
export function shadowPagingControls(c: VmxControls): VmxControls {
  return {
    ...c,
    proc: c.proc | F.CPU_BASED_CR3_LOAD_EXITING | F.CPU_BASED_CR3_STORE_EXITING | F.CPU_BASED_INVLPG_EXITING,
    proc2: c.proc2 & ~(F.SECONDARY_EXEC_ENABLE_EPT | F.SECONDARY_EXEC_UNRESTRICTED_GUEST | F.SECONDARY_EXEC_ENABLE_VPID),
  };
}

export class VmxShadowPaging {
  readonly shadow: ShadowPaging;
  private readonly faults: ShadowFaultHandler;

  constructor(memory: DomainMemory) {
    this.shadow = new ShadowPaging(memory);
    this.faults = new ShadowFaultHandler(this.shadow);
  }

  /** The fixed VMCS fields shadow paging needs (after the common controls and host state). */
  configure(v: VmxVcpu): void {
    v.write(F.EXCEPTION_BITMAP, 1 << EXC_PF);
    v.write(F.PAGE_FAULT_ERROR_CODE_MASK, 0);
    v.write(F.PAGE_FAULT_ERROR_CODE_MATCH, 0);
    v.write(F.CR0_GUEST_HOST_MASK, SHADOW_CR0_OWNED);
    v.write(F.CR4_GUEST_HOST_MASK, SHADOW_CR4_OWNED);
  }

  /**
   * After the boot entry's guest state is written (protected mode, paging
   * off): the guest's CR0/CR3/CR4 go to the read shadows and the shadow
   * paging state, the processor gets the identity shadow.
   */
  start(v: VmxVcpu): void {
    this.shadow.reset();
    this.faults.reset();
    v.counters.shadowPaging(this.shadow.counters);
    const cr0 = (v.read(F.GUEST_CR0) & ~CR0_NE) | (v.read(F.CR0_READ_SHADOW) & CR0_NE);
    const cr4 = v.read(F.GUEST_CR4) & ~CR4_VMXE;
    this.shadow.loadCr3(v.read(F.GUEST_CR3));
    this.shadow.setControl(cr0 >>> 0, cr4 >>> 0);
    this.placeControls(v, cr0, cr4);
  }

  /** MOV to/from CR0, CR3, CR4 that exited (the masks and CR3-load/store exiting). */
  crAccess(v: VmxVcpu): ExitAction {
    const action = this.controlRegister(v);
    v.counters.shadowPaging(this.shadow.counters);
    return action;
  }

  private controlRegister(v: VmxVcpu): ExitAction {
    const q = v.read(F.EXIT_QUALIFICATION);
    const cr = q & 15;
    const type = (q >>> 4) & 3;
    const gpr = (q >>> 8) & 15;
    if (type === 1 && cr === 3) {
      if (gpr === ESP) v.write(F.GUEST_RSP, this.shadow.guestCr3);
      else v.cpu.regs[gpr] = this.shadow.guestCr3;
      v.skipInstruction();
      return RESUME;
    }
    if (type !== 0 || (cr !== 0 && cr !== 3 && cr !== 4)) return v.report(`unexpected control-register exit under shadow paging (qualification 0x${q.toString(16)})`);
    const value = (gpr === ESP ? v.read(F.GUEST_RSP) : v.cpu.regs[gpr]) >>> 0;
    const w = shadowControlWrite(this.shadow, cr, value, this.guestCr0(v), v.read(F.CR4_READ_SHADOW));
    switch (w.kind) {
      case 'gp':
        v.injectException(EXC_GP, 0);
        return RESUME;
      case 'stop':
        return v.report(w.message);
      case 'cr3':
        v.write(F.GUEST_CR3, w.machineCr3);
        break;
      case 'controls':
        this.placeControls(v, w.cr0, w.cr4);
        break;
    }
    v.skipInstruction();
    return RESUME;
  }

  /** The p2m changed (the balloon): every shadow names machine frames, so the shadows start over; the processor gets the new root. */
  p2mChanged(v: VmxVcpu): void {
    this.shadow.p2mChanged();
    v.write(F.GUEST_CR3, this.shadow.machineCr3);
    // No VPID: the processor flushes its whole TLB on every entry.
    this.shadow.takeTlbFlush();
  }

  invlpg(v: VmxVcpu): ExitAction {
    this.shadow.invlpg(v.read(F.EXIT_QUALIFICATION));
    v.counters.shadowPaging(this.shadow.counters);
    v.skipInstruction();
    return RESUME;
  }

  /** An exception exit: only #PF is intercepted (exit qualification: the linear address). */
  exception(v: VmxVcpu): ExitAction {
    const info = v.read(F.VM_EXIT_INTR_INFO);
    const vector = info & F.INTR_INFO_VECTOR_MASK;
    if ((info & F.INTR_INFO_VALID) === 0 || vector !== EXC_PF) return v.report(`unexpected exception exit (interruption information 0x${info.toString(16)})`);
    return this.faults.pageFault(v, v.read(F.EXIT_QUALIFICATION), v.read(F.VM_EXIT_INTR_ERROR_CODE), (gpa) => emulateDeviceAccess(v, gpa));
  }

  /**
   * The guest's own paging, for the hypervisor's walks of its tables (MMIO
   * instruction fetch and string operands, string I/O): the processor's
   * CR0/CR3/CR4 in the VMCS are the shadows' (paging always on, CR3 a
   * machine frame), the guest's are the read shadows and its last CR3 load.
   */
  guestPaging(v: VmxVcpu, cpl: number): GuestPagingState {
    return { cr0: this.guestCr0(v), cr3: this.shadow.guestCr3, cr4: v.read(F.CR4_READ_SHADOW) >>> 0, cpl };
  }

  private guestCr0(v: VmxVcpu): number {
    return ((v.read(F.GUEST_CR0) & ~SHADOW_CR0_OWNED) | (v.read(F.CR0_READ_SHADOW) & SHADOW_CR0_OWNED)) >>> 0;
  }

  /** The guest's CR0/CR4 (already the shadows' state) into the read shadows; the processor's from them. */
  private placeControls(v: VmxVcpu, cr0: number, cr4: number): void {
    v.write(F.CR0_READ_SHADOW, cr0);
    v.write(F.GUEST_CR0, ShadowPaging.processorCr0(cr0) | CR0_NE);
    v.write(F.CR4_READ_SHADOW, cr4);
    v.write(F.GUEST_CR4, ShadowPaging.processorCr4(cr4) | CR4_VMXE);
    v.write(F.GUEST_CR3, this.shadow.machineCr3);
    // No VPID: the processor flushes its whole TLB on every entry, which covers every invalidation asked for.
    this.shadow.takeTlbFlush();
  }
}
