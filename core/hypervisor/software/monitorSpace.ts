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
 * kernel view of the shadow GDT/LDT is truncated to end below MONITOR_BASE
 * (shadowDescriptors.ts), LGDT/LLDT are the monitor's (they trap at CPL 1),
 * so no selector the guest kernel can load reaches the monitor.
 *
 * Guest user code (CPL 3) is kept out by paging alone: every page of the
 * monitor is mapped supervisor-only here (no U/S bit in the slot's entries;
 * the translation cache's too, bt/monitorTranslator.ts), and at CPL 3 every
 * access through a segment is a user access. So the tables have a second
 * view, the user view (USER_GDT_OFFSET, USER_LDT_OFFSET), where DPL-3
 * descriptors keep the guest's own limits: the processor runs on it only
 * while it is at CPL 3, and i386 TLS reads at %gs:-N (offsets that wrap
 * below the segment's base) run natively there instead of trapping past a
 * truncated limit (guestViews.ts switches the views).
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
/**
 * The user view of the shadow GDT and LDT: after the translation cache (bt/monitorTranslator.ts has it at
 * 0x40000-0x7FFFF; its first free page would have fitted neither 64 KiB table before it).
 */
export const USER_GDT_OFFSET = 0x8_0000;
export const USER_LDT_OFFSET = 0x9_0000;
/** The monitor's pages by offset, in layout order: kernel GDT, kernel LDT, IDT, TSS, then the user GDT and LDT. */
const PAGE_OFFSETS: number[] = [
  ...pageRange(GDT_OFFSET, GDT_PAGES), ...pageRange(LDT_OFFSET, LDT_PAGES), IDT_OFFSET, TSS_OFFSET,
  ...pageRange(USER_GDT_OFFSET, GDT_PAGES), ...pageRange(USER_LDT_OFFSET, LDT_PAGES),
];
const PAGES = PAGE_OFFSETS.length;
/** The monitor's own descriptors, at the top of the 64 KiB shadow GDT (guest GDTs must end below). */
export const MONITOR_LDT_SELECTOR = 0xfff0;
export const MONITOR_TSS_SELECTOR = 0xfff8;
/** The guest's GDT is mirrored up to here (bytes); entries above are the monitor's. */
export const GUEST_GDT_LIMIT_MAX = MONITOR_LDT_SELECTOR - 1;
const TSS_LIMIT = 0x67;
const PTE_P = 1, PTE_RW = 2, PTE_US = 4, PTE_A = 0x20, PTE_D = 0x40;

function pageRange(offset: number, pages: number): number[] {
  return Array.from({ length: pages }, (_, k) => offset + k * 4096);
}

/** Which copy of the shadow tables the processor's GDTR and LDTR name. */
export type TableView = 'kernel' | 'user';

export class MonitorSpace {
  /** Machine frames: the page table of the slot, then the monitor's pages in layout order (PAGE_OFFSETS). */
  readonly tableFrame: number;
  readonly frames: number[];
  private readonly machine: MachineMemory;
  /** Machine frame of each monitor page by its page number in the monitor area (-1: not the tables'). */
  private readonly frameAt: Int32Array;
  /** The shadow LDT's limit while the guest has an LDT loaded, else null (both views alike). */
  private ldtLimit: number | null = null;

  constructor(machine: MachineMemory) {
    this.machine = machine;
    const all = machine.allocator.allocate(PAGES + 1);
    machine.clearFrames(all);
    this.tableFrame = all[0];
    this.frames = all.slice(1);
    this.frameAt = new Int32Array((USER_LDT_OFFSET >>> 12) + LDT_PAGES).fill(-1);
    const view = machine.view;
    // Supervisor-only (no U/S: guest user code is kept out by paging, the user view relies on it), writable (the
    // processor sets accessed bits in the shadow descriptors and TSS busy bits).
    PAGE_OFFSETS.forEach((offset, i) => {
      this.frameAt[offset >>> 12] = this.frames[i];
      view.setUint32(this.tableFrame * 4096 + (GUEST_TOP_PAGES + (offset >>> 12)) * 4, (this.frames[i] * 4096) | PTE_P | PTE_RW | PTE_A | PTE_D, true);
    });
    // The TSS descriptor (in both views) and the TSS itself (ESP0/SS0 unused: the processor never delivers an event itself).
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
    const frame = this.frameAt[offset >>> 12];
    if (frame === undefined || frame < 0) throw new Error(`0x${offset.toString(16)} is not in the monitor's tables`);
    return frame * 4096 + (offset & 0xfff);
  }

  /** True when the monitor's page at `offset` (a monitor-area offset) is mapped supervisor-only in the slot's table. */
  supervisorOnly(offset: number): boolean {
    const pte = this.machine.view.getUint32(this.tableFrame * 4096 + (GUEST_TOP_PAGES + (offset >>> 12)) * 4, true);
    return (pte & PTE_P) !== 0 && (pte & PTE_US) === 0;
  }

  read32(offset: number): number {
    return this.machine.view.getInt32(this.machineAddress(offset), true);
  }

  write32(offset: number, value: number): void {
    this.machine.view.setUint32(this.machineAddress(offset), value >>> 0, true);
  }

  /** Writes a system descriptor into both views of the shadow GDT at `selector` (access byte `access`, flags nibble `flags`). */
  writeDescriptor(selector: number, base: number, limit: number, access: number, flags: number, views: readonly TableView[] = ['kernel', 'user']): void {
    const lo = ((base & 0xffff) << 16) | (limit & 0xffff);
    const hi = (base & 0xff00_0000) | ((flags & 0xf) << 20) | (limit & 0xf_0000) | ((access & 0xff) << 8) | ((base >>> 16) & 0xff);
    for (const view of views) {
      this.write32(gdtOffset(view) + (selector & 0xfff8), lo);
      this.write32(gdtOffset(view) + (selector & 0xfff8) + 4, hi);
    }
  }

  /** Puts the processor on the monitor's tables, the kernel view: GDTR, IDTR, TR (busy 32-bit TSS), LDTR null. */
  install(cpu: Cpu): void {
    cpu.gdtBase = MONITOR_BASE + GDT_OFFSET | 0;
    cpu.gdtLimit = 0xffff;
    cpu.idtBase = MONITOR_BASE + IDT_OFFSET | 0;
    cpu.idtLimit = 0x7ff;
    setSegmentCache(cpu, TR, MONITOR_TSS_SELECTOR, MONITOR_BASE + TSS_OFFSET, TSS_LIMIT, 0x8b);
    this.ldtLimit = null;
    setSegmentCache(cpu, LDTR, 0, 0, 0, 0);
  }

  /** The view the processor's GDTR names now (read from GDTR itself, so a restored processor state cannot disagree). */
  view(cpu: Cpu): TableView {
    return cpu.gdtBase === (MONITOR_BASE + USER_GDT_OFFSET | 0) ? 'user' : 'kernel';
  }

  /**
   * Loads GDTR and LDTR with `view`'s tables, as LGDT and LLDT would (the LDT's descriptor at MONITOR_LDT_SELECTOR
   * of each view names that view's LDT). The segment registers keep what they hold: guestViews.ts reloads them.
   */
  useView(cpu: Cpu, view: TableView): void {
    cpu.gdtBase = MONITOR_BASE + gdtOffset(view) | 0;
    cpu.gdtLimit = 0xffff;
    this.loadLdtRegister(cpu);
  }

  /** Points the processor's LDTR at the shadow LDT of the current view (limit: the guest's), or null. */
  loadLdt(cpu: Cpu, limit: number | null): void {
    this.ldtLimit = limit === null ? null : Math.min(limit, LDT_PAGES * 4096 - 1);
    if (this.ldtLimit !== null) {
      this.writeDescriptor(MONITOR_LDT_SELECTOR, MONITOR_BASE + LDT_OFFSET, this.ldtLimit, 0x82, 0, ['kernel']);
      this.writeDescriptor(MONITOR_LDT_SELECTOR, MONITOR_BASE + USER_LDT_OFFSET, this.ldtLimit, 0x82, 0, ['user']);
    }
    this.loadLdtRegister(cpu);
  }

  private loadLdtRegister(cpu: Cpu): void {
    if (this.ldtLimit === null) {
      setSegmentCache(cpu, LDTR, 0, 0, 0, 0);
      return;
    }
    const base = MONITOR_BASE + ldtOffset(this.view(cpu));
    setSegmentCache(cpu, LDTR, MONITOR_LDT_SELECTOR, base, this.ldtLimit, 0x82);
  }

  release(): void {
    this.machine.allocator.free([this.tableFrame, ...this.frames]);
  }
}

/** Offset of `view`'s shadow GDT in the monitor area. */
export function gdtOffset(view: TableView): number {
  return view === 'user' ? USER_GDT_OFFSET : GDT_OFFSET;
}

/** Offset of `view`'s shadow LDT in the monitor area. */
export function ldtOffset(view: TableView): number {
  return view === 'user' ? USER_LDT_OFFSET : LDT_OFFSET;
}
