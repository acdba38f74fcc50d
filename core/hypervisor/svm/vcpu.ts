/**
 * One virtual CPU run on AMD-V (SVM): its VMCB in machine memory, and the
 * loop VMRUN -> guest runs on the processor -> #VMEXIT -> handler -> VMRUN,
 * the same loop as VT-x's (../vcpuLoop.ts) with AMD's means:
 *
 * - The processor runs the guest (`cpu.run` in guest mode) until a #VMEXIT
 *   ends it with STOP_VMEXIT; the handler for the EXITCODE (exitHandlers.ts)
 *   decides: resume, or stop the VM with a report.
 * - Before every VMRUN the pending event is placed in EVENTINJ: an event
 *   whose delivery an exit cut short (EXITINTINFO), else an exception a
 *   handler raised, else the held external interrupt if the guest can take
 *   it; otherwise V_IRQ asks for a VINTR exit when the guest can (the
 *   interrupt window).
 * - VMRUN loads only RAX, RSP, RIP and RFLAGS of the general state from the
 *   VMCB; the other registers stay in the processor. Between exits the
 *   guest's registers are `cpu.regs` (RAX and RSP copied in from the VMCB
 *   after each exit and back before each VMRUN), so the vendor-neutral
 *   handlers read and write them as on VT-x. FS, GS, TR and LDTR are
 *   VMLOAD's part: loaded once at start, they stay in the processor, which
 *   runs nothing else.
 *
 * HLT exits: the vCPU leaves the guest and blocks (`run` returns 'halted')
 * until an interrupt is pending, as on VT-x.
 */
import type { Cpu } from '../../cpu/cpu.ts';
import { EAX, ESP } from '../../cpu/regs.ts';
import { readExit, vmload, vmrun, vmsave, type SvmExit } from '../../cpu/svm/rootOps.ts';
import * as B from '../../cpu/svm/vmcb.ts';
import type { EntryState } from '../../machine/boot/entryState.ts';
import type { HypervisorCounters } from '../counters.ts';
import { RESUME, type ExitContext, type InterruptedEvent, type SegmentIndex } from '../exits/exitContext.ts';
import type { GuestPagingState } from '../exits/guestPaging.ts';
import type { ShadowPaging } from '../shadow/shadowPaging.ts';
import type { GuestMsrState } from '../exits/msrs.ts';
import { FRAME_SIZE, type FrameAllocator } from '../memory/frameAllocator.ts';
import type { VcpuStop } from '../vcpuRun.ts';
import { VcpuLoop, type VcpuDomain } from '../vcpuLoop.ts';
import { EXIT_HANDLERS } from './exitHandlers.ts';
import { exitCodeName } from './exitCodeNames.ts';
import type { SvmHostEnvironment } from './hostMode.ts';
import type { SvmShadowPaging } from './shadowPagingSvm.ts';
import { Vmcb, fillIoPermissionMap, fillMsrPermissionMap, writeControls, writeEntryGuestState, writeResetGuestState } from './vmcbSetup.ts';

const RFLAGS_IF = 1 << 9;
const IO_PERMISSION_PAGES = B.IOPM_SIZE / FRAME_SIZE;
const MSR_PERMISSION_PAGES = B.MSRPM_SIZE / FRAME_SIZE;

/** An EVENTINJ value (low dword with the valid bit, error code in the high dword). */
interface Event {
  info: number;
  errorCode: number;
}

export class SvmVcpu extends VcpuLoop implements ExitContext {
  readonly msrs: GuestMsrState;
  readonly vmcb: Vmcb;
  /** The last exit's information, for the handlers. */
  exit: SvmExit = { code: 0, info1: 0, info1High: 0, info2: 0, intInfo: 0, intErrorCode: 0, nextRip: 0 };
  /** An exception a handler raised, injected on the next VMRUN. */
  private exception: Event | null = null;
  /** An event whose delivery an exit interrupted (EXITINTINFO), delivered again on the next VMRUN. */
  private vectored: Event | null = null;
  /** The next VMRUN flushes the TLB (a fresh start); later ones keep the guest's ASID-tagged entries. */
  private flushTlb = true;
  /** Shadow page tables when the domain runs without nested paging, else null. */
  readonly shadowPaging: SvmShadowPaging | null;

  /**
   * @param _host the host environment (enterSvmHost); VMRUN saves the host's state itself, so the
   *   vCPU needs nothing from it beyond its existence (VmxVcpu writes its host state into the VMCS)
   * @param nCr3 the nested page tables' directory (NptTables.nCr3; unused with shadow paging)
   * @param passThroughPorts ports the guest reaches without an exit (see fillIoPermissionMap)
   * @param shadowPaging run without nested paging on these shadow page tables
   */
  constructor(
    cpu: Cpu,
    domain: VcpuDomain,
    _host: SvmHostEnvironment,
    nCr3: number,
    counters: HypervisorCounters,
    passThroughPorts: readonly number[] = [],
    shadowPaging: SvmShadowPaging | null = null,
  ) {
    super(cpu, domain, counters);
    counters.setVendor('svm');
    const machine = domain.memory.machine;
    // The VMCB, the 12 KiB IOPM and the 8 KiB MSRPM (each physically contiguous: allocated as one run).
    const [vmcbFrame] = machine.allocator.allocate(1);
    const iopm = allocateContiguous(machine.allocator, IO_PERMISSION_PAGES);
    const msrpm = allocateContiguous(machine.allocator, MSR_PERMISSION_PAGES);
    machine.clearFrames([vmcbFrame]);
    this.vmcb = new Vmcb(machine.view, vmcbFrame * FRAME_SIZE);
    fillIoPermissionMap(machine.view, iopm * FRAME_SIZE, passThroughPorts);
    fillMsrPermissionMap(machine.view, msrpm * FRAME_SIZE);
    writeControls(this.vmcb, iopm * FRAME_SIZE, msrpm * FRAME_SIZE, shadowPaging ? null : nCr3);
    this.shadowPaging = shadowPaging;
    shadowPaging?.configure(this);
    const vcpu = this;
    this.msrs = {
      hostTsc: () => cpu.clock.tsc(),
      get tscOffset() {
        return vcpu.tscOffset;
      },
      set tscOffset(v: number) {
        vcpu.tscOffset = v;
      },
    };
  }

  /** The guest's TSC offset (VMCB TSC_OFFSET, 64-bit signed). */
  get tscOffset(): number {
    return (this.vmcb.read(B.VMCB_TSC_OFFSET + 4) | 0) * 0x1_0000_0000 + this.vmcb.read(B.VMCB_TSC_OFFSET);
  }

  set tscOffset(value: number) {
    const v = Math.round(value);
    const hi = Math.floor(v / 0x1_0000_0000);
    this.vmcb.write64(B.VMCB_TSC_OFFSET, v - hi * 0x1_0000_0000, hi);
  }

  /** Loads the guest state for a boot protocol's 32-bit entry. */
  startAtEntry(entry: EntryState): void {
    this.prepareStart();
    writeEntryGuestState(this.vmcb, entry, (sel) => {
      const at = entry.gdtBase + (sel & ~7);
      return { lo: this.domain.memory.readU32(at), hi: this.domain.memory.readU32(at + 4) };
    });
    const r = this.cpu.regs;
    r[0] = entry.eax; r[1] = entry.ecx; r[2] = entry.edx; r[3] = entry.ebx;
    r[4] = entry.esp; r[5] = entry.ebp; r[6] = entry.esi; r[7] = entry.edi;
    vmload(this.cpu, this.vmcb.pa);
    this.shadowPaging?.start(this);
  }

  /** Loads the processor's reset state (real mode at F000:FFF0) for a firmware guest; EDX holds the processor signature. */
  startAtReset(signature: number): void {
    if (this.shadowPaging) throw new Error('real mode at the reset vector would run paged under shadow page tables, which the processor refuses: firmware cannot start with nested paging off');
    this.prepareStart();
    writeResetGuestState(this.vmcb);
    this.cpu.regs.fill(0);
    this.cpu.regs[2] = signature;
    vmload(this.cpu, this.vmcb.pa);
  }

  private prepareStart(): void {
    this.kick();
    this.stopWanted = false;
    this.halted = false;
    this.exception = null;
    this.vectored = null;
    this.flushTlb = true;
    this.tscOffset = 0;
    this.vmcb.write64(B.VMCB_EVENTINJ, 0);
  }

  protected countKickExit(): void {
    this.readExitState();
    this.counters.exit(this.exit.code);
  }

  /**
   * A guest frame's mapping changed while the domain runs (the balloon): the
   * nested leaf was rewritten, and the next VMRUN flushes the TLB that may
   * hold the old one; under shadow paging the shadows start over.
   */
  p2mChanged(): void {
    this.flushTlb = true;
    this.shadowPaging?.shadow.p2mChanged();
  }

  /** Places the pending event, asks for the interrupt window if needed, and executes VMRUN; a stop report if VMRUN failed. */
  protected enter(): VcpuStop | null {
    const v = this.vmcb;
    const interrupts = this.domain.interrupts;
    let event: Event | null = null;
    let wantWindow = false;
    if (this.vectored !== null || this.exception !== null) {
      event = this.vectored ?? this.exception;
      if (this.vectored !== null) this.vectored = null;
      else this.exception = null;
      wantWindow = interrupts.pending;
    } else if (interrupts.pending) {
      if (this.interruptible()) {
        const vector = interrupts.take();
        if (vector >= 0) {
          event = { info: B.EVENT_VALID | (B.EVENT_TYPE_INTR << 8) | vector, errorCode: 0 };
          this.counters.injected();
        }
      } else {
        wantWindow = true;
      }
    }
    v.write64(B.VMCB_EVENTINJ, event?.info ?? 0, event?.errorCode ?? 0);
    // V_IRQ with V_IGN_TPR: a virtual interrupt the guest can take as soon as its IF allows, which the VINTR intercept turns into an exit.
    v.write(B.VMCB_VINTR, B.V_INTR_MASKING | B.V_IGN_TPR | (wantWindow ? B.V_IRQ : 0));
    const flush = (this.shadowPaging?.beforeEntry(this) ?? false) || this.flushTlb;
    v.write(B.VMCB_TLB_CONTROL, flush ? B.TLB_CONTROL_FLUSH_ALL : B.TLB_CONTROL_DO_NOTHING);
    const r = this.cpu.regs;
    v.write64(B.VMCB_RAX, r[EAX]);
    v.write64(B.VMCB_RSP, r[ESP]);
    if (!vmrun(this.cpu, v.pa)) return this.report('VMRUN failed its consistency checks (VMEXIT_INVALID)');
    this.flushTlb = false;
    this.inGuest = true;
    this.counters.entry();
    return null;
  }

  /** EFLAGS.IF set and no interrupt shadow: an external interrupt can be delivered now. */
  private interruptible(): boolean {
    return (this.vmcb.read(B.VMCB_RFLAGS) & RFLAGS_IF) !== 0 && (this.vmcb.read(B.VMCB_INTERRUPT_SHADOW) & 1) === 0;
  }

  /** The exit's information from the VMCB, and the guest's RAX and RSP into the register file. */
  private readExitState(): void {
    this.exit = readExit(this.cpu, this.vmcb.pa);
    this.cpu.regs[EAX] = this.vmcb.read(B.VMCB_RAX);
    this.cpu.regs[ESP] = this.vmcb.read(B.VMCB_RSP);
  }

  protected handleExit(): VcpuStop | null {
    this.readExitState();
    const e = this.exit;
    this.counters.exit(e.code);
    if (e.code === B.VMEXIT_INVALID) return this.report('#VMEXIT with VMEXIT_INVALID after a successful VMRUN');
    this.noteInterruptedEvent(e);
    const handler = EXIT_HANDLERS.get(e.code);
    if (handler === undefined) return this.report(`unhandled #VMEXIT: EXITCODE 0x${e.code.toString(16)} (${exitCodeName(e.code)})`);
    const action = handler(this);
    return action === RESUME ? null : action;
  }

  /**
   * EXITINTINFO (APM 15.7.2): the exit interrupted the delivery of an event.
   * A hardware event (external interrupt, NMI, exception) is delivered again
   * on the next VMRUN through EVENTINJ. INT n, INT3 and INTO are not: the
   * processor left RIP on the instruction, which raises the event again when
   * it runs (the re-injection KVM does without next-RIP would otherwise
   * push the wrong return address).
   */
  private noteInterruptedEvent(e: SvmExit): void {
    if ((e.intInfo & B.EVENT_VALID) === 0) return;
    const type = (e.intInfo >>> 8) & 7;
    const vector = e.intInfo & 0xff;
    if (type === B.EVENT_TYPE_SOFT_INT || (type === B.EVENT_TYPE_EXCEPTION && (vector === 3 || vector === 4))) return;
    this.vectored = { info: e.intInfo & (B.EVENT_VALID | B.EVENT_EV | 0x7ff), errorCode: e.intErrorCode };
  }

  // ---- services for the exit handlers -------------------------------------

  /** Moves the guest past the intercepted instruction (nRIP, which this processor saves) and ends any interrupt shadow. */
  skipInstruction(): void {
    this.vmcb.write64(B.VMCB_RIP, this.exit.nextRip);
    this.vmcb.write64(B.VMCB_INTERRUPT_SHADOW, 0);
  }

  /** Moves the guest `len` bytes on (an instruction the hypervisor decoded and emulated) and ends any interrupt shadow. */
  advanceRip(len: number): void {
    const cs32 = ((this.vmcb.read(B.VMCB_CS) >>> 16) & (1 << 10)) !== 0;
    const rip = this.vmcb.read(B.VMCB_RIP) + len;
    this.vmcb.write64(B.VMCB_RIP, cs32 ? rip >>> 0 : rip & 0xffff);
    this.vmcb.write64(B.VMCB_INTERRUPT_SHADOW, 0);
  }

  /** The guest's paging as its own walks see it: the VMCB's control registers, or the guest's own under shadow paging. */
  pagingState(): GuestPagingState {
    const cpl = this.cpu.bus.read8(this.vmcb.pa + B.VMCB_CPL) & 3;
    if (this.shadowPaging) return this.shadowPaging.guestPaging(cpl);
    return { cr0: this.vmcb.read(B.VMCB_CR0), cr3: this.vmcb.read(B.VMCB_CR3), cr4: this.vmcb.read(B.VMCB_CR4), cpl };
  }

  /** A handler raised an exception for the next VMRUN (the instruction then does not complete). */
  hasPendingException(): boolean {
    return this.exception !== null;
  }

  /**
   * The event whose delivery the last exit interrupted (EXITINTINFO), taken
   * away from re-delivery: the handler combines it with what it injects
   * (shadow paging's reflected #PF). Null when there is none.
   */
  takeInterruptedEvent(): InterruptedEvent | null {
    const e = this.vectored;
    this.vectored = null;
    if (e === null) return null;
    const type = (e.info >>> 8) & 7;
    const kind = type === B.EVENT_TYPE_EXCEPTION ? 'exception' : type === B.EVENT_TYPE_INTR ? 'external' : 'other';
    return { kind, vector: e.info & 0xff };
  }

  get shadow(): ShadowPaging | null {
    return this.shadowPaging?.shadow ?? null;
  }

  guestCs(): number {
    return this.vmcb.read(B.VMCB_CS) & 0xffff;
  }

  guestEip(): number {
    return this.vmcb.read(B.VMCB_RIP);
  }

  guestEflags(): number {
    return this.vmcb.read(B.VMCB_RFLAGS);
  }

  /** FS and GS are VMSAVE's part of the state: written to the VMCB to be read. */
  segmentBase(seg: SegmentIndex): number {
    if (seg >= 4) vmsave(this.cpu, this.vmcb.pa);
    return this.vmcb.read(B.VMCB_ES + 16 * seg + 8);
  }

  code32(): boolean {
    return ((this.vmcb.read(B.VMCB_CS) >>> 16) & (1 << 10)) !== 0;
  }

  /** nRIP - RIP: this processor saves the next RIP on every intercept of an instruction. */
  instructionLength(): number {
    return (this.exit.nextRip - this.vmcb.read(B.VMCB_RIP)) >>> 0;
  }

  /** The guest's CR2 is the VMCB's under SVM. */
  setGuestCr2(linear: number): void {
    this.vmcb.write64(B.VMCB_CR2, linear >>> 0);
  }

  /** Raises a hardware exception in the guest on the next VMRUN (#GP, #UD, #PF...). */
  injectException(vector: number, errorCode: number | null): void {
    this.exception = {
      info: B.EVENT_VALID | (B.EVENT_TYPE_EXCEPTION << 8) | (errorCode !== null ? B.EVENT_EV : 0) | vector,
      errorCode: errorCode ?? 0,
    };
  }

  /** A stop report naming where the guest was. */
  report(message: string): VcpuStop {
    return { kind: 'error', message, cs: this.vmcb.read(B.VMCB_CS) & 0xffff, eip: this.vmcb.read(B.VMCB_RIP) };
  }
}

/** `count` frames at consecutive machine addresses (the permission maps are one physical range each). */
function allocateContiguous(allocator: FrameAllocator, count: number): number {
  const frames = allocator.allocate(count);
  const first = frames[0];
  if (frames.every((f, i) => f === first + i)) return first;
  allocator.free(frames);
  throw new Error(`the frame allocator gave no ${count} consecutive frames for an SVM permission map`);
}
