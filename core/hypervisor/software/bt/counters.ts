/**
 * The translator's counters, plain data the monitor copies into its own
 * (and the Hypervisor panel shows): translation-cache blocks built, executed
 * (entered through a dispatch or an exit stub: chained jumps between blocks
 * run without the monitor, so they are not counted, as in VMware's TC),
 * invalidated, chains made, full cache flushes, sections reused when full
 * (and the blocks evicted with them), callouts by kind.
 */
import type { CalloutKind } from './calloutKinds.ts';

export interface TranslatorCounters {
  blocksBuilt: number;
  /** Guest instructions translated (sum over built blocks). */
  guestInstructionsTranslated: number;
  /** Block entries through the monitor (dispatch from a callout or an exit stub, or `enter`). */
  blocksEntered: number;
  blocksInvalidated: number;
  chainsMade: number;
  /** Whole-cache flushes (the monitor's, at `monitor.start`: the first kernel entry, each hand-back from its emulator). */
  cacheFlushes: number;
  /** A full cache emptied its oldest section for new blocks (translationCache.ts), and the blocks that went with them. */
  sectionsReused: number;
  blocksEvicted: number;
  /** Writes to a guest frame that held translations. */
  codeWrites: number;
  callouts: Partial<Record<CalloutKind, number>>;
}

export function newTranslatorCounters(): TranslatorCounters {
  return {
    blocksBuilt: 0, guestInstructionsTranslated: 0, blocksEntered: 0, blocksInvalidated: 0,
    chainsMade: 0, cacheFlushes: 0, sectionsReused: 0, blocksEvicted: 0, codeWrites: 0, callouts: {},
  };
}
