/**
 * Instruction decoder: prefixes, opcode maps, ModRM/SIB, displacements and
 * immediates, into reusable `Insn` objects grouped in blocks. A block ends
 * after a control transfer or mode-changing instruction, at BLOCK_MAX
 * instructions, or where the next instruction would leave the first page
 * (only the first instruction of a block may straddle pages, so a fetch fault
 * is always raised by the instruction that is about to execute).
 */
import type { Cpu } from './cpu.ts';
import { Insn, REP_E, REP_NE } from './insn.ts';
import { fastFormOf } from './fastForms.ts';
import type { CompiledBlock } from './jit/jit.ts';
import {
  IMM_IB, IMM_IBS, IMM_IV, IMM_IW, IMM_IWIB, IMM_JB, IMM_JV, IMM_MOFFS, IMM_NONE, IMM_PTR, oneByteMap, threeByte38Map, twoByteMap,
  type OpDef,
} from './opcodeTable.ts';
import { CS, DS, EBP, ES, FS, GS, SS } from './regs.ts';
import './ops/index.ts';

/** Instructions per decoded block at most. */
export const BLOCK_MAX = 48;

/**
 * A run of decoded instructions. Blocks remember up to two successors
 * (fall-through and branch target) so the run loop can chain them without a
 * cache lookup; the links are trusted only under the CPU's link stamp they
 * were made with (see Cpu.linkStamp).
 */
export class Block {
  insns: Insn[];
  eip: number;
  csBase: number;
  cs32: boolean;
  /** Buffer offset of the first byte (the cache key). */
  key = 0;
  valid = true;
  succ0: Block | null = null;
  succ1: Block | null = null;
  linkStamp = -1;
  /** Interpreted executions counted toward compilation, and the compiled code once hot (cpu/jit). */
  heat = 0;
  jit: CompiledBlock | null = null;
  jitBytes = 0;
  /** In a compiled region (cpu/jit regions), this block's index: where the region's function starts when the run loop enters it here. */
  jitEntry = 0;
  /** The region's members (this block alone when compiled by itself), indexed by jitEntry. */
  jitMembers: Block[] | null = null;
  /**
   * The region's member liveness, indexed by jitEntry (1: valid and still this region's code), which its
   * exit tail reads instead of the member's Block (null when compiled by itself: no tail); see leaveRegion.
   */
  jitLive: Uint8Array | null = null;

  constructor(insns: Insn[], eip: number, csBase: number, cs32: boolean) {
    this.insns = insns;
    this.eip = eip;
    this.csBase = csBase;
    this.cs32 = cs32;
  }

  /** Its region's exit tail no longer steps into it (invalidated, or its code dropped). */
  leaveRegion(): void {
    if (this.jitLive !== null) this.jitLive[this.jitEntry] = 0;
  }
}

/** Direct unconditional transfers the decoder follows within a page: JMP rel8/rel32, CALL rel32. */
const FOLLOWED: boolean[] = [];
FOLLOWED[0xeb] = FOLLOWED[0xe9] = FOLLOWED[0xe8] = true;

/** Thrown inside the decoder when an instruction after the first would leave the page. */
const END_OF_PAGE = { endOfPage: true };

/** Decoder cursor: no allocation per byte. */
class Cursor {
  cpu!: Cpu;
  lin = 0; // linear address of the next byte
  startPage = 0;
  first = true;
  count = 0; // bytes of the current instruction

  byte(): number {
    const lin = this.lin;
    if ((lin >>> 12) !== this.startPage) {
      if (!this.first) throw END_OF_PAGE;
      this.cpu.checkFetch(lin); // the first instruction continues on the next page: it must be executable (XD)
    }
    if (++this.count > 15) this.cpu.raiseGP(0); // instruction longer than 15 bytes
    this.lin = (lin + 1) | 0;
    return this.cpu.readLin8(lin);
  }
  word(): number {
    const lo = this.byte();
    return lo | (this.byte() << 8);
  }
  dword(): number {
    const lo = this.word();
    return (lo | (this.word() << 16)) | 0;
  }
}

const cursor = new Cursor();

const SEG_PREFIX: Record<number, number> = { 0x26: ES, 0x2e: CS, 0x36: SS, 0x3e: DS, 0x64: FS, 0x65: GS };

// 16-bit ModRM r/m: base, index, default segment.
const RM16_BASE = [3, 3, 5, 5, 6, 7, 5, 3]; // BX, BX, BP, BP, SI, DI, BP, BX
const RM16_INDEX = [6, 7, 6, 7, -1, -1, -1, -1]; // SI, DI, SI, DI

export function decodeBlock(cpu: Cpu, lin: number, eip: number): Block {
  const insns: Insn[] = [];
  cursor.cpu = cpu;
  cursor.startPage = lin >>> 12;
  const limit = cpu.segLimit[CS];
  for (let k = 0; k < BLOCK_MAX; k++) {
    const first = k === 0;
    const i = new Insn();
    cursor.first = first;
    cursor.lin = lin;
    cursor.count = 0;
    try {
      decodeOne(cpu, i, eip);
    } catch (e) {
      if (e === END_OF_PAGE && !first) break;
      throw e;
    }
    // The whole instruction must lie within the CS limit.
    if ((eip + i.len - 1) >>> 0 > limit) {
      if (first) cpu.raiseGP(0);
      break;
    }
    insns.push(i);
    lin = (lin + i.len) | 0;
    eip = i.nextEip;
    if (i.endsBlock) {
      // Direct JMP/CALL: keep decoding at the target when it lies in the same page
      // and is not already in this block (a loop), which makes blocks longer.
      if (!FOLLOWED[i.opcode] || (lin >>> 12) !== cursor.startPage && !first) break;
      const targetLin = (cpu.segBase[CS] + i.imm) | 0;
      if ((targetLin >>> 12) !== cursor.startPage || (i.imm >>> 0) > limit || insns.some((x) => x.eip === i.imm)) break;
      eip = i.imm;
      lin = targetLin;
      continue;
    }
    if (!first && (lin >>> 12) !== cursor.startPage) break;
  }
  return new Block(insns, insns[0].eip, cpu.segBase[CS], cpu.cs32);
}

function decodeOne(cpu: Cpu, i: Insn, eip: number): void {
  const c = cursor;
  i.eip = eip;
  let o32 = cpu.cs32;
  let a32 = cpu.cs32;
  let seg = -1;
  let rep = 0;
  let lock = false;
  let p66 = false;
  let b = c.byte();
  for (;;) {
    if (b === 0x66) { o32 = !cpu.cs32; p66 = true; }
    else if (b === 0x67) a32 = !cpu.cs32;
    else if (b === 0xf0) lock = true;
    else if (b === 0xf2) rep = REP_NE;
    else if (b === 0xf3) rep = REP_E;
    else if (SEG_PREFIX[b] !== undefined) seg = SEG_PREFIX[b];
    else break;
    b = c.byte();
  }
  let def: OpDef | undefined;
  if (b === 0x0f) {
    b = c.byte();
    if (b === 0x38) {
      b = c.byte();
      i.opcode = 0x200 | b;
      def = threeByte38Map[b];
    } else {
      i.opcode = 0x100 | b;
      def = twoByteMap[b];
    }
  } else {
    i.opcode = b;
    def = oneByteMap[b];
  }
  i.o32 = o32;
  i.a32 = a32;
  i.rep = rep;
  i.p66 = p66;
  i.lock = lock;
  i.segOverride = seg >= 0;
  i.seg = seg >= 0 ? seg : DS;
  if (def === undefined) {
    i.fn = raiseUD;
    i.endsBlock = true;
    finish(i, eip);
    return;
  }
  if (def.modrm) decodeModrm(i, seg, a32);
  i.fn = def.select(i);
  const imm = def.immFor !== undefined ? def.immFor(i) : def.imm;
  switch (imm) {
    case IMM_NONE: break;
    case IMM_IB: i.imm = c.byte(); break;
    case IMM_IBS: i.imm = (c.byte() << 24) >> 24; break;
    case IMM_IW: i.imm = c.word(); break;
    case IMM_IV: i.imm = o32 ? c.dword() : c.word(); break;
    case IMM_IWIB: i.imm = c.word(); i.imm2 = c.byte(); break;
    case IMM_PTR: i.imm = o32 ? c.dword() : c.word(); i.imm2 = c.word(); break;
    case IMM_MOFFS: i.disp = a32 ? c.dword() : c.word(); i.mod = 0; i.base = -1; i.index = -1; break;
    case IMM_JB: i.imm = (c.byte() << 24) >> 24; break;
    case IMM_JV: i.imm = o32 ? c.dword() : (c.word() << 16) >> 16; break;
  }
  finish(i, eip);
  if (imm === IMM_JB || imm === IMM_JV) {
    const target = i.nextEip + i.imm;
    i.imm = o32 ? target | 0 : target & 0xffff;
  }
  i.endsBlock = def.endsBlock === true || i.endsBlock;
  if (lock && (def.lockable !== true || i.mod === 3)) i.fn = raiseUD;
  else i.fast = fastFormOf(i);
}

function finish(i: Insn, eip: number): void {
  i.len = cursor.count;
  i.nextEip = cursor.cpu.cs32 ? (eip + i.len) | 0 : (eip + i.len) & 0xffff;
}

function decodeModrm(i: Insn, seg: number, a32: boolean): void {
  const c = cursor;
  const m = c.byte();
  const mod = m >> 6;
  const rm = m & 7;
  i.mod = mod;
  i.reg = (m >> 3) & 7;
  i.rm = rm;
  i.base = -1;
  i.index = -1;
  i.scale = 0;
  i.disp = 0;
  if (mod === 3) return;
  let defaultSeg = DS;
  if (a32) {
    if (rm === 4) {
      const sib = c.byte();
      const base = sib & 7;
      const index = (sib >> 3) & 7;
      i.scale = sib >> 6;
      i.index = index === 4 ? -1 : index;
      if (base === 5 && mod === 0) {
        i.disp = c.dword();
      } else {
        i.base = base;
        if (base === 4 || base === 5) defaultSeg = SS;
      }
    } else if (rm === 5 && mod === 0) {
      i.disp = c.dword();
    } else {
      i.base = rm;
      if (rm === EBP) defaultSeg = SS;
    }
    if (mod === 1) i.disp = (c.byte() << 24) >> 24;
    else if (mod === 2) i.disp = c.dword();
  } else {
    if (rm === 6 && mod === 0) {
      i.disp = c.word();
    } else {
      i.base = RM16_BASE[rm];
      i.index = RM16_INDEX[rm];
      if (rm === 2 || rm === 3 || rm === 6) defaultSeg = SS;
    }
    if (mod === 1) i.disp = (c.byte() << 24) >> 24;
    else if (mod === 2) i.disp = c.word();
  }
  i.seg = seg >= 0 ? seg : defaultSeg;
}

function raiseUD(cpu: Cpu): void {
  cpu.raiseUD();
}

/**
 * Decodes one instruction whose bytes come from `fetch(offset)` (offset 0 is
 * its first byte), in a code segment whose default size is 32-bit when
 * `cs32`. The hypervisor's instruction emulator uses it on the guest's code
 * fetched through the guest's own paging: the same decoder, so the emulator
 * and the processor agree on every form. Throws when the bytes run longer
 * than 15.
 */
export function decodeInstruction(fetch: (offset: number) => number, cs32: boolean, eip: number): Insn {
  const source = {
    cs32,
    readLin8: (lin: number) => fetch(lin),
    checkFetch: () => {},
    raiseGP: () => {
      throw new RangeError('instruction longer than 15 bytes');
    },
  } as unknown as Cpu;
  const i = new Insn();
  cursor.cpu = source;
  cursor.first = true;
  cursor.startPage = 0;
  cursor.lin = 0;
  cursor.count = 0;
  decodeOne(source, i, eip);
  return i;
}
