/**
 * The memory forms the compiler translates inline because Tiny Linux's boot
 * ran them in hot blocks (measure/shellLoopWhere.ts): the ALU family's
 * read-modify-write forms on m32 (with r32, imm8, imm32), INC/DEC/NEG/NOT
 * m32, SHL/SHR/SAR m32 (by CL, imm8 and 1), MOVZX r32,m16, MOV r16,m16 and m16,r16, and besides MOVSX, CMOVcc and NEG
 * r32. Each runs interpreted and compiled in lockstep (diffRig.ts), compared
 * after every block: results, the flags read back through a condition and
 * PUSHFD, unaligned and page-crossing operands, #PF and #GP on the access
 * (for an RMW operand before anything is written), and device accesses
 * that ask the CPU to stop.
 */
import { describe, expect, it } from 'vitest';
import { untranslated } from '../../../core/cpu/jit/translate.ts';
import { DATA, diffProgram, type DiffResult, MMIO, STOP_MMIO_HALF } from './diffRig.ts';

const CONDITIONS = ['jo', 'jno', 'jb', 'jae', 'je', 'jne', 'jbe', 'ja', 'js', 'jns', 'jp', 'jnp', 'jl', 'jge', 'jle', 'jg'];
const CC = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];
const VALUES = [0, 1, 0x80000000, 0xffffffff, 0x7fffffff, 0x1234abcd];
const hex = (v: number) => `0x${(v >>> 0).toString(16)}`;

/** The opcodes (hex) the compiler left to handlers in the blocks the compiled side has in its cache. */
function handlerOpcodes(r: DiffResult): string[] {
  const set = new Set<string>();
  for (const b of r.jitted.blocks.values()) for (const i of untranslated(b)) set.add(i.opcode.toString(16));
  return [...set].sort();
}

/**
 * Sets the arithmetic flags to `flags`, runs `insn`, branches on condition `n % 16`, stores the flags at [edi].
 * The block from PUSHFD on holds two handler calls (PUSHFD, POPFD): the tests allow two
 * (maxHandlerCalls), so a form without a translation would leave it interpreted and fail the
 * count of compiled instructions.
 */
function checked(n: number, flags: number, setup: string[], insn: string): string[] {
  return [
    `        mov eax, ${hex(flags)}`,
    '        push eax',
    '        popfd',
    ...setup,
    `        ${insn}`,
    `        ${CONDITIONS[n % 16]} .t${n}`,
    '        inc ebp',
    `.t${n}:  pushfd`,
    '        pop eax',
    '        mov [edi], eax',
    '        add edi, 4',
  ];
}

describe('block compiler: memory forms', () => {
  it('ADD/OR/ADC/SBB/AND/SUB/XOR on m32 with r32, imm8 and imm32, both operand orders, INC/DEC/NEG/NOT m32: results and flags', () => {
    const lines: string[] = [];
    let n = 0;
    const forms = (op: string, v: number) => [`${op} dword [esi], ebx`, `${op} dword [esi], ${(v & 0xff) - 0x80}`, `${op} dword [esi], ${hex(v ^ 0x5a5a5a5a)}`, `${op} ebx, [esi]`];
    for (const v of VALUES) {
      for (const op of ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor']) {
        for (const insn of forms(op, v)) {
          // CF set and clear alternately (ADC/SBB read it); the operand unaligned every other time.
          lines.push(...checked(n, n & 1 ? 0x8d5 : 0, [`        mov ebx, ${hex(v)}`, `        lea esi, [edi + 0x${(0x4000 + (n & 3)).toString(16)}]`], insn));
          n++;
        }
      }
      for (const insn of ['inc dword [esi]', 'dec dword [esi]', 'neg dword [esi]', 'not dword [esi]']) {
        for (const flags of [0, 0x8d5]) {
          lines.push(...checked(n, flags, [`        lea esi, [edi + 0x${(0x4000 + (n & 3)).toString(16)}]`, `        mov dword [esi], ${hex(v)}`], insn));
          n++;
        }
      }
    }
    const r = diffProgram(`        mov edi, ${hex(DATA)}\n        xor ebp, ebp\n${lines.join('\n')}`, { maxHandlerCalls: 2 });
    expect(r.compiledInstructions).toBeGreaterThan(n * 8);
    expect(handlerOpcodes(r)).toEqual(['9d', 'f4']); // POPFD, HLT (PUSHFD and CLI: irqFlagForms.ts)
  });

  it('TEST m32, imm32 and CLD (in the kernel system-call entry): results, flags and DF read back through PUSHFD', () => {
    const lines: string[] = [];
    let n = 0;
    for (const v of VALUES) {
      for (const imm of [0, 1, 0x80000000, 0xffffffff, 0x00ff00ff]) {
        // The operand unaligned every other time (the accessor's path), DF set by STD before CLD or left set.
        lines.push(...checked(n, n & 1 ? 0x8d5 : 0, [`        lea esi, [edi + 0x${(0x4000 + (n & 3)).toString(16)}]`, `        mov dword [esi], ${hex(v)}`], `test dword [esi], ${hex(imm)}`));
        n++;
      }
      lines.push(...checked(n, 0x8d5, ['        std'], 'cld'));
      n++;
    }
    const r = diffProgram(`        mov edi, ${hex(DATA)}\n        xor ebp, ebp\n${lines.join('\n')}`, { maxHandlerCalls: 2 });
    expect(r.compiledInstructions).toBeGreaterThan(n * 8);
    expect(handlerOpcodes(r)).toEqual(['9d', 'f4', 'fd']); // POPFD, HLT, STD (PUSHFD and CLI: irqFlagForms.ts)
  });

  it('RMW on m32 across a page boundary, into an absent page (#PF before anything is written) and past a segment limit (#GP)', () => {
    // Page DATA+0x2000 and DATA+0x6000 start absent; the handler maps them and retries. The
    // operands at [esi + 0x1000] reach the absent page by crossing into it on the 6th pass.
    const r = diffProgram(`
        mov ecx, 12
        mov esi, ${hex(DATA + 0xff8)}
        xor edx, edx
        mov ebx, 0x9abcdef0
.loop:  add [esi], ecx                   ; crosses from the page into the next one
        sbb dword [esi + 0x1000], 0x12345 ; crosses into the absent page DATA+0x2000
        jc .c
        adc [esi + 4], ebx
.c:     xor dword [edx + ${hex(DATA + 0x5c00)}], -7   ; the absent page DATA+0x6000 on the 5th pass
        seto al
        or [esi + 8], eax
        inc dword [esi + 0x800]
        jz .z
        neg dword [esi + 0x1001]
.z:     dec dword [esi + 0x1002]
        sub [esi + 0x900], ebx
        add edx, 0x100
        inc esi
        dec ecx
        jnz .loop
        mov ecx, 8
        mov esi, 0x27fe0
.gp:    mov eax, 0x18                    ; DS limit 0x27fff: the handler makes DS flat and retries
        mov ds, eax
        add dword [esi + 0x0c], 3        ; past the limit from the 4th pass on
        and [esi + 0x10], ecx
        adc ebx, ecx
        add esi, 4
        dec ecx
        jnz .gp
`, { notPresent: [DATA + 0x2000, DATA + 0x6000] });
    expect(r.exceptions).toBeGreaterThanOrEqual(5);
    expect(r.compiledInstructions).toBeGreaterThan(100);
    expect(handlerOpcodes(r)).toEqual(['101', '120', '8e', 'cf', 'f4']); // the fault handlers' INVLPG, MOV from CR2, MOV Sreg, IRETD; HLT
  });

  it('RMW on a device: the read and the write reach it, and a stop request ends the block after the instruction', () => {
    const r = diffProgram(`
        mov ecx, 8
        xor edx, edx
        mov esi, ${hex(MMIO)}
.loop:  add [esi + 0x7f0], ecx           ; a plain device operand
        adc edx, [esi + 0x7f0]
        sub dword [esi + ${hex(STOP_MMIO_HALF + 0x10)}], 5   ; its read and write ask to stop
        sbb edx, ecx
        inc dword [esi + ${hex(STOP_MMIO_HALF + 0x20)}]
        jz .z
        add edx, 3
.z:     xor [esi + ${hex(STOP_MMIO_HALF + 0x32)}], edx      ; unaligned
        cmovs edx, [esi + ${hex(STOP_MMIO_HALF + 0x40)}]
        movzx eax, word [esi + ${hex(STOP_MMIO_HALF + 0x46)}]
        add edx, eax
        mov ax, [esi + ${hex(STOP_MMIO_HALF + 0x4a)}]
        mov [esi + ${hex(STOP_MMIO_HALF + 0x4e)}], dx
        add edx, eax
        dec ecx
        jnz .loop
        mov [${hex(DATA)}], edx
`, { wasm: false }); // translate.ts's slow paths (WebAssembly hands device accesses over: wasmRegions.test.ts)
    expect(r.compiledInstructions).toBeGreaterThan(60);
    expect(handlerOpcodes(r)).toEqual(['f4']); // HLT
  });

  it('MOVZX r32,m16, MOVSX, MOV r16,m16, MOV m16,r16, MOV r16,r16, CMOVcc (every condition, register and memory) and NEG r32', () => {
    const lines: string[] = [];
    let n = 0;
    for (const v of VALUES) {
      for (let cc = 0; cc < 16; cc++) {
        const off = 0x4000 + ((n * 3) & 7);
        lines.push(...checked(n, n & 1 ? 0x8d5 : (n & 2 ? 0x40 : 0x880), [
          `        mov ebx, ${hex(v)}`,
          `        mov edx, ${hex(~v)}`,
          `        movzx ecx, word [edi + 0x${off.toString(16)}]`,
          `        mov dx, [edi + 0x${(off + 1).toString(16)}]`,
          `        mov [edi + 0x${(off + 0x800).toString(16)}], bx`,
          '        mov cx, bx',
          `        movsx esi, word [edi + 0x${(off + 3).toString(16)}]`,
          `        movsx eax, byte [edi + 0x${(off + 5).toString(16)}]`,
          '        add esi, eax',
          '        movsx eax, bh',
          '        add esi, eax',
          '        movsx eax, dx',
          '        add esi, eax',
          '        mov [edi + 0x1008], esi',
          `        cmov${CC[cc]} edx, ebx`,
          `        cmov${CC[(cc + 5) & 15]} ecx, [edi + 0x${(off + 2).toString(16)}]`,
          '        mov [edi + 0x1000], edx',
          '        mov [edi + 0x1004], ecx',
        ], 'neg ebx'));
        lines.push('        mov [edi + 0xffc], ebx');
        n++;
      }
    }
    const r = diffProgram(`        mov edi, ${hex(DATA)}\n        xor ebp, ebp\n${lines.join('\n')}`, { maxHandlerCalls: 2, wasm: false }); // translate.ts's forms and slow paths
    expect(r.compiledInstructions).toBeGreaterThan(n * 14);
    expect(handlerOpcodes(r)).toEqual(['9d', 'f4']); // POPFD, HLT (PUSHFD and CLI: irqFlagForms.ts)
  });

  it('word loads and stores and CMOVcc m32 across a page boundary and into an absent page', () => {
    const r = diffProgram(`
        mov ecx, 8
        mov esi, ${hex(DATA + 0xffa)}
        xor edx, edx
.loop:  movzx eax, word [esi]            ; crosses at 0xfff
        add edx, eax
        mov ax, [esi + 0x1002]           ; into the absent page DATA+0x2000 on the 4th pass
        mov [esi + 0x3000], dx           ; into the absent page DATA+0x4000 on the 6th pass
        cmp eax, edx
        cmovb ebx, [esi + 0x4000]        ; DATA+0x5000 on the 4th pass, read whatever the condition
        add edx, ebx
        movzx ebx, word [esi + 0x5002]   ; DATA+0x6000 on the 4th pass
        movsx eax, word [esi + 0x6002]   ; DATA+0x7000 on the 4th pass
        add edx, eax
        inc esi
        dec ecx
        jnz .loop
`, { notPresent: [DATA + 0x2000, DATA + 0x4000, DATA + 0x5000, DATA + 0x6000, DATA + 0x7000] });
    expect(r.exceptions).toBe(5);
    expect(r.compiledInstructions).toBeGreaterThan(40);
    expect(handlerOpcodes(r)).toEqual(['101', '120', 'cf', 'f4']); // the fault handler's INVLPG, MOV from CR2, IRETD; HLT
  });

  it('SHL/SAL/SHR/SAR m32 by CL (every count, 0 and masked ones included), by an immediate and by 1: results and flags', () => {
    const lines: string[] = [];
    let n = 0;
    for (const v of VALUES) {
      for (const op of ['shl', 'shr', 'sar', 'sal']) {
        const counts = v === 0x1234abcd ? Array.from({ length: 40 }, (_, k) => k) : [0, 1, 2, 31, 32, 33];
        for (const c of counts) {
          const insn = n % 3 === 0 ? `${op} dword [esi], cl` : n % 3 === 1 ? `${op} dword [esi], ${c & 31 || 1}` : `${op} dword [esi], 1`;
          lines.push(...checked(n, n & 1 ? 0x8d5 : 0, [
            `        lea esi, [edi + 0x${(0x4000 + (n & 3)).toString(16)}]`,
            `        mov dword [esi], ${hex(v)}`,
            `        mov ecx, ${hex(c + (v & 0xffff00))}`,
          ], insn));
          n++;
        }
      }
    }
    const r = diffProgram(`        mov edi, ${hex(DATA)}\n        xor ebp, ebp\n${lines.join('\n')}`, { maxHandlerCalls: 2 });
    expect(r.compiledInstructions).toBeGreaterThan(n * 8);
    expect(handlerOpcodes(r)).toEqual(['9d', 'f4']); // POPFD, HLT (PUSHFD and CLI: irqFlagForms.ts)
  });

  it('shifts of m32 across a page boundary, into an absent page, and of a device operand by a count of 0 (read, not written)', () => {
    const r = diffProgram(`
        mov ecx, 10
        mov esi, ${hex(DATA + 0xff9)}
        mov edi, ${hex(MMIO + STOP_MMIO_HALF)}
        xor edx, edx
.loop:  shr dword [esi], cl              ; crosses at 0xffd-0xfff
        rcl edx, 1
        sar dword [esi + 0x1004], cl     ; into the absent page DATA+0x2000 on the 4th pass
        shl dword [esi + 0x2004], 3      ; DATA+0x3000 on the 4th pass
        adc edx, 0
        mov eax, ecx
        and ecx, 1
        shl dword [edi + 0x10], cl       ; a device operand: asks to stop on the read, whatever the count
        sar dword [edi + 0x14], 1
        mov ecx, eax
        dec ecx
        jnz .loop
        mov [${hex(DATA)}], edx
`, { notPresent: [DATA + 0x2000, DATA + 0x3000] });
    expect(r.exceptions).toBe(2);
    expect(r.compiledInstructions).toBeGreaterThan(60);
    expect(handlerOpcodes(r)).toEqual(['101', '120', 'cf', 'd1', 'f4']); // RCL; the fault handler's INVLPG, MOV from CR2, IRETD; HLT
  });

  it('a shift of m32 on the page of the code: by 0 it writes nothing (the block stays), by 1 it drops the page\'s blocks', () => {
    const r = diffProgram(`
        mov ecx, 12
        xor edx, edx
.loop:  mov eax, ecx
        shr ecx, 2
        and ecx, 1                       ; 1 on 4 passes of 12
        shr dword [.cdata], cl           ; a write there drops the blocks of this page and ends the block
        add edx, [.cdata]
        mov ecx, eax
        dec ecx
        jnz .loop
        jmp .end
.cdata: dd 0x87654321
.end:   mov [${hex(DATA)}], edx
`);
    expect(r.compiledInstructions).toBeGreaterThan(30);
  });
});
