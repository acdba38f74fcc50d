/**
 * The forms core/cpu/jit/irqFlagForms.ts translates (PUSHFD, POP m32, CLI),
 * run interpreted and compiled in lockstep (diffRig.ts), which compares
 * registers, EFLAGS, memory and the instructions retired after each block:
 * PUSHFD after every flag state (lazy in the block's locals, INC's kept CF,
 * the CPU's, DF and IF set), the image popped into memory and a register;
 * POP m32 aligned and not, across a page boundary, addressed through ESP
 * (after the pop), onto an absent page (#PF: ESP as before) and onto a device
 * that asks to stop; CLI with IF set and clear.
 */
import { describe, it } from 'vitest';
import { DATA, leftToHandlers, MMIO, randoms, STOP_MMIO_HALF } from './diffRig.ts';
import { ABSENT_PAGE, condition, diffForms, hex, newBlock, ONE_PAGE_FAULT, pairs, times } from './formCases.ts';

const SETUPS = ['add esi, eax', 'inc edi', 'sub esi, 1\n        inc edi', 'imul esi, eax', 'stc', 'clc', 'std', 'cld', 'sti', 'cli', 'cmp eax, esi', ''];

describe('block compiler: PUSHFD, POP m32 and CLI inline', () => {
  it('PUSHFD after every flag state, POP m32 (aligned, unaligned, across a page, addressed through ESP after the pop), CLI', () => {
    diffForms({
      before: ['        xor edi, edi'],
      cases: pairs([0, 1, 0x7fffffff, 0x80000000, 0xffffffff, ...randoms(6, 5)], SETUPS).map(([a, setup], n) => {
        const at = DATA + [0x100, 0x201, 0xffe, 0x1ffc][n % 4] + 8 * (n & 0x3f);
        return [
          `        mov eax, ${hex(a)}`,
          `        mov esi, ${hex(a ^ 0x5bd1e995 ^ n)}`,
          ...newBlock(`s${n}`),
          `        ${setup}`,
          '        pushfd',
          `        pop dword [${hex(at)}]`,
          '        pushfd',
          `        ${n % 3 === 0 ? 'cli' : 'nop'}`,
          '        pushfd',
          '        pop ebx',
          '        pop ecx',
          `        push ${hex(a)}`,
          `        pop dword [esp - 4]`,
          `        push ${hex(a ^ n)}`,
          `        pop dword [esp + ${[0, 4, -8, 0x10][n % 4]}]`,
          `        push ${hex(a + n)}`,
          `        pop dword [esp + esi * 0 + 8]`,
          `        push ${hex(n)}`,
          `        pop dword [edi * 2 + ${hex(DATA + 0x3000 + 4 * (n & 0xff))}]`,
          ...newBlock(`a${n}`, condition(n)),
          `        add edi, ebx`,
          '        cld',
          '        cli',
          ...newBlock(`b${n}`),
        ];
      }),
      leftToHandlers: (r) => leftToHandlers(r, (i) => i.opcode === 0x9c || i.opcode === 0xfa || i.opcode === 0x8f),
      compiledPerCase: 12,
    });
  });

  it('POP m32 onto an absent page (#PF, ESP as before) and onto a device that asks to stop', () => {
    diffForms({
      before: ['        xor ecx, ecx'],
      cases: times(40, (n) => [
        '        add ecx, 4',
        `        push ${hex(n * 0x01010101)}`,
        '        add esi, ecx',
        `        pop dword [ecx + ${hex(ABSENT_PAGE - 4 * 30)}]   ; the 30th writes into the absent page`,
        '        pushfd',
        `        pop dword [${hex(MMIO + (n % 2 === 0 ? STOP_MMIO_HALF : 0) + 4 * n)}]`,
        '        adc edi, esi',
        ...newBlock(`p${n}`, condition(n)),
      ]),
      ...ONE_PAGE_FAULT,
      compiledMoreThan: 150,
    });
  });
});
