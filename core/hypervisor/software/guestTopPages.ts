/**
 * The guest's own pages in the lower part of the top 4 MiB slot, below the
 * monitor (monitorSpace.ts: the slot is shared, the guest's part from
 * TOP_SLOT_BASE up to MONITOR_BASE, the monitor's from there). Linux 6.1
 * (i386) keeps its cpu_entry_area at the bottom of that slot (0xFFC00000:
 * the read-only IDT and GDT aliases, the entry stack, the TSS); every entry
 * from user mode and every return to it runs on that entry stack. The guest's
 * segments reach it (they are truncated at MONITOR_BASE), so its code runs
 * there natively: the slot's page table, shared by every shadow directory,
 * gets the guest's entries for that part, filled on the first access (a #PF
 * the monitor takes before the shadow, `fault`) from the guest's tables.
 *
 * These entries are a TLB of the guest's mappings, with the processor's TLB
 * rules: an entry goes at the guest's INVLPG of its address, at a CR3 load
 * unless the guest made it global (PGE), at any CR0/CR4 write; a guest entry
 * that goes from not-present to present needs nothing (the access faults and
 * fills). Accessed and dirty bits are set in the guest's tables as the
 * processor sets them: A at the fill, D at the first write (an entry is
 * filled read-only until the guest's D is set).
 *
 * Not shadowed here: a guest page table mapped in this part (its writes
 * would bypass the shadow's page-table tracking; Linux maps none there) and
 * device memory (the VM stops with a message, as the window did).
 */
import { CR0_PG, CR4_PGE, PF_U, PF_W } from '../../cpu/regs.ts';
import { GuestMemoryFault } from '../memory/domainMemory.ts';
import { GuestWalk, leafEntry, PTE_A, PTE_D, PTE_G, PTE_P, PTE_RW, PTE_US, setAccessedDirty, walkGuest } from '../shadow/guestWalk.ts';
import type { SoftwareMonitor } from './monitor.ts';
import { GUEST_TOP_PAGES, TOP_SLOT_BASE } from './monitorSpace.ts';

export type TopPageFault = { kind: 'filled' } | { kind: 'reflect'; errorCode: number } | { kind: 'device'; message: string };

export class GuestTopPages {
  /** Indices of the slot's table holding a guest entry, and whether the guest made it global. */
  private readonly filled = new Map<number, boolean>();
  private readonly walk = new GuestWalk();
  /** Entries filled (each a #PF the guest did not see). */
  fills = 0;

  constructor(private readonly m: SoftwareMonitor) {}

  /** True when `linear` is in the guest's part of the top slot. */
  static covers(linear: number): boolean {
    const off = ((linear >>> 0) - TOP_SLOT_BASE) >>> 0;
    return off < GUEST_TOP_PAGES * 4096;
  }

  /**
   * A page fault at `linear` (in the guest's part) with the processor's error
   * code: filled from the guest's tables, or the guest's own #PF (its error
   * code), or device memory the monitor does not emulate there.
   */
  fault(linear: number, errorCode: number): TopPageFault {
    const m = this.m;
    const v = m.vcpu;
    const mem = m.domain.memory;
    const write = (errorCode & PF_W) !== 0;
    const user = (errorCode & PF_U) !== 0;
    let gfn: number;
    let rights: number;
    let global = false;
    if ((v.cr0 & CR0_PG) === 0) {
      gfn = linear >>> 12;
      rights = PTE_RW | PTE_US;
    } else {
      let w: GuestWalk;
      try {
        w = walkGuest(mem, v.cr0, v.cr3, v.cr4, linear >>> 0, write, user, this.walk);
      } catch (e) {
        if (e instanceof GuestMemoryFault) return { kind: 'device', message: `the guest's tables for 0x${(linear >>> 0).toString(16)} are outside its memory` };
        throw e;
      }
      if (w.faultCode >= 0) return { kind: 'reflect', errorCode: w.faultCode };
      setAccessedDirty(mem, w, write);
      const leaf = leafEntry(w);
      gfn = w.gfn;
      rights = w.rights;
      // Read-only until the guest's D is set: the first write faults here and sets it, as the processor would.
      if ((leaf & PTE_D) === 0) rights &= ~PTE_RW;
      // A supervisor write to a read-only page under CR0.WP = 0: writable, supervisor-only (user accesses refault).
      if (write && !user && (rights & PTE_RW) === 0 && (leaf & PTE_D) !== 0) rights = PTE_RW;
      global = (leaf & PTE_G) !== 0 && (v.cr4 & CR4_PGE) !== 0;
    }
    if (mem.p2m.kind(gfn) !== 'ram') {
      return { kind: 'device', message: `the guest touched 0x${(linear >>> 0).toString(16)} in its top 4 MiB, which maps no RAM (device memory is not emulated there)` };
    }
    const index = (((linear >>> 0) - TOP_SLOT_BASE) >>> 12);
    const entry = ((mem.p2m.machineFrame(gfn) * 4096) | PTE_P | (rights & (PTE_RW | PTE_US)) | PTE_A | PTE_D) >>> 0;
    mem.machine.view.setUint32(m.space.tableFrame * 4096 + index * 4, entry, true);
    this.filled.set(index, global);
    m.cpu.invalidatePage(linear | 0);
    this.fills++;
    return { kind: 'filled' };
  }

  /** The guest's INVLPG of `linear`. */
  invalidate(linear: number): void {
    if (!GuestTopPages.covers(linear)) return;
    const index = ((linear >>> 0) - TOP_SLOT_BASE) >>> 12;
    if (this.filled.has(index)) this.clear(index);
  }

  /** A guest CR3 load: every entry the guest did not make global goes (as from a TLB). */
  cr3Loaded(): void {
    for (const [index, global] of this.filled) if (!global) this.clear(index);
  }

  /** A guest CR0/CR4 write, or a reset: every entry goes. */
  flush(): void {
    for (const index of [...this.filled.keys()]) this.clear(index);
  }

  private clear(index: number): void {
    const m = this.m;
    m.domain.memory.machine.view.setUint32(m.space.tableFrame * 4096 + index * 4, 0, true);
    this.filled.delete(index);
    m.cpu.invalidatePage((TOP_SLOT_BASE + index * 4096) | 0);
  }
}
