/**
 * The guest's own pages from the monitor's base up (the top 4 MiB slot's
 * upper part). The monitor takes that linear range for itself
 * (monitorSpace.ts) and keeps the guest out with truncated segment limits,
 * but guests map things there: Linux's fixmap (early_memremap of the ACPI
 * tables and the boot parameters, kmap slots, text_poke). A guest kernel
 * access there is a #GP(0) (past the segment limit; a user access on the
 * user view of the shadow GDT is a #PF, guestViews.ts); the monitor then runs
 * that one instruction through a window: a copy of the current shadow directory whose
 * top slot maps the guest's own top-4-MiB pages (from the guest's page table,
 * through the p2m; RAM only), with the segment limits opened to 4 GiB. Then
 * the processor is back on the real shadow with the monitor in place. The
 * window takes its rights from the guest entries but does not set their A/D
 * bits nor write-protect guest page tables mapped there (Linux's fixmap maps
 * neither).
 */

import type { Insn } from '../../cpu/insn.ts';
import { descLimit } from '../../cpu/segments.ts';
import { CS, DS, ES, SS, FS, GS } from '../../cpu/regs.ts';
import type { SoftwareMonitor } from './monitor.ts';
import { GUEST_LINEAR_TOP, MONITOR_BASE, MONITOR_SLOT } from './monitorSpace.ts';

const P = 1, RW = 2, US = 4, PS = 0x80, A = 0x20, D = 0x40;
const CR0_PG = 1 << 31, CR4_PSE = 0x10;
const DATA_SEGMENTS = [ES, SS, DS, FS, GS];
const ESP = 4, ESI = 6, EDI = 7;

/** Frames for the window: a directory and the top slot's table (machine frames outside the p2m). */
export class TopWindow {
  private readonly dirFrame: number;
  private readonly tableFrame: number;
  uses = 0;

  constructor(private readonly m: SoftwareMonitor) {
    const machine = m.domain.memory.machine;
    [this.dirFrame, this.tableFrame] = machine.allocator.allocate(2);
    machine.clearFrames([this.dirFrame, this.tableFrame]);
  }

  /**
   * True when `ins` (which faulted with #GP(0) or #SS(0) at CPL 1) reaches into the top 4 MiB: through a memory
   * operand, a string operand, or the stack (Linux's entry stack is in its cpu_entry_area, in the fixmap: every
   * return to user mode pops the registers and IRETs from there, every entry from user mode pushes there). The stack
   * test is generous (any instruction while SS:ESP is within 64 bytes of the top): an instruction run in the window
   * for another reason faults there again and that fault is the guest's.
   */
  touchesTop(ins: Insn): boolean {
    const cpu = this.m.cpu;
    const inTop = (seg: number, off: number) => ((cpu.segBase[seg] + off) >>> 0) >= MONITOR_BASE - 16;
    if (this.stackInTop()) return true;
    if (ins.opcode >= 0xa4 && ins.opcode <= 0xaf) return inTop(ins.seg, cpu.regs[ESI]) || inTop(ES, cpu.regs[EDI]);
    if (ins.mod === 3) return false;
    const offset = cpu.ea(ins) >>> 0;
    // Past a limit the monitor truncated (a TLS access at %gs:-0x54 that wraps below 4 GiB, as i386 libcs do).
    if (offset > cpu.segLimit[ins.seg] >>> 0 && this.truncated(ins.seg)) return true;
    return inTop(ins.seg, offset);
  }

  /** True when the monitor truncated the segment's limit to end at the top of guest-linear space (shadowDescriptors.ts). */
  private truncated(seg: number): boolean {
    const cpu = this.m.cpu;
    const end = (cpu.segBase[seg] + cpu.segLimit[seg]) >>> 0; // page-granular truncation ends within the last page
    return end <= GUEST_LINEAR_TOP && end > GUEST_LINEAR_TOP - 0x1000;
  }

  /** The limit the guest's own descriptor gives a segment the monitor truncated (4 GiB when it is not in the guest's GDT). */
  private guestLimit(seg: number): number {
    const sel = this.m.cpu.segSel[seg];
    const entry = (sel & 4) === 0 ? this.m.tables.guestGdtEntry(sel) : null;
    return entry === null ? 0xffff_ffff : descLimit(entry[0], entry[1]) >>> 0;
  }

  /** True when the guest's stack (SS:ESP, with room for a frame below it) is in its top 4 MiB. */
  stackInTop(): boolean {
    const cpu = this.m.cpu;
    return ((cpu.segBase[SS] + cpu.regs[ESP] - 64) >>> 0) >= MONITOR_BASE - 16 || ((cpu.segBase[SS] + cpu.regs[ESP]) >>> 0) >= MONITOR_BASE;
  }

  /** Builds the window for the guest's current top slot (empty when the guest maps nothing there: its accesses there are the guest's #PF). */
  private build(): void {
    const m = this.m;
    const v = m.vcpu;
    const mem = m.domain.memory;
    const view = mem.machine.view;
    const table = this.tableFrame * 4096;
    const pde = (v.cr0 & CR0_PG) === 0 ? 0 : mem.readU32((v.cr3 & ~0xfff) + MONITOR_SLOT * 4) >>> 0;
    for (let i = 0; i < 1024 && (pde & P) === 0; i++) view.setUint32(table + i * 4, 0, true);
    for (let i = 0; i < 1024 && (pde & P) !== 0; i++) {
      let pte: number;
      if ((pde & PS) !== 0 && (v.cr4 & CR4_PSE) !== 0) pte = (((pde & 0xffc0_0000) >>> 0) + i * 4096) | (pde & 0xfff & ~PS);
      else pte = mem.readU32((pde & ~0xfff) + i * 4) >>> 0;
      const gfn = pte >>> 12;
      let entry = 0;
      if ((pte & P) !== 0 && mem.p2m.kind(gfn) === 'ram') entry = ((mem.p2m.machineFrame(gfn) * 4096) | P | (pte & pde & RW) | (pte & pde & US) | A | D) >>> 0;
      view.setUint32(table + i * 4, entry, true);
    }
    const root = (m.cpu.cr3 >>> 0) & ~0xfff;
    const dir = this.dirFrame * 4096;
    mem.machine.u8.copyWithin(dir, root, root + 4096);
    view.setUint32(dir + MONITOR_SLOT * 4, (table | P | RW | US | A) >>> 0, true);
  }

  /**
   * Runs the handler of `ins` (EIP already past it) inside the window.
   * Returns normally, or throws the processor's fault (CPU_FAULT) with the
   * processor back on the real shadow; a #PF below the top is a shadow miss
   * the caller fills and retries.
   */
  run(ins: Insn): boolean {
    return this.within(() => ins.fn(this.m.cpu, ins));
  }

  /**
   * A user (CPL 3) instruction past a truncated limit whose operands lie below the monitor needs the guest's own
   * limits only, not the guest's top slot: it runs on the real shadow with the limits opened, no directory switch
   * nor TLB flush. At CPL 3 the monitor's pages stay out of reach by U/S. Anything else goes through the window.
   * (i386 TLS at %gs:-4, which wraps to just below the segment's base, used to be the common case here; it now runs
   * natively on the user view of the shadow GDT, guestViews.ts. What still comes: a user access at or above the
   * monitor's base, and a segment the user view truncates too, such as conforming code of a lower DPL.)
   */
  runUser(ins: Insn): void {
    const cpu = this.m.cpu;
    const below = (seg: number, off: number) => ((cpu.segBase[seg] + off) >>> 0) < MONITOR_BASE - 0x1000;
    let outside = this.stackInTop();
    if (!outside && ins.opcode >= 0xa4 && ins.opcode <= 0xaf) outside = !below(ins.seg, cpu.regs[ESI]) || !below(ES, cpu.regs[EDI]);
    else if (!outside && ins.mod !== 3) outside = !below(ins.seg, cpu.ea(ins) >>> 0);
    if (outside) this.within(() => ins.fn(cpu, ins));
    else this.withOpenedLimits(() => ins.fn(cpu, ins));
  }

  /** Runs `step` (processor accesses) inside the window; false when the guest maps nothing there (step not run). */
  within(step: () => void): boolean {
    const cpu = this.m.cpu;
    this.build();
    this.uses++;
    const savedCr3 = cpu.cr3;
    cpu.cr3 = this.dirFrame * 4096;
    cpu.flushTlb(true);
    try {
      this.withOpenedLimits(step);
    } finally {
      cpu.cr3 = savedCr3;
      cpu.flushTlb(true);
    }
    return true;
  }

  /** Runs `step` with the data segments the monitor truncated opened to the guest's own limits, and closed again after. */
  private withOpenedLimits(step: () => void): void {
    const cpu = this.m.cpu;
    const limits = DATA_SEGMENTS.map((s) => cpu.segLimit[s]);
    const opened = DATA_SEGMENTS.map((s) => (this.truncated(s) ? this.guestLimit(s) : cpu.segLimit[s] >>> 0));
    const csSel = cpu.segSel[CS];
    const csLimit = cpu.segLimit[CS];
    DATA_SEGMENTS.forEach((s, k) => {
      if (opened[k] !== cpu.segLimit[s] >>> 0) { cpu.segLimit[s] = opened[k]; cpu.refreshSegment(s); }
    });
    try {
      step();
    } finally {
      DATA_SEGMENTS.forEach((s, k) => {
        // A segment register the instruction loaded in the window keeps what it loaded.
        if (cpu.segLimit[s] !== limits[k] && cpu.segLimit[s] >>> 0 === opened[k]) { cpu.segLimit[s] = limits[k]; cpu.refreshSegment(s); }
      });
      // An IRET or far transfer run in the window loaded CS from its descriptor: that limit stands.
      if (cpu.segSel[CS] === csSel) cpu.segLimit[CS] = csLimit;
    }
  }
}
