/**
 * The guest's own top 4 MiB. The monitor takes that linear range for itself
 * (monitorSpace.ts) and keeps the guest out with truncated segment limits,
 * but guests map things there: Linux's fixmap (early_memremap of the ACPI
 * tables and the boot parameters, kmap slots, text_poke). A guest access
 * there is a #GP(0) (past the segment limit); the monitor then runs that one
 * instruction through a window: a copy of the current shadow directory whose
 * top slot maps the guest's own top-4-MiB pages (from the guest's page table,
 * through the p2m; RAM only), with the segment limits opened to 4 GiB. Then
 * the processor is back on the real shadow with the monitor in place. The
 * window takes its rights from the guest entries but does not set their A/D
 * bits nor write-protect guest page tables mapped there (Linux's fixmap maps
 * neither).
 */

import type { Insn } from '../../cpu/insn.ts';
import { CS, DS, ES, SS, FS, GS } from '../../cpu/regs.ts';
import type { SoftwareMonitor } from './monitor.ts';
import { MONITOR_BASE, MONITOR_SLOT } from './monitorSpace.ts';

const P = 1, RW = 2, PS = 0x80, A = 0x20, D = 0x40;
const CR0_PG = 1 << 31, CR4_PSE = 0x10;
const DATA_SEGMENTS = [ES, SS, DS, FS, GS];
const ESI = 6, EDI = 7;

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

  /** True when `ins` (which faulted with #GP(0) at CPL 1) reaches into the top 4 MiB through one of its operands. */
  touchesTop(ins: Insn): boolean {
    const cpu = this.m.cpu;
    const inTop = (seg: number, off: number) => ((cpu.segBase[seg] + off) >>> 0) >= MONITOR_BASE - 16;
    if (ins.opcode >= 0xa4 && ins.opcode <= 0xaf) return inTop(ins.seg, cpu.regs[ESI]) || inTop(ES, cpu.regs[EDI]);
    if (ins.mod === 3) return false;
    return inTop(ins.seg, cpu.ea(ins));
  }

  /** Builds the window for the guest's current top slot; false when the guest maps nothing there. */
  private build(): boolean {
    const m = this.m;
    const v = m.vcpu;
    const mem = m.domain.memory;
    const view = mem.machine.view;
    if ((v.cr0 & CR0_PG) === 0) return false;
    const pde = mem.readU32((v.cr3 & ~0xfff) + MONITOR_SLOT * 4) >>> 0;
    if ((pde & P) === 0) return false;
    const table = this.tableFrame * 4096;
    for (let i = 0; i < 1024; i++) {
      let pte: number;
      if ((pde & PS) !== 0 && (v.cr4 & CR4_PSE) !== 0) pte = (((pde & 0xffc0_0000) >>> 0) + i * 4096) | (pde & 0xfff & ~PS);
      else pte = mem.readU32((pde & ~0xfff) + i * 4) >>> 0;
      const gfn = pte >>> 12;
      let entry = 0;
      if ((pte & P) !== 0 && mem.p2m.kind(gfn) === 'ram') entry = ((mem.p2m.machineFrame(gfn) * 4096) | P | (pte & RW) | A | D) >>> 0;
      view.setUint32(table + i * 4, entry, true);
    }
    const root = (m.cpu.cr3 >>> 0) & ~0xfff;
    const dir = this.dirFrame * 4096;
    mem.machine.u8.copyWithin(dir, root, root + 4096);
    view.setUint32(dir + MONITOR_SLOT * 4, (table | P | RW | A) >>> 0, true);
    return true;
  }

  /**
   * Runs the handler of `ins` (EIP already past it) inside the window.
   * Returns normally, or throws the processor's fault (CPU_FAULT) with the
   * processor back on the real shadow; a #PF below the top is a shadow miss
   * the caller fills and retries.
   */
  run(ins: Insn): boolean {
    const cpu = this.m.cpu;
    if (!this.build()) return false;
    this.uses++;
    const savedCr3 = cpu.cr3;
    const limits = DATA_SEGMENTS.map((s) => cpu.segLimit[s]);
    const csLimit = cpu.segLimit[CS];
    cpu.cr3 = this.dirFrame * 4096;
    cpu.flushTlb(true);
    for (const s of DATA_SEGMENTS) if (cpu.segLimit[s] === 0xffbf_ffff) { cpu.segLimit[s] = 0xffff_ffff; cpu.refreshSegment(s); }
    try {
      ins.fn(cpu, ins);
    } finally {
      cpu.cr3 = savedCr3;
      cpu.flushTlb(true);
      DATA_SEGMENTS.forEach((s, k) => {
        if (cpu.segLimit[s] !== limits[k] && cpu.segLimit[s] === 0xffff_ffff) { cpu.segLimit[s] = limits[k]; cpu.refreshSegment(s); }
      });
      cpu.segLimit[CS] = csLimit;
    }
    return true;
  }
}

