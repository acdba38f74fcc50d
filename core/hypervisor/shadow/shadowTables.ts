/**
 * The shadow paging structures themselves: a shadow page directory per
 * guest address space (a "root", keyed by the guest frame of the guest's page
 * directory, or the identity root used while the guest has paging off) and
 * shadow page tables under it, one per 4 MiB slot. Both live in frames taken
 * from the machine pool, which the p2m never maps, so no guest can reach
 * them; the processor walks them in the ordinary 32-bit format with 4 KiB
 * leaves only.
 *
 * Beside each entry the hypervisor keeps what it was made from (the guest
 * entry's value after the hypervisor set its A/D bits), so a resync can tell
 * which shadow entries a guest write made stale without re-deriving all of
 * them.
 */
import type { MachineMemory } from '../memory/machineMemory.ts';

export const ENTRIES = 1024;
/** Key of the root used while guest paging is off (no guest directory). */
export const IDENTITY_ROOT = -1;

/** A shadow page table: one 4 MiB slot of one root. */
export class ShadowTable {
  /** The guest entry (PTE; for a 4 MiB page the PDE) each filled entry was made from. */
  readonly src = new Int32Array(ENTRIES);
  /** Guest frame each filled entry maps, -1 = empty. */
  readonly leafGfn = new Int32Array(ENTRIES).fill(-1);
  constructor(
    readonly frame: number,
    readonly root: ShadowRoot,
    readonly slot: number,
    /** Guest frame of the guest page table shadowed, or -1 (a 4 MiB guest page, or the identity root). */
    readonly guestTable: number,
  ) {}

  /** Machine address of entry `index`. */
  entryAddress(index: number): number {
    return this.frame * 4096 + index * 4;
  }

  linear(index: number): number {
    return ((this.slot << 22) | (index << 12)) >>> 0;
  }
}

/** A shadow page directory: the processor's CR3 while its guest address space runs. */
export class ShadowRoot {
  readonly tables: (ShadowTable | undefined)[] = new Array<ShadowTable | undefined>(ENTRIES);
  /** The guest PDE each slot's shadow table was made from. */
  readonly pdeSrc = new Int32Array(ENTRIES);
  constructor(
    readonly frame: number,
    /** Guest frame of the guest page directory, or IDENTITY_ROOT. */
    readonly key: number,
  ) {}

  /** The processor's CR3 value for this root. */
  get machineCr3(): number {
    return this.frame * 4096;
  }
}

/** Takes a zeroed frame from the machine pool for a shadow structure. */
export function takeShadowFrame(machine: MachineMemory): number {
  const [frame] = machine.allocator.allocate(1);
  machine.clearFrames([frame]);
  return frame;
}
