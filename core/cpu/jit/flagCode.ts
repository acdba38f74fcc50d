/**
 * Lazy flags inside a compiled block, decided at translation time.
 *
 * The interpreter records every flag-setting instruction in the CPU's lazy
 * state (cpu.lazy, flags.ts). A compiled block knows statically which instruction
 * last set the flags at every point, so it keeps only that instruction's
 * operands and result in JS locals (`fa`, `fb`, `fr`, and `fcf` for the
 * carry INC/DEC preserve) and writes them to the CPU's lazy state (cpu.lazy) only
 * where the state can be observed: at block exits and before a slow-path
 * call (which may fault and push EFLAGS). Conditions (Jcc) and the carry
 * (INC/DEC) are computed from the locals inline.
 *
 * The values written back are the interpreter's lazy values reduced to
 * int32; every flag computed from them is the same (flags.ts only reads
 * them through ToInt32 masks).
 */
import { LAZY_ADD, LAZY_RES, LAZY_SUB, LZ_A, LZ_B, LZ_MASK, LZ_OP, LZ_RES, LZ_SIZE } from '../flags.ts';
import { ARITH_FLAGS } from '../regs.ts';

/** Where the flags are at a point of a compiled block. */
export interface FlagState {
  /** In the CPU (cpu.lazy and cpu.flags) (unknown at translation time), or in the compiled block's locals. */
  inCpu: boolean;
  /** The lazy operation (LAZY_ADD, LAZY_SUB or LAZY_RES with CF/AF/OF clear) and its size. */
  op: number;
  size: 8 | 32;
  /** INC/DEC: CF is the bit in `fcf` (or the CPU's, with cfInCpu), the other five flags are lazy. */
  keepCF: boolean;
  /**
   * INC/DEC on flags that were in the CPU: CF is the CPU's own CF, not
   * computed into `fcf`. It stays valid until the state changes, because the
   * block writes the CPU's flag fields only with the current state, and the
   * writeback of this one reads the CPU's CF before it stores the new lazy
   * fields. So a block whose INC's flags are overwritten before they are
   * observed (INC; CMP; Jcc) never computes the carry of the lazy state it
   * was entered with (computeLazy), and one that exits pays it once there.
   */
  cfInCpu: boolean;
}

export const FLAGS_IN_CPU: FlagState = { inCpu: true, op: 0, size: 32, keepCF: false, cfInCpu: false };

export function lazyFlags(op: number, size: 8 | 32, keepCF = false, cfInCpu = false): FlagState {
  return { inCpu: false, op, size, keepCF, cfInCpu: keepCF && cfInCpu };
}

/**
 * The state after INC or DEC (LAZY_ADD or LAZY_SUB of `size` bits, CF kept), and
 * the statement that keeps CF ('' when it needs none): from locals, CF is
 * computed into `fcf`; from the CPU, or after another INC/DEC, CF stays where it is.
 */
export function incDecFlags(prev: FlagState, op: number, size: 8 | 32 = 32): { flags: FlagState; keep: string } {
  if (prev.inCpu) return { flags: lazyFlags(op, size, true, true), keep: '' };
  if (prev.keepCF) return { flags: lazyFlags(op, size, true, prev.cfInCpu), keep: '' };
  return { flags: lazyFlags(op, size, true), keep: `fcf = ${carryExpr(prev)};` };
}

/**
 * Statements that store a state held in locals into the CPU's lazy state
 * ('' if already there): six stores into `lz` (cpu.lazy, whose address
 * TurboFan embeds as a constant: flags.ts LZ_*), or for INC/DEC a call to
 * flags.ts's setLazyCarry (it also writes CF into cpu.flags).
 */
export function flagWriteback(s: FlagState): string {
  if (s.inCpu) return '';
  if (!s.keepCF) return `lz[${LZ_OP}] = ${s.op}; lz[${LZ_SIZE}] = ${s.size}; lz[${LZ_A}] = fa; lz[${LZ_B}] = fb; lz[${LZ_RES}] = fr; lz[${LZ_MASK}] = ${ARITH_FLAGS}; `;
  return `setLazyCarry(cpu, ${s.op}, ${s.size}, fa, fb, fr, ${s.cfInCpu ? 'getFlag(cpu, 1)' : 'fcf'}); `;
}

/** Mask of the operand size, as a literal. */
function mask(size: number): string {
  return size === 32 ? '0xffffffff' : '0xff';
}

/** CF as 0 or 1. */
export function carryExpr(s: FlagState): string {
  if (s.inCpu) return 'getFlag(cpu, 1)';
  if (s.keepCF) return s.cfInCpu ? 'getFlag(cpu, 1)' : 'fcf';
  const m = mask(s.size);
  switch (s.op) {
    case LAZY_ADD: return `(((fr & ${m}) >>> 0) < ((fa & ${m}) >>> 0) ? 1 : 0)`;
    case LAZY_SUB: return `(((fa & ${m}) >>> 0) < ((fb & ${m}) >>> 0) ? 1 : 0)`;
    default: return '(fa & 1)';
  }
}

function zeroExpr(s: FlagState): string {
  return s.size === 32 ? '(fr === 0)' : '((fr & 0xff) === 0)';
}
function signExpr(s: FlagState): string {
  return s.size === 32 ? '(fr < 0)' : '((fr & 0x80) !== 0)';
}
function overflowExpr(s: FlagState): string {
  const top = s.size - 1;
  switch (s.op) {
    case LAZY_ADD: return `((((fa ^ fr) & (fb ^ fr)) >>> ${top}) & 1) !== 0`;
    case LAZY_SUB: return `((((fa ^ fb) & (fa ^ fr)) >>> ${top}) & 1) !== 0`;
    default: return '((fa & 0x800) !== 0)';
  }
}

/**
 * A boolean JS expression for condition `cc` (0-15, the low nibble of
 * Jcc/SETcc), evaluated on the state `s`.
 */
export function conditionExpr(s: FlagState, cc: number): string {
  if (s.inCpu) return `testCondition(cpu, ${cc})`;
  let e: string;
  const sub = s.op === LAZY_SUB && !s.keepCF;
  const sh = 32 - s.size;
  // A compare or subtract: decide from its operands directly, as testCondition's fast path does.
  const u = (v: string) => (sh === 0 ? `(${v} >>> 0)` : `(${v} & 0xff)`);
  const sg = (v: string) => (sh === 0 ? v : `((${v} << 24) >> 24)`);
  const carry = s.keepCF ? `(${carryExpr(s)} !== 0)` : s.op === LAZY_RES ? '((fa & 1) !== 0)' : `(${carryExpr(s)} !== 0)`;
  const lessSigned = `(${signExpr(s)} !== (${overflowExpr(s)}))`;
  switch (cc >> 1) {
    case 0: e = `(${overflowExpr(s)})`; break;
    case 1: e = sub ? `(${u('fa')} < ${u('fb')})` : carry; break;
    case 2: e = zeroExpr(s); break;
    case 3: e = sub ? `(${u('fa')} <= ${u('fb')})` : `(${carry} || ${zeroExpr(s)})`; break;
    case 4: e = signExpr(s); break;
    case 5: e = '(PARITY[fr & 0xff] !== 0)'; break;
    case 6: e = sub ? `(${sg('fa')} < ${sg('fb')})` : lessSigned; break;
    default: e = sub ? `(${sg('fa')} <= ${sg('fb')})` : `(${zeroExpr(s)} || ${lessSigned})`;
  }
  return (cc & 1) !== 0 ? `!${e}` : e;
}
