/**
 * One virtual CPU run on VT-x: its VMCS in machine memory, and VT-x's part
 * of the loop VM entry -> guest runs on the processor -> VM exit -> handler
 * -> entry (the loop itself is ../vcpuLoop.ts, shared with AMD-V).
 *
 * The processor runs the guest (`cpu.run` in VMX non-root operation) until
 * it exits or the slice's instruction budget is used; an exit ends `cpu.run`
 * with STOP_VMEXIT and the handler for the basic exit reason (exitHandlers.ts)
 * decides: resume, or stop the VM with a report. Before every entry the
 * pending event is placed: an exception a handler raised for the guest, else
 * the held external interrupt if the guest can take it, else an
 * interrupt-window request.
 *
 * HLT exits: the vCPU leaves the guest and blocks (`run` returns 'halted')
 * until an interrupt is pending; the board then sleeps or skips guest time to
 * the next device event, as the bare machine's HLT does.
 */
import type { Cpu } from '../../cpu/cpu.ts';
import { writeControlRegister } from '../../cpu/system.ts';
import { invept, vmclear, vmlaunch, vmptrld, vmread, vmresume, vmwrite } from '../../cpu/vmx/rootOps.ts';
import * as F from '../../cpu/vmx/vmcsFields.ts';
import type { EntryState } from '../../machine/boot/entryState.ts';
import type { HypervisorCounters } from '../counters.ts';
import type { VcpuStop } from '../vcpuRun.ts';
import { VcpuLoop, type VcpuDomain } from '../vcpuLoop.ts';
import { FRAME_SIZE } from '../memory/frameAllocator.ts';
import type { GuestMsrState } from '../exits/msrs.ts';
import { RESUME, type ExitContext, type InterruptedEvent, type SegmentIndex } from '../exits/exitContext.ts';
import type { GuestPagingState } from '../exits/guestPaging.ts';
import type { ShadowPaging } from '../shadow/shadowPaging.ts';
import { EXIT_HANDLERS, exitReasonName } from './exitHandlers.ts';
import { vmxGuestPagingState } from './guestPagingState.ts';
import type { HostEnvironment } from './rootMode.ts';
import { shadowPagingControls, type VmxShadowPaging } from './shadowPagingVmx.ts';
import { chooseControls, fillIoBitmaps, procWithInterruptWindow, writeControlsAndHostState, writeEntryGuestState, writeResetGuestState, type VmxControls } from './vmcsSetup.ts';
import { vmxFailure } from './vmxFailure.ts';

const RFLAGS_IF = 1 << 9;
const INTR_TYPE_HARD_EXCEPTION = 3;
const SEGMENT_BASES = [F.GUEST_ES_BASE, F.GUEST_CS_BASE, F.GUEST_SS_BASE, F.GUEST_DS_BASE, F.GUEST_FS_BASE, F.GUEST_GS_BASE] as const;


/** A guest exception a handler raised, injected on the next entry. */
interface PendingException {
  vector: number;
  errorCode: number | null;
}

export class VmxVcpu extends VcpuLoop implements ExitContext {
  readonly msrs: GuestMsrState;
  private readonly vmcsPa: number;
  private readonly controls: VmxControls;
  private launched = false;
  private windowOn = false;
  private exception: PendingException | null = null;
  /** An event whose delivery an exit interrupted, delivered again on the next entry (raw VM-entry interruption fields). */
  private vectored: { info: number; errorCode: number; length: number } | null = null;
  /** Shadow page tables when the domain runs without EPT (nested paging off), else null. */
  readonly shadowPaging: VmxShadowPaging | null;
  /** The EPT tables changed since the last entry: INVEPT first. */
  private inveptWanted = false;

  /**
   * @param passThroughPorts ports the guest reaches without an exit (see fillIoBitmaps)
   * @param shadowPaging run without EPT on these shadow page tables (`eptp` is then unused)
   */
  constructor(cpu: Cpu, domain: VcpuDomain, host: HostEnvironment, eptp: number, counters: HypervisorCounters, passThroughPorts: readonly number[] = [], shadowPaging: VmxShadowPaging | null = null) {
    super(cpu, domain, counters);
    const machine = domain.memory.machine;
    const [frame, bitmapA, bitmapB] = machine.allocator.allocate(3);
    machine.clearFrames([frame]);
    this.vmcsPa = frame * FRAME_SIZE;
    fillIoBitmaps(machine.view, bitmapA * FRAME_SIZE, bitmapB * FRAME_SIZE, passThroughPorts);
    machine.view.setUint32(this.vmcsPa, host.revisionId, true);
    this.shadowPaging = shadowPaging;
    this.controls = shadowPaging ? shadowPagingControls(chooseControls(cpu)) : chooseControls(cpu);
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
    this.check(vmclear(cpu, this.vmcsPa), 'VMCLEAR');
    this.check(vmptrld(cpu, this.vmcsPa), 'VMPTRLD');
    writeControlsAndHostState(cpu, this.controls, host, eptp, bitmapA * FRAME_SIZE, bitmapB * FRAME_SIZE);
    shadowPaging?.configure(this);
  }

  /** The guest's TSC offset (VMCS TSC_OFFSET, 64-bit signed). */
  get tscOffset(): number {
    const lo = vmread(this.cpu, F.TSC_OFFSET);
    const hi = vmread(this.cpu, F.TSC_OFFSET_HIGH) | 0;
    return hi * 0x1_0000_0000 + lo;
  }

  set tscOffset(value: number) {
    const v = Math.round(value);
    const hi = Math.floor(v / 0x1_0000_0000);
    this.write(F.TSC_OFFSET, v - hi * 0x1_0000_0000);
    this.write(F.TSC_OFFSET_HIGH, hi);
  }

  /** Loads the guest state for a boot protocol's 32-bit entry (a fresh launch follows). */
  startAtEntry(entry: EntryState): void {
    this.prepareStart();
    writeEntryGuestState(this.cpu, entry, (sel) => {
      const at = entry.gdtBase + (sel & ~7);
      return { lo: this.domain.memory.readU32(at), hi: this.domain.memory.readU32(at + 4) };
    });
    this.shadowPaging?.start(this);
  }

  /** Loads the processor's reset state (real mode at F000:FFF0) for a firmware guest. */
  startAtReset(signature: number): void {
    if (this.shadowPaging) throw new Error('real mode at the reset vector needs unrestricted guest, which needs EPT: firmware cannot start with nested paging off');
    this.prepareStart();
    writeResetGuestState(this.cpu, signature);
  }

  private prepareStart(): void {
    this.kick();
    this.stopWanted = false;
    this.check(vmclear(this.cpu, this.vmcsPa), 'VMCLEAR');
    this.check(vmptrld(this.cpu, this.vmcsPa), 'VMPTRLD');
    this.launched = false;
    this.halted = false;
    this.exception = null;
    this.vectored = null;
    this.windowOn = false;
    this.write(F.CPU_BASED_VM_EXEC_CONTROL, this.controls.proc);
    this.write(F.VM_ENTRY_INTR_INFO_FIELD, 0);
    this.tscOffset = 0;
  }

  protected countKickExit(): void {
    this.counters.exit(vmread(this.cpu, F.VM_EXIT_REASON) & 0xffff);
  }

  /**
   * A guest frame's mapping changed while the domain runs (the balloon): the
   * EPT leaf was rewritten, and INVEPT before the next entry drops what the
   * processor cached from the old one; under shadow paging the shadows start over.
   */
  p2mChanged(): void {
    if (this.shadowPaging) this.shadowPaging.p2mChanged(this);
    else this.inveptWanted = true;
  }

  /** Places the pending event and enters the guest; returns a stop on a failed entry. */
  protected enter(): VcpuStop | null {
    const cpu = this.cpu;
    if (this.inveptWanted) {
      const done = invept(cpu, F.INVEPT_SINGLE_CONTEXT, this.read(F.EPT_POINTER));
      if (!done.ok) return this.report(`INVEPT failed: ${vmxFailure(done)}`);
      this.inveptWanted = false;
    }
    let wantWindow = false;
    if (this.vectored !== null) {
      const e = this.vectored;
      this.vectored = null;
      this.write(F.VM_ENTRY_INTR_INFO_FIELD, e.info);
      if ((e.info & F.INTR_INFO_DELIVER_CODE) !== 0) this.write(F.VM_ENTRY_EXCEPTION_ERROR_CODE, e.errorCode);
      if (((e.info >>> 8) & 7) >= 4) this.write(F.VM_ENTRY_INSTRUCTION_LEN, e.length); // software interrupt/exception
      wantWindow = this.domain.interrupts.pending;
    } else if (this.exception !== null) {
      const e = this.exception;
      this.exception = null;
      this.write(F.VM_ENTRY_INTR_INFO_FIELD, F.INTR_INFO_VALID | (INTR_TYPE_HARD_EXCEPTION << 8) | (e.errorCode !== null ? F.INTR_INFO_DELIVER_CODE : 0) | e.vector);
      if (e.errorCode !== null) this.write(F.VM_ENTRY_EXCEPTION_ERROR_CODE, e.errorCode);
      wantWindow = this.domain.interrupts.pending;
    } else if (this.domain.interrupts.pending) {
      if (this.interruptible()) {
        const vector = this.domain.interrupts.take();
        if (vector >= 0) {
          this.write(F.VM_ENTRY_INTR_INFO_FIELD, F.INTR_INFO_VALID | (F.INTR_TYPE_EXT_INTR << 8) | vector);
          this.counters.injected();
        }
      } else {
        wantWindow = true;
      }
    }
    if (wantWindow !== this.windowOn) {
      this.windowOn = wantWindow;
      this.write(F.CPU_BASED_VM_EXEC_CONTROL, procWithInterruptWindow(this.controls, wantWindow));
    }
    const r = this.launched ? vmresume(cpu) : vmlaunch(cpu);
    if (!r.ok) return this.report(`${this.launched ? 'VMRESUME' : 'VMLAUNCH'} failed: ${vmxFailure(r)}`);
    this.launched = true;
    this.inGuest = true;
    this.counters.entry();
    return null;
  }

  /** EFLAGS.IF set and no STI / MOV SS blocking: an external interrupt can be delivered now. */
  private interruptible(): boolean {
    if ((vmread(this.cpu, F.GUEST_RFLAGS) & RFLAGS_IF) === 0) return false;
    return (vmread(this.cpu, F.GUEST_INTERRUPTIBILITY_INFO) & (F.GUEST_INTR_STATE_STI | F.GUEST_INTR_STATE_MOV_SS)) === 0;
  }

  protected handleExit(): VcpuStop | null {
    const full = vmread(this.cpu, F.VM_EXIT_REASON);
    const reason = full & 0xffff;
    this.counters.exit(reason);
    if ((full & F.EXIT_REASON_FAILED_VMENTRY) !== 0) {
      this.launched = false;
      return this.report(`VM entry failed: exit reason ${reason} (${exitReasonName(reason)}), qualification ${vmread(this.cpu, F.EXIT_QUALIFICATION)}`);
    }
    this.redeliverVectoredEvent();
    const handler = EXIT_HANDLERS[reason];
    if (handler === undefined) return this.report(`unhandled VM exit: reason ${reason} (${exitReasonName(reason)})`);
    const action = handler(this);
    return action === RESUME ? null : action;
  }

  // ---- services for the exit handlers -------------------------------------

  read(field: number): number {
    return vmread(this.cpu, field);
  }

  write(field: number, value: number): void {
    this.check(vmwrite(this.cpu, field, value), `VMWRITE 0x${field.toString(16)}`);
  }

  /** Moves the guest past the exiting instruction (its length from the exit) and ends any STI / MOV SS shadow. */
  skipInstruction(): void {
    this.advanceRip(this.read(F.VM_EXIT_INSTRUCTION_LEN));
  }

  /** Moves the guest `len` bytes on (an instruction the hypervisor emulated) and ends any STI / MOV SS shadow. */
  advanceRip(len: number): void {
    const rip = this.read(F.GUEST_RIP);
    const cs32 = (this.read(F.GUEST_CS_AR_BYTES) & (1 << 14)) !== 0;
    this.write(F.GUEST_RIP, cs32 ? (rip + len) >>> 0 : (rip + len) & 0xffff);
    const intr = this.read(F.GUEST_INTERRUPTIBILITY_INFO);
    if (intr & (F.GUEST_INTR_STATE_STI | F.GUEST_INTR_STATE_MOV_SS)) {
      this.write(F.GUEST_INTERRUPTIBILITY_INFO, intr & ~(F.GUEST_INTR_STATE_STI | F.GUEST_INTR_STATE_MOV_SS));
    }
  }

  /**
   * The exit interrupted the delivery of an event (IDT-vectoring information,
   * SDM 28.2.4): it is delivered again on the next entry (KVM's
   * vmx_complete_interrupts), unless a handler takes it to combine it with
   * what it raises (takeInterruptedEvent).
   */
  private redeliverVectoredEvent(): void {
    const info = this.read(F.IDT_VECTORING_INFO_FIELD);
    if ((info & F.INTR_INFO_VALID) === 0) return;
    // Bit 12 is undefined in the vectoring field and reserved in the entry field.
    this.vectored = { info: info & ~0x7fff_f000, errorCode: this.read(F.IDT_VECTORING_ERROR_CODE), length: this.read(F.VM_EXIT_INSTRUCTION_LEN) };
  }

  takeInterruptedEvent(): InterruptedEvent | null {
    const e = this.vectored;
    this.vectored = null;
    if (e === null) return null;
    const type = (e.info >>> 8) & 7;
    const kind = type === INTR_TYPE_HARD_EXCEPTION ? 'exception' : type === F.INTR_TYPE_EXT_INTR ? 'external' : 'other';
    return { kind, vector: e.info & F.INTR_INFO_VECTOR_MASK };
  }

  get shadow(): ShadowPaging | null {
    return this.shadowPaging?.shadow ?? null;
  }

  guestCs(): number {
    return this.read(F.GUEST_CS_SELECTOR);
  }

  guestEip(): number {
    return this.read(F.GUEST_RIP);
  }

  guestEflags(): number {
    return this.read(F.GUEST_RFLAGS);
  }

  segmentBase(seg: SegmentIndex): number {
    return this.read(SEGMENT_BASES[seg]);
  }

  code32(): boolean {
    return (this.read(F.GUEST_CS_AR_BYTES) & (1 << 14)) !== 0;
  }

  pagingState(): GuestPagingState {
    return vmxGuestPagingState(this);
  }

  instructionLength(): number {
    return this.read(F.VM_EXIT_INSTRUCTION_LEN);
  }

  /** VMX does not switch CR2: the guest's is the processor's (MOV CR2 from root operation). */
  setGuestCr2(linear: number): void {
    writeControlRegister(this.cpu, 2, linear);
  }

  /** Raises a hardware exception in the guest on the next entry (#GP, #UD, #PF...). */
  injectException(vector: number, errorCode: number | null): void {
    this.exception = { vector, errorCode };
  }

  /** A stop report naming where the guest was. */
  report(message: string): VcpuStop {
    try {
      return { kind: 'error', message, cs: this.read(F.GUEST_CS_SELECTOR), eip: this.read(F.GUEST_RIP) };
    } catch {
      return { kind: 'error', message };
    }
  }

  private check(r: { ok: boolean }, what: string): void {
    if (!r.ok) throw new Error(`${what} failed: ${vmxFailure(r as Parameters<typeof vmxFailure>[0])}`);
  }
}
