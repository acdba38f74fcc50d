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
import { describe, expect, it } from 'vitest';
import { DATA, diffProgram, leftToHandlers, MMIO, randoms, STOP_MMIO_HALF } from './diffRig.ts';

const hex = (v: number) => `0x${(v >>> 0).toString(16)}`;
const CONDITIONS = ['jc', 'jo', 'jz', 'js', 'jp', 'jl', 'jbe', 'jle'];
const SETUPS = ['add esi, eax', 'inc edi', 'sub esi, 1\n        inc edi', 'imul esi, eax', 'stc', 'clc', 'std', 'cld', 'sti', 'cli', 'cmp eax, esi', ''];

describe('block compiler: PUSHFD, POP m32 and CLI inline', () => {
  it('PUSHFD after every flag state, POP m32 (aligned, unaligned, across a page, addressed through ESP after the pop), CLI', () => {
    const lines: string[] = [];
    let n = 0;
    for (const a of [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, ...randoms(6, 5)]) {
      for (let k = 0; k < SETUPS.length; k++) {
        const at = DATA + [0x100, 0x201, 0xffe, 0x1ffc][n % 4] + 8 * (n & 0x3f);
        lines.push(
          `        mov eax, ${hex(a)}`,
          `        mov esi, ${hex(a ^ 0x5bd1e995 ^ n)}`,
          `        jmp .s${n}`,
          `.s${n}:  ${SETUPS[k]}`,
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
          `        ${CONDITIONS[n % CONDITIONS.length]} .a${n}`,
          `.a${n}:  add edi, ebx`,
          '        cld',
          '        cli',
          `        jmp .b${n}`,
          `.b${n}:`,
        );
        n++;
      }
    }
    const r = diffProgram(`        xor edi, edi\n${lines.join('\n')}`);
    expect(leftToHandlers(r, (i) => i.opcode === 0x9c || i.opcode === 0xfa || i.opcode === 0x8f)).toEqual([]);
    expect(r.compiledInstructions).toBeGreaterThan(n * 12);
  });

  it('POP m32 onto an absent page (#PF, ESP as before) and onto a device that asks to stop', () => {
    const lines: string[] = [];
    for (let n = 0; n < 40; n++) {
      lines.push(
        '        add ecx, 4',
        `        push ${hex(n * 0x01010101)}`,
        '        add esi, ecx',
        `        pop dword [ecx + ${hex(DATA + 0x2000 - 4 * 30)}]   ; the 30th writes into the absent page`,
        '        pushfd',
        `        pop dword [${hex(MMIO + (n % 2 === 0 ? STOP_MMIO_HALF : 0) + 4 * n)}]`,
        '        adc edi, esi',
        `        ${CONDITIONS[n % CONDITIONS.length]} .p${n}`,
        `.p${n}:`,
      );
    }
    const r = diffProgram(`        xor ecx, ecx\n${lines.join('\n')}`, { notPresent: [DATA + 0x2000] });
    expect(r.exceptions).toBe(1);
    expect(r.compiledInstructions).toBeGreaterThan(150);
  });
});
