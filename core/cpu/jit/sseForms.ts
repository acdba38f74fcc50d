/**
 * Inline translations of the SSE2 integer register forms libc's string
 * functions run in the shell loop's hot blocks (strlen/strchr-style loops:
 * MOVD xmm, r32; PXOR; PUNPCKLBW; PSHUFD; PCMPEQB; PMOVMSKB r32, xmm), which
 * the compiled code otherwise called through their handlers (the state
 * synced before, every register reloaded after, integerOp's staging copies).
 *
 * Each does what its handler does (sse/integer.ts, sse/moves.ts) on the
 * XMM registers' dwords (`cpu.sse.xmm`, dword 0 least significant), after
 * sseGate's checks: CR0.EM or a clear CR4.OSFXSR raise #UD, CR0.TS raises
 * #NM, with the CPU's state synced first as for any fault. Register
 * operands only (a memory operand stays a handler call: its 16-byte
 * alignment check and reads). None touches the arithmetic flags or memory.
 */
import type { Insn } from '../insn.ts';
import { REP_E, REP_NONE } from '../insn.ts';
import { CR0_EM, CR0_TS, CR4_OSFXSR, EXC_NM } from '../regs.ts';

/** What an SSE translation needs of the block writer. */
export interface SseWriter {
  /** A general register's local (loaded at entry). */
  r(n: number): string;
  /** A statement setting a general register's local. */
  setR(n: number, v: string): string;
  /** The statements that make the CPU's state the interpreter's during the instruction (before a fault). */
  sync(): string;
}

/** Bytes of `v` (a dword expression) that are zero become 0xff, the others 0 (PCMPEQB on v = a ^ b). */
function zeroBytes(v: string): string {
  // A byte's top bit of ((v & 0x7f..) + 0x7f..) | v is set exactly when the byte is nonzero.
  return `(Math.imul(((~((((${v}) & 0x7f7f7f7f) + 0x7f7f7f7f) | (${v}))) & 0x80808080) >>> 7, 255) | 0)`;
}

/** The four byte top bits of dword `v` as bits 0-3. */
function topBits(v: string): string {
  return `((((${v}) >>> 7) & 1) | (((${v}) >>> 14) & 2) | (((${v}) >>> 21) & 4) | (((${v}) >>> 28) & 8))`;
}

/** What an SSE memory load needs of the block writer (translate.ts BlockWriter). */
export interface SseLoadWriter {
  /** The JS expression of the current instruction's 32-bit effective address (an offset in its segment). */
  ea(i: Insn): string;
  /** Inline `body` when `cond` holds, else the handler (translate.ts fastOrHandler). */
  fastOrHandler(cond: string, body: string): void;
}

/** sseGate passes: no #UD, no #NM (the CR0 and CR4 conditions). */
const GATE_OPEN = `(cpu.cr0 & ${CR0_EM | CR0_TS}) === 0 && (cpu.cr4 & ${CR4_OSFXSR}) !== 0`;

/**
 * The loads from memory libc's SSE2 string code and the kernel's copies ran
 * through their handlers in the shell loop's compiled blocks (handlerCalls.ts,
 * warm, per iteration: MOVDQA/MOVDQU xmm, m128 10.6, MOVD xmm, m32 6.8):
 * 66 0F 6F (MOVDQA), F3 0F 6F (MOVDQU), 66 0F 6E (MOVD, zero-extended), 32-bit
 * addressing. Inline when sseGate would pass and the operand is dword-aligned
 * in one page, inside the segment's read limits and in the TLB (MOVDQA's
 * alignment #GP needs 16-byte alignment, which this implies when it holds:
 * the fast path requires 16 for MOVDQA); the four (one) dwords are read from
 * host memory into the register (moves.ts load128, movdToXmm, readMem: all
 * dwords are read before the register is written, so a fault leaves it as
 * it was, as the handler does). Otherwise the handler (gate faults, #GP, a
 * #PF in any dword, a device, an unaligned operand).
 */
export function sseLoadForm(i: Insn, w: SseLoadWriter): boolean {
  if (i.mod === 3 || !i.a32 || i.lock) return false;
  const movdqa = i.opcode === 0x16f && i.p66 && i.rep === REP_NONE;
  const movdqu = i.opcode === 0x16f && !i.p66 && i.rep === REP_E;
  const movd = i.opcode === 0x16e && i.p66 && i.rep === REP_NONE;
  if (!movdqa && !movdqu && !movd) return false;
  const bytes = movd ? 4 : 16;
  const d = i.reg * 4, seg = i.seg;
  const cond = `${GATE_OPEN} && (o = (${w.ea(i)}) >>> 0) >= sRL[${seg}] && o + ${bytes - 1} <= sRH[${seg}]`
    + ` && ((lin = (sB[${seg}] + o) | 0) & ${movdqa ? 15 : 3}) === 0 && (lin & 0xfff) <= ${0x1000 - bytes} && ((e = tlbR[lin >>> 12]) & tb) !== 0`;
  const dwords = [0, 1, 2, 3].map((k) => (movd && k > 0 ? `X[${d + k}] = 0;` : `X[${d + k}] = i32[p + ${k}];`)).join(' ');
  w.fastOrHandler(cond, `p = ((e & ~0xfff) | (lin & 0xfff)) >> 2; { const X = cpu.sse.xmm; ${dwords} }`);
  return true;
}

/** Source of the inline translation of `i`, or null when it has none. */
export function sseRegisterForm(i: Insn, w: SseWriter): string | null {
  if (!i.p66 || i.rep !== REP_NONE || i.mod !== 3 || i.lock) return null;
  const d = i.reg * 4, s = i.rm * 4;
  let body: string;
  switch (i.opcode) {
    case 0x16e: // MOVD xmm, r32: zero-extended to 128 bits
      body = `X[${d}] = ${w.r(i.rm)}; X[${d + 1}] = 0; X[${d + 2}] = 0; X[${d + 3}] = 0;`;
      break;
    case 0x1ef: // PXOR
      body = [0, 1, 2, 3].map((k) => `X[${d + k}] ^= X[${s + k}];`).join(' ');
      break;
    case 0x174: // PCMPEQB
      body = [0, 1, 2, 3].map((k) => `X[${d + k}] = ${zeroBytes(`X[${d + k}] ^ X[${s + k}]`)};`).join(' ');
      break;
    case 0x1d7: // PMOVMSKB r32, xmm: the 16 byte top bits
      body = w.setR(i.reg, [0, 1, 2, 3].map((k) => `(${topBits(`X[${s + k}]`)} << ${4 * k})`).join(' | '));
      break;
    case 0x160: { // PUNPCKLBW: bytes of the low qwords interleaved, destination's first
      const parts: string[] = ['const a0 = X[' + d + '], a1 = X[' + (d + 1) + '], b0 = X[' + s + '], b1 = X[' + (s + 1) + '];'];
      for (let j = 0; j < 4; j++) {
        const a = `${j < 2 ? 'a0' : 'a1'}`, b = `${j < 2 ? 'b0' : 'b1'}`, sh = 16 * (j & 1);
        // Bytes a[2j], b[2j], a[2j+1], b[2j+1] of the result dword j.
        parts.push(`X[${d + j}] = ((${a} >>> ${sh}) & 0xff) | (((${b} >>> ${sh}) & 0xff) << 8) | (((${a} >>> ${sh + 8}) & 0xff) << 16) | (((${b} >>> ${sh + 8}) & 0xff) << 24);`);
      }
      body = parts.join(' ');
      break;
    }
    case 0x170: { // PSHUFD xmm, xmm, imm8
      const sel = (k: number) => `X[${s + ((i.imm >> (2 * k)) & 3)}]`;
      body = `const v0 = ${sel(0)}, v1 = ${sel(1)}, v2 = ${sel(2)}, v3 = ${sel(3)}; X[${d}] = v0; X[${d + 1}] = v1; X[${d + 2}] = v2; X[${d + 3}] = v3;`;
      break;
    }
    default:
      return null;
  }
  const gate = `if ((cpu.cr0 & ${CR0_EM | CR0_TS}) !== 0 || (cpu.cr4 & ${CR4_OSFXSR}) === 0) { ${w.sync()}`
    + `if ((cpu.cr0 & ${CR0_EM}) !== 0 || (cpu.cr4 & ${CR4_OSFXSR}) === 0) cpu.raiseUD(); cpu.fault(${EXC_NM}, 0, false); }`;
  return `${gate}\n{ const X = cpu.sse.xmm; ${body} }`;
}
