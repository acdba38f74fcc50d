/**
 * Structured differential cases for the block compiler: each program runs
 * interpreted and compiled in lockstep (diffRig.ts), compared after every
 * block. Each case also checks that the compiled side really ran compiled
 * code, and what the program computed, so a case cannot pass by compiling
 * nothing.
 */
import { describe, expect, it } from 'vitest';
import { DATA, diffProgram, MMIO, STOP_MMIO_HALF } from './diffRig.ts';

const ALU = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'];
const CONDITIONS = ['jo', 'jno', 'jb', 'jae', 'je', 'jne', 'jbe', 'ja', 'js', 'jns', 'jp', 'jnp', 'jl', 'jge', 'jle', 'jg'];
const VALUES = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0x1234abcd, 0xfedc0081, 0x80];

describe('block compiler, structured cases (interpreted vs compiled, compared after every block)', () => {
  it('every ALU operation in every register form, with every condition read from its flags', () => {
    const lines: string[] = [];
    let n = 0;
    for (const a of VALUES) {
      for (const b of VALUES.slice(0, 6)) {
        for (const [k, op] of ALU.entries()) {
          // Each block: set operands, one ALU form, then a Jcc reading the flags it left (and a
          // second block that reads them again through a different condition).
          const cc = CONDITIONS[(n * 5 + k) % 16];
          const cc2 = CONDITIONS[(n * 3 + k + 7) % 16];
          const form = n % 4;
          const insn = form === 0 ? `${op} edx, ebx`
            : form === 1 ? `db 0x${((k << 3) | 3).toString(16)}, 0xd3` // op edx, ebx in the r32, r/m32 encoding
              : form === 2 ? `${op} edx, byte -3`
                : `db 0x81, 0x${(0xc2 | (k << 3)).toString(16)}\n        dd 0x40000001`;
          lines.push(
            `        mov eax, 0x${(n & 1 ? 0x8d5 : 0).toString(16)}`,
            '        push eax',
            '        popfd                        ; known CF for ADC/SBB',
            `        mov edx, 0x${a.toString(16)}`,
            `        mov ebx, 0x${b.toString(16)}`,
            `        ${insn}`,
            `        ${cc} .t${n}`,
            '        inc ecx',
            `.t${n}:  mov [edi], edx`,
            `        ${cc2} .u${n}`,
            '        inc esi',
            `.u${n}:  add edi, 4`,
          );
          n++;
        }
      }
    }
    const r = diffProgram(`        mov edi, 0x${DATA.toString(16)}\n        xor ecx, ecx\n        xor esi, esi\n${lines.join('\n')}`);
    expect(r.compiledInstructions).toBeGreaterThan(n * 4);
  });

  it('INC and DEC keep CF through lazy flags from every kind of producer', () => {
    const lines: string[] = [];
    let label = 0;
    for (const op of ['add', 'sub', 'and', 'cmp', 'inc', 'dec']) {
      for (const [a, b] of [[0xffffffff, 1], [0, 1], [0x7fffffff, 0xffffffff]]) {
        const producer = op === 'inc' || op === 'dec' ? `${op} eax` : `${op} eax, ebx`;
        for (const cc of ['jb', 'jae', 'jo', 'jz', 'js', 'jp', 'jl', 'jle', 'ja', 'jbe']) {
          lines.push(
            `        mov eax, 0x${a.toString(16)}`,
            `        mov ebx, 0x${b.toString(16)}`,
            `        ${producer}`,
            '        inc edx',
            '        dec ecx',
            `        ${cc} .k${label}`,
            '        add esi, 3',
            `.k${label}:`,
          );
          label++;
        }
      }
    }
    // And one outcome checked outright: CF set before INC survives it, so JA (CF = 0 and ZF = 0) is not taken.
    lines.push('        stc', '        mov eax, 5', '        inc eax', '        ja .taken', '        mov edi, 0x600d', '.taken:');
    const r = diffProgram(`        xor ecx, ecx\n        xor edx, edx\n        xor esi, esi\n        xor edi, edi\n${lines.join('\n')}`);
    expect(r.compiledInstructions).toBeGreaterThan(100);
    expect(r.interpreted.regs[7]).toBe(0x600d);
  });

  it('loads, stores and compares in every addressing form, including data across a page boundary', () => {
    const mems = [
      '[esi]', '[esi + 3]', '[esi - 2]', '[esi + 0x1001]', '[esi + ecx*1]', '[esi + ecx*2 + 5]', '[esi + ecx*4 - 8]', '[esi + ecx*8 + 0x100]',
      '[ecx*4 + 0x21000]', '[0x21ffe]', '[0x21ffd]', '[esp + 8]', '[esp + ecx*4]', '[ebp + 4]', '[fs: esi + 1]',
    ];
    const lines: string[] = [];
    for (const m of mems) {
      lines.push(
        `        mov ebx, ${m}`,
        `        mov ${m.startsWith('[esp') || m.startsWith('[ebp') ? '[edi]' : m}, edx`,
        `        movzx eax, byte ${m}`,
        `        mov bh, ${m}`,
        `        mov ${m.startsWith('[esp') || m.startsWith('[ebp') ? '[edi + 1]' : m}, ah`,
        `        cmp dword ${m}, 0x12345`,
        '        jl $ + 3',
        '        inc edx',
        `        cmp byte ${m}, 0x80`,
        '        ja $ + 3',
        '        inc edx',
        `        cmp ebx, ${m}`,
        '        jg $ + 3',
        '        inc edx',
        `        cmp ${m}, eax`,
        '        jbe $ + 3',
        '        inc edx',
        `        cmp bl, ${m}`,
        '        js $ + 3',
        '        inc edx',
        `        lea eax, ${m}`,
        '        add edx, eax',
        `        mov [edi + 8], eax`,
        '        add edi, 12',
      );
    }
    const r = diffProgram([
      '        mov esi, 0x21ffe',
      '        mov ebp, esp',
      '        mov edi, 0x28000',
      '        mov ecx, 3',
      '        mov edx, 0x55aa1234',
      '        mov eax, 0x87654321',
      ...lines,
    ].join('\n'), { wasm: false }); // translate.ts's slow paths (WebAssembly hands these over: wasmRegions.test.ts)
    expect(r.compiledInstructions).toBeGreaterThan(mems.length * 20);
  });

  it('push, pop, call and ret, with the stack across a page boundary', () => {
    const r = diffProgram(`
        mov esp, 0x71006
        mov ecx, 5
.loop:  push ecx
        push dword 0x12345678
        push byte -2
        push esp
        call .fn
        pop eax
        pop ebx
        pop edx
        pop esi
        add edi, eax
        add edi, ebx
        push ecx
        call .fn2
        add edi, eax
        dec ecx
        jnz .loop
        jmp .done
.fn:    mov eax, [esp + 4]
        mov edx, [esp + 12]
        add eax, edx
        mov [esp + 8], eax
        ret
.fn2:   push dword 7
        pop eax
        mov edx, [esp + 4]
        add eax, edx
        ret 4
.done:  mov [0x20000], edi
`, { wasm: false }); // translate.ts's slow paths
    expect(r.compiledInstructions).toBeGreaterThan(50);
    expect(r.interpreted.regs[4]).toBe(0x71006); // balanced
  });

  it('a #PF in the middle of a compiled block leaves registers, flags, EIP and memory as the interpreter does', () => {
    // Pages 0x24000 and 0x25000 start not present; the handler maps them and retries.
    // The loop runs the block compiled first; the faults come on the 2nd and 4th passes.
    const r = diffProgram(`
        mov ecx, 6
        mov esi, 0x23ff0
.loop:  mov eax, ecx
        add ebx, eax
        sub edx, 3
        mov [esi + 0x0c], ecx        ; crosses into the next page on the last passes
        cmp eax, 0x7
        mov edi, [esi]               ; faults when esi reaches an absent page
        inc ebp
        mov [esi + 4], dl
        add esi, 0x800
        dec ecx
        jnz .loop
`, { notPresent: [0x24000, 0x25000, 0x26000] });
    expect(r.exceptions).toBeGreaterThanOrEqual(2);
    expect(r.compiledInstructions).toBeGreaterThan(20);
  });

  it('a #PF on a store and on a page-crossing load in the middle of a block', () => {
    const r = diffProgram(`
        mov ecx, 4
        mov esi, 0x2bffe
.loop:  add eax, ecx
        cmp eax, ebx
        mov [esi + 0x1000], eax      ; absent page: a store fault
        xor edx, eax
        mov ebx, [esi]               ; crosses from 0x2b000 into absent 0x2c000
        add esi, 0x2000
        dec ecx
        jnz .loop
`, { notPresent: [0x2c000, 0x2d000, 0x2e000, 0x2f000] });
    expect(r.exceptions).toBeGreaterThanOrEqual(3);
    expect(r.compiledInstructions).toBeGreaterThan(10);
  });

  it('a #GP on a data segment limit in the middle of a compiled block', () => {
    // DS limit 0x27fff (selector 0x18): the access at 0x28000 and up faults; the handler
    // reloads DS flat and retries. The loop reloads the limited DS each pass.
    const r = diffProgram(`
        mov ecx, 5
        mov esi, 0x27ff0
.loop:  mov eax, 0x18
        mov ds, eax
        add ebx, ecx
        cmp ebx, 9
        mov edx, [esi + 4]           ; inside the limit
        mov eax, [esi + 0x0e]        ; crosses the limit on the first pass
        sub ebx, eax
        mov [esi + 8], bl
        add esi, 4
        dec ecx
        jnz .loop
`);
    expect(r.exceptions).toBeGreaterThanOrEqual(2);
    expect(r.compiledInstructions).toBeGreaterThan(20);
  });

  it('a store into the running compiled block and into the next block (self-modifying code)', () => {
    const r = diffProgram(`
        mov ecx, 6
        xor edx, edx
.loop:  mov edi, .patch + 1
        mov eax, ecx
        add eax, 0x40
        mov [edi], al                ; rewrites the immediate of the instruction below
.patch: mov ebx, 0x11
        add edx, ebx
        mov edi, .next + 1
        mov [edi], cl                ; rewrites the immediate in the next block
        cmp ecx, 3
        jae .next
        inc edx
.next:  mov esi, 0x22
        add edx, esi
        dec ecx
        jnz .loop
        mov [0x20000], edx
`);
    // The program computes sum(c + 0x40) + sum(c) + 2 over c = 6..1 (c < 3 adds one more).
    expect(r.interpreted.regs[2]).toBe((6 * 7 / 2 + 6 * 0x40) + (6 * 7 / 2) + 2);
    expect(r.compiledInstructions).toBeGreaterThan(20);
  });

  it('unaligned dword loads, stores, pushes and pops (their slow path), and an unaligned dword store into the running block', () => {
    // Compiled code inlines aligned dwords only; every misalignment of data and stack goes
    // through the interpreter's accessors, and a dword store that patches the block's own
    // immediate must end the block after itself (the exit test on the store's slow path).
    const r = diffProgram(`
        mov ecx, 12
        xor edx, edx
        mov esi, 0x20001
.loop:  mov eax, [esi]               ; misaligned by 1, 2, 3, 0 in turn
        add edx, eax
        mov [esi + 0x100], edx
        mov ebx, esp
        sub esp, ecx                 ; the stack misaligned by the count
        push edx
        push dword 0x1234567
        pop eax
        pop ebx
        add esp, ecx
        xor edx, ebx
        mov edi, .patch + 1
        mov [edi], ecx               ; the dword immediate below
.patch: mov eax, 0x11111111
        add edx, eax
        inc esi
        dec ecx
        jnz .loop
        mov [0x20000], edx
`);
    expect(r.compiledInstructions).toBeGreaterThan(60);
  });

  it('a device read or write asking the CPU to stop in the middle of a compiled block ends it after that instruction', () => {
    // Loads, compares, pops and stores of the rig's MMIO page: the upper half requests a stop
    // (only an accessor call can), and the block must end right after the instruction, with
    // everything the instruction did stored, as the interpreter stops there.
    const r = diffProgram(`
        mov ecx, 8
        xor edx, edx
        mov esi, 0x${MMIO.toString(16)}
.loop:  add edx, ecx
        mov eax, [esi + 0x7fc]       ; a plain device read
        add edx, eax
        mov ebx, [esi + 0x${STOP_MMIO_HALF.toString(16)}]     ; asks to stop
        add edx, ebx
        cmp eax, [esi + 0x${(STOP_MMIO_HALF + 8).toString(16)}] ; a compare that asks to stop
        sbb edx, 3
        mov edi, esp
        mov esp, esi
        add esp, 0x${(STOP_MMIO_HALF + 0x10).toString(16)}
        pop eax                      ; a pop from the device: asks to stop, ESP moves
        mov esp, edi
        add edx, eax
        mov [esi + 0x${(STOP_MMIO_HALF + 4).toString(16)}], edx ; a store that asks to stop
        movzx eax, byte [esi + 0x${(STOP_MMIO_HALF + 1).toString(16)}]
        add edx, eax
        dec ecx
        jnz .loop
        mov [0x20000], edx
`);
    expect(r.compiledInstructions).toBeGreaterThan(40);
  });

  it('a code patch from a compiled block into a block that is already compiled', () => {
    const r = diffProgram(`
        mov ecx, 8
        xor edx, edx
.loop:  call .target                 ; compiled after the first pass
        add edx, eax
        mov edi, .target + 1
        mov [edi], cl                ; patch the compiled callee's immediate
        dec ecx
        jnz .loop
        jmp .end
.target:
        mov eax, 0x100
        ret
.end:
`);
    // The first call returns 0x100; each later one the low byte patched to the previous ECX.
    expect(r.interpreted.regs[2]).toBe(0x100 + [8, 7, 6, 5, 4, 3, 2].reduce((sum, c) => sum + 0x100 + c, 0));
    expect(r.compiledInstructions).toBeGreaterThan(20);
  });

  it('keeps generated code under its budget: over it, compiled blocks are dropped and recompiled when hot again', () => {
    // Eight loops of distinct blocks, each ~1 KiB of generated code, under a 3 KiB budget.
    const loops = Array.from({ length: 8 }, (_, k) => `
        mov ecx, 6
.l${k}:  mov eax, [0x${(0x20000 + 0x100 * k).toString(16)}]
        add eax, ecx
        mov [0x${(0x20000 + 0x100 * k + 4).toString(16)}], eax
        dec ecx
        jnz .l${k}`).join('\n');
    const r = diffProgram(`${loops}\n${loops.replace(/\.l(\d)/g, '.m$1')}`, { budgetBytes: 3000 });
    const stats = r.jitted.jit.stats();
    expect(stats.flushes).toBeGreaterThan(1);
    expect(stats.sourceBytes).toBeLessThanOrEqual(3000);
    expect(stats.compiled).toBeGreaterThanOrEqual(16);
    expect(r.compiledInstructions).toBeGreaterThan(100);
  });
});
