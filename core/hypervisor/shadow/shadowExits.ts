/**
 * What the intercepts of shadow paging mean, for both vendors: a guest page
 * fault (hidden, the guest's own, or a device access), a MOV to CR0/CR3/CR4,
 * with the vendor edges (../vmx/shadowPagingVmx.ts, ../svm/shadowPagingSvm.ts)
 * left with decoding their exits and placing values in their VMCS or VMCB.
 * The software monitor's intercepts can use the same answers.
 */
import { EXC_PF } from '../../cpu/regs.ts';
import { cr0WriteFaults, cr4WriteFaults } from '../exits/controlRegisters.ts';
import { RESUME, type ExitAction, type ExitContext } from '../exits/exitContext.ts';
import type { ShadowPaging } from './shadowPaging.ts';

const CR0_PE = 1 << 0;
const EXC_DF = 8;
/** Exceptions that make a #PF during their delivery a double fault (SDM Vol. 3A Table 6-5, APM Vol. 2 Table 8-7). */
const CONTRIBUTORY = new Set([0, 10, 11, 12, 13]);

/**
 * The same page fault at the same instruction hidden this many times with no
 * guest instruction retired in between: a fill that does not take (a
 * hypervisor bug), and the VM stops with a report instead of spinning in
 * exits. Faults at one instruction with progress between them are normal
 * (a loop that writes a page table and INVLPGs it refaults on every pass,
 * since the INVLPG write-protects the page again).
 */
const MAX_REPEATED_FAULTS = 16;

/** The answer to a guest's MOV to a control register under shadow paging. */
export type ShadowControlWrite =
  | { kind: 'gp' }
  | { kind: 'stop'; message: string }
  /** CR3: the processor's CR3 becomes this shadow directory. */
  | { kind: 'cr3'; machineCr3: number }
  /** CR0 or CR4: the guest's new pair, already given to the shadows; the vendor places the processor's values. */
  | { kind: 'controls'; cr0: number; cr4: number };

/**
 * A guest's MOV to CR0, CR3 or CR4 with the hypervisor owning paging.
 * Leaving protected mode is refused with a report: real mode would run
 * paged on the shadows, which neither processor allows (nested paging on
 * runs it).
 */
export function shadowControlWrite(shadow: ShadowPaging, cr: 0 | 3 | 4, value: number, cr0: number, cr4: number): ShadowControlWrite {
  if (cr === 3) return { kind: 'cr3', machineCr3: shadow.loadCr3(value >>> 0) };
  if (cr === 0) {
    if (cr0WriteFaults(value)) return { kind: 'gp' };
    if ((value & CR0_PE) === 0) return { kind: 'stop', message: 'the guest left protected mode: real mode would run paged under shadow page tables, which the processor refuses (run with nested paging on)' };
    cr0 = value >>> 0;
  } else {
    // PAE is not shadowed (two-level guest paging only): CPUID hides it from the guest, so the bit is reserved to it.
    if (cr4WriteFaults(value)) return { kind: 'gp' };
    cr4 = value >>> 0;
  }
  shadow.setControl(cr0, cr4);
  return { kind: 'controls', cr0, cr4 };
}

/** The page-fault intercept: fill or fix the shadow, reflect the guest's own fault, or emulate a device access. */
export class ShadowFaultHandler {
  private last = { eip: -1, page: -1, retired: -1, count: 0 };

  constructor(readonly shadow: ShadowPaging) {}

  reset(): void {
    this.last = { eip: -1, page: -1, retired: -1, count: 0 };
  }

  /**
   * @param emulateDevice the vendor's MMIO path (the fault reached a page
   *   with no RAM behind it, or a write to ROM)
   */
  pageFault(v: ExitContext, linear: number, errorCode: number, emulateDevice: (gpa: number) => ExitAction): ExitAction {
    const outcome = this.shadow.pageFault(linear, errorCode);
    v.counters.shadowPaging(this.shadow.counters);
    switch (outcome.kind) {
      case 'hidden':
        // An event whose delivery the fault cut short is delivered again on the next entry (the vCPU keeps it).
        return this.checkProgress(v, linear);
      case 'reflect':
        return reflectPageFault(v, outcome.errorCode, outcome.cr2);
      case 'device':
        return emulateDevice(outcome.gpa);
      case 'error':
        return v.report(outcome.message);
      case 'watchedWrite':
        // Only the software monitor watches frames (its guest GDT); VT-x and AMD-V never ask for it.
        return v.report(`a write to watched guest frame 0x${outcome.gfn.toString(16)} under hardware assist (a hypervisor bug)`);
    }
  }

  private checkProgress(v: ExitContext, linear: number): ExitAction {
    const eip = v.guestEip();
    const page = linear >>> 12;
    const retired = v.cpu.clock.retired;
    const last = this.last;
    if (last.eip === eip && last.page === page && last.retired === retired) {
      if (++last.count > MAX_REPEATED_FAULTS) return v.report(`shadow paging makes no progress: the page fault at 0x${linear.toString(16)} came back ${last.count} times`);
    } else {
      this.last = { eip, page, retired, count: 1 };
    }
    return RESUME;
  }
}

/**
 * The guest's own #PF, combined with the event whose delivery it
 * interrupted, as the processor combines them: #DF after #PF or a
 * contributory exception, a triple fault after #DF, and an external
 * interrupt goes back to be injected after the #PF.
 */
export function reflectPageFault(v: ExitContext, errorCode: number, cr2: number): ExitAction {
  const interrupted = v.takeInterruptedEvent();
  if (interrupted !== null) {
    const { kind, vector } = interrupted;
    if (kind === 'exception' && vector === EXC_DF) return { kind: 'shutdown', cs: v.guestCs(), eip: v.guestEip(), detail: 'triple fault in the guest (#PF while delivering #DF)' };
    if (kind === 'exception' && (vector === EXC_PF || CONTRIBUTORY.has(vector))) {
      v.setGuestCr2(cr2);
      v.injectException(EXC_DF, 0);
      return RESUME;
    }
    if (kind === 'external') v.domain.interrupts.hold(vector);
  }
  v.setGuestCr2(cr2);
  v.injectException(EXC_PF, errorCode);
  return RESUME;
}

