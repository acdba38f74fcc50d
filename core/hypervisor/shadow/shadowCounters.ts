/**
 * What shadow paging did for one address-space owner (a vCPU), as plain
 * numbers: the hypervisor's counters module takes them up as they are, and
 * the tests read them directly.
 */
export interface ShadowCounters {
  /** Page faults the hypervisor handled without the guest seeing them (shadow fills, write-protection faults, refills after WP/U tricks). */
  hiddenFaults: number;
  /** Page faults given to the guest with its own error code and CR2. */
  reflectedFaults: number;
  /** Page faults on guest-physical addresses without RAM (device pages) or writes to ROM: handed to the device emulation. */
  deviceFaults: number;
  /** Of the hidden faults: writes to a write-protected guest page-table page (each unsyncs that page). */
  pageTableWriteFaults: number;
  /** Guest page-table pages brought back in sync (on CR3 load, INVLPG, a paging-mode change). */
  resyncs: number;
  /** Shadow pages (directories and tables) built in hypervisor-owned machine frames. */
  shadowPagesBuilt: number;
  /** Shadow pages dropped and their frames given back. */
  shadowPagesDropped: number;
  /** Guest CR3 loads. */
  cr3Switches: number;
  /** Of the CR3 loads: those whose shadow directory was still in the cache. */
  cr3CacheHits: number;
  /** Guest INVLPGs. */
  invlpgs: number;
  /** Every shadow dropped because CR0.PG/WP or CR4.PSE/PGE changed. */
  modeFlushes: number;
  /** Every shadow dropped because machine memory had no frame left for a new one. */
  outOfFrames: number;
}

/** The counters in a fixed order (for copying them into shared memory and reading them back). */
export const SHADOW_COUNTER_KEYS: readonly (keyof ShadowCounters)[] = [
  'hiddenFaults', 'reflectedFaults', 'deviceFaults', 'pageTableWriteFaults', 'resyncs', 'shadowPagesBuilt',
  'shadowPagesDropped', 'cr3Switches', 'cr3CacheHits', 'invlpgs', 'modeFlushes', 'outOfFrames',
];

export function newShadowCounters(): ShadowCounters {
  return {
    hiddenFaults: 0,
    reflectedFaults: 0,
    deviceFaults: 0,
    pageTableWriteFaults: 0,
    resyncs: 0,
    shadowPagesBuilt: 0,
    shadowPagesDropped: 0,
    cr3Switches: 0,
    cr3CacheHits: 0,
    invlpgs: 0,
    modeFlushes: 0,
    outOfFrames: 0,
  };
}
