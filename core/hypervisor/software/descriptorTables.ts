/**
 * The guest's descriptor-table registers, virtualized: GDTR/IDTR/LDTR/TR
 * are the guest's only in the vCPU record; the processor's are the
 * monitor's (monitorSpace.ts). The shadow GDT mirrors the guest's entry for
 * entry (shadowDescriptors.ts), so a guest selector names the same entry on
 * the processor; the shadow LDT mirrors the guest's LDT.
 *
 * When the shadow GDT is brought up to date: at LGDT, at every guest CR3
 * load (a process switch, after which Linux has written the next task's TLS
 * entries), and when a segment load faults with a selector error code (the
 * entry may have been written since: the monitor resyncs and, if anything
 * changed, lets the instruction run again). A guest that rewrites a GDT
 * entry already loaded elsewhere and reloads it with no CR3 load or fault
 * in between gets the stale shadow (not write-protected; README).
 */
import { CPU_FAULT, type Cpu } from '../../cpu/cpu.ts';
import { Descriptor, dplOf, isCode, loadCodeSegment, loadNullSegment, loadSegmentFromDescriptor, readDescriptor } from '../../cpu/protected/descriptors.ts';
import { descBase, descLimit } from '../../cpu/segments.ts';
import { EXC_GP, EXC_NP, SS } from '../../cpu/regs.ts';
import type { SoftwareMonitor } from './monitor.ts';
import { GDT_OFFSET, GUEST_GDT_LIMIT_MAX, LDT_OFFSET, LDT_PAGES } from './monitorSpace.ts';
import { shadowDescriptor } from './shadowDescriptors.ts';
import { processorSelector } from './virtualCpu.ts';

const LDT_TYPE = 2, TSS32_AVAILABLE = 9, TSS16_AVAILABLE = 1, BUSY = 1 << 9;

export class DescriptorTables {
  private readonly m: SoftwareMonitor;
  /** The guest GDT as last mirrored (dwords), and how many bytes of it. */
  private readonly gdtCopy = new Int32Array(0x1_0000 / 4);
  private gdtMirrored = 0;
  private readonly out = new Int32Array(2);
  private readonly d = new Descriptor();

  constructor(m: SoftwareMonitor) {
    this.m = m;
  }

  /** Mirrors the guest GDT into the shadow GDT; true when any entry changed. */
  syncGdt(): boolean {
    const m = this.m;
    const v = m.vcpu;
    const bytes = Math.min(v.gdtLimit, GUEST_GDT_LIMIT_MAX) + 1;
    const entries = bytes >>> 3;
    let changed = false;
    for (let i = 0; i < entries; i++) {
      const lo = m.readLinear32(v.gdtBase + i * 8);
      const hi = m.readLinear32(v.gdtBase + i * 8 + 4);
      if (i * 8 < this.gdtMirrored && this.gdtCopy[i * 2] === lo && this.gdtCopy[i * 2 + 1] === hi) continue;
      changed = true;
      this.gdtCopy[i * 2] = lo;
      this.gdtCopy[i * 2 + 1] = hi;
      shadowDescriptor(lo, hi, this.out);
      if (i === 0) this.out[0] = this.out[1] = 0;
      m.space.write32(GDT_OFFSET + i * 8, this.out[0]);
      m.space.write32(GDT_OFFSET + i * 8 + 4, this.out[1]);
    }
    // Entries past a shrunk guest limit are empty on the processor too.
    for (let i = entries; i * 8 < this.gdtMirrored; i++) {
      m.space.write32(GDT_OFFSET + i * 8, 0);
      m.space.write32(GDT_OFFSET + i * 8 + 4, 0);
      changed = true;
    }
    this.gdtMirrored = entries * 8;
    if (changed) m.counters.gdtResyncs++;
    return changed;
  }

  /** Mirrors the guest LDT into the shadow LDT. */
  syncLdt(): void {
    const m = this.m;
    const v = m.vcpu;
    const bytes = Math.min(v.ldtLimit + 1, LDT_PAGES * 4096);
    for (let i = 0; i < bytes >>> 3; i++) {
      shadowDescriptor(m.readLinear32(v.ldtBase + i * 8), m.readLinear32(v.ldtBase + i * 8 + 4), this.out);
      m.space.write32(LDT_OFFSET + i * 8, this.out[0]);
      m.space.write32(LDT_OFFSET + i * 8 + 4, this.out[1]);
    }
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
    if (which === 'gdt') this.syncGdt();
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
