/**
 * `popek run --accel bt --tc-dump N|all`: the binary translator's translation
 * cache printed at exit, on stderr (stdout is the guest's COM1): its fill and
 * block count, then the N most recently translated blocks (or all of them),
 * each guest instruction beside the TC instructions that stand for it
 * (core/hypervisor/software/bt/inspect.ts's text rendering). Ctrl-A t prints
 * the same while the guest runs.
 */
import { formatInspectedBlock } from '../hypervisor/software/bt/inspect.ts';
import type { MachineApi } from '../machine/types.ts';
import type { RunArgs } from './runArgs.ts';

/** Blocks Ctrl-A t prints when --tc-dump does not say. */
export const TERMINAL_TC_BLOCKS = 5;

/** Ctrl-A t on a raw terminal: the dump now, with CR LF line ends; a note when the machine has no translator. */
export function terminalTcDump(machine: MachineApi, args: Pick<RunArgs, 'acceleration' | 'tcDump'>): string {
  const text = args.acceleration === 'bt' ? formatTcDump(machine, args.tcDump ?? TERMINAL_TC_BLOCKS) : '[popek] no translation cache: it is the binary translator\'s (--accel bt)\n';
  return `\r\n${text.replace(/\n/g, '\r\n')}`;
}

export function formatTcDump(machine: MachineApi, count: number | 'all'): string {
  const cache = machine.translationCache?.() ?? null;
  if (cache === null) return '--- translation cache ---\nempty: the guest kernel never ran under the translator\n';
  const invalid = cache.blocks.filter((b) => !b.valid).length;
  const shown = count === 'all' ? cache.blocks : cache.blocks.slice(-count);
  const lines = [
    '--- translation cache ---',
    `${cache.tcUsed} of ${cache.tcSize} bytes used, ${cache.blocks.length} blocks since the last flush (${invalid} invalidated)`
      + (shown.length < cache.blocks.length ? `; the latest ${shown.length}:` : ':'),
  ];
  for (const b of shown) {
    const inspected = machine.inspectTranslatedBlock?.(b.id);
    if (inspected) lines.push('', formatInspectedBlock(inspected));
  }
  return `${lines.join('\n')}\n`;
}
