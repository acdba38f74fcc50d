/**
 * The forms the compiler translates inline beyond the interpreter's fast
 * forms that the Tiny Linux shell loop runs most (measure/shellLoopForms.ts):
 * SHL/SHR/SAR r32 by an immediate and by 1, CMP m8, r8, PUSH m32, JMP m32
 * and CALL m32. Each runs interpreted and compiled in lockstep (diffRig.ts),
 * compared after every block, with the flags each leaves read back through
 * every condition and through PUSHFD.
 */
import { describe, expect, it } from 'vitest';
import { DATA, diffProgram } from './diffRig.ts';

const CONDITIONS = ['jo', 'jno', 'jb', 'jae', 'je', 'jne', 'jbe', 'ja', 'js', 'jns', 'jp', 'jnp', 'jl', 'jge', 'jle', 'jg'];
const VALUES = [0, 1, 0x80000000, 0xffffffff, 0x40000000, 0x1234abcd, 0xc0000001, 0x7fffffff];

describe('block compiler: further inline forms', () => {
  it('SHL, SAL, SHR, SAR r32 by every immediate count and by 1: results and flags', () => {
    const lines: string[] = [];
    let n = 0;
    for (const v of VALUES) {
      for (const op of ['shl', 'shr', 'sar', 'sal']) {
        const counts = v === 0x1234abcd ? Array.from({ length: 32 }, (_, k) => k) : [0, 1, 2, 7, 15, 30, 31];
        for (const c of counts) {
          const cc = CONDITIONS[n % 16];
          const insn = c === 1 && n % 2 === 0 ? `${op} edx, 1` : `${op} edx, ${c}`;
          lines.push(
            `        mov eax, 0x${(n & 1 ? 0x8d5 : 0).toString(16)}`,
            '        push eax',
            '        popfd                        ; flags a count of 0 must leave alone',
            `        mov edx, 0x${v.toString(16)}`,
            `        ${insn}`,
            `        ${cc} .t${n}`,
            '        inc ecx',
            `.t${n}:  mov [edi], edx`,
            '        pushfd',
            '        pop eax',
            '        mov [edi + 4], eax',
            '        add edi, 8',
          );
          n++;
        }
      }
    }
    const r = diffProgram(`        mov edi, 0x${DATA.toString(16)}\n        xor ecx, ecx\n${lines.join('\n')}`, { maxHandlerCalls: 4 });
    expect(r.compiledInstructions).toBeGreaterThan(n * 8);
  });

  it('SHL, SAL, SHR, SAR r32 by CL, every count (0 and masked counts included): results and flags', () => {
    const lines: string[] = [];
    let n = 0;
    for (const v of VALUES) {
      for (const op of ['shl', 'shr', 'sar', 'sal']) {
        const counts = v === 0x1234abcd ? Array.from({ length: 40 }, (_, k) => k) : [0, 1, 2, 7, 31, 32, 33, 0x41, 0xff];
        for (const c of counts) {
          const cc = CONDITIONS[n % 16];
          // The shifted register is ECX itself now and then (the count is read first).
          const dst = n % 5 === 0 ? 'ecx' : 'edx';
          lines.push(
            `        mov eax, 0x${(n & 1 ? 0x8d5 : 0).toString(16)}`,
            '        push eax',
            '        popfd                        ; flags a count of 0 must leave alone',
            `        mov ${dst}, 0x${v.toString(16)}`,
            `        mov ${dst === 'ecx' ? 'ebx' : 'ecx'}, 0x${(c + (v & 0xffff00)).toString(16)}`,
            ...(dst === 'ecx' ? [`        mov cl, 0x${c.toString(16)}`] : []),
            `        ${op} ${dst}, cl`,
            `        ${cc} .t${n}`,
            '        inc esi',
            `.t${n}:  mov [edi], ${dst}`,
            '        pushfd',
            '        pop eax',
            '        mov [edi + 4], eax',
            '        add edi, 8',
          );
          n++;
        }
      }
    }
    const r = diffProgram(`        mov edi, 0x${DATA.toString(16)}\n        xor esi, esi\n${lines.join('\n')}`, { maxHandlerCalls: 4 });
    expect(r.compiledInstructions).toBeGreaterThan(n * 8);
  });

  it('CMP m8, r8 with every condition, and a #PF on its read in the middle of a block', () => {
    const lines: string[] = [];
    for (let n = 0; n < 64; n++) {
      lines.push(
        `        mov bl, ${(n * 37) & 0xff}`,
        `        add esi, 1`,
        `        cmp [esi + 0x${(DATA + 0x7fe0).toString(16)}], bl   ; the 33rd reaches the absent page`,
        `        ${CONDITIONS[n % 16]} .c${n}`,
        '        inc ecx',
        `.c${n}:`,
      );
    }
    const r = diffProgram(`        xor esi, esi\n        xor ecx, ecx\n${lines.join('\n')}`, { notPresent: [DATA + 0x8000] });
    expect(r.exceptions).toBe(1);
    expect(r.compiledInstructions).toBeGreaterThan(200);
  });

  it('PUSH m32, JMP m32 and CALL m32 through a table, with the stack and the pushed data across page boundaries, and an absent page', () => {
    const r = diffProgram(`
        mov dword [0x${DATA.toString(16)}], .a
        mov dword [0x${(DATA + 4).toString(16)}], .b
        mov dword [0x${(DATA + 8).toString(16)}], .sub
        mov esp, 0x61006                                ; the pushes in .sub cross into page 0x60000
        mov ecx, 40
        xor edx, edx
.loop:  push dword [0x${(DATA + 0xf82).toString(16)} + ecx * 4]   ; random data: one read across pages, then the absent page
        pop eax
        add edx, eax
        mov ebx, ecx
        and ebx, 1
        jmp [0x${DATA.toString(16)} + ebx * 4]
.a:     add edx, 3
        call [0x${(DATA + 8).toString(16)}]
        jmp .next
.b:     add edx, 5
.next:  dec ecx
        jnz .loop
        mov esp, 0x80000
        jmp .end
.sub:   push dword [esp]
        add esp, 4
        ret
.end:
`, { notPresent: [DATA + 0x1000] });
    expect(r.exceptions).toBe(1);
    expect(r.compiledInstructions).toBeGreaterThan(200);
  });
});
