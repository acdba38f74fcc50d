/**
 * The software monitor: runs a guest on the plain IA-32 processor with ring
 * compression (guest kernel at CPL 1, guest user at CPL 3), the monitor's own
 * descriptor tables (monitorSpace.ts, shadowDescriptors.ts) and shadow page
 * tables (../shadow/, shared with VT-x/AMD-V without nested paging).
 *
 * It is the processor's `seam` while the guest runs: every interrupt and
 * exception reaches `event` first (the monitor's "ring 0 handler", in
 * TypeScript), which
 * - fixes it: a shadow page fault the guest's own tables would not give;
 * - emulates it: a privileged instruction that faulted (#GP) at CPL 1
 *   (emulate.ts), against the virtual CPU (virtualCpu.ts);
 * - or reflects it into the guest through the guest's own IDT with the frame
 *   the guest expects (reflect.ts).
 * Sensitive operations that reach the seam without a fault (CPUID, RDTSC),
 * and those an emulated instruction performs (port I/O, CR/DR/MSR access,
 * INVLPG, HLT, descriptor-table loads) are answered against the virtual CPU.
 *
 * The monitor keeps the processor's EFLAGS.IF = 1 and IOPL = 0 while the
 * guest runs, so CLI/STI/HLT/IN/OUT trap; the guest's IF and IOPL are virtual.
 * External interrupts are acknowledged by the processor as they come and
 * held while the virtual IF is 0. What the guest can still observe without
 * a trap (PUSHF's IF/IOPL, POPF's silently ignored IF, SGDT/SIDT/STR/SLDT,
 * SMSW, CS/SS RPL 1, LAR/LSL) is the trap-and-emulate leak Popek and
 * Goldberg predict (README).
 */
import { CPU_FAULT, type Cpu } from '../../cpu/cpu.ts';
import { INT_EXCEPTION, INT_EXTERNAL, INT_ICEBP, INT_SOFTWARE, INT_SOFTWARE_EXCEPTION } from '../../cpu/interrupts.ts';
import { CS, EXC_GP, EXC_NP, EXC_PF, EXC_SS, EXC_TS, IF, IOPL_MASK } from '../../cpu/regs.ts';
import { bareMetal, type SensitiveOps } from '../../cpu/seam.ts';
import type { AccessSize } from '../../memory/bus.ts';
import { guestCpuid } from '../exits/cpuid.ts';
import { GuestPageFault, guestLinearToPhysical } from '../exits/guestPaging.ts';
import { readGuestMsr, writeGuestMsr } from '../exits/msrs.ts';
import type { PortBus } from '../exits/portIo.ts';
import type { DomainMemory } from '../memory/domainMemory.ts';
import { ShadowPaging } from '../shadow/shadowPaging.ts';
import { DescriptorTables } from './descriptorTables.ts';
import { emulateGdtWrite, emulatePrivileged, emulateTruncatedUserAccess } from './emulate.ts';
import { newMonitorCounters, type MonitorCounters, type TrapKind } from './monitorCounters.ts';
import { GuestTopPages } from './guestTopPages.ts';
import { GuestViews } from './guestViews.ts';
import { MONITOR_BASE, MONITOR_SLOT, MonitorSpace } from './monitorSpace.ts';
import { transferAboveTop, type GuestEvent } from './emulatorEntry.ts';
import { reflectEvent } from './reflect.ts';
import { TopWindow } from './topWindow.ts';
import type { MonitorServices, Translator } from './translatorHook.ts';
import { newVirtualCpu, type VirtualCpu } from './virtualCpu.ts';

const CR0_PE = 1, CR0_ET = 0x10;
const EDX = 2;
const CPUID_EDX_SEP = 1 << 11;
const CPUID_EDX_APIC = 1 << 9;

/** A guest page fault met while the monitor touched guest memory (it becomes the guest's #PF). */
export class GuestPageFaultInMonitor extends Error {
  constructor(readonly linear: number, readonly errorCode: number) {
    super(`guest page fault at 0x${(linear >>> 0).toString(16)}`);
  }
}

/** The monitor cannot go on (a guest it does not support, or a bug): the vCPU stops with this. */
export class MonitorStop extends Error {}

/** An access the processor cannot make for the guest (device memory, ROM at the top): the emulator runs the instruction, when there is one. */
export class EmulatorNeeded extends MonitorStop {}

export interface MonitorDomain {
  memory: DomainMemory;
  ports: PortBus;
}

export class SoftwareMonitor implements MonitorServices {
  readonly cpu: Cpu;
  readonly vcpu: VirtualCpu = newVirtualCpu();
  readonly counters: MonitorCounters = newMonitorCounters();
  readonly space: MonitorSpace;
  readonly shadow: ShadowPaging;
  readonly tables: DescriptorTables;
  readonly topWindow: TopWindow;
  readonly topPages: GuestTopPages;
  /** The kernel and user views of the shadow tables, and the switches between them (guestViews.ts). */
  readonly views: GuestViews;
  readonly domain: MonitorDomain;
  readonly translator: Translator | null;
  readonly seam: SensitiveOps;
  /** Set when the guest halted with virtual IF = 0 (the VM stops, as on the bare PC), or the monitor gave up. */
  stopReason: { kind: 'halt' } | { kind: 'error'; message: string } | null = null;
  /**
   * The guest goes on in the monitor's emulator (realModeEmulator.ts) once the processor has stopped: it cleared
   * CR0.PE, met an event in 16-bit kernel code (`event`, not handled here), or transferred to code the processor
   * cannot run for it (above the monitor's base). SoftwareVcpu hands it over.
   */
  emulatorRequest: { event: GuestEvent | null } | null = null;
  /** Set by the vCPU that has an emulator (SoftwareVcpu with the domain's devices). */
  emulatorAvailable = false;
  /** The guest's TSC offset (MSR writes to the TSC). */
  tscOffset = 0;
  /** Reflection nesting (a fault while writing a frame): a third level is a triple fault. */
  private depth = 0;

  constructor(cpu: Cpu, domain: MonitorDomain, translator: Translator | null = null) {
    this.cpu = cpu;
    this.domain = domain;
    this.translator = translator;
    this.space = new MonitorSpace(domain.memory.machine);
    this.shadow = new ShadowPaging(domain.memory, { reservedSlot: { slot: MONITOR_SLOT, pde: this.space.pde } });
    this.tables = new DescriptorTables(this);
    this.topWindow = new TopWindow(this);
    this.topPages = new GuestTopPages(this);
    this.views = new GuestViews(this);
    this.seam = this.makeSeam();
  }

  // ---- start -----------------------------------------------------------------

  /**
   * Puts the processor into the guest at a 32-bit protected-mode entry (paging
   * off, flat segments from the loader's GDT): the monitor's tables, the
   * identity shadow, the guest's selectors through the shadow GDT.
   */
  start(entry: { gdtBase: number; gdtLimit: number; cs: number; ss: number; ds: number; es: number; fs: number; gs: number; eip: number; esp: number; eflags: number; regs: number[] }): void {
    const cpu = this.cpu;
    const v = this.vcpu;
    Object.assign(v, newVirtualCpu());
    this.stopReason = null;
    this.shadow.reset();
    this.topPages.flush();
    this.translator?.reset?.();
    cpu.seam = this.seam;
    cpu.regs.set(entry.regs);
    cpu.regs[4] = entry.esp;
    v.cr0 = CR0_PE | CR0_ET;
    v.gdtBase = entry.gdtBase;
    v.gdtLimit = entry.gdtLimit;
    v.interruptFlag = (entry.eflags & IF) !== 0;
    v.iopl = (entry.eflags & IOPL_MASK) >>> 12;
    bareMetal.writeCr(cpu, 4, ShadowPaging.processorCr4(0));
    bareMetal.writeCr(cpu, 0, this.processorCr0());
    this.shadow.setControl(v.cr0, v.cr4);
    this.loadProcessorCr3();
    this.space.install(cpu);
    cpu.setFlags((entry.eflags & ~IOPL_MASK) | IF | 2);
    this.tables.syncGdt();
    this.tables.loadGuestCode(entry.cs);
    this.tables.loadGuestSegment(2, entry.ss);
    this.tables.loadGuestSegment(3, entry.ds);
    this.tables.loadGuestSegment(0, entry.es);
    this.tables.loadGuestSegment(4, entry.fs);
    this.tables.loadGuestSegment(5, entry.gs);
    cpu.eip = entry.eip >>> 0;
    cpu.halted = false;
    this.enteredKernel();
  }

  // ---- guest memory through the shadows ---------------------------------------

  /**
   * Runs a processor access to guest-linear memory, filling shadow entries on the way; a guest fault throws
   * GuestPageFaultInMonitor. A write to the guest's GDT (write-protected, descriptorTables.ts) goes through with the
   * frame opened for the step; the frame is protected again and the shadow GDT brought up to date after it.
   */
  private access<T>(step: () => T): T {
    const opened: number[] = [];
    try {
      return this.accessFilling(step, opened);
    } finally {
      if (opened.length > 0) {
        this.shadow.closeWatchedFrames();
        this.applyTlbFlush();
        for (const gfn of opened) this.tables.gdtFrameWritten(gfn);
      }
    }
  }

  private accessFilling<T>(step: () => T, opened: number[]): T {
    // Retries while faults move on: a REP string instruction run here (a GDT write, Linux's decompressor clearing its
    // BSS from the GDT's page on) fills a page per retry; a fault at the same page a fifth time is the guest's.
    let lastPage = -1;
    for (let tries = 0; ; tries++) {
      try {
        return step();
      } catch (e) {
        if (e !== CPU_FAULT || CPU_FAULT.vector !== EXC_PF) throw e;
        const linear = this.cpu.cr2;
        if (linear >>> 12 !== lastPage) tries = 0;
        lastPage = linear >>> 12;
        if (tries > 3) throw e;
        const code = CPU_FAULT.errorCode;
        if (GuestTopPages.covers(linear)) {
          // The guest's part of the top slot (guestTopPages.ts); in the window, the guest's own entry is missing.
          this.fixTopPageFault(linear, code);
          this.counters.hiddenPageFaults++;
          continue;
        }
        if (linear >>> 22 === MONITOR_SLOT) {
          // Inside the top window (topWindow.ts): the guest's own entry is missing, or maps no RAM.
          this.topGpa(linear, (code & 2) !== 0, (code & 4) !== 0);
          throw new EmulatorNeeded(`the guest touched 0x${(linear >>> 0).toString(16)} in its top 4 MiB, which maps no RAM (device memory is not emulated there)`);
        }
        const outcome = this.shadow.pageFault(linear, code);
        if (outcome.kind === 'hidden') {
          this.counters.hiddenPageFaults++;
          this.applyTlbFlush();
          continue;
        }
        if (outcome.kind === 'reflect') throw new GuestPageFaultInMonitor(outcome.cr2, outcome.errorCode);
        if (outcome.kind === 'error') throw new MonitorStop(outcome.message);
        if (outcome.kind === 'watchedWrite') {
          this.shadow.openWatchedFrame(outcome.gfn);
          opened.push(outcome.gfn);
          continue;
        }
        throw new EmulatorNeeded(`the monitor touched device memory at 0x${outcome.gpa.toString(16)}`);
      }
    }
  }

  /** A page fault in the guest's part of the top slot: filled (returns), or the guest's #PF (thrown), or a stop. */
  private fixTopPageFault(linear: number, errorCode: number): void {
    const outcome = this.topPages.fault(linear, errorCode);
    if (outcome.kind === 'filled') return;
    if (outcome.kind === 'reflect') throw new GuestPageFaultInMonitor(linear, outcome.errorCode);
    throw new EmulatorNeeded(outcome.message); // device memory, or tables outside its memory: the emulator runs it against the guest's own map
  }

  /**
   * The guest-physical address of a guest-linear byte in the guest's own top 4 MiB, where the processor sees the
   * monitor: through the guest's tables, as a supervisor access unless `user` (Linux keeps its GDT and TSS there, in the cpu_entry_area fixmap).
   */
  private topGpa(linear: number, write: boolean, user = false): number {
    const v = this.vcpu;
    try {
      // A user access (CPL 3 in the window) walks with the user's rights: its #PF error code says so, as the processor's would.
      return guestLinearToPhysical(this.domain.memory, { cr0: v.cr0, cr3: v.cr3, cr4: v.cr4, cpl: user ? 3 : 0 }, linear >>> 0, write);
    } catch (e) {
      if (e instanceof GuestPageFault) throw new GuestPageFaultInMonitor(e.linear, e.errorCode);
      throw new MonitorStop(`the guest's tables for 0x${(linear >>> 0).toString(16)} are outside its memory`);
    }
  }

  private inTop(linear: number, size: number): boolean {
    return ((linear >>> 0) + size - 1) >>> 0 >= MONITOR_BASE || (linear >>> 0) >= MONITOR_BASE;
  }

  private readTop(linear: number, size: number): number {
    let value = 0;
    for (let k = size - 1; k >= 0; k--) value = (value << 8) | this.domain.memory.readU8(this.topGpa(linear + k, false));
    return value;
  }

  private writeTop(linear: number, size: number, value: number): void {
    for (let k = 0; k < size; k++) {
      const gpa = this.topGpa(linear + k, true);
      this.domain.memory.writeU8(gpa, (value >>> (8 * k)) & 0xff);
      this.shadow.guestMemoryWritten(gpa, 1);
      if (this.shadow.isWatched(gpa >>> 12)) this.tables.gdtFrameWritten(gpa >>> 12);
    }
  }

  readLinear8(linear: number): number {
    if (this.inTop(linear, 1)) return this.readTop(linear, 1);
    return this.access(() => this.cpu.readLin8(linear | 0));
  }
  readLinear16(linear: number): number {
    if (this.inTop(linear, 2)) return this.readTop(linear, 2);
    return this.access(() => this.cpu.readSys16(linear | 0));
  }
  readLinear32(linear: number): number {
    if (this.inTop(linear, 4)) return this.readTop(linear, 4) | 0;
    return this.access(() => this.cpu.readSys32(linear | 0));
  }
  writeLinear32(linear: number, value: number): void {
    if (this.inTop(linear, 4)) return this.writeTop(linear, 4, value);
    this.access(() => this.cpu.writeSys32(linear | 0, value));
  }
  writeLinear16(linear: number, value: number): void {
    if (this.inTop(linear, 2)) return this.writeTop(linear, 2, value);
    this.access(() => this.cpu.writeSys16(linear | 0, value & 0xffff));
  }

  /** Runs a step that does processor accesses (an emulated instruction) with shadow fills hidden. */
  withShadowFills<T>(step: () => T): T {
    return this.access(step);
  }

  // ---- virtual state ------------------------------------------------------------

  processorCr0(): number {
    // The guest's TS (lazy FPU switching) must reach the processor so #NM happens where the guest expects it.
    return (ShadowPaging.processorCr0(this.vcpu.cr0) | CR0_PE) & ~0x6000_0000;
  }

  private loadProcessorCr3(): void {
    bareMetal.writeCr(this.cpu, 3, this.shadow.machineCr3);
    this.applyTlbFlush();
  }

  applyTlbFlush(): void {
    const f = this.shadow.takeTlbFlush();
    if (f.all) this.cpu.flushTlb(true);
    else if (f.nonGlobal) this.cpu.flushTlb(false);
    for (const a of f.addresses) this.cpu.invalidatePage(a);
    if (f.nonGlobal && f.addresses.length > 0) this.cpu.flushTlb(false);
  }

  setInterruptFlag(on: boolean): void {
    this.vcpu.interruptFlag = on;
  }

  /** Virtual IF as it gates interrupts: guest user code always runs with IF = 1 (README). */
  private interruptsOpen(): boolean {
    return this.cpu.cpl === 3 || this.vcpu.interruptFlag;
  }

  count(kind: TrapKind): void {
    this.counters.traps[kind]++;
  }

  // ---- events -----------------------------------------------------------------------

  /** The processor's interrupt/exception delivery, replaced: the monitor's ring-0 handler. */
  event(vector: number, kind: number, errorCode: number, hasErrorCode: boolean): void {
    const cpu = this.cpu;
    if (cpu.cpl === 3) {
      this.vcpu.cpl = 3;
      this.vcpu.interruptFlag = true;
    }
    if (cpu.cpl === 1 && (!cpu.cs32 || transferAboveTop(this, vector, kind, errorCode))) {
      // 16-bit guest-kernel code, or a jump/call past the truncated CS limit into the guest's code at the top: the emulator takes the guest with this event.
      this.toEmulator({ vector, kind, errorCode, hasErrorCode });
      return;
    }
    const eventEip = cpu.eip;
    try {
      this.dispatch(vector, kind, errorCode, hasErrorCode);
      this.deliverHeld();
      // Back to the guest: the kernel view at CPL 1, the user view at CPL 3 (under bt every IRET to user mode is here).
      this.views.settle();
    } catch (e) {
      if (e instanceof EmulatorNeeded && this.emulatorAvailable && kind === INT_EXCEPTION) {
        // The faulting instruction runs again in the emulator, against the guest's own memory map and devices.
        cpu.eip = eventEip;
        this.toEmulator(null);
        return;
      }
      if (e instanceof MonitorStop) {
        this.stop(e.message);
        return;
      }
      throw e;
    }
  }

  private dispatch(vector: number, kind: number, errorCode: number, hasErrorCode: boolean): void {
    const cpu = this.cpu;
    if (kind === INT_EXTERNAL) {
      if (this.interruptsOpen()) this.reflect(vector, kind, 0, false);
      else {
        this.vcpu.heldInterrupts.push(vector);
        this.counters.heldInterrupts++;
      }
      return;
    }
    if (kind === INT_SOFTWARE || kind === INT_SOFTWARE_EXCEPTION || kind === INT_ICEBP) {
      const t = this.translator;
      if (t !== null && kind === INT_SOFTWARE && t.callout(this, vector, (cpu.segBase[CS] + cpu.eip - 2) | 0)) return;
      this.reflect(vector, kind, errorCode, hasErrorCode);
      return;
    }
    if (kind === INT_EXCEPTION && vector === EXC_PF && GuestTopPages.covers(cpu.cr2)) {
      try {
        this.fixTopPageFault(cpu.cr2, errorCode);
        this.counters.hiddenPageFaults++;
      } catch (e) {
        if (!(e instanceof GuestPageFaultInMonitor)) throw e;
        this.vcpu.cr2 = e.linear;
        this.reflect(EXC_PF, kind, e.errorCode, true);
      }
      return;
    }
    if (kind === INT_EXCEPTION && vector === EXC_PF && cpu.cpl === 3 && !cpu.v86Mode && (cpu.cr2 >>> 0) >= MONITOR_BASE) {
      // User code on the user view reached the guest's own pages from the monitor's base up (its segments are not
      // truncated there: paging stopped it, the monitor's pages are supervisor-only): run through the top window as
      // the #GP(0) past a truncated limit was; anything else stays the #GP(0) the kernel view gave.
      if (emulateTruncatedUserAccess(this)) return;
      this.reflect(EXC_GP, INT_EXCEPTION, 0, true);
      return;
    }
    if (kind === INT_EXCEPTION && vector === EXC_PF) {
      const outcome = this.shadow.pageFault(cpu.cr2, errorCode);
      if (outcome.kind === 'hidden') {
        this.counters.hiddenPageFaults++;
        this.applyTlbFlush();
        return;
      }
      if (outcome.kind === 'reflect') {
        this.vcpu.cr2 = outcome.cr2;
        this.reflect(EXC_PF, kind, outcome.errorCode, true);
        return;
      }
      if (outcome.kind === 'watchedWrite') {
        // A write to the guest's GDT: the monitor runs the instruction with the frame opened and updates the shadow GDT.
        if (emulateGdtWrite(this)) {
          this.tables.gdtWriteTrapped(outcome.gpa);
          return;
        }
        throw new MonitorStop(`the guest wrote its GDT (guest-physical 0x${outcome.gpa.toString(16)}) with an instruction the monitor cannot read`);
      }
      if (outcome.kind === 'device') {
        // Device memory (or a hole): the emulator runs the instruction again against the domain's devices (realModeEmulator.ts).
        if (this.emulatorAvailable) return this.toEmulator(null);
        throw new MonitorStop(`the guest touched device memory at guest-physical 0x${outcome.gpa.toString(16)} (MMIO is not emulated under the software monitor)`);
      }
      throw new MonitorStop(outcome.message);
    }
    if (kind === INT_EXCEPTION && (vector === EXC_GP || vector === EXC_NP || vector === EXC_SS || vector === EXC_TS) && errorCode !== 0) {
      // A segment load may have read a stale shadow descriptor (the guest wrote its GDT since): resync and retry.
      if (this.tables.syncGdt()) return;
    }
    // #GP(0) of a privileged instruction, or #GP(selector) of IRET / SS loads naming the guest kernel's RPL 0.
    // (#SS(0): an EBP/ESP-based access to the guest's own top 4 MiB, past the truncated SS limit: topWindow.ts.)
    if (kind === INT_EXCEPTION && (vector === EXC_GP || (vector === EXC_SS && errorCode === 0)) && cpu.cpl === 1 && !cpu.v86Mode) {
      if (emulatePrivileged(this)) return;
    }
    if (kind === INT_EXCEPTION && (vector === EXC_GP || vector === EXC_SS) && errorCode === 0 && cpu.cpl === 3 && !cpu.v86Mode) {
      // User code on the kernel view (a native IRET to user mode under 'trap'): the user view, and the instruction again.
      if (this.views.retryOnUserView()) {
        this.count('top 4 MiB');
        return;
      }
      if (vector === EXC_GP && emulateTruncatedUserAccess(this)) return;
    }
    this.reflect(vector, kind, errorCode, hasErrorCode);
  }

  /** Reflects an event into the guest (a fault while writing the frame becomes the guest's #PF, then #DF, then shutdown). */
  reflect(vector: number, kind: number, errorCode: number, hasErrorCode: boolean): void {
    if (this.depth >= 3) throw new MonitorStop(`triple fault in the guest (reflecting vector ${vector})`);
    this.depth++;
    try {
      this.counters.reflected[vector]++;
      reflectEvent(this, vector, kind, errorCode, hasErrorCode);
      this.cpu.halted = false;
      this.vcpu.halted = false;
      if (this.vcpu.cpl === 0) this.enteredKernel();
    } catch (e) {
      if (!(e instanceof GuestPageFaultInMonitor)) throw e;
      this.vcpu.cr2 = e.linear;
      const contributory = vector === 0 || (vector >= 10 && vector <= 13);
      if (kind === INT_EXCEPTION && (vector === EXC_PF || contributory)) this.reflect(8, INT_EXCEPTION, 0, true);
      else this.reflect(EXC_PF, INT_EXCEPTION, e.errorCode, true);
    } finally {
      this.depth--;
    }
  }

  /** Delivers held external interrupts once the virtual IF allows (one per call: its handler runs with IF = 0). */
  deliverHeld(): void {
    const held = this.vcpu.heldInterrupts;
    if (held.length === 0 || !this.interruptsOpen() || this.stopReason !== null) return;
    this.reflect(held.shift()!, INT_EXTERNAL, 0, false);
  }

  /** The guest entered virtual CPL 0: the translator may run translated code instead. */
  enteredKernel(): void {
    const t = this.translator;
    if (t === null) return;
    const target = t.entryFor(this, this.cpu.eip);
    if (target === null) return;
    if (target.cs !== undefined) this.tables.loadProcessorCode(target.cs);
    this.cpu.eip = target.eip >>> 0;
  }

  /** The guest leaves the processor for the emulator when the processor stops, before its next instruction (`event`: one taken on the way, for the emulator). */
  toEmulator(event: GuestEvent | null): void {
    this.emulatorRequest = { event };
    this.cpu.requestStop();
  }

  emulateAt(): boolean {
    return emulatePrivileged(this);
  }

  /** Stops the VM: the run loop returns at the next block boundary. */
  stop(message: string): void {
    if (this.stopReason === null) this.stopReason = { kind: 'error', message };
    this.cpu.halted = true;
    this.cpu.requestStop();
  }

  // ---- the seam ------------------------------------------------------------------------

  private makeSeam(): SensitiveOps {
    return {
      portIn: (_cpu, port: number, size: AccessSize) => this.domain.ports.portRead(port, size),
      portOut: (_cpu, port: number, size: AccessSize, value: number) => this.domain.ports.portWrite(port, size, value),
      cpuid: (cpu) => {
        // CPUID does not trap at CPL 1 on IA-32; the seam lets this emulated part filter it anyway (README: a leak real hardware has).
        this.count('cpuid');
        const leaf = cpu.regs[0];
        guestCpuid(cpu.regs, () => bareMetal.cpuid(cpu), true);
        // No SYSENTER: it would enter the guest kernel at CPL 0 (the MSRs are the monitor's; it is not virtualized).
        // No local APIC: its registers are MMIO, which the monitor does not emulate (the PIC is the interrupt controller).
        if (leaf === 1) cpu.regs[EDX] &= ~(CPUID_EDX_SEP | CPUID_EDX_APIC);
      },
      rdmsr: (cpu) => {
        const value = readGuestMsr(cpu.regs[1], { hostTsc: () => cpu.clock.tsc(), tscOffset: this.tscOffset });
        if (value === null) return cpu.raiseGP(0);
        cpu.regs[0] = value[0];
        cpu.regs[2] = value[1];
      },
      wrmsr: (cpu) => {
        const state = { hostTsc: () => cpu.clock.tsc(), tscOffset: this.tscOffset };
        if (!writeGuestMsr(cpu.regs[1], cpu.regs[0], cpu.regs[2], state)) cpu.raiseGP(0);
        this.tscOffset = state.tscOffset;
      },
      rdtsc: (cpu) => {
        const t = cpu.clock.tsc() + this.tscOffset;
        cpu.regs[0] = t % 0x1_0000_0000 | 0;
        cpu.regs[2] = Math.floor(t / 0x1_0000_0000) | 0;
      },
      hlt: (cpu) => {
        if (this.vcpu.heldInterrupts.length > 0 && this.vcpu.interruptFlag) return; // deliverHeld runs after the emulation
        if (!this.vcpu.interruptFlag) {
          this.stopReason = { kind: 'halt' };
          cpu.halted = true;
          cpu.requestStop();
          return;
        }
        this.vcpu.halted = true;
        cpu.halted = true;
        cpu.exitBlock = true;
      },
      readCr: (_cpu, cr) => {
        const v = this.vcpu;
        if (cr === 0) return v.cr0;
        if (cr === 2) return v.cr2;
        if (cr === 3) return v.cr3;
        return v.cr4;
      },
      writeCr: (cpu, cr, value) => this.writeCr(cpu, cr, value),
      readDr: (_cpu, dr) => this.vcpu.dr[dr],
      writeDr: (_cpu, dr, value) => {
        this.vcpu.dr[dr] = value;
      },
      invlpg: (_cpu, lin) => {
        this.topPages.invalidate(lin);
        this.shadow.invlpg(lin);
        this.applyTlbFlush();
      },
      loadDescriptorTable: (cpu, which, apply) => this.tables.loadTableRegister(cpu, which, apply),
      interrupt: (_cpu, vector, kind, errorCode, hasErrorCode) => this.event(vector, kind, errorCode, hasErrorCode),
    };
  }

  private writeCr(cpu: Cpu, cr: number, value: number): void {
    const v = this.vcpu;
    if (cr === 2) {
      v.cr2 = value;
      return;
    }
    if (cr === 3) {
      v.cr3 = value;
      this.topPages.cr3Loaded();
      this.shadow.loadCr3(value);
      this.loadProcessorCr3();
      // A process switch: the guest may have rewritten its GDT (TLS entries) since the monitor last looked.
      this.tables.syncGdt();
      return;
    }
    if (cr === 0) {
      if ((value & CR0_PE) === 0) {
        // Real mode: the vCPU hands the guest to the monitor's emulator (realModeEmulator.ts) once this instruction is done.
        if ((value & 0x8000_0000) !== 0) cpu.raiseGP(0); // PG without PE
        v.cr0 = (value | CR0_ET) >>> 0;
        this.toEmulator(null);
        return;
      }
      v.cr0 = (value | CR0_ET) >>> 0;
    } else if (cr === 4) {
      if ((value & ~0x79f) !== 0) cpu.raiseGP(0); // VME PVI TSD DE PSE, PGE PCE OSFXSR OSXMMEXCPT: no PAE (shadow paging), MCE, VMXE
      v.cr4 = value >>> 0;
    } else {
      cpu.raiseUD();
    }
    this.shadow.setControl(v.cr0, v.cr4);
    this.topPages.flush();
    this.tables.watchGdt(); // paging on or off: the GDT's linear range may name other frames now
    bareMetal.writeCr(cpu, 4, ShadowPaging.processorCr4(v.cr4) & ~0x1f); // the monitor's processor: no VME/PVI/TSD/DE/PSE
    bareMetal.writeCr(cpu, 0, this.processorCr0());
    this.loadProcessorCr3();
  }
}
