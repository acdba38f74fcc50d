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
 * - A #PF that interrupted the delivery of another event (IDT-vectoring
 *   information) delivers that event again when the fault was hidden; when
 *   the fault is the guest's, the two combine as the processor combines
 *   them (#DF after #PF or a contributory exception; a triple fault after #DF;
 *   an external interrupt goes back to be injected after the #PF).
 */
import { CR4_IMPLEMENTED, ESP, EXC_GP, EXC_PF } from '../../cpu/regs.ts';
import * as F from '../../cpu/vmx/vmcsFields.ts';
import type { DomainMemory } from '../memory/domainMemory.ts';
import { ShadowPaging } from '../shadow/shadowPaging.ts';
import { RESUME, type ExitAction } from './exitHandlers.ts';
import { emulateDeviceAccess } from './memoryExit.ts';
import type { VmxVcpu } from './vcpu.ts';
import type { VmxControls } from './vmcsSetup.ts';

const CR0_PE = 1 << 0;
const CR0_NE = 1 << 5;
const CR0_WP = 1 << 16;
const CR0_NW = 1 << 29;
const CR0_CD = 1 << 30;
const CR0_PG = 1 << 31;
const CR4_PSE = 1 << 4;
const CR4_PGE = 1 << 7;
const CR4_VMXE = 1 << 13;
const EXC_DF = 8;
/** Exceptions that make a #PF during their delivery a double fault (SDM Table 6-5). */
const CONTRIBUTORY = new Set([0, 10, 11, 12, 13]);

/**
 * The same page fault, at the same instruction, hidden this many times in a
 * row means a fill that does not take (a hypervisor bug): the VM stops with a
 * report instead of spinning in exits that retire no instruction.
 */
const MAX_REPEATED_FAULTS = 16;

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
  private lastFault = { rip: -1, page: -1, retired: -1, count: 0 };

  constructor(memory: DomainMemory) {
    this.shadow = new ShadowPaging(memory);
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
    this.lastFault = { rip: -1, page: -1, retired: -1, count: 0 };
    v.counters.shadowPaging(this.shadow.counters);
    const cr0 = (v.read(F.GUEST_CR0) & ~CR0_NE) | (v.read(F.CR0_READ_SHADOW) & CR0_NE);
    const cr4 = v.read(F.GUEST_CR4) & ~CR4_VMXE;
    this.shadow.loadCr3(v.read(F.GUEST_CR3));
    this.setControls(v, cr0, cr4);
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
    if (cr === 3) {
      v.write(F.GUEST_CR3, this.shadow.loadCr3(value));
    } else if (cr === 0) {
      if (((value & CR0_PG) !== 0 && (value & CR0_PE) === 0) || ((value & CR0_NW) !== 0 && (value & CR0_CD) === 0)) {
        v.injectException(EXC_GP, 0);
        return RESUME;
      }
      if ((value & CR0_PE) === 0) return v.report('the guest left protected mode: real mode under VT-x needs unrestricted guest, which needs EPT (nested paging on)');
      this.setControls(v, value, v.read(F.CR4_READ_SHADOW));
    } else {
      if ((value & ~CR4_IMPLEMENTED) !== 0) {
        v.injectException(EXC_GP, 0);
        return RESUME;
      }
      this.setControls(v, this.guestCr0(v), value);
    }
    v.skipInstruction();
    return RESUME;
  }

  invlpg(v: VmxVcpu): ExitAction {
    this.shadow.invlpg(v.read(F.EXIT_QUALIFICATION));
    v.counters.shadowPaging(this.shadow.counters);
    v.skipInstruction();
    return RESUME;
  }

  /** An exception exit: only #PF is intercepted. */
  exception(v: VmxVcpu): ExitAction {
    const info = v.read(F.VM_EXIT_INTR_INFO);
    const vector = info & F.INTR_INFO_VECTOR_MASK;
    if ((info & F.INTR_INFO_VALID) === 0 || vector !== EXC_PF) return v.report(`unexpected exception exit (interruption information 0x${info.toString(16)})`);
    const linear = v.read(F.EXIT_QUALIFICATION);
    const outcome = this.shadow.pageFault(linear, v.read(F.VM_EXIT_INTR_ERROR_CODE));
    v.counters.shadowPaging(this.shadow.counters);
    switch (outcome.kind) {
      case 'hidden': {
        const rip = v.read(F.GUEST_RIP);
        const page = linear >>> 12;
        // No progress: no guest instruction retired since the same fault (a loop that writes a page table and
        // INVLPGs it refaults at one instruction on every pass, and that is progress).
        const retired = v.cpu.clock.retired;
        const last = this.lastFault;
        if (last.rip === rip && last.page === page && last.retired === retired) {
          if (++last.count > MAX_REPEATED_FAULTS) return v.report(`shadow paging makes no progress: the page fault at 0x${linear.toString(16)} came back ${last.count} times`);
        } else {
          last.rip = rip;
          last.page = page;
          last.retired = retired;
          last.count = 1;
        }
        v.redeliverVectoredEvent();
        return RESUME;
      }
      case 'reflect':
        return this.reflect(v, outcome.errorCode, outcome.cr2);
      case 'device':
        return emulateDeviceAccess(v, outcome.gpa);
      case 'error':
        return v.report(outcome.message);
    }
  }

  /** The guest's own #PF, combined with the event whose delivery it interrupted, if any. */
  private reflect(v: VmxVcpu, errorCode: number, cr2: number): ExitAction {
    const vectoring = v.read(F.IDT_VECTORING_INFO_FIELD);
    if ((vectoring & F.INTR_INFO_VALID) !== 0) {
      const type = (vectoring >>> 8) & 7;
      const vector = vectoring & F.INTR_INFO_VECTOR_MASK;
      if (type === F.INTR_TYPE_HARD_EXCEPTION && vector === EXC_DF) {
        return { kind: 'shutdown', cs: v.read(F.GUEST_CS_SELECTOR), eip: v.read(F.GUEST_RIP), detail: 'triple fault in the guest (#PF while delivering #DF)' };
      }
      if (type === F.INTR_TYPE_HARD_EXCEPTION && (vector === EXC_PF || CONTRIBUTORY.has(vector))) {
        v.cpu.cr2 = cr2;
        v.injectException(EXC_DF, 0);
        return RESUME;
      }
      // An external interrupt was acknowledged and not delivered: it goes back to be injected after the #PF.
      if (type === F.INTR_TYPE_EXT_INTR) v.domain.interrupts.hold(vector);
    }
    v.cpu.cr2 = cr2;
    v.injectException(EXC_PF, errorCode);
    return RESUME;
  }

  private guestCr0(v: VmxVcpu): number {
    return ((v.read(F.GUEST_CR0) & ~SHADOW_CR0_OWNED) | (v.read(F.CR0_READ_SHADOW) & SHADOW_CR0_OWNED)) >>> 0;
  }

  /** The guest's CR0/CR4 into the read shadows and the shadow paging state; the processor's from them. */
  private setControls(v: VmxVcpu, cr0: number, cr4: number): void {
    this.shadow.setControl(cr0, cr4);
    v.write(F.CR0_READ_SHADOW, cr0);
    v.write(F.GUEST_CR0, ShadowPaging.processorCr0(cr0) | CR0_NE);
    v.write(F.CR4_READ_SHADOW, cr4);
    v.write(F.GUEST_CR4, ShadowPaging.processorCr4(cr4) | CR4_VMXE);
    v.write(F.GUEST_CR3, this.shadow.machineCr3);
    // No VPID: the processor flushes its whole TLB on every entry, which covers every invalidation asked for.
    this.shadow.takeTlbFlush();
  }
}
