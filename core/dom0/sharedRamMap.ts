/**
 * A domain's RAM and its physical map as another thread (dom0's worker)
 * sees them: the memory buffer and the map's entries are SharedArrayBuffers,
 * and the grant check in that thread decodes an entry on every check, so a
 * page the balloon unmapped (or mapped again, elsewhere in the pool) is
 * seen at the next request with no message between the threads.
 *
 * Two encodings exist, one per board:
 *   'bus-page-map' the bare PC's MemoryBus.pageMap: buffer offset | PAGE_ROM | PAGE_IO
 *   'p2m'          the hypervisor's P2m entries (core/hypervisor/memory/p2m.ts):
 *                  -1 unmapped, else machine frame | kind << 24 (1 RAM, 2 ROM)
 * The p2m's encoding is repeated here rather than imported (dom0 sits below
 * the hypervisor); test/dom0/sharedRamMap.test.ts checks both against the
 * maps their owners build.
 */
import { PAGE_IO, PAGE_ROM } from '../memory/bus.ts';
import { PAGE_MASK } from '../memory/physicalMemory.ts';
import type { GuestRamMap } from './grantCheck.ts';

export type SharedRamFormat = 'bus-page-map' | 'p2m';

export interface SharedGuestRam {
  /** The buffer RAM pages live in (the bus's memory, or machine memory: growable). */
  readonly memory: SharedArrayBuffer;
  /** The map's Int32 entries, one per 4 KiB guest-physical page. */
  readonly entries: SharedArrayBuffer;
  readonly format: SharedRamFormat;
}

const P2M_KIND_SHIFT = 24;
const P2M_MFN_MASK = (1 << P2M_KIND_SHIFT) - 1;
const P2M_KIND_RAM = 1;
const FRAME = 4096;

/** Buffer offset of guest page `pfn` when the shared map says it is plain RAM, else -1. */
export function sharedRamPage(format: SharedRamFormat, entries: Int32Array, pfn: number): number {
  const e = entries[pfn];
  if (e === undefined) return -1;
  if (format === 'bus-page-map') return (e & (PAGE_IO | PAGE_ROM)) !== 0 ? -1 : e & ~PAGE_MASK;
  return e === -1 || e >>> P2M_KIND_SHIFT !== P2M_KIND_RAM ? -1 : (e & P2M_MFN_MASK) * FRAME;
}

/**
 * The grant check's map over shared RAM, for a thread other than the
 * machine's: `dmaWritten` gets the buffer ranges the device wrote (dom0
 * hands them back to the machine's thread, which drops decoded code there).
 */
export function ramMapOverShared(shared: SharedGuestRam, dmaWritten: (offset: number, length: number) => void): GuestRamMap {
  const entries = new Int32Array(shared.entries);
  const format = shared.format;
  return {
    // Length-tracking: machine memory grows in place as the pool takes frames.
    u8: new Uint8Array(shared.memory),
    ramPage: (pfn) => sharedRamPage(format, entries, pfn),
    dmaWritten,
  };
}
