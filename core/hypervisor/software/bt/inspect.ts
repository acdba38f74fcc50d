/**
 * Translation-cache inspection: for a cached block, the guest instructions
 * and their translation side by side (plain data for the app, and a text
 * rendering for the CLI). Each guest instruction is lined up with the TC
 * instructions that stand for it; exit stubs follow, each with its target.
 */
import type { Cpu } from '../../../cpu/cpu.ts';
import type { BinaryTranslator } from './binaryTranslator.ts';
import { disassembleAt, formatInstruction } from './disassemble.ts';
import type { TranslatedBlock } from './translatedBlock.ts';
import { tcPhysical } from './translationCache.ts';

export interface TcLine {
  address: number;
  bytes: string;
  text: string;
  /** What this TC instruction is: a copy, a rewritten branch, the PUSH of a rewritten CALL, a callout (with its kind), an exit stub. */
  note: string;
}

export interface InspectedInstruction {
  guestEip: number;
  guestBytes: string;
  guestText: string;
  translation: TcLine[];
}

export interface InspectedBlock {
  id: number;
  guestEip: number;
  frames: number[];
  tcStart: number;
  tcLength: number;
  valid: boolean;
  instructions: InspectedInstruction[];
  exitStubs: TcLine[];
}

export interface CacheSummary {
  tcUsed: number;
  tcSize: number;
  blocks: { id: number; guestEip: number; tcStart: number; tcLength: number; guestInstructions: number }[];
}

const hexBytes = (b: ArrayLike<number>): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');

/** The valid blocks of the cache, for a list view. */
export function summarizeCache(bt: BinaryTranslator): CacheSummary {
  return {
    tcUsed: bt.cache.used,
    tcSize: bt.cache.region.size,
    blocks: bt.cache.validBlocks().map((b) => ({ id: b.id, guestEip: b.guestEip, tcStart: b.tcStart, tcLength: b.tcLength, guestInstructions: b.guest.length })),
  };
}

/** One block side by side. The TC bytes are read from machine memory as they are now (chained jumps show their patched target). */
export function inspectBlock(bt: BinaryTranslator, block: TranslatedBlock, cpu: Cpu = bt.cpu): InspectedBlock {
  const region = bt.cache.region;
  const bytes: number[] = [];
  for (let k = 0; k < block.tcLength; k++) {
    const pa = tcPhysical(region, ((block.tcStart - region.linear) >>> 0) + k);
    bytes.push(cpu.u8[(cpu.bus.pageMap[pa >>> 12] & ~0xfff) + (pa & 0xfff)]);
  }
  const siteAt = new Map(block.sites.map((s) => [s.at, s]));
  const line = (t: TranslatedBlock['tc'][number]): TcLine => {
    const address = (block.tcStart + t.offset) | 0;
    const raw = bytes.slice(t.offset, t.offset + t.length);
    const site = siteAt.get(address);
    let text: string;
    try {
      text = disassembleAt(raw, 0, address).text;
    } catch {
      text = '(poisoned)';
    }
    const note = site !== undefined ? (site.kind === 'exit' ? `exit stub -> guest ${hex(site.target)}` : `callout ${site.kind}`) : t.role;
    return { address, bytes: hexBytes(raw), text, note };
  };
  const instructions: InspectedInstruction[] = block.guest.map((g, k) => ({
    guestEip: g.eip,
    guestBytes: hexBytes(g.bytes),
    guestText: formatInstruction(g.insn),
    translation: block.tc.filter((t) => t.guestIndex === k && t.role !== 'exit-stub').map(line),
  }));
  return {
    id: block.id, guestEip: block.guestEip, frames: [...block.frames], tcStart: block.tcStart, tcLength: block.tcLength,
    valid: block.valid, instructions, exitStubs: block.tc.filter((t) => t.role === 'exit-stub').map(line),
  };
}

const hex = (v: number): string => (v >>> 0).toString(16).padStart(8, '0');

/** Text rendering: guest on the left, translation on the right. */
export function formatInspectedBlock(b: InspectedBlock): string {
  const out: string[] = [];
  out.push(`block #${b.id} guest ${hex(b.guestEip)} (frame${b.frames.length > 1 ? 's' : ''} ${b.frames.map((f) => f.toString(16)).join(', ')})`
    + ` -> TC ${hex(b.tcStart)}, ${b.tcLength} bytes${b.valid ? '' : ' (invalidated)'}`);
  const col = (s: string, n: number): string => (s.length >= n ? s + ' ' : s.padEnd(n));
  for (const ins of b.instructions) {
    const left = `${hex(ins.guestEip)}  ${col(ins.guestBytes, 21)}${ins.guestText}`;
    ins.translation.forEach((t, k) => {
      out.push(`${col(k === 0 ? left : '', 62)}| ${hex(t.address)}  ${col(t.bytes, 21)}${col(t.text, 28)}; ${t.note}`);
    });
  }
  for (const t of b.exitStubs) out.push(`${col('', 62)}| ${hex(t.address)}  ${col(t.bytes, 21)}${col(t.text, 28)}; ${t.note}`);
  return out.join('\n');
}
