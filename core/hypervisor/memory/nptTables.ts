/**
 * The nested page tables of a domain for SVM (AMD64 APM Vol. 2 §15.25),
 * built from its p2m in hypervisor-owned frames of machine memory. Nested
 * tables are in the host's own paging format, here the processor's legacy
 * 32-bit paging: one page directory of 1024 entries at N_CR3, page tables
 * of 1024 4-byte entries, 4 KiB leaves (the p2m's frames are not 4 MiB
 * runs). That covers this machine's 4 GiB guest-physical space with one
 * directory, where EPT (eptTables.ts) needs four 64-bit levels; what the
 * two builders share (building from the p2m, balloon updates, release) is
 * nestedTables.ts.
 *
 * Every nested access is a user access (APM 15.25.5), so every entry has
 * U set; RAM frames are writable, ROM frames read-only (a write is a #NPF);
 * frames the p2m does not map are not present (holes and device pages:
 * #NPF). The leaves are created accessed and dirty, and the directory
 * entries accessed: the hypervisor does not track dirty pages, and a
 * processor that had to set D would take a second walk on the first write
 * of every page (npt.ts lets only dirty, writable leaves serve writes from
 * the TLB).
 */
import { FRAME_SIZE } from './frameAllocator.ts';
import type { MachineMemory } from './machineMemory.ts';
import { NestedTables } from './nestedTables.ts';
import type { P2mKind } from './p2m.ts';

const PTE_P = 1 << 0;
const PTE_W = 1 << 1;
const PTE_U = 1 << 2;
const PTE_A = 1 << 5;
const PTE_D = 1 << 6;
/** A directory entry: present, writable, user (the leaf decides), accessed. */
const PDE_BITS = PTE_P | PTE_W | PTE_U | PTE_A;

export class NptTables extends NestedTables {
  private readonly directory: number;
  /** Page tables by directory index (each maps 4 MiB of guest-physical space). */
  private readonly tables = new Map<number, number>();

  constructor(machine: MachineMemory) {
    super(machine);
    this.directory = this.newTable();
  }

  /** N_CR3 for the VMCB: the page directory's machine address (PWT/PCD clear). */
  get nCr3(): number {
    return this.directory * FRAME_SIZE;
  }

  leafEntry(gfn: number): number {
    const table = this.tables.get(gfn >>> 10);
    return table === undefined ? 0 : this.machine.view.getUint32(table * FRAME_SIZE + (gfn & 1023) * 4, true);
  }

  protected leafBits(kind: P2mKind): number {
    return kind === 'ram' ? PTE_P | PTE_W | PTE_U | PTE_A | PTE_D : PTE_P | PTE_U | PTE_A;
  }

  protected mapFrame(gfn: number, mfn: number, bits: number): void {
    const index = gfn >>> 10;
    let table = this.tables.get(index);
    if (table === undefined) {
      table = this.newTable();
      this.tables.set(index, table);
      this.setEntry(this.directory, index, table * FRAME_SIZE, PDE_BITS);
    }
    this.setEntry(table, gfn & 1023, mfn * FRAME_SIZE, bits);
  }

  protected clearLeaf(gfn: number): void {
    const table = this.tables.get(gfn >>> 10);
    if (table !== undefined) this.setEntry(table, gfn & 1023, 0, 0);
  }

  protected forgetTables(): void {
    this.tables.clear();
  }

  private setEntry(table: number, index: number, address: number, bits: number): void {
    this.machine.view.setUint32(table * FRAME_SIZE + index * 4, (address | bits) >>> 0, true);
  }
}
