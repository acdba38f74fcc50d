/**
 * The forms the compiler translates inline beyond the interpreter's fast
 * forms that the Tiny Linux shell loop runs most (measure/shellLoopForms.ts):
 * SHL/SHR/SAR r32 by an immediate and by 1, CMP m8, r8, PUSH m32, JMP m32
 * and CALL m32. Each runs interpreted and compiled in lockstep (diffRig.ts),
 * compared after every block, with the flags each leaves read back through
 * every condition and through PUSHFD.
 */
import { describe, expect, it } from 'vitest';
import { untranslated } from '../../../core/cpu/jit/translate.ts';
import { DATA, diffProgram, MMIO, STOP_MMIO_HALF } from './diffRig.ts';

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
`, { notPresent: [DATA + 0x1000], wasm: false }); // translate.ts's slow paths (the WebAssembly back end hands these accesses over: wasmRegions.test.ts)
    expect(r.exceptions).toBe(1);
    expect(r.compiledInstructions).toBeGreaterThan(200);
  });
  it('INC/DEC entered with the flags another block left lazy in the CPU: CF kept through conditions, a second INC/DEC, #PF, device reads, RMW slow paths and dead flags', () => {
    const lines: string[] = [];
    let n = 0;
    const absent = [0, 1, 2, 3, 4, 5].map((j) => DATA + 0x9000 + j * 0x1000);
    for (const a of VALUES) {
      for (const b of VALUES) {
        const cc = CONDITIONS[(n * 7) % 16];
        const setter = ['cmp', 'add', 'sub'][(n >> 1) % 3];
        const variant = [
          [`        ${cc} .t${n}`, '        inc ebp'],
          ['        dec ebx', `        ${cc} .t${n}`, '        inc ebp'],
          [`        mov eax, [0x${absent[Math.floor(n / 6) % 6].toString(16)}]   ; absent the first time: #PF with INC's flags`, `        ${cc} .t${n}`, '        inc ebp'],
          [`        inc dword [0x${(MMIO + 0x10).toString(16)}]   ; read-modify-write through the slow path`, `        ${cc} .t${n}`, '        inc ebp'],
          [`        mov eax, [0x${(MMIO + STOP_MMIO_HALF + 8).toString(16)}]   ; the device asks the CPU to stop`, `        ${cc} .t${n}`, '        inc ebp'],
          ['        cmp ecx, ebx                 ; INC\'s flags dead', `        ${cc} .t${n}`, '        inc ebp'],
        ][n % 6];
        lines.push(
          `        mov eax, 0x${a.toString(16)}`,
          `        mov edx, 0x${b.toString(16)}`,
          `        ${setter} eax, edx            ; the flags, lazy in the CPU at the block's end`,
          `        jmp .b${n}`,
          `.b${n}:  ${n & 1 ? 'dec' : 'inc'} ecx`,
          ...variant,
          `.t${n}:  pushfd`,
          '        pop eax',
          '        mov [edi], eax',
          '        add edi, 4',
        );
        n++;
      }
    }
    const r = diffProgram(`        mov edi, 0x${DATA.toString(16)}\n        mov ecx, 0x7ffffffe\n        xor ebx, ebx\n${lines.join('\n')}`, { maxHandlerCalls: 4, notPresent: absent });
    expect(r.exceptions).toBe(6);
    expect(r.compiledInstructions).toBeGreaterThan(n * 8);
  });
  describe('runs of PUSH and POP (one check for the whole run when it stays in one page)', () => {
    /** Pushes EAX, EBX, an immediate, ECX, EDX and pops them back into EDX, ECX, EBX, EAX, EDI with ESP = `esp`, then stores what came back. */
    const roundTrip = (n: number, esp: number) => [
      `        mov esp, 0x${esp.toString(16)}`,
      `        mov eax, 0x${(0x11111111 * ((n % 15) + 1)).toString(16)}`,
      `        lea ebx, [eax + 1]`,
      `        lea ecx, [eax + 2]`,
      `        lea edx, [eax + 3]`,
      '        push eax',
      '        push ebx',
      `        push ${0x1000 + n}`,
      '        push ecx',
      '        push edx',
      `        add esi, [esp + 8]`,
      '        pop edx',
      '        pop ecx',
      '        pop ebx',
      '        pop eax',
      '        pop edi',
      '        mov [ebp], eax',
      '        mov [ebp + 4], ebx',
      '        mov [ebp + 8], ecx',
      '        mov [ebp + 12], edx',
      '        mov [ebp + 16], edi',
      '        add ebp, 20',
    ];

    it('at every ESP around a page boundary (aligned and not), and a #PF in the middle of a run of POPs', () => {
      const lines: string[] = [];
      let n = 0;
      for (let d = -24; d <= 24; d += d >= -4 && d < 4 ? 1 : 4) lines.push(...roundTrip(n++, 0x61000 + d));
      // ESP two dwords below a page that is absent: the third POP faults (the frame goes below ESP, present), the handler maps the page.
      lines.push(
        '        mov esp, 0x5dff8',
        '        pop eax',
        '        pop ebx',
        '        pop ecx',
        '        pop edx',
        '        add esi, eax',
        '        add esi, edx',
      );
      for (let d = -8; d <= 8; d += 4) lines.push(...roundTrip(n++, 0x5e000 + d));
      const r = diffProgram(`        mov ebp, 0x${DATA.toString(16)}\n        xor esi, esi\n${lines.join('\n')}\n        mov esp, 0x80000`, { notPresent: [0x5e000], wasm: false }); // translate.ts's slow paths (WebAssembly hands these over: wasmRegions.test.ts)
      expect(r.exceptions).toBe(1);
      expect(r.compiledInstructions).toBeGreaterThan(n * 20);
    });

    it("POPs running past the stack segment's limit (#SS in the middle of the run), as the interpreter", () => {
      const r = diffProgram(`${roundTrip(0, 0x61000).join('\n')}\n        mov eax, 0x18\n        mov ss, eax\n        mov esp, 0x27ff8\n        pop eax\n        pop ebx\n        pop ecx\n        pop edx`, { maxHandlerCalls: 2, wasm: false }); // translate.ts's slow paths
      expect(r.compiledInstructions).toBeGreaterThan(20);
    });
  });
  describe('runs of dword loads and stores through one base (one check for the span when it stays in one page)', () => {
    /** Stores, loads and a load into the base itself around `base`, then the registers saved past the data. */
    const run = (n: number, base: number) => [
      `        mov ebx, 0x${base.toString(16)}`,
      `        mov eax, 0x${(0x01010101 * ((n % 200) + 1)).toString(16)}`,
      '        lea ecx, [eax + 7]',
      '        mov [ebx - 8], eax',
      '        mov [ebx + 4], ecx',
      '        mov edx, [ebx - 8]',
      '        mov esi, [ebx + 8]',
      '        mov [ebx], edx',
      '        mov ecx, [ebx + 4]',
      '        mov ebx, [ebx - 4]                ; the base itself, last',
      '        mov [ebp], edx',
      '        mov [ebp + 4], esi',
      '        mov [ebp + 8], ecx',
      '        mov [ebp + 12], ebx',
      '        add ebp, 16',
    ];

    it('at every base around a page boundary (aligned and not), a #PF in the middle of a run, and a #GP past the limit of DS', () => {
      const lines: string[] = [];
      let n = 0;
      for (let d = -24; d <= 24; d += d >= -4 && d < 4 ? 1 : 4) lines.push(...run(n++, 0x21000 + d));
      // Unaligned bases inside one page (its TLB entries filled by the aligned run first).
      for (const d of [0, 1, 2, 3, 6]) lines.push(...run(n++, 0x22800 + d));
      // The page at 0x25000 is absent: the run starts in the page below (both its TLB entries filled first) and
      // reaches it after the first accesses (the handler maps it).
      lines.push('        mov eax, [0x24ff0]', '        mov [0x24ff0], eax', ...run(n++, 0x25004));
      // DS limited to 0x27fff: the run crosses the limit (the #GP handler makes DS flat again and retries).
      lines.push('        mov eax, 0x18', '        mov ds, eax', ...run(n++, 0x27ffc));
      for (let d = -8; d <= 8; d += 4) lines.push(...run(n++, 0x25000 + d));
      const r = diffProgram(`        mov ebp, 0x${(DATA + 0x8000).toString(16)}\n${lines.join('\n')}`, { notPresent: [0x25000], maxHandlerCalls: 2, wasm: false }); // translate.ts's slow paths
      expect(r.exceptions).toBe(2);
      expect(r.compiledInstructions).toBeGreaterThan(n * 12);
    });
  });
  it('NOP, MOV r8, imm8 and INC/DEC r8 on every byte register: results and flags (CF kept from the CPU and from locals)', () => {
    const R8 = ['al', 'cl', 'dl', 'bl', 'ah', 'ch', 'dh', 'bh'];
    const lines: string[] = [];
    let n = 0;
    for (const v of [0, 1, 0x7f, 0x80, 0xff, 0xfe]) {
      for (let r = 0; r < 8; r++) {
        const reg = R8[r];
        const dec = (n & 1) === 1;
        // Flags from the CPU (a block that ends after the compare) or from the compare in the same block.
        lines.push(
          `        mov edx, 0x${(0x01020304 * (n + 1) >>> 0).toString(16)}`,
          '        mov ebx, edx',
          '        mov ecx, edx',
          '        mov eax, edx',
          `        cmp edx, 0x${(0x80000000 + n * 0x1000000 >>> 0).toString(16)}`,
          ...(n % 3 === 0 ? [`        jmp .b${n}`, `.b${n}:`] : []),
          '        nop',
          `        mov ${reg}, 0x${v.toString(16)}`,
          `        ${dec ? 'dec' : 'inc'} ${reg}`,
          `        ${CONDITIONS[n % 16]} .t${n}`,
          '        inc esi',
          `.t${n}:  mov [edi], eax`,
          '        mov [edi + 4], ebx',
          '        mov [edi + 8], ecx',
          '        mov [edi + 12], edx',
          '        pushfd',
          '        pop eax',
          '        mov [edi + 16], eax',
          '        add edi, 20',
        );
        n++;
      }
    }
    const r = diffProgram(`        mov edi, 0x${DATA.toString(16)}\n        xor esi, esi\n${lines.join('\n')}`, { maxHandlerCalls: 2 });
    expect(r.compiledInstructions).toBeGreaterThan(n * 14);
    // Only the final HLT is left to its handler.
    const handlers = new Set<number>();
    for (const b of r.jitted.blocks.values()) for (const i of untranslated(b)) handlers.add(i.opcode);
    expect([...handlers].sort((a, b) => a - b)).toEqual([0xf4]); // HLT (PUSHFD and CLI: irqFlagForms.ts)
  });
});
