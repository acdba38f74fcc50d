/**
 * The guest's descriptor-table registers, virtualized: GDTR/IDTR/LDTR/TR
 * are the guest's only in the vCPU record; the processor's are the
 * monitor's (monitorSpace.ts). The shadow GDT mirrors the guest's entry for
 * entry (shadowDescriptors.ts), so a guest selector names the same entry on
 * the processor; the shadow LDT mirrors the guest's LDT.
 *
 * The guest's GDT frames are write-protected in the shadow page tables
 * (`watchGdt`, ShadowPaging's watched frames, as VMware's monitor traced
 * them): a guest write to one traps (#PF), the monitor runs the writing
 * instruction with the frame opened (emulate.ts `emulateGdtWrite`) and
 * mirrors the entries of that page (`gdtFrameWritten`), so the shadow GDT
 * is current whenever the guest loads a selector (Linux writes a task's TLS
 * entries at a context switch and set_thread_area, then loads GS natively).
 * The whole table is mirrored again at LGDT, at every guest CR3 load and
 * paging switch (the GDT's linear range may name other frames: the watch is
 * moved), and when a segment load faults with a selector error code.
 * Not watched: a writable alias of a GDT frame in the guest's own part of
 * the top slot (guestTopPages.ts maps those from the guest's entries;
 * Linux's GDT alias there is read-only).
 *
 * Every mirroring writes both views of the shadow tables (monitorSpace.ts):
 * the kernel view (all truncated) and the user view (DPL-3 descriptors with
 * the guest's own limits), so whichever the processor is on is current.
 * The counters `gdtEntriesByWatch` and `gdtEntriesByResync` count the
 * entries found changed (each rewritten in both views). The LDT is not
 * watched: it is copied whole, into both views, at LLDT (and when the guest
 * leaves the monitor's emulator).
 */
import { CPU_FAULT, type Cpu } from '../../cpu/cpu.ts';
import { Descriptor, dplOf, isCode, loadCodeSegment, loadNullSegment, loadSegmentFromDescriptor, readDescriptor } from '../../cpu/protected/descriptors.ts';
import { descBase, descLimit } from '../../cpu/segments.ts';
import { EXC_GP, EXC_NP, SS } from '../../cpu/regs.ts';
import type { SoftwareMonitor } from './monitor.ts';
import { GDT_OFFSET, GUEST_GDT_LIMIT_MAX, LDT_OFFSET, LDT_PAGES, USER_GDT_OFFSET, USER_LDT_OFFSET } from './monitorSpace.ts';
import { shadowDescriptor, userShadowDescriptor } from './shadowDescriptors.ts';
import { processorSelector } from './virtualCpu.ts';
import { GuestMemoryFault, type DomainMemory } from '../memory/domainMemory.ts';

/** Writes beside the table a watched GDT frame may take before it is no longer watched (gdtWriteTrapped). */
const MAX_MISSES = 16;
const LDT_TYPE = 2, TSS32_AVAILABLE = 9, TSS16_AVAILABLE = 1, BUSY = 1 << 9;

export class DescriptorTables {
  private readonly m: SoftwareMonitor;
  /** The guest GDT as last mirrored (dwords), and how many bytes of it. */
  private readonly gdtCopy = new Int32Array(0x1_0000 / 4);
  private gdtMirrored = 0;
  private readonly out = new Int32Array(2);
  private readonly d = new Descriptor();
  /** The guest frame of each 4 KiB page of the GDT's linear range (-1: not mapped), as last watched. */
  private gdtFrames: number[] = [];
  /** Trapped writes to a watched frame that missed the GDT's bytes (hot data sharing its page), per frame, since LGDT. */
  private readonly misses = new Map<number, number>();
  /** Frames no longer watched since LGDT: they took `MAX_MISSES` writes beside the table. */
  private readonly unwatched = new Set<number>();

  constructor(m: SoftwareMonitor) {
    this.m = m;
  }

  /** Mirrors the guest GDT into the shadow GDT and moves the write watch onto its frames; true when any entry changed. */
  syncGdt(): boolean {
    const m = this.m;
    const v = m.vcpu;
    const bytes = Math.min(v.gdtLimit, GUEST_GDT_LIMIT_MAX) + 1;
    const entries = bytes >>> 3;
    let rewritten = this.mirrorEntries(0, entries);
    // Entries past a shrunk guest limit are empty on the processor too.
    for (let i = entries; i * 8 < this.gdtMirrored; i++) {
      for (const offset of [GDT_OFFSET, USER_GDT_OFFSET]) {
        m.space.write32(offset + i * 8, 0);
        m.space.write32(offset + i * 8 + 4, 0);
      }
      rewritten++;
    }
    this.gdtMirrored = entries * 8;
    const changed = rewritten > 0;
    m.counters.gdtEntriesByResync += rewritten;
    if (changed) m.counters.gdtResyncs++;
    this.watchGdt();
    return changed;
  }

  /** Mirrors guest GDT entries [first, end) (all below the mirrored size or appended to it); how many changed (each rewritten in both views). */
  private mirrorEntries(first: number, end: number): number {
    const m = this.m;
    const v = m.vcpu;
    let changed = 0;
    for (let i = first; i < end; i++) {
      const lo = m.readLinear32(v.gdtBase + i * 8);
      const hi = m.readLinear32(v.gdtBase + i * 8 + 4);
      if (i * 8 < this.gdtMirrored && this.gdtCopy[i * 2] === lo && this.gdtCopy[i * 2 + 1] === hi) continue;
      changed++;
      this.gdtCopy[i * 2] = lo;
      this.gdtCopy[i * 2 + 1] = hi;
      this.writeShadow(GDT_OFFSET, USER_GDT_OFFSET, i, i === 0 ? 0 : lo, i === 0 ? 0 : hi);
    }
    return changed;
  }

  /**
   * Write-protects the frames the GDT's linear range maps now (through the
   * guest's own tables; identity with its paging off), so each guest write
   * to a descriptor reaches `gdtFrameWritten`.
   */
  watchGdt(): void {
    const m = this.m;
    const v = m.vcpu;
    const bytes = Math.min(v.gdtLimit, GUEST_GDT_LIMIT_MAX) + 1;
    const first = v.gdtBase >>> 12;
    const last = ((v.gdtBase + bytes - 1) >>> 0) >>> 12;
    const frames: number[] = [];
    for (let page = first; page <= last; page++) {
      frames.push(guestFrameOf(m.domain.memory, v.cr0, v.cr3, v.cr4, page));
    }
    this.gdtFrames = frames;
    m.shadow.setWatchedFrames(frames.filter((gfn) => gfn >= 0 && !this.unwatched.has(gfn)));
    // Now, not at the next flush: a writable translation of a newly watched frame left in the processor's TLB would let
    // writes through unseen (the detector's LTR right after its LGDT set the busy bit so, and the shadow missed it).
    m.applyTlbFlush();
  }

  /**
   * A trapped guest write to GDT frame at guest-physical `gpa` was emulated.
   * A write beside the table counts as a miss; a frame with `MAX_MISSES` of
   * them holds data the guest writes often (Linux's decompressor clears its
   * BSS from its GDT's page on; SeaBIOS keeps variables there), so it is no
   * longer watched until the next LGDT: its entries are mirrored again at the
   * older points only (LGDT, CR3 loads, selector faults).
   */
  gdtWriteTrapped(gpa: number): void {
    const gfn = gpa >>> 12;
    if (this.unwatched.has(gfn) || this.hitsTable(gpa)) return;
    const n = (this.misses.get(gfn) ?? 0) + 1;
    this.misses.set(gfn, n);
    if (n < MAX_MISSES) return;
    this.unwatched.add(gfn);
    this.m.counters.gdtPagesUnwatched++;
    this.watchGdt();
  }

  /** True when `gpa` is one of the GDT's bytes (through the frames its pages map). */
  private hitsTable(gpa: number): boolean {
    const base = this.m.vcpu.gdtBase >>> 0;
    const bytes = Math.min(this.m.vcpu.gdtLimit, GUEST_GDT_LIMIT_MAX) + 1;
    return this.gdtFrames.some((frame, k) => {
      if (frame !== gpa >>> 12) return false;
      const offset = (((base >>> 12) + k) * 4096 + (gpa & 0xfff)) - base; // the byte's offset in the GDT
      return offset >= 0 && offset < bytes;
    });
  }

  /** The guest wrote GDT frame `gfn` (an emulated write, or the monitor's own): the entries on that page are mirrored again. */
  gdtFrameWritten(gfn: number): void {
    const base = this.m.vcpu.gdtBase >>> 0;
    const entries = this.gdtMirrored >>> 3;
    let rewritten = 0;
    this.gdtFrames.forEach((frame, k) => {
      if (frame !== gfn) return;
      const pageStart = (((base >>> 12) + k) * 4096) - base; // byte offset of the page in the GDT (negative for the first)
      const first = Math.max(0, Math.floor(pageStart / 8));
      const end = Math.min(entries, Math.ceil((pageStart + 4096) / 8));
      rewritten += this.mirrorEntries(first, end);
    });
    this.m.counters.gdtEntriesByWatch += rewritten;
    if (rewritten > 0) this.m.counters.gdtResyncs++;
  }

  /** Mirrors the guest LDT into the shadow LDT. */
  syncLdt(): void {
    const m = this.m;
    const v = m.vcpu;
    const bytes = Math.min(v.ldtLimit + 1, LDT_PAGES * 4096);
    for (let i = 0; i < bytes >>> 3; i++) {
      this.writeShadow(LDT_OFFSET, USER_LDT_OFFSET, i, m.readLinear32(v.ldtBase + i * 8), m.readLinear32(v.ldtBase + i * 8 + 4));
    }
  }

  /** Writes entry `i` of a shadow table in both views (kernel table at `kernelOffset`, user table at `userOffset`) from guest descriptor (lo, hi). */
  private writeShadow(kernelOffset: number, userOffset: number, i: number, lo: number, hi: number): void {
    const space = this.m.space;
    shadowDescriptor(lo, hi, this.out);
    space.write32(kernelOffset + i * 8, this.out[0]);
    space.write32(kernelOffset + i * 8 + 4, this.out[1]);
    userShadowDescriptor(lo, hi, this.out);
    space.write32(userOffset + i * 8, this.out[0]);
    space.write32(userOffset + i * 8 + 4, this.out[1]);
  }

  /** A guest GDT descriptor [lo, hi] by selector, or null past the guest's limit. */
  guestGdtEntry(sel: number): [number, number] | null {
    const v = this.m.vcpu;
    const index = sel & 0xfff8;
    if (index + 7 > v.gdtLimit) return null;
    return [this.m.readLinear32(v.gdtBase + index), this.m.readLinear32(v.gdtBase + index + 4)];
  }

  /** Loads CS from a guest selector (RPL 0 becomes 1); the CPL is the shadow descriptor's DPL. */
  loadGuestCode(sel: number): void {
    this.loadProcessorCode(processorSelector(sel));
  }

  loadProcessorCode(sel: number): void {
    const cpu = this.m.cpu;
    readDescriptor(cpu, sel, this.d, EXC_GP, sel & 0xfffc);
    if (!isCode(this.d.hi)) cpu.raiseGP(sel & 0xfffc);
    const dpl = dplOf(this.d.hi);
    loadCodeSegment(cpu, sel, this.d, dpl);
    this.m.vcpu.cpl = dpl === 3 ? 3 : 0;
  }

  /** Loads a data or stack segment register from a guest selector (SS with RPL 1 for the guest kernel). */
  loadGuestSegment(seg: number, sel: number): void {
    const cpu = this.m.cpu;
    if ((sel & 0xfffc) === 0) {
      if (seg === SS) cpu.raiseGP(0);
      loadNullSegment(cpu, seg, sel);
      return;
    }
    const procSel = seg === SS ? processorSelector(sel) : sel;
    readDescriptor(cpu, procSel, this.d, EXC_GP, sel & 0xfffc);
    if ((this.d.hi & (1 << 15)) === 0) cpu.fault(EXC_NP, sel & 0xfffc, true);
    loadSegmentFromDescriptor(cpu, seg, procSel, this.d);
  }

  /**
   * LGDT/LIDT executed on the guest's behalf (emulate.ts runs the instruction
   * with its privilege check passed): the load happens on the processor, is
   * read back into the vCPU, and the processor gets the monitor's tables again.
   */
  loadTableRegister(cpu: Cpu, which: 'gdt' | 'idt' | 'ldt' | 'tr', apply: () => void): void {
    if (which === 'ldt' || which === 'tr') throw new Error('LLDT/LTR are emulated by the monitor, not executed');
    const saved = [cpu.gdtBase, cpu.gdtLimit, cpu.idtBase, cpu.idtLimit];
    apply();
    const v = this.m.vcpu;
    if (which === 'gdt') {
      v.gdtBase = cpu.gdtBase;
      v.gdtLimit = cpu.gdtLimit;
    } else {
      v.idtBase = cpu.idtBase;
      v.idtLimit = cpu.idtLimit;
    }
    [cpu.gdtBase, cpu.gdtLimit, cpu.idtBase, cpu.idtLimit] = saved;
    if (which === 'gdt') {
      // A new table: every frame of it is watched again.
      this.misses.clear();
      this.unwatched.clear();
      this.syncGdt();
    }
  }

  /** LLDT against the guest's GDT; the processor's LDTR names the shadow LDT. */
  loadLdt(sel: number): void {
    const m = this.m;
    const v = m.vcpu;
    const cpu = m.cpu;
    if ((sel & 0xfffc) === 0) {
      v.ldtr = 0;
      v.ldtBase = v.ldtLimit = 0;
      m.space.loadLdt(cpu, null);
      return;
    }
    const e = (sel & 4) === 0 ? this.guestGdtEntry(sel) : null;
    if (e === null || ((e[1] >>> 8) & 0x1f) !== LDT_TYPE) return cpu.raiseGP(sel & 0xfffc);
    if ((e[1] & (1 << 15)) === 0) cpu.fault(EXC_NP, sel & 0xfffc, true);
    v.ldtr = sel;
    v.ldtBase = descBase(e[0], e[1]);
    v.ldtLimit = descLimit(e[0], e[1]);
    this.syncLdt();
    m.space.loadLdt(cpu, v.ldtLimit);
  }

  /** LTR against the guest's GDT: marks the guest's TSS descriptor busy, as the processor would. */
  loadTr(sel: number): void {
    const m = this.m;
    const v = m.vcpu;
    const cpu = m.cpu;
    const e = (sel & 4) === 0 && (sel & 0xfffc) !== 0 ? this.guestGdtEntry(sel) : null;
    const type = e === null ? -1 : (e[1] >>> 8) & 0x1f;
    if (e === null || (type !== TSS32_AVAILABLE && type !== TSS16_AVAILABLE)) return cpu.raiseGP(sel & 0xfffc);
    if ((e[1] & (1 << 15)) === 0) cpu.fault(EXC_NP, sel & 0xfffc, true);
    m.writeLinear32(v.gdtBase + (sel & 0xfff8) + 4, e[1] | BUSY);
    v.tr = sel;
    v.trBase = descBase(e[0], e[1]);
    v.trLimit = descLimit(e[0], e[1]);
  }
}

export { CPU_FAULT };

const PG = 0x8000_0000, PSE = 0x10, P = 1, PS = 0x80;

/**
 * The guest frame guest-linear page `page` maps now, through the guest's
 * two-level tables (no PAE under shadow paging), or -1; unlike the
 * processor's walk it sets no accessed bit (watching is not an access).
 */
function guestFrameOf(mem: DomainMemory, cr0: number, cr3: number, cr4: number, page: number): number {
  if ((cr0 & PG) === 0) return page;
  try {
    const pde = mem.readU32(((cr3 & ~0xfff) + (page >>> 10) * 4) >>> 0);
    if ((pde & P) === 0) return -1;
    if ((pde & PS) !== 0 && (cr4 & PSE) !== 0) return ((pde >>> 12) & ~0x3ff) + (page & 0x3ff);
    const pte = mem.readU32(((pde & ~0xfff) + (page & 0x3ff) * 4) >>> 0);
    return (pte & P) === 0 ? -1 : pte >>> 12;
  } catch (e) {
    if (e instanceof GuestMemoryFault) return -1;
    throw e;
  }
}
