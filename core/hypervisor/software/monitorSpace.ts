/**
 * The monitor's own address space inside every guest address space: the
 * upper part of the top 4 MiB slot of linear memory (PDE 1023 of every
 * shadow directory, given to ShadowPaging as its reserved slot), from
 * MONITOR_BASE up. The processor needs its descriptor tables at linear
 * addresses: the shadow GDT and LDT (segment loads read them), the monitor's
 * TSS (TR must name one; it has no I/O bitmap, so every IN/OUT below IOPL
 * faults), and an IDT page (never used to deliver: every event reaches the
 * monitor through the seam first; it is there so IDTR names real memory);
 * the translator's cache follows (bt/monitorTranslator.ts). The frames come
 * from the machine pool, outside the domain's p2m: no guest page table can
 * map them.
 *
 * The lower part of the slot, TOP_SLOT_BASE to MONITOR_BASE, is the guest's
 * own (guestTopPages.ts): Linux 6.1 (i386) puts its cpu_entry_area at
 * 0xFFC00000 (IDT and GDT aliases, entry stack, TSS: about 170 KiB with one
 * CPU) and its fixmap at the top, with a gap between them; the monitor takes
 * 1 MiB up from 0xFFD00000, in that gap, so the entry stack every system call
 * and interrupt from user mode runs on is plain guest memory to the
 * processor. Guest accesses at or above MONITOR_BASE (the fixmap) go through
 * the top window (topWindow.ts).
 *
 * Protection from the deprivileged guest kernel: it runs at CPL 1, which
 * paging counts as supervisor, so U/S cannot keep it out. As VMware's
 * monitor did, the segments keep it out: every code/data descriptor of the
 * shadow GDT/LDT is truncated to end below MONITOR_BASE (shadowDescriptors.ts),
 * LGDT/LLDT are the monitor's (they trap at CPL 1), so no selector the guest
 * can load reaches the monitor. Guest user code (CPL 3) is kept out by U/S
 * too (the monitor's pages are supervisor-only).
 */
import type { Cpu } from '../../cpu/cpu.ts';
import { LDTR, TR } from '../../cpu/regs.ts';
import { setSegmentCache } from '../../cpu/segments.ts';
import type { MachineMemory } from '../memory/machineMemory.ts';

export const MONITOR_SLOT = 1023;
/** The first linear address of the top slot (the guest's part starts here). */
export const TOP_SLOT_BASE = 0xffc0_0000;
/** The monitor's first linear address: 1 MiB into the slot (see above). */
export const MONITOR_BASE = 0xffd0_0000;
/** Entries of the slot's page table that are the guest's (guestTopPages.ts); the monitor's follow. */
export const GUEST_TOP_PAGES = (MONITOR_BASE - TOP_SLOT_BASE) / 4096;
/** The last linear address guest segments may reach. */
export const GUEST_LINEAR_TOP = MONITOR_BASE - 1;
export const GDT_OFFSET = 0x0_0000;
export const GDT_PAGES = 16;
export const LDT_OFFSET = 0x1_0000;
export const LDT_PAGES = 16;
export const IDT_OFFSET = 0x2_0000;
export const TSS_OFFSET = 0x2_1000;
const PAGES = GDT_PAGES + LDT_PAGES + 2;
/** The monitor's own descriptors, at the top of the 64 KiB shadow GDT (guest GDTs must end below). */
export const MONITOR_LDT_SELECTOR = 0xfff0;
export const MONITOR_TSS_SELECTOR = 0xfff8;
/** The guest's GDT is mirrored up to here (bytes); entries above are the monitor's. */
export const GUEST_GDT_LIMIT_MAX = MONITOR_LDT_SELECTOR - 1;
const TSS_LIMIT = 0x67;
const PTE_P = 1, PTE_RW = 2, PTE_US = 4, PTE_A = 0x20, PTE_D = 0x40;

export class MonitorSpace {
  /** Machine frames: the page table of the slot, then the monitor's pages in layout order. */
  readonly tableFrame: number;
  readonly frames: number[];
  private readonly machine: MachineMemory;

  constructor(machine: MachineMemory) {
    this.machine = machine;
    const all = machine.allocator.allocate(PAGES + 1);
    machine.clearFrames(all);
    this.tableFrame = all[0];
    this.frames = all.slice(1);
    const view = machine.view;
    // Supervisor-only, writable (the processor sets accessed bits in the shadow descriptors and TSS busy bits).
    for (let i = 0; i < PAGES; i++) view.setUint32(this.tableFrame * 4096 + (GUEST_TOP_PAGES + i) * 4, (this.frames[i] * 4096) | PTE_P | PTE_RW | PTE_A | PTE_D, true);
    // The TSS descriptor and the TSS itself (ESP0/SS0 unused: the processor never delivers an event itself).
    this.writeDescriptor(MONITOR_TSS_SELECTOR, MONITOR_BASE + TSS_OFFSET, TSS_LIMIT, 0x8b, 0);
    // The I/O map base is the upper half of the dword at 0x64 (T flag below it): past the limit, so
    // there is no bitmap and every IN/OUT at CPL 1 (IOPL 0) faults into the monitor.
    this.write32(TSS_OFFSET + 0x64, (TSS_LIMIT + 1) << 16);
  }

  /**
   * The PDE every shadow directory gets in MONITOR_SLOT. User-accessible at this level, so that the guest's own
   * entries below MONITOR_BASE keep their U/S; the monitor's entries are supervisor-only.
   */
  get pde(): number {
    return ((this.tableFrame * 4096) | PTE_P | PTE_RW | PTE_US | PTE_A) >>> 0;
  }

  /** Machine address of byte `offset` of the monitor area. */
  machineAddress(offset: number): number {
    return this.frames[offset >>> 12] * 4096 + (offset & 0xfff);
  }

  read32(offset: number): number {
    return this.machine.view.getInt32(this.machineAddress(offset), true);
  }

  write32(offset: number, value: number): void {
    this.machine.view.setUint32(this.machineAddress(offset), value >>> 0, true);
  }

  /** Writes a system descriptor into the shadow GDT at `selector` (access byte `access`, flags nibble `flags`). */
  writeDescriptor(selector: number, base: number, limit: number, access: number, flags: number): void {
    const lo = ((base & 0xffff) << 16) | (limit & 0xffff);
    const hi = (base & 0xff00_0000) | ((flags & 0xf) << 20) | (limit & 0xf_0000) | ((access & 0xff) << 8) | ((base >>> 16) & 0xff);
    this.write32(GDT_OFFSET + (selector & 0xfff8), lo);
    this.write32(GDT_OFFSET + (selector & 0xfff8) + 4, hi);
  }

  /** Puts the processor on the monitor's tables: GDTR, IDTR, TR (busy 32-bit TSS), LDTR null. */
  install(cpu: Cpu): void {
    cpu.gdtBase = MONITOR_BASE + GDT_OFFSET | 0;
    cpu.gdtLimit = 0xffff;
    cpu.idtBase = MONITOR_BASE + IDT_OFFSET | 0;
    cpu.idtLimit = 0x7ff;
    setSegmentCache(cpu, TR, MONITOR_TSS_SELECTOR, MONITOR_BASE + TSS_OFFSET, TSS_LIMIT, 0x8b);
    setSegmentCache(cpu, LDTR, 0, 0, 0, 0);
  }

  /** Points the processor's LDTR at the shadow LDT (limit: the guest's), or null. */
  loadLdt(cpu: Cpu, limit: number | null): void {
    if (limit === null) {
      setSegmentCache(cpu, LDTR, 0, 0, 0, 0);
      return;
    }
    const lim = Math.min(limit, LDT_PAGES * 4096 - 1);
    this.writeDescriptor(MONITOR_LDT_SELECTOR, MONITOR_BASE + LDT_OFFSET, lim, 0x82, 0);
    setSegmentCache(cpu, LDTR, MONITOR_LDT_SELECTOR, MONITOR_BASE + LDT_OFFSET, lim, 0x82);
  }

  release(): void {
    this.machine.allocator.free([this.tableFrame, ...this.frames]);
  }
}
