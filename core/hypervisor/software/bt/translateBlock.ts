/**
 * Translates one block of 32-bit guest-kernel code into x86 code for the
 * translation cache (VMware's design, Adams & Agesen 2006: binary, dynamic,
 * on demand, at the granularity of a block ending at control flow).
 *
 * - Innocuous and privileged instructions are copied byte for byte (a
 *   privileged one traps at CPL 1 and the monitor emulates it at the guest
 *   EIP the TC map gives).
 * - Sensitive ones become `INT calloutVector` (2 bytes), a callout site.
 * - Relative control flow is rewritten to rel32 jumps to exit stubs placed
 *   after the block (each an `INT calloutVector` the first time; chaining
 *   patches the jump to the target's translation later). CALL rel32 becomes
 *   PUSH imm32 (the GUEST return address: the guest's stack never holds a TC
 *   address) and a JMP. LOOP/JECXZ only exist with rel8: they are kept,
 *   aimed over a JMP to the fall-through exit at a JMP to the taken exit.
 * - Everything else that ends the block (RET, indirect and far transfers,
 *   IRET, INT n) is a callout; a block that ends for another reason (page end,
 *   the length limit, an instruction that ends the processor's own block)
 *   gets a JMP to the exit for the next guest instruction.
 *
 * The block stays within one guest page except that its first instruction
 * may straddle into the next (the processor's decoder has the same rule), so
 * a write to either frame invalidates it.
 */
import { decodeInstruction } from '../../../cpu/decoder.ts';
import type { Insn } from '../../../cpu/insn.ts';
import { INLINE_KINDS, type CalloutKind } from './calloutKinds.ts';
import { classify } from './classify.ts';
import type { CalloutSite, GuestInstruction, TcInstruction, TranslatedBlock } from './translatedBlock.ts';

/** Guest instructions per block at most (VMware's TUs held up to 12; longer blocks mean fewer exits here). */
export const BLOCK_GUEST_MAX = 32;
/** Upper bound of a block's TC size: each guest instruction emits at most 15 bytes (copy) or 12 (LOOP form); plus exits. */
export const BLOCK_TC_MAX = BLOCK_GUEST_MAX * 15 + 16;

/** Where guest code comes from: linear reads under the current paging (faulting like a fetch), and the physical address behind a linear one. */
export interface GuestCode {
  read8(lin: number): number;
  physical(lin: number): number;
}

const END_OF_PAGE = { endOfPage: true };

interface PendingExit {
  /** Offset of the rel32 field to aim at the stub. */
  fieldOffset: number;
  target: number;
}

export function translateBlock(
  code: GuestCode, csBase: number, guestEip: number, tcStart: number, vector: number, id: number,
): { block: TranslatedBlock; bytes: Uint8Array } {
  const out: number[] = [];
  const tc: TcInstruction[] = [];
  const guest: GuestInstruction[] = [];
  const exits: PendingExit[] = [];
  const sites: Omit<CalloutSite, 'block'>[] = [];
  const startLin = (csBase + guestEip) | 0;
  const startPage = startLin >>> 12;
  const frames = [code.physical(startLin) >>> 12];
  const key = code.physical(startLin);
  let eip = guestEip;
  let ended = false;

  const emitTc = (length: number, gEip: number, guestIndex: number, role: TcInstruction['role']): void => {
    tc.push({ offset: out.length - length, length, guestEip: gEip, guestIndex, role });
  };
  const rel32 = (fieldOffset: number, target: number): void => { exits.push({ fieldOffset, target }); };
  const bytes32 = (v: number): void => { out.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff); };
  const calloutAt = (kind: CalloutKind, insn: Insn | null, g: number, next: number, guestIndex: number): void => {
    sites.push({ at: (tcStart + out.length) | 0, kind, insn, guestEip: g, nextGuestEip: next, target: 0, patchAt: -1 });
    out.push(0xcd, vector);
    emitTc(2, g, guestIndex, 'callout');
  };
  const jmpExit = (target: number, gEip: number, guestIndex: number): void => {
    out.push(0xe9);
    rel32(out.length, target);
    bytes32(0);
    emitTc(5, gEip, guestIndex, 'branch');
  };

  for (let n = 0; n < BLOCK_GUEST_MAX && !ended; n++) {
    const first = n === 0;
    const lin = (csBase + eip) | 0;
    if (!first && (lin >>> 12) !== startPage) break;
    let insn: Insn;
    try {
      insn = decodeInstruction((offset) => {
        const at = (lin + offset) | 0;
        if (!first && (at >>> 12) !== startPage) throw END_OF_PAGE;
        return code.read8(at);
      }, true, eip);
    } catch (e) {
      if (e === END_OF_PAGE) break;
      throw e;
    }
    const raw: number[] = [];
    for (let k = 0; k < insn.len; k++) raw.push(code.read8((lin + k) | 0));
    if (first && ((lin + insn.len - 1) >>> 12) !== startPage) frames.push(code.physical((lin + insn.len - 1) | 0) >>> 12);
    const gi = guest.length;
    guest.push({ eip, bytes: raw, insn });
    const next = insn.nextEip;
    const t = classify(insn);
    switch (t.how) {
      case 'copy':
        out.push(...raw);
        emitTc(raw.length, eip, gi, 'copy');
        if (insn.endsBlock) { jmpExit(next, next, gi); ended = true; }
        break;
      case 'jcc': {
        const cc = insn.opcode & 0xf;
        out.push(0x0f, 0x80 | cc);
        rel32(out.length, insn.imm);
        bytes32(0);
        emitTc(6, eip, gi, 'branch');
        jmpExit(next, next, gi);
        ended = true;
        break;
      }
      case 'jmp':
        jmpExit(insn.imm, eip, gi);
        ended = true;
        break;
      case 'call':
        out.push(0x68);
        bytes32(next);
        emitTc(5, eip, gi, 'push-return');
        jmpExit(insn.imm, insn.imm, gi);
        ended = true;
        break;
      case 'loop':
        if (!insn.a32) out.push(0x67); // CX instead of ECX
        out.push(insn.opcode, 5);
        emitTc(insn.a32 ? 2 : 3, eip, gi, 'branch');
        jmpExit(next, next, gi);
        jmpExit(insn.imm, insn.imm, gi);
        ended = true;
        break;
      case 'callout':
        calloutAt(t.kind, insn, eip, next, gi);
        if (!INLINE_KINDS.has(t.kind)) ended = true;
        break;
    }
    eip = next;
  }
  if (!ended) jmpExit(eip, eip, guest.length - 1);

  // Exit stubs, one per distinct target, after the code.
  const stubOf = new Map<number, number>();
  for (const x of exits) {
    let stub = stubOf.get(x.target);
    if (stub === undefined) {
      stub = out.length;
      stubOf.set(x.target, stub);
      sites.push({ at: (tcStart + stub) | 0, kind: 'exit', insn: null, guestEip: x.target, nextGuestEip: x.target, target: x.target, patchAt: -1 });
      out.push(0xcd, vector);
      emitTc(2, x.target, -1, 'exit-stub');
    }
    const rel = stub - (x.fieldOffset + 4);
    out[x.fieldOffset] = rel & 0xff;
    out[x.fieldOffset + 1] = (rel >>> 8) & 0xff;
    out[x.fieldOffset + 2] = (rel >>> 16) & 0xff;
    out[x.fieldOffset + 3] = (rel >>> 24) & 0xff;
  }
  // A stub reached by one jump can be chained by patching that jump; one reached by several keeps them all (patched on first use of each is not tracked).
  const fieldsOf = new Map<number, number[]>();
  for (const x of exits) fieldsOf.set(x.target, [...(fieldsOf.get(x.target) ?? []), x.fieldOffset]);

  const block: TranslatedBlock = {
    id, guestEip, guestCsBase: csBase, frames, key, tcStart, tcLength: out.length,
    guest, tc, sites: [], incoming: [], valid: true,
  };
  for (const s of sites) {
    const fields = s.kind === 'exit' ? fieldsOf.get(s.target)! : [];
    block.sites.push({ ...s, patchAt: fields.length === 1 ? (tcStart + fields[0]) | 0 : -1, block });
  }
  return { block, bytes: Uint8Array.from(out) };
}

