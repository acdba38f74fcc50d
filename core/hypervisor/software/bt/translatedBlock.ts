/**
 * One translation: a run of guest-kernel instructions and the x86 code that
 * stands for it in the translation cache, with the maps that tie the two
 * together. Plain data (plus the decoded guest instructions, which the
 * callouts execute or inspect).
 */
import type { Insn } from '../../../cpu/insn.ts';
import type { CalloutKind } from './calloutKinds.ts';

export interface GuestInstruction {
  eip: number;
  bytes: number[];
  insn: Insn;
}

/**
 * One instruction of the translation. `guestEip` is where the guest is when
 * the processor is about to execute this TC instruction: the guest
 * instruction's own EIP for a copy or a callout (nothing of it has happened
 * yet), the branch target for the JMP half of a rewritten CALL (the PUSH of
 * the return address is done) and for an exit stub. A fault here, or an
 * interrupt taken before it, is reported to the guest at `guestEip`.
 */
export interface TcInstruction {
  /** Offset from the block's start in the TC. */
  offset: number;
  length: number;
  guestEip: number;
  /** Index into `guest` of the instruction it translates, -1 for an exit stub. */
  guestIndex: number;
  /** What it is, for the inspection listing. */
  role: 'copy' | 'branch' | 'push-return' | 'callout' | 'exit-stub';
}

/** A callout site: the `INT vector` at TC linear address `at`. */
export interface CalloutSite {
  at: number;
  kind: CalloutKind;
  /** The guest instruction it stands for (null for an exit stub). */
  insn: Insn | null;
  guestEip: number;
  nextGuestEip: number;
  /** Exit stubs: the guest target; the linear address of the rel32 field that jumps to this stub (chaining patches it). */
  target: number;
  patchAt: number;
  block: TranslatedBlock;
}

export interface TranslatedBlock {
  id: number;
  guestEip: number;
  guestCsBase: number;
  /** Physical frames the guest code came from (two when the first instruction straddles a page). */
  frames: number[];
  /** The memory-buffer offset of the first guest byte: the lookup key (as the processor's own decoded-block cache keys). */
  key: number;
  tcStart: number;
  tcLength: number;
  guest: GuestInstruction[];
  tc: TcInstruction[];
  sites: CalloutSite[];
  /** Exit stubs of other blocks whose jump was patched to come straight here. */
  incoming: CalloutSite[];
  valid: boolean;
}

/** The guest EIP for the TC instruction at `lin` (see TcInstruction), or null when `lin` is not an instruction start. */
export function guestEipAt(block: TranslatedBlock, lin: number): number | null {
  const offset = (lin - block.tcStart) | 0;
  let lo = 0, hi = block.tc.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const t = block.tc[mid];
    if (t.offset === offset) return t.guestEip;
    if (t.offset < offset) lo = mid + 1;
    else hi = mid - 1;
  }
  return null;
}
