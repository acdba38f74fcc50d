/**
 * The software monitor's, the binary translator's and shadow paging's
 * counters as the app shows them (HypervisorStats in ./api.ts): only what
 * happened (kinds and vectors with a count), keyed by name.
 */
import type { ShadowCounters } from '../hypervisor/shadow/shadowCounters.ts';
import type { TranslatorSnapshot } from '../hypervisor/counters.ts';
import { TRAP_KINDS, type MonitorCounters } from '../hypervisor/software/monitorCounters.ts';
import type { ShadowPagingStats, SoftwareMonitorStats, TranslatorStats } from './api.ts';

export function monitorStats(m: MonitorCounters): SoftwareMonitorStats {
  const trapsByInstruction: Record<string, number> = {};
  for (const k of TRAP_KINDS) if (m.traps[k] > 0) trapsByInstruction[k] = m.traps[k];
  const reflectedByVector: Record<number, number> = {};
  m.reflected.forEach((n, vector) => {
    if (n > 0) reflectedByVector[vector] = n;
  });
  return {
    trapsByInstruction,
    reflectedByVector,
    heldInterrupts: m.heldInterrupts,
    gdtResyncs: m.gdtResyncs,
    gdtPagesUnwatched: m.gdtPagesUnwatched,
    gdtEntriesByWatch: m.gdtEntriesByWatch,
    gdtEntriesByResync: m.gdtEntriesByResync,
    viewSwitchesToUser: m.viewSwitchesToUser,
    lazyViewSwitchesToUser: m.lazyViewSwitchesToUser,
    viewSwitchesToKernel: m.viewSwitchesToKernel,
    emulatedInstructions: m.emulatedInstructions,
    emulatorEntries: m.emulatorEntries,
    emulatorExits: m.emulatorExits,
  };
}

export function translatorStats(t: TranslatorSnapshot): TranslatorStats {
  const calloutsByKind: Record<string, number> = {};
  for (const [kind, n] of Object.entries(t.callouts)) if (n !== undefined && n > 0) calloutsByKind[kind] = n;
  return {
    blocksBuilt: t.blocksBuilt,
    guestInstructionsTranslated: t.guestInstructionsTranslated,
    blocksEntered: t.blocksEntered,
    chainsMade: t.chainsMade,
    blocksInvalidated: t.blocksInvalidated,
    codeWrites: t.codeWrites,
    cacheFlushes: t.cacheFlushes,
    sectionsReused: t.sectionsReused,
    blocksEvicted: t.blocksEvicted,
    tcUsed: t.tcUsed,
    tcSize: t.tcSize,
    calloutsByKind,
  };
}

export function shadowPagingStats(s: ShadowCounters): ShadowPagingStats {
  return {
    hiddenFaults: s.hiddenFaults,
    reflectedFaults: s.reflectedFaults,
    pageTableWriteFaults: s.pageTableWriteFaults,
    resyncs: s.resyncs,
    shadowPagesBuilt: s.shadowPagesBuilt,
    cr3Switches: s.cr3Switches,
  };
}
