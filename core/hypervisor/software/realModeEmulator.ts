/**
 * The monitor's emulator for what ring compression cannot run: real mode
 * (firmware at the reset vector, the BIOS's 16-bit services, a boot sector,
 * Linux's real-mode setup), 16-bit protected mode entered from there, and
 * the moments after a mode switch when the segment caches no longer match
 * any descriptor (a protected-mode guest whose DS still holds a real-mode
 * base). VMware's monitor did the same: its binary translator ran the guest
 * kernel, its interpreter the code the hardware could not run deprivileged
 * (README: why emulation rather than virtual-8086 mode).
 *
 * The emulator is a second processor (core/cpu's Cpu, the interpreter of the
 * bare PC) that holds the guest's own state: its CR0 with PE = 0, its
 * segment caches, its IVT/IDT, EFLAGS with the real IF and IOPL. Its bus is
 * the guest-physical space through the domain's p2m (guestPhysicalBus.ts),
 * its ports are the domain's devices, it acknowledges the domain's
 * interrupt controller itself and delivers through the guest's IVT. It
 * never runs deprivileged, and nothing of the monitor's is mapped for it.
 *
 * Hand-over (the transitions are the monitor's, counted in monitorCounters):
 * - to the ring-compressed processor when the guest is in 32-bit protected
 *   mode at CPL 0 (no v8086, no PAE) and every segment register holds what
 *   its selector's descriptor gives (or is a null selector loaded in
 *   protected mode): what the shadow GDT can represent. The check runs after
 *   every block while CR0.PE = 1 (a far JMP to 32-bit code ends a block);
 *   the processor's state is loaded as at a kernel entry (monitor.start)
 *   plus CR0/CR3/CR4, IDTR, LDTR, TR and held interrupts.
 * - back here when the guest clears CR0.PE under the monitor (its MOV CR0
 *   traps; monitor.ts sets `leftProtectedMode`): the processor's state with
 *   the guest's view restored (RPL 0 on CS/SS, the guest descriptors' DPL
 *   and untruncated limits, the virtual IF/IOPL).
 * Code the one processor decoded may have been written by the other: each
 * one's decoded blocks are dropped at every hand-over to it, the shadow page
 * tables and the translation cache are rebuilt by monitor.start.
 */
import { CPU_FAULT, Cpu, STOP_BUDGET, STOP_REQUEST } from '../../cpu/cpu.ts';
import type { InterruptController } from '../../cpu/cpu.ts';
import { INT_EXCEPTION, INT_EXTERNAL } from '../../cpu/interrupts.ts';
import { CR0_PE, CR0_PG, CS, DS, ES, FS, GS, IF, LDTR, SEG_DB, SS, TR } from '../../cpu/regs.ts';
import { bareMetal, type SensitiveOps } from '../../cpu/seam.ts';
import { descAttr, descBase, descLimit, setSegmentCache } from '../../cpu/segments.ts';
import type { MemoryBus } from '../../memory/bus.ts';
import { guestCpuid } from '../exits/cpuid.ts';
import { guestPhysicalBus } from './guestPhysicalBus.ts';
import { MONITOR_BASE } from './monitorSpace.ts';
import type { GuestEvent } from './emulatorEntry.ts';
import type { SoftwareMonitor } from './monitor.ts';
import { guestFlags, guestSelector } from './virtualCpu.ts';

/** CR4 bits the monitor accepts from the guest (monitor.ts writeCr: VME PVI TSD DE PSE, PGE PCE OSFXSR OSXMMEXCPT). */
const CR4_MONITOR_RUNS = 0x79f;
const SEG_P = 0x80, SEG_ACCESSED = 1;
const EDX = 2;
const CPUID_EDX_SEP = 1 << 11;
const CPUID_EDX_APIC = 1 << 9;
/** Instructions run between checks while CR0.PE = 0 (the check is cheap; the switch to protected mode is rare). */
const REAL_MODE_SLICE = 4096;
const GUEST_SEGMENTS = [ES, CS, SS, DS, FS, GS];

export interface GuestDevices {
  /** The domain's device bus: its ports, and its MMIO regions for guest-physical holes. */
  bus: MemoryBus;
  /** The domain's interrupt controller (its PIC, or its local APIC's INTR source). */
  interrupts: InterruptController;
}

export class RealModeEmulator {
  /** The guest's processor while the emulator holds the guest. */
  readonly cpu: Cpu;
  /** True while the guest runs here rather than ring-compressed on the monitor's processor. */
  active = false;
  private readonly monitor: SoftwareMonitor;
  /** The guest's MOV CR0 changed PE: the run stopped so the hand-over check comes now, not at the end of a real-mode slice. */
  private protectionChanged = false;
  /** Entered from the monitor and no block run here yet. */
  private justEntered = false;

  constructor(monitor: SoftwareMonitor, devices: GuestDevices) {
    this.monitor = monitor;
    const bus = guestPhysicalBus(monitor.domain.memory, devices.bus);
    this.cpu = new Cpu(bus, monitor.cpu.clock, monitor.cpu.model);
    this.cpu.interruptController = devices.interrupts;
    this.cpu.pollIntr = true;
    this.cpu.onShutdown = () => this.cpu.requestStop();
  }

  /** Power-on: the guest starts at the reset vector (F000:FFF0, real mode) here. */
  startAtReset(signature: number): void {
    const cpu = this.cpu;
    cpu.reset();
    cpu.regs[EDX] = signature;
    cpu.seam = this.makeSeam();
    this.monitor.stopReason = null;
    this.monitor.vcpu.heldInterrupts.length = 0;
    this.active = true;
  }

  /** Runs the guest here for about `budget` instructions; returns the processor's STOP_* code. Hands over when it can. */
  run(budget: number): number {
    const cpu = this.cpu;
    const clock = cpu.clock;
    const counters = this.monitor.counters;
    const first = clock.retired;
    let code = STOP_BUDGET;
    while (clock.retired - first < budget) {
      this.deliverHeld();
      // After an entry from the monitor the instruction it could not run goes first (the state may look representable).
      if ((cpu.cr0 & CR0_PE) !== 0 && !this.justEntered && this.representable()) {
        this.handOver();
        break;
      }
      // In protected mode one block at a time, so the hand-over comes as soon as the state allows it.
      code = cpu.run((cpu.cr0 & CR0_PE) !== 0 ? 1 : Math.min(REAL_MODE_SLICE, budget - (clock.retired - first)));
      this.justEntered = false;
      if (code === STOP_REQUEST && this.protectionChanged) code = STOP_BUDGET; // our own stop (the seam's MOV CR0), not a device's: the machine checks those anyway
      this.protectionChanged = false;
      if (code !== STOP_BUDGET) break;
    }
    counters.emulatedInstructions += clock.retired - first;
    return code;
  }

  /**
   * The guest cleared CR0.PE on the monitor's processor, or met `event` in 16-bit code there: the guest's state moves
   * here. A fault's instruction runs again here (EIP is at it); an INT n or external interrupt is delivered here.
   */
  enterFromMonitor(event: GuestEvent | null = null): void {
    const m = this.monitor;
    const p = m.cpu;
    const v = m.vcpu;
    const cpu = this.cpu;
    cpu.seam = this.makeSeam();
    cpu.flushCodeCache();
    cpu.regs.set(p.regs);
    cpu.eip = (m.translator?.currentGuestEip?.(m) ?? p.eip) >>> 0; // under bt the processor may stand in the translation cache
    cpu.gdtBase = v.gdtBase;
    cpu.gdtLimit = v.gdtLimit;
    cpu.idtBase = v.idtBase;
    cpu.idtLimit = v.idtLimit;
    cpu.cr2 = v.cr2;
    cpu.cr3 = v.cr3;
    cpu.cr4 = v.cr4;
    cpu.cr0 = v.cr0;
    for (const seg of GUEST_SEGMENTS) {
      const sel = seg === CS || seg === SS ? guestSelector(p.segSel[seg]) : p.segSel[seg];
      let limit = p.segLimit[seg];
      let attr = p.segAttr[seg];
      const d = (sel & 0xfffc) !== 0 && (attr & SEG_P) !== 0 ? this.guestDescriptorPhysical(sel) : null;
      // The guest's view of what the processor holds: its descriptor's DPL and limit (ring compression changed both).
      if (d !== null) {
        limit = descLimit(d[0], d[1]);
        attr = (attr & ~0x60) | (descAttr(d[1]) & 0x60);
      }
      setSegmentCache(cpu, seg, sel, p.segBase[seg], limit, attr);
    }
    setSegmentCache(cpu, LDTR, v.ldtr, v.ldtBase, v.ldtLimit, 0x82);
    setSegmentCache(cpu, TR, v.tr, v.trBase, v.trLimit, 0x8b);
    cpu.setCpl(0);
    cpu.setFlags(guestFlags(v, p.getFlags()));
    cpu.flushTlb(true);
    cpu.refreshAccessMode();
    cpu.halted = false;
    this.active = true;
    this.justEntered = true;
    m.counters.emulatorEntries++;
    if (event === null || event.kind === INT_EXCEPTION) return;
    if (event.kind === INT_EXTERNAL) m.vcpu.heldInterrupts.unshift(event.vector); // acknowledged already: delivered when IF allows
    else cpu.deliver(event.vector, event.kind, event.errorCode, event.hasErrorCode);
  }

  /** Can the shadow GDT represent the guest's state now (README: the hand-over condition)? */
  private representable(): boolean {
    const cpu = this.cpu;
    if (cpu.v86Mode || cpu.cpl !== 0 || (cpu.segAttr[CS] & SEG_DB) === 0 || cpu.interruptShadow) return false;
    if ((cpu.cr4 & ~CR4_MONITOR_RUNS) !== 0) return false; // PAE (shadow paging is 2-level here), MCE, VMXE: as the monitor's MOV CR4
    if (((cpu.segBase[CS] + cpu.eip) >>> 0) >= MONITOR_BASE) return false; // code where the monitor lives (SeaBIOS's ROM alias below 4 GiB)
    for (const seg of GUEST_SEGMENTS) {
      const sel = cpu.segSel[seg];
      if ((sel & 0xfffc) === 0) {
        if (seg === CS || seg === SS || (cpu.segAttr[seg] & SEG_P) !== 0) return false; // a real-mode value still cached
        continue;
      }
      const d = this.guestDescriptorLinear(sel);
      if (d === null) return false;
      if (descBase(d[0], d[1]) !== cpu.segBase[seg] || descLimit(d[0], d[1]) !== cpu.segLimit[seg]) return false;
      if ((descAttr(d[1]) | SEG_ACCESSED) !== (cpu.segAttr[seg] | SEG_ACCESSED)) return false;
    }
    return true;
  }

  /** Moves the guest to the monitor's processor (ring compression, shadow tables), as at a kernel entry plus the rest of its state. */
  private handOver(): void {
    const cpu = this.cpu;
    const m = this.monitor;
    const held = [...m.vcpu.heldInterrupts];
    const paging = (cpu.cr0 & CR0_PG) !== 0;
    const entry = {
      gdtBase: cpu.gdtBase, gdtLimit: cpu.gdtLimit,
      cs: cpu.segSel[CS], ss: cpu.segSel[SS], ds: cpu.segSel[DS], es: cpu.segSel[ES], fs: cpu.segSel[FS], gs: cpu.segSel[GS],
      eip: cpu.eip, esp: cpu.regs[4], eflags: cpu.getFlags(), regs: Array.from(cpu.regs),
    };
    const p = m.cpu;
    p.flushCodeCache();
    m.start(entry);
    const v = m.vcpu;
    v.heldInterrupts.push(...held);
    v.idtBase = cpu.idtBase;
    v.idtLimit = cpu.idtLimit;
    v.cr2 = cpu.cr2;
    // Through the monitor's own MOV CR emulation (vCPU record, shadow paging, the processor's CR0/CR3/CR4).
    m.seam.writeCr(p, 4, cpu.cr4);
    m.seam.writeCr(p, 3, cpu.cr3);
    m.seam.writeCr(p, 0, cpu.cr0);
    if (paging) {
      // The GDT's base is a linear address under the guest's paging: mirror it again and reload from it.
      m.tables.syncGdt();
      m.tables.loadGuestCode(entry.cs);
      m.tables.loadGuestSegment(SS, entry.ss);
      m.tables.loadGuestSegment(DS, entry.ds);
      m.tables.loadGuestSegment(ES, entry.es);
      m.tables.loadGuestSegment(FS, entry.fs);
      m.tables.loadGuestSegment(GS, entry.gs);
    }
    if ((cpu.segSel[LDTR] & 0xfffc) !== 0) {
      v.ldtr = cpu.segSel[LDTR];
      v.ldtBase = cpu.segBase[LDTR];
      v.ldtLimit = cpu.segLimit[LDTR];
      m.tables.syncLdt();
      m.space.loadLdt(p, v.ldtLimit);
    }
    if ((cpu.segSel[TR] & 0xfffc) !== 0) {
      v.tr = cpu.segSel[TR];
      v.trBase = cpu.segBase[TR];
      v.trLimit = cpu.segLimit[TR];
    }
    this.active = false;
    m.counters.emulatorExits++;
  }

  /** External interrupts the monitor acknowledged while the guest's IF was 0, delivered through the guest's IVT/IDT once it is 1. */
  private deliverHeld(): void {
    const held = this.monitor.vcpu.heldInterrupts;
    if (held.length === 0 || (this.cpu.flags & IF) === 0) return;
    this.cpu.halted = false;
    this.cpu.deliver(held.shift()!, INT_EXTERNAL, 0, false);
  }

  /** A guest descriptor [lo, hi] read through the emulator's own view (its paging, if on), or null past the table's limit. */
  private guestDescriptorLinear(sel: number): [number, number] | null {
    const cpu = this.cpu;
    const local = (sel & 4) !== 0;
    const base = local ? cpu.segBase[LDTR] : cpu.gdtBase;
    const limit = local ? cpu.segLimit[LDTR] : cpu.gdtLimit;
    if ((sel & 0xfff8) + 7 > limit || (local && (cpu.segSel[LDTR] & 0xfffc) === 0)) return null;
    try {
      return [cpu.readSys32((base + (sel & 0xfff8)) | 0), cpu.readSys32((base + (sel & 0xfff8) + 4) | 0)];
    } catch (e) {
      if (e === CPU_FAULT) return null;
      throw e;
    }
  }

  /** A guest GDT/LDT descriptor read guest-physically (the guest has just turned paging and protection off), or null. */
  private guestDescriptorPhysical(sel: number): [number, number] | null {
    const v = this.monitor.vcpu;
    const local = (sel & 4) !== 0;
    const base = local ? v.ldtBase : v.gdtBase;
    const limit = local ? v.ldtLimit : v.gdtLimit;
    if ((sel & 0xfff8) + 7 > limit) return null;
    try {
      const memory = this.monitor.domain.memory;
      const at = (base + (sel & 0xfff8)) >>> 0;
      return [memory.readU32(at) | 0, memory.readU32(at + 4) | 0];
    } catch {
      return null;
    }
  }

  /** The emulated guest's sensitive operations: the domain's devices, the monitor's CPUID/MSR/TSC view, the rest as on the bare PC. */
  private makeSeam(): SensitiveOps {
    const m = this.monitor;
    const ports = m.domain.ports;
    return {
      ...bareMetal,
      portIn: (_cpu, port, size) => ports.portRead(port, size),
      portOut: (_cpu, port, size, value) => ports.portWrite(port, size, value),
      cpuid: (cpu) => {
        // The CPUID the monitor's guest sees on the ring-compressed path too (monitor.ts: no SEP, no local APIC).
        const leaf = cpu.regs[0];
        guestCpuid(cpu.regs, () => bareMetal.cpuid(cpu), true);
        if (leaf === 1) cpu.regs[EDX] &= ~(CPUID_EDX_SEP | CPUID_EDX_APIC);
      },
      writeCr: (cpu, cr, value) => {
        const pe = cpu.cr0 & CR0_PE;
        bareMetal.writeCr(cpu, cr, value);
        if (cr === 0 && (cpu.cr0 & CR0_PE) !== pe) {
          this.protectionChanged = true;
          cpu.requestStop();
        }
      },
      rdmsr: (cpu) => m.seam.rdmsr(cpu),
      wrmsr: (cpu) => m.seam.wrmsr(cpu),
      rdtsc: (cpu) => m.seam.rdtsc(cpu),
    };
  }
}
