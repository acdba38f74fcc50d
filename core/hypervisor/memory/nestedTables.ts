/**
 * What EPT (eptTables.ts) and AMD's nested page tables (nptTables.ts) share:
 * both are built from a domain's p2m in hypervisor-owned frames of machine
 * memory, both give a guest frame a leaf whose rights follow what kind of
 * frame the p2m holds there (RAM or ROM), both clear a leaf when the balloon
 * takes a frame away, and both give their frames back to the pool at the end.
 * The subclass knows the format: how many levels, how wide an entry, which
 * bits mean what.
 */
import type { MachineMemory } from './machineMemory.ts';
import type { P2m, P2mKind } from './p2m.ts';

export abstract class NestedTables {
  protected readonly machine: MachineMemory;
  /** Every frame of the tables, for release. */
  private readonly frames: number[] = [];

  constructor(machine: MachineMemory) {
    this.machine = machine;
  }

  /** Frames the tables occupy. */
  get tableFrames(): number {
    return this.frames.length;
  }

  /** Maps every frame of `p2m` (entries for unmapped frames are left not present). */
  build(p2m: P2m): void {
    for (const r of p2m.ranges()) {
      const bits = this.leafBits(r.kind);
      for (let i = 0; i < r.count; i++) this.mapFrame(r.gfn + i, r.mfn + i, bits);
    }
  }

  /**
   * Makes guest frame `gfn`'s leaf what the p2m says now (the balloon moved
   * it). The processor's TLB may still hold the old translation: the caller
   * flushes it (INVEPT, or TLB_CONTROL on the next VMRUN) before the next entry.
   */
  update(gfn: number, p2m: P2m): void {
    const kind = p2m.kind(gfn);
    if (kind !== undefined) this.mapFrame(gfn, p2m.machineFrame(gfn), this.leafBits(kind));
    else this.clearLeaf(gfn);
  }

  /** Gives the tables' frames back to the pool. */
  release(): void {
    this.machine.allocator.free(this.frames);
    this.frames.length = 0;
    this.forgetTables();
  }

  /** The leaf entry's low dword for a guest frame (0 = not present); for tests and diagnostics. */
  abstract leafEntry(gfn: number): number;

  /** The leaf's rights for a kind of frame. */
  protected abstract leafBits(kind: P2mKind): number;
  /** Points `gfn`'s leaf at machine frame `mfn` with `bits`, making the tables on the way. */
  protected abstract mapFrame(gfn: number, mfn: number, bits: number): void;
  /** Makes `gfn`'s leaf not present (if its table exists). */
  protected abstract clearLeaf(gfn: number): void;
  /** Drops the subclass's index of its tables (their frames are already freed). */
  protected abstract forgetTables(): void;

  /** A zeroed frame for one more table. */
  protected newTable(): number {
    const [frame] = this.machine.allocator.allocate(1);
    this.machine.clearFrames([frame]);
    this.frames.push(frame);
    return frame;
  }
}
