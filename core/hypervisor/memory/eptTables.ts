/**
 * The EPT paging structures of a domain, built from its p2m in
 * hypervisor-owned frames of machine memory (Intel SDM Vol. 3C §29.3):
 * 4 levels (PML4, PDPT, PD, PT) of 512 64-bit entries each; this machine's
 * guest-physical space is 4 GiB, so one PML4 entry, four PDPT entries and
 * 4 KiB leaves are enough. RAM frames are read/write/execute, ROM frames
 * read/execute (a write exits as an EPT violation); frames the p2m does not
 * map have no entry, so the vCPU exits with an EPT violation there (holes and
 * device pages: MMIO).
 *
 * The processor caches nothing of these tables beyond its TLB, which the
 * hypervisor flushes with INVEPT after changing them.
 */
import { FRAME_SIZE } from './frameAllocator.ts';
import type { MachineMemory } from './machineMemory.ts';
import type { P2m, P2mKind } from './p2m.ts';

const EPT_READ = 1 << 0;
const EPT_WRITE = 1 << 1;
const EPT_EXECUTE = 1 << 2;
/** Leaf memory type (bits 5:3): write-back, what VMX reports as supported. */
const EPT_MEMTYPE_WB = 6 << 3;
/** EPTP: memory type WB (bits 2:0), page-walk length minus one (bits 5:3). */
const EPTP_WB_4LEVEL = 6 | (3 << 3);

export class EptTables {
  private readonly machine: MachineMemory;
  /** Every frame of the structures, for release. */
  private readonly frames: number[] = [];
  private readonly pml4: number;
  /** Page directories by PDPT index (0..3), page tables by guest 2 MiB region index (0..2047). */
  private readonly pds = new Map<number, number>();
  private readonly pts = new Map<number, number>();
  private readonly pdpt: number;

  constructor(machine: MachineMemory) {
    this.machine = machine;
    this.pml4 = this.newTable();
    this.pdpt = this.newTable();
    this.setEntry(this.pml4, 0, this.pdpt * FRAME_SIZE, EPT_READ | EPT_WRITE | EPT_EXECUTE);
  }

  /** The EPT pointer for the VMCS (4-level walk, write-back). */
  get eptp(): number {
    return this.pml4 * FRAME_SIZE + EPTP_WB_4LEVEL;
  }

  /** Frames the structures occupy. */
  get tableFrames(): number {
    return this.frames.length;
  }

  /** Maps every frame of `p2m` (entries for unmapped frames are left not present). */
  build(p2m: P2m): void {
    for (const r of p2m.ranges()) {
      const rights = leafRights(r.kind);
      for (let i = 0; i < r.count; i++) this.mapFrame(r.gfn + i, r.mfn + i, rights);
    }
  }

  /**
   * Makes guest frame `gfn`'s leaf what the p2m says now (the balloon moved
   * it). The processor's TLB may still hold the old translation: the caller
   * executes INVEPT before the next entry.
   */
  update(gfn: number, p2m: P2m): void {
    const kind = p2m.kind(gfn);
    if (kind !== undefined) {
      this.mapFrame(gfn, p2m.machineFrame(gfn), leafRights(kind));
      return;
    }
    const pt = this.pts.get(gfn >>> 9);
    if (pt !== undefined) this.setEntry(pt, gfn & 511, 0, 0);
  }

  /** The EPT leaf entry's low dword for a guest frame (0 = not present); for tests and diagnostics. */
  leafEntry(gfn: number): number {
    const pt = this.pts.get(gfn >>> 9);
    return pt === undefined ? 0 : this.machine.view.getUint32(pt * FRAME_SIZE + (gfn & 511) * 8, true);
  }

  /** Gives the structures' frames back to the pool. */
  release(): void {
    this.machine.allocator.free(this.frames);
    this.frames.length = 0;
    this.pds.clear();
    this.pts.clear();
  }

  private mapFrame(gfn: number, mfn: number, rights: number): void {
    const pdIndex = gfn >>> 18; // 1 GiB
    const ptIndex = gfn >>> 9; // 2 MiB
    let pd = this.pds.get(pdIndex);
    if (pd === undefined) {
      pd = this.newTable();
      this.pds.set(pdIndex, pd);
      this.setEntry(this.pdpt, pdIndex, pd * FRAME_SIZE, EPT_READ | EPT_WRITE | EPT_EXECUTE);
    }
    let pt = this.pts.get(ptIndex);
    if (pt === undefined) {
      pt = this.newTable();
      this.pts.set(ptIndex, pt);
      this.setEntry(pd, ptIndex & 511, pt * FRAME_SIZE, EPT_READ | EPT_WRITE | EPT_EXECUTE);
    }
    this.setEntry(pt, gfn & 511, mfn * FRAME_SIZE, rights | EPT_MEMTYPE_WB);
  }

  private newTable(): number {
    const [frame] = this.machine.allocator.allocate(1);
    this.machine.clearFrames([frame]);
    this.frames.push(frame);
    return frame;
  }

  /** Writes a 64-bit entry; machine addresses are below 4 GiB, so the high dword is 0. */
  private setEntry(table: number, index: number, address: number, bits: number): void {
    const at = table * FRAME_SIZE + index * 8;
    this.machine.view.setUint32(at, (address | bits) >>> 0, true);
    this.machine.view.setUint32(at + 4, 0, true);
  }
}

function leafRights(kind: P2mKind): number {
  return kind === 'ram' ? EPT_READ | EPT_WRITE | EPT_EXECUTE : EPT_READ | EPT_EXECUTE;
}
