/**
 * The SSE2 integer register forms the compiler translates inline
 * (core/cpu/jit/sseForms.ts: MOVD xmm, r32; PXOR; PUNPCKLBW; PSHUFD;
 * PCMPEQB; PMOVMSKB r32, xmm), run interpreted and compiled in lockstep
 * (diffRig.ts) on byte patterns with equal, zero and top-bit bytes, every
 * register pairing (the destination as source too), with the results
 * stored to memory (MOVDQU, a handler call) and compared; and sseGate's
 * faults (#UD without CR4.OSFXSR, #NM with CR0.TS) raised in the middle of
 * a compiled block with the state the interpreter has there.
 */
import { describe, expect, it } from 'vitest';
import { untranslated } from '../../../core/cpu/jit/translate.ts';
import { DATA, diffProgram, type DiffResult } from './diffRig.ts';

const hex = (v: number) => `0x${(v >>> 0).toString(16)}`;
const PATTERNS = [0, 0xffffffff, 0x80008000, 0x00ff00ff, 0x12345678, 0x7f80017f, 0x80808080, 0x01000100, 0x01010101];
const ENABLE_SSE = ['        mov eax, cr4', '        or eax, 0x200', '        mov cr4, eax'];

/** The SSE opcodes (hex) left to handlers in the compiled side's blocks. */
function handlerOpcodes(r: DiffResult): string[] {
  const set = new Set<string>();
  for (const b of r.jitted.blocks.values()) for (const i of untranslated(b)) if (i.opcode >= 0x100) set.add(i.opcode.toString(16));
  return [...set].sort();
}

describe('block compiler: SSE2 integer register forms', () => {
  it('MOVD, PXOR, PUNPCKLBW, PSHUFD, PCMPEQB and PMOVMSKB match the interpreter', () => {
    const lines = [...ENABLE_SSE, `        mov edi, ${hex(DATA)}`];
    let n = 0;
    for (const a of PATTERNS) {
      for (const b of PATTERNS) {
        const x = n % 4, y = (n * 3 + 1) % 4; // xmm registers; x === y now and then
        lines.push(
          `        mov eax, ${hex(a)}`,
          `        mov ebx, ${hex(b)}`,
          `        movd xmm${x}, eax`,
          `        movd xmm${y}, ebx`,
          `        pshufd xmm${y}, xmm${y}, ${(n * 37) & 0xff}`,
          `        punpcklbw xmm${x}, xmm${y}`,
          `        pcmpeqb xmm${(x + 1) % 4}, xmm${x}`,
          `        pmovmskb ecx, xmm${x}`,
          `        pmovmskb edx, xmm${(x + 1) % 4}`,
          `        pxor xmm${(x + 2) % 4}, xmm${y}`,
          `        pcmpeqb xmm${y}, xmm${y}`,
          '        mov [edi], ecx',
          '        mov [edi + 4], edx',
          `        movdqu [edi + 8], xmm${x}`,
          `        movdqu [edi + 24], xmm${(x + 1) % 4}`,
          `        movdqu [edi + 40], xmm${(x + 2) % 4}`,
          `        movdqu [edi + 56], xmm${y}`,
          '        movd xmm5, eax',
          '        movd xmm6, ebx',
          '        pcmpeqb xmm5, xmm6                ; bytes of a ^ b of every value (1 included)',
          '        pmovmskb esi, xmm5',
          '        mov [edi + 72], esi',
          '        add edi, 76',
        );
        n++;
      }
    }
    // MOVDQU stays a handler call: blocks hold up to 4 per case.
    const r = diffProgram(lines.join('\n'), { maxHandlerCalls: 64 });
    expect(handlerOpcodes(r)).toEqual(['120', '122', '17f']); // MOV r32, CR4 and CR4, r32; MOVDQU m128, xmm
    expect(r.compiledInstructions).toBeGreaterThan(n * 16);
  });

  it('without CR4.OSFXSR: #UD at the instruction, registers and flags as the interpreter leaves them', () => {
    const r = diffProgram([
      ...ENABLE_SSE, '        mov ebx, 1', '        movd xmm1, ebx', '        and eax, ~0x200', '        mov cr4, eax',
      '        jmp .b', '.b:     add ebx, 5', '        cmp ebx, 3', '        pxor xmm0, xmm1', '        inc ebx',
    ].join('\n'), { maxHandlerCalls: 8 });
    expect(r.exceptions).toBe(1);
  });

  it('with CR0.TS: #NM at the instruction', () => {
    const r = diffProgram([
      ...ENABLE_SSE, '        mov ebx, 1', '        mov eax, cr0', '        or eax, 8', '        mov cr0, eax',
      '        jmp .b', '.b:     add ebx, 5', '        cmp ebx, 3', '        pmovmskb ecx, xmm1', '        inc ebx',
    ].join('\n'), { maxHandlerCalls: 8 });
    expect(r.exceptions).toBe(1);
  });
});
