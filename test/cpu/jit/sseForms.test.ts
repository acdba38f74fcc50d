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
import { describe, it } from 'vitest';
import { DATA, leftToHandlers, MMIO, STOP_MMIO_HALF, type DiffResult } from './diffRig.ts';
import { diffForms, hex, newBlock, pairs } from './formCases.ts';

const PATTERNS = [0, 0xffffffff, 0x80008000, 0x00ff00ff, 0x12345678, 0x7f80017f, 0x80808080, 0x01000100, 0x01010101];
const ENABLE_SSE = ['        mov eax, cr4', '        or eax, 0x200', '        mov cr4, eax'];

/** The SSE opcodes (hex) left to handlers in the compiled side's blocks. */
const handlerOpcodes = (r: DiffResult) => leftToHandlers(r, (i) => i.opcode >= 0x100);

describe('block compiler: SSE2 integer register forms', () => {
  it('MOVD, PXOR, PUNPCKLBW, PSHUFD, PCMPEQB and PMOVMSKB match the interpreter', () => {
    diffForms({
      before: [...ENABLE_SSE, `        mov edi, ${hex(DATA)}`],
      cases: pairs(PATTERNS, PATTERNS).map(([a, b], n) => {
        const x = n % 4, y = (n * 3 + 1) % 4; // xmm registers; x === y now and then
        return [
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
        ];
      }),
      // MOVDQU stays a handler call: blocks hold up to 4 per case.
      rig: { maxHandlerCalls: 64 },
      leftToHandlers: handlerOpcodes,
      handlerCalls: ['120', '122', '17f'], // MOV r32, CR4 and CR4, r32; MOVDQU m128, xmm
      compiledPerCase: 16,
    });
  });

  // sseGate's faults: the gate closed before a block that reaches an SSE instruction after lazy flags.
  for (const [what, close, insn] of [
    ['without CR4.OSFXSR: #UD at the instruction, registers and flags as the interpreter leaves them',
      ['        movd xmm1, ebx', '        and eax, ~0x200', '        mov cr4, eax'], 'pxor xmm0, xmm1'],
    ['with CR0.TS: #NM at the instruction', ['        mov eax, cr0', '        or eax, 8', '        mov cr0, eax'], 'pmovmskb ecx, xmm1'],
  ] as const) {
    it(what, () => {
      diffForms({
        cases: [[...ENABLE_SSE, '        mov ebx, 1', ...close, ...newBlock('b'), '        add ebx, 5', '        cmp ebx, 3', `        ${insn}`, '        inc ebx']],
        rig: { maxHandlerCalls: 8 },
        exceptions: 1,
      });
    });
  }
});

/** The loads of sseLoadForm left to handlers (none: their slow paths are not handler calls of untranslated forms). */
const loadsLeftToHandlers = (r: DiffResult) => leftToHandlers(r, (i) => (i.opcode === 0x16f || i.opcode === 0x16e) && i.mod !== 3);

describe('block compiler: SSE2 loads from memory (MOVDQA, MOVDQU, MOVD xmm, m32)', () => {
  it('aligned, unaligned, across a page boundary, every destination register; stored back and compared', () => {
    // Linear DATA + 0x1000 maps another frame, so reading across into it from host memory would read the wrong bytes.
    diffForms({
      before: [...ENABLE_SSE, `        mov edi, ${hex(DATA + 0x8000)}`, `        mov dword [${hex(0x4000 + ((DATA + 0x1000) >> 12) * 4)}], ${hex(0x31003)}`, `        invlpg [${hex(DATA + 0x1000)}]`],
      cases: [0x100, 0x110, 0x104, 0x101, 0xff0, 0xff8, 0xffc, 0xffd, 0x1ff4].map((off, n) => {
        const x = n % 8;
        return [
          `        mov esi, ${hex(DATA + off)}`,
          `        add ebp, esi`,
          `        mov eax, [esi]                    ; the page in the TLB`,
          (off & 15) === 0 ? `        movdqa xmm${x}, [esi]` : `        movdqu xmm${x}, [esi]`,
          `        movdqu xmm${(x + 1) % 8}, [esi + 3]`,
          `        movdqu xmm${(x + 2) % 8}, [esi + 5]`,
          `        movdqu xmm${(x + 3) % 8}, [esi + 7]`,
          `        movd xmm${(x + 2) % 8}, [esi]        ; over a full register: the upper dwords cleared`,
          `        movd xmm${(x + 3) % 8}, [esi + 1]`,
          ...newBlock(`l${n}`, ['jc', 'jz', 'jo', 'js', 'jl'][n % 5]),
          `        movdqu [edi], xmm${x}`,
          `        movdqu [edi + 16], xmm${(x + 1) % 8}`,
          `        movdqu [edi + 32], xmm${(x + 2) % 8}`,
          `        movdqu [edi + 48], xmm${(x + 3) % 8}`,
          '        add edi, 64',
          ...newBlock(`m${n}`),
        ];
      }),
      rig: { maxHandlerCalls: 16 },
      leftToHandlers: loadsLeftToHandlers,
      compiledPerCase: 8,
    });
  });

  it('a #PF on a load in the middle of a block (the register unchanged), from a device that asks to stop, and #NM with CR0.TS', () => {
    diffForms({
      cases: [[
        ...ENABLE_SSE,
        `        mov esi, ${hex(DATA + 0x4000)}`,
        `        mov edi, ${hex(DATA + 0x8000)}`,
        ...newBlock('a'),
        '        add ebp, esi',
        '        movd xmm1, [esi - 4]',
        '        movdqa xmm1, [esi]                ; the page is absent: #PF, then again',
        '        mov eax, [esi + 0x1ff0]           ; its page in the TLB',
        '        movdqu xmm2, [esi + 0x1ff8]       ; across into the absent page 0x26000',
        '        movd xmm3, [esi + 0x3000]         ; the absent page 0x27000',
        '        jc .b',
        `.b:     movd xmm4, [${hex(MMIO + 0x20)}]`,
        `        movd xmm5, [${hex(MMIO + STOP_MMIO_HALF + 0x20)}]`,
        `        movdqu xmm6, [${hex(MMIO + STOP_MMIO_HALF + 0x40)}]`,
        '        movdqu [edi], xmm1',
        '        movdqu [edi + 16], xmm2',
        '        movdqu [edi + 32], xmm3',
        '        movdqu [edi + 48], xmm4',
        '        movdqu [edi + 64], xmm5',
        '        movdqu [edi + 80], xmm6',
        '        mov eax, cr0',
        '        or eax, 8',
        '        mov cr0, eax',
        ...newBlock('c'),
        '        add ebp, 5',
        '        movdqa xmm7, [esi]',
        '        inc ebp',
      ]],
      rig: { notPresent: [DATA + 0x4000, DATA + 0x6000, DATA + 0x7000], maxHandlerCalls: 16 },
      exceptions: 4, // three #PF, then #NM
      leftToHandlers: loadsLeftToHandlers,
    });
  });
});
