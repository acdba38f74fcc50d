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
 * hypervisor flushes with INVEPT after changing them. What is not EPT's own
 * (building from the p2m, balloon updates, release) is nestedTables.ts.
 */
import { FRAME_SIZE } from './frameAllocator.ts';
import type { MachineMemory } from './machineMemory.ts';
import { NestedTables } from './nestedTables.ts';
import type { P2mKind } from './p2m.ts';

const EPT_READ = 1 << 0;
const EPT_WRITE = 1 << 1;
const EPT_EXECUTE = 1 << 2;
const EPT_RWX = EPT_READ | EPT_WRITE | EPT_EXECUTE;
/** Leaf memory type (bits 5:3): write-back, what VMX reports as supported. */
const EPT_MEMTYPE_WB = 6 << 3;
/** EPTP: memory type WB (bits 2:0), page-walk length minus one (bits 5:3). */
const EPTP_WB_4LEVEL = 6 | (3 << 3);

export class EptTables extends NestedTables {
  private readonly pml4: number;
  private readonly pdpt: number;
  /** Page directories by PDPT index (0..3), page tables by guest 2 MiB region index (0..2047). */
  private readonly pds = new Map<number, number>();
  private readonly pts = new Map<number, number>();

  constructor(machine: MachineMemory) {
    super(machine);
    this.pml4 = this.newTable();
    this.pdpt = this.newTable();
    this.setEntry(this.pml4, 0, this.pdpt * FRAME_SIZE, EPT_RWX);
  }

  /** The EPT pointer for the VMCS (4-level walk, write-back). */
  get eptp(): number {
    return this.pml4 * FRAME_SIZE + EPTP_WB_4LEVEL;
  }

  leafEntry(gfn: number): number {
    const pt = this.pts.get(gfn >>> 9);
    return pt === undefined ? 0 : this.machine.view.getUint32(pt * FRAME_SIZE + (gfn & 511) * 8, true);
  }

  protected leafBits(kind: P2mKind): number {
    return (kind === 'ram' ? EPT_RWX : EPT_READ | EPT_EXECUTE) | EPT_MEMTYPE_WB;
  }

  protected mapFrame(gfn: number, mfn: number, bits: number): void {
    const pdIndex = gfn >>> 18; // 1 GiB
    const ptIndex = gfn >>> 9; // 2 MiB
    let pd = this.pds.get(pdIndex);
    if (pd === undefined) {
      pd = this.newTable();
      this.pds.set(pdIndex, pd);
      this.setEntry(this.pdpt, pdIndex, pd * FRAME_SIZE, EPT_RWX);
    }
    let pt = this.pts.get(ptIndex);
    if (pt === undefined) {
      pt = this.newTable();
      this.pts.set(ptIndex, pt);
      this.setEntry(pd, ptIndex & 511, pt * FRAME_SIZE, EPT_RWX);
    }
    this.setEntry(pt, gfn & 511, mfn * FRAME_SIZE, bits);
  }

  protected clearLeaf(gfn: number): void {
    const pt = this.pts.get(gfn >>> 9);
    if (pt !== undefined) this.setEntry(pt, gfn & 511, 0, 0);
  }

  protected forgetTables(): void {
    this.pds.clear();
    this.pts.clear();
  }

  /** Writes a 64-bit entry; machine addresses are below 4 GiB, so the high dword is 0. */
  private setEntry(table: number, index: number, address: number, bits: number): void {
    const at = table * FRAME_SIZE + index * 8;
    this.machine.view.setUint32(at, (address | bits) >>> 0, true);
    this.machine.view.setUint32(at + 4, 0, true);
  }
}
