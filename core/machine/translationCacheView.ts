/**
 * The binary translator's translation cache as plain data, for `popek run
 * --tc-dump` and the app's Translation cache view: the list of blocks since
 * the last flush (valid or invalidated), and one block's guest instructions
 * beside their translation (core/hypervisor/software/bt/inspect.ts).
 *
 * The list includes invalidated blocks, which the cache keeps only for
 * mapping TC addresses: they are found by walking the TC from its start with
 * `blockAt`, since blocks are laid out back to back (bump allocation) until
 * the next flush.
 */
import type { BinaryTranslator } from '../hypervisor/software/bt/binaryTranslator.ts';
import { inspectBlock, type InspectedBlock, type TcLine } from '../hypervisor/software/bt/inspect.ts';
import type { TranslatedBlock } from '../hypervisor/software/bt/translatedBlock.ts';

export type { InspectedBlock, InspectedInstruction, TcLine } from '../hypervisor/software/bt/inspect.ts';

/** One block of the cache, for a list. */
export interface CachedBlockSummary {
  id: number;
  guestEip: number;
  /** Guest instructions the block translates. */
  guestInstructions: number;
  tcStart: number;
  /** Bytes of translated code (with its exit stubs). */
  tcLength: number;
  /** False once the guest wrote to the code it came from: its TC bytes are poisoned (INT3) and nothing enters it again. */
  valid: boolean;
}

export interface TranslationCacheView {
  /** Bytes of the cache in use, and its size. */
  tcUsed: number;
  tcSize: number;
  /** Blocks in the cache (until a flush or the reuse of their section), oldest first. */
  blocks: CachedBlockSummary[];
}

/** Every block in the cache's sections (valid or invalidated, until its section is reused), oldest first. */
function blocksSinceFlush(bt: BinaryTranslator): TranslatedBlock[] {
  return bt.cache.allBlocks();
}

export function translationCacheView(bt: BinaryTranslator): TranslationCacheView {
  return {
    tcUsed: bt.cache.used,
    tcSize: bt.cache.region.size,
    blocks: blocksSinceFlush(bt).map((b) => ({
      id: b.id, guestEip: b.guestEip >>> 0, guestInstructions: b.guest.length, tcStart: b.tcStart >>> 0, tcLength: b.tcLength, valid: b.valid,
    })),
  };
}

/** Block `id` side by side, or null when it is not in the cache (never built, or gone in a flush). Addresses unsigned (the translator keeps them as int32). */
export function inspectCachedBlock(bt: BinaryTranslator, id: number): InspectedBlock | null {
  const block = blocksSinceFlush(bt).find((b) => b.id === id);
  if (block === undefined) return null;
  const b = inspectBlock(bt, block);
  const line = (l: TcLine): TcLine => ({ ...l, address: l.address >>> 0 });
  return {
    ...b,
    guestEip: b.guestEip >>> 0,
    tcStart: b.tcStart >>> 0,
    instructions: b.instructions.map((i) => ({ ...i, guestEip: i.guestEip >>> 0, translation: i.translation.map(line) })),
    exitStubs: b.exitStubs.map(line),
  };
}
