/**
 * Regions compiled to WebAssembly (jit/wasm/wasmRegion.ts, JitOptions.wasm):
 * each program runs interpreted and compiled in lockstep (diffRig.ts),
 * compared after every run(budget), and checks that WebAssembly regions ran
 * it: the fast forms it covers, flags handed between members and to the
 * CPU, faults in the middle of a member, a device that asks to stop, code
 * that writes itself, and the run budget.
 */
import { describe, expect, it } from 'vitest';
import { DATA, diffProgram, IRQ_COUNT, MMIO, STOP_MMIO_HALF, type DiffResult } from '../diffRig.ts';
import { wasmHooks } from '../../../../core/cpu/jit/wasm/wasmRuntime.ts';

/** Runs `program` (diffProgram) counting the handler calls WebAssembly code makes, by opcode (hex) and r or m. */
function withHandlerCalls(program: () => DiffResult): [DiffResult, Map<string, number>] {
  const calls = new Map<string, number>();
  wasmHooks.onImport = (name, insn) => {
    if (name !== 'handler' || insn === undefined) return;
    const form = `${insn.opcode.toString(16)}${insn.mod === 3 ? 'r' : 'm'}`;
    calls.set(form, (calls.get(form) ?? 0) + 1);
  };
  try {
    return [program(), calls];
  } finally {
    wasmHooks.onImport = null;
  }
}

const ENABLE_SSE = `
        mov eax, cr4
        or eax, 0x200
        mov cr4, eax`;

const hex = (n: number) => `0x${n.toString(16)}`;

/** A strlen (busybox's hottest loop in the shell benchmark) over a 300-byte string, 40 times. */
const STRLEN = `
        mov edi, ${hex(DATA)}
        mov ecx, 300
.fill:  mov byte [edi], 0x41
        inc edi
        dec ecx
        jnz .fill
        mov byte [edi], 0
        mov ebp, 40
.outer: mov eax, ${hex(DATA - 1)}
.s:     inc eax
        cmp byte [eax], 0
        jne .s
        sub eax, ${hex(DATA)}
        add esi, eax
        dec ebp
        jnz .outer
`;

/** Code that adds selector 0x20 to the rig's GDT (at 0x1000): a writable data segment based at `base`, limit 4 GiB. */
function selector20(base: number): string {
  const low = ((base & 0xffff) << 16) | 0xffff, high = (base & 0xff000000) | 0x00cf9200 | ((base >>> 16) & 0xff);
  return `        mov dword [0x1020], ${hex(low >>> 0)}
        mov dword [0x1024], ${hex(high >>> 0)}
        lgdt [.gdtr20]
        jmp .gdt20
.gdtr20: dw 39
        dd 0x1000
.gdt20:`;
}

/** A loop whose port write raises the rig's interrupt line every 16th pass (the IRQ handler logs ECX at each delivery: 18 in all). */
const PORT_IRQ = `
        sti
        mov ecx, 300
.loop:  mov eax, ecx
        and eax, 15
        jnz .quiet
        mov al, 1
        out 0x80, al
        add edx, ecx
        inc edx
.quiet: add edx, eax
        dec ecx
        jnz .loop
        cli
`;

/** Every condition after every kind of flag producer these forms have, each read in a member of its own. */
function conditions(): string {
  const lines: string[] = ['        mov ecx, 60', '        mov ebx, 0x7ffffff0', '.loop:'];
  const producers = ['cmp ebx, ecx', 'sub ebx, ecx', 'add ebx, ecx', 'and ebx, ecx', 'xor ebx, 0x55aa', 'test ebx, ebx', 'cmp byte [${D}], 0x80', 'inc ebx', 'dec ebx'];
  let n = 0;
  for (const p of producers) {
    for (let cc = 0; cc < 16; cc++) {
      const cond = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'][cc];
      lines.push(`        ${p.replace('${D}', hex(DATA + (n % 64)))}`, `        j${cond} .t${n}`, '        add edx, 1', `.t${n}:  add edx, ${n}`);
      n++;
    }
  }
  lines.push('        add ebx, 0x1234567', '        mov [ecx*4 + ' + hex(DATA + 0x100) + '], ebx', '        dec ecx', '        jnz .loop');
  return lines.join('\n');
}

function wasmRan(r: DiffResult): void {
  expect(r.jitted.jit.wasmRegions).toBeGreaterThan(0);
  expect(r.compiledInstructions).toBeGreaterThan(r.retired / 2);
}

/**
 * Runs `program` (diffProgram) with no handler calls allowed from WebAssembly, and checks that every region
 * compiled is WebAssembly: every form in the program has one.
 */
function diffAllWasm(program: string): DiffResult {
  const r = diffProgram(program, { budget: 1000, wasm: true, regions: true, hotThreshold: 4, wasmHandlerCalls: 0 });
  wasmRan(r);
  expect(r.jitted.jit.wasmRegions).toBe(r.jitted.jit.regionsCompiled);
  return r;
}

describe('block compiler: regions compiled to WebAssembly', () => {
  it.each([7, 64, 1_000_000])('runs a strlen loop (%i instructions per run)', (budget) => {
    const r = diffProgram(STRLEN, { budget, wasm: true, regions: true, hotThreshold: 4 });
    expect(r.interpreted.regs[6]).toBe(40 * 300);
    expect(r.jitted.regs[6]).toBe(40 * 300);
    wasmRan(r);
    // The loop of one member ran in its function: many instructions per entry once the budget allows.
    if (budget > 1000) expect(r.compiledInstructions / r.entries).toBeGreaterThan(50);
  });

  it('computes every condition from every flag producer it translates, within a member and across members', () => {
    wasmRan(diffProgram(conditions(), { budget: 100_000, wasm: true, regions: true, hotThreshold: 4 }));
    wasmRan(diffProgram(conditions(), { budget: 50, wasm: true, regions: true, hotThreshold: 2 }));
  });

  it('moves, loads, stores and byte registers through every addressing form', () => {
    const r = diffProgram(`
        mov ecx, 200
        mov esi, ${hex(DATA)}
.loop:  mov eax, [esi + ecx*4]
        mov ebx, ecx
        lea edi, [esi + ebx*2 + 0x40]
        mov dl, [edi]
        mov dh, [edi + 1]
        movzx ebp, byte [esi + ecx]
        mov [esi + ecx*4 + 0x800], eax
        mov [edi + 0x900], dh
        mov [esi + ecx + 0xc00], dl
        cmp eax, [esi + 4]
        jb .skip
        cmp [esi + ecx*2], ebx
        jl .skip
        cmp dl, [esi + 8]
        ja .skip
        or ebp, eax
.skip:  mov ah, [esi + ecx + 0x10]
        mov edx, [esi + 0x10]
        add ebp, edx
        mov [esi + 0xf00], ebp
        test ah, ah
        jz .z
        mov [esi + 0xe00], ah
.z:     dec ecx
        jnz .loop
`, { budget: 1000, wasm: true, regions: true, hotThreshold: 4, maxHandlerCalls: 0 });
    wasmRan(r);
  });

  it('stops at a page fault in the middle of a member exactly where the interpreter does, and goes on after it', () => {
    const r = diffProgram(`
        mov ecx, 300
        xor edx, edx
.loop:  mov eax, ecx
        and eax, 7
        shl eax, 12
        inc edx
        mov ebx, [eax + ${hex(0x21000)}]
        add edx, ebx
        mov [eax + ${hex(0x21800)}], edx
        dec ecx
        jnz .loop
`, { budget: 1000, wasm: true, regions: true, hotThreshold: 4, notPresent: [0x21000, 0x22000, 0x23000, 0x24000, 0x25000, 0x26000, 0x27000], maxHandlerCalls: 0 });
    expect(r.exceptions).toBe(7);
  });

  it('hands a device access over to the run loop, which runs the rest of the block and stops where the device asks', () => {
    const r = diffProgram(`
        mov ecx, 100
        mov esi, ${hex(MMIO)}
.loop:  mov eax, [esi + 0x40]
        add edx, eax
        mov ebx, ecx
        and ebx, 3
        jnz .quiet
        mov eax, [esi + ${hex(STOP_MMIO_HALF + 0x40)}]
        mov [esi + ${hex(STOP_MMIO_HALF + 0x80)}], al
.quiet: add edx, eax
        dec ecx
        jnz .loop
`, { budget: 1000, wasm: true, regions: true, hotThreshold: 4, maxHandlerCalls: 0 });
    expect(r.jitted.jit.wasmRegions).toBeGreaterThan(0);
    // The first read of every pass is a device's: the rest of each pass runs interpreted.
    expect(r.jitted.jit.wasmHandOvers).toBeGreaterThan(90);
  });

  it('calls, returns, pushes and pops on a flat 32-bit stack, a return going on to the member at its target', () => {
    const r = diffProgram(`
        mov ecx, 300
        xor edx, edx
.outer: push ecx
        push 7
        call .add
        pop eax
        pop ecx
        test ecx, 1
        jz .even
        inc edx
.even:  dec ecx
        jnz .outer
        jmp .end
.add:   mov eax, [esp + 4]
        add edx, eax
        ret
.end:
`, { budget: 100_000, wasm: true, regions: true, hotThreshold: 4, maxHandlerCalls: 0 });
    expect(r.jitted.regs[2]).toBe(300 * 7 + 150);
    wasmRan(r);
    expect(r.compiledInstructions / r.entries).toBeGreaterThan(20);
  });

  it('steps to a member on another page while the TLB maps it where it was fetched from, and not once the page is mapped elsewhere', () => {
    // farfn (linear 0x12000) is a member of the loop's region, called and returned from across pages. Halfway, the
    // loop maps linear 0x12000 to physical 0x13000, which holds other code: the step must take that code.
    const r = diffProgram(`
        mov ecx, 200
        xor edx, edx
.loop:  call farfn
        cmp ecx, 100
        jne .same
        mov dword [0x4000 + 0x12 * 4], 0x13003
        invlpg [0x12000]
.same:  dec ecx
        jnz .loop
        jmp done
        times 0x2000 - ($ - $$) nop
farfn:  add edx, 1
        ret
        times 0x3000 - ($ - $$) nop
        add edx, 1000
        ret
done:
`, { budget: 100_000, wasm: true, regions: true, hotThreshold: 4, maxHandlerCalls: 0 });
    expect(r.jitted.regs[2]).toBe(101 + 99 * 1000);
    wasmRan(r);
  });

  it('hands pushes and pops on a misaligned stack over to the run loop', () => {
    // A fault on a push would be delivered on the same (absent) stack here: the misaligned pushes and pops
    // are handed over instead, three passes in four.
    const r = diffProgram(`
        mov ecx, 200
        mov esi, esp
.loop:  mov eax, ecx
        and eax, 3
        lea esp, [eax + 0x70800]
        push ecx
        push 5
        pop ebx
        pop edi
        add edx, edi
        add edx, ebx
        mov esp, esi
        dec ecx
        jnz .loop
`, { budget: 1000, wasm: true, regions: true, hotThreshold: 4, maxHandlerCalls: 0 });
    expect(r.jitted.regs[2]).toBe((200 * 201) / 2 + 5 * 200);
    expect(r.jitted.jit.wasmRegions).toBeGreaterThan(0);
    expect(r.jitted.jit.wasmHandOvers).toBeGreaterThan(140);
  });

  it('byte, accumulator and memory-source ALU forms, TEST and MOV with immediates, moffs and byte register moves', () => {
    const r = diffProgram(`
        mov ecx, 120
        mov esi, ${hex(DATA)}
.loop:  mov eax, ecx
        add al, 0x7f
        sub eax, 0x1234
        xor eax, 0x55aa55aa
        cmp al, 0x40
        jb .a
        or al, cl
.a:     and ah, bl
        mov bl, [esi + ecx]
        add bl, [esi + 1]
        cmp [esi + ecx + 2], bl
        jae .b
        sub ebx, [esi + ecx*2]
        xor edx, [esi + 8]
.b:     test byte [esi + ecx], 0x81
        jnz .c
        test dword [esi + 0x20], 0x800000
        jz .c
        test eax, 0x40000000
        js .c
        test al, 3
        jp .c
        test cl, 1
.c:     mov byte [esi + ecx + 0x400], 0x5a
        mov dword [esi + ecx*4 + 0x800], 0x12345678
        mov edi, 0x9abcdef0
        mov dh, cl
        mov bh, dh
        movzx ebp, bh
        cmp ebp, ecx
        jne .fail
        mov [${hex(DATA + 0xf00)}], eax
        mov eax, [${hex(DATA + 0x10)}]
        mov [${hex(DATA + 0xf10)}], al
        mov al, [${hex(DATA + 0x18)}]
        cmp bl, 0x10
        ja .d
        add edx, ebx
.d:     add edx, eax
        dec ecx
        jnz .loop
.fail:
`, { budget: 1000, wasm: true, regions: true, hotThreshold: 4, maxHandlerCalls: 0 });
    expect(r.jitted.regs[1]).toBe(0);
    wasmRan(r);
  });

  it('reads and writes through segments with a base and a limit, and stops at the #GP past the limit', () => {
    const r = diffProgram(`
${selector20(0x20000)}
        mov ax, 0x20
        mov fs, ax
        mov ax, 0x18                     ; ES: data with limit 0x27fff
        mov es, ax
        xor ecx, ecx
.loop:  mov eax, [fs:ecx*4]
        add edx, eax
        mov [fs:ecx*4 + 0x1000], edx
        mov byte [fs:ecx + 0x2000], cl
        lea ebx, [ecx*4 + 0x27e00]       ; past ES's limit at ECX = 128: #GP, and the handler makes ES flat
        mov esi, [es:ebx]
        add edx, esi
        mov [es:ebx - 0x100], dl
        inc ecx
        cmp ecx, 200
        jne .loop
`, { budget: 1000, wasm: true, regions: true, hotThreshold: 4, maxHandlerCalls: 0 });
    expect(r.exceptions).toBe(1);
    wasmRan(r);
  });

  it('shifts by immediates, SETcc, PUSH m32, and indirect jumps and calls through registers and memory', () => {
    const r = diffProgram(`
        mov ecx, 150
        mov esi, ${hex(DATA)}
        mov dword [esi + 0x100], .fn
        mov dword [esi + 0x104], .skip
.loop:  mov eax, [esi + ecx*4]
        mov ebx, eax
        shl ebx, 3
        shr eax, 1
        add edx, ebx
        sar ebx, 31
        setc bl
        sub edx, eax
        shl eax, 31
        setnz bh
        cmp eax, ecx
        setg [esi + ecx + 0x400]
        setbe bl
        push dword [esi + 0x100]
        pop edi
        call edi
        call [esi + 0x100]
        jmp [esi + 0x104]
        add edx, 7
.skip:  mov edi, .next
        jmp edi
        add edx, 9
.next:  add edx, ebx
        dec ecx
        jnz .loop
        jmp .end
.fn:    add edx, 3
        ret
.end:
`, { budget: 1000, wasm: true, regions: true, hotThreshold: 4, maxHandlerCalls: 0 });
    wasmRan(r);
  });

  it('an indirect call whose push hits its own code page goes to its target', () => {
    // The stack lies on the page of the loop's code: each push invalidates it and asks to stop, after which the
    // CALL has still jumped to its target (the push's own exit would leave EIP at the next instruction).
    const r = diffProgram(`
        mov ecx, 100
        mov esi, esp
        mov edi, .fn
.loop:  mov esp, .stacktop
        call edi
        add edx, eax
        dec ecx
        jnz .loop
        mov esp, esi
        jmp .end
.fn:    mov eax, 3
        ret
        times 64 db 0x90
.stacktop:
.end:
`, { budget: 1000, wasm: true, regions: true, hotThreshold: 4 });
    expect(r.jitted.regs[2]).toBe(300);
  });

  it('runs instructions without a WebAssembly form through their interpreter handlers, in the region', () => {
    const r = diffProgram(`
        mov ecx, 200
        mov esi, ${hex(DATA)}
.loop:  mov eax, [esi + ecx*4]
        neg eax
        imul eax, ecx
        rol eax, 5
        mov ebx, ecx
        not ebx
        adc edx, ebx
        xchg eax, ebx
        test ecx, ecx                    ; (a branch: the handler calls fall in two blocks, at most 8 in each)
        jz .fail
        movsx edi, byte [esi + ecx]
        add edx, edi
        mov [esi + ecx*2 + 0x800], bx
        mul ecx
        cdq
        add edx, eax
        mov edi, ${hex(DATA + 0x1000)}
        mov eax, ecx
        push ecx
        mov ecx, 9
        cld
        rep stosb
        pop ecx
        dec ecx
        jnz .loop
.fail:
`, { budget: 1000, wasm: true, regions: true, hotThreshold: 4, wasmHandlerCalls: 8 });
    wasmRan(r);
    // Every compiled region and block is WebAssembly, and the loop ran in the dispatch loop, not entered from the run loop each time.
    expect(r.jitted.jit.wasmRegions).toBe(r.jitted.jit.regionsCompiled);
    expect(r.compiledInstructions / r.entries).toBeGreaterThan(100);
  });

  it('assumes no flat data segment after a handler that may load one, in the member and the next', () => {
    // ES is flat when the members are entered (and when they compile); in the middle of the first member it is
    // loaded with a selector from a table: flat while the code turns hot, every other pass based at 0x20000 later
    // (the handler's import then makes the tail go back to the run loop).
    const r = diffProgram(`
${selector20(0x20000)}
        mov dword [${hex(DATA + 0x3000)}], 0x10
        mov dword [${hex(DATA + 0x3004)}], 0x20
        mov ecx, 200
.loop:  cmp ecx, 101
        setb al
        and eax, ecx
        and eax, 1
        mov eax, [eax*4 + ${hex(DATA + 0x3000)}]
        mov es, ax
        mov ebx, [es:ecx*4]
        add edx, ebx
        mov [es:ecx*4 + 0x1000], edx
        test edx, 3
        jz .next
        mov ebx, [es:ecx*4 + 0x2000]
        add edx, ebx
.next:  mov ax, 0x10
        mov es, ax
        dec ecx
        jnz .loop
`, { budget: 1000, wasm: true, regions: true, hotThreshold: 4, wasmHandlerCalls: 8 });
    wasmRan(r);
    // The next member assumed ES flat: the run loop entered it through the region's guard, which dropped the region.
    expect(r.jitted.jit.stats().flatDrops).toBe(1);
  });

  it('takes an interrupt that a handler raised at the block boundary where the interpreter takes it', () => {
    const r = diffProgram(PORT_IRQ, { budget: 1000, wasm: true, regions: true, hotThreshold: 4, wasmHandlerCalls: 8 });
    expect(r.interpreted.u8[IRQ_COUNT]).toBe(18);
    wasmRan(r);
  });

  it('on a CPU that asks for interrupts between blocks, steps from member to member while IF is clear, and takes the interrupt where the interpreter does once set', () => {
    // The strlen loop with IF clear: the dispatch loop and the tail go on as without polling (Cpu.pollIntr alone
    // does not make every member return to the run loop); then with IF set, a port write raising the line.
    const quiet = diffProgram(STRLEN, { budget: 1_000_000, wasm: true, regions: true, hotThreshold: 4, pollIntr: true });
    expect(quiet.jitted.regs[6]).toBe(40 * 300);
    wasmRan(quiet);
    expect(quiet.compiledInstructions / quiet.entries).toBeGreaterThan(50);
    const r = diffProgram(PORT_IRQ, { budget: 1000, wasm: true, regions: true, hotThreshold: 4, wasmHandlerCalls: 8, pollIntr: true });
    expect(r.interpreted.u8[IRQ_COUNT]).toBe(18);
    wasmRan(r);
  });

  it('compiles regions again into shared modules once 32 have modules of their own, and runs on through them', () => {
    // 48 functions called in turn, each a region of one block (regionMax 1); some call a handler (IMUL) in the region.
    const fns = Array.from({ length: 48 }, (_, n) => `
.f${n}:  add edx, ${n + 1}
        ${n % 3 === 0 ? `imul eax, edx, ${n + 3}` : `xor eax, ${n * 77}`}
        add ebx, eax
        ret`).join('');
    const calls = Array.from({ length: 48 }, (_, n) => `        call .f${n}`).join('\n');
    const r = diffProgram(`
        mov ecx, 60
.loop:
${calls}
        dec ecx
        jnz .loop
        jmp .end
${fns}
.end:
`, { budget: 1000, wasm: true, regions: true, regionMax: 1, hotThreshold: 4, wasmHandlerCalls: 8 });
    wasmRan(r);
    expect(r.jitted.jit.wasmRegions).toBeGreaterThan(32);
    expect(r.jitted.jit.wasmConsolidated).toBe(32 * Math.floor(r.jitted.jit.wasmRegions / 32));
    expect(r.compiledInstructions / r.entries).toBeGreaterThan(100);
  });

  it('read-modify-write ALU, INC/DEC, NOT/NEG, XCHG and CMPXCHG on memory, and 16-bit moves and extensions, all in WebAssembly', () => {
    const r = diffAllWasm(`
        mov ecx, 200
        mov esi, ${hex(DATA)}
.loop:  mov eax, [esi + ecx*4]
        add [esi + ecx*4 + 0x1000], eax
        sub [esi + ecx*4 + 0x1004], ecx
        and [esi + ecx*4 + 0x1008], eax
        or [esi + ecx*4 + 0x100c], edx
        xor [esi + ecx*4 + 0x1010], ebx
        add byte [esi + ecx + 0x3000], al
        sub [esi + ecx + 0x3001], dl
        xor [esi + ecx + 0x3002], bh
        add dword [esi + ecx*4 + 0x1014], 0x12345
        sub dword [esi + ecx*4 + 0x1018], -7
        and dword [esi + ecx*4 + 0x101c], 0xff00ff
        or byte [esi + ecx + 0x3003], 0x81
        sub byte [esi + ecx + 0x3004], 3
        cmp [esi + ecx*4 + 0x1000], eax
        setb bl
        add edx, ebx
        cmp byte [esi + ecx + 0x3000], 0x40
        setc bl
        add edx, ebx
        inc dword [esi + ecx*4 + 0x1020]
        jo .o1
        dec dword [esi + ecx*4 + 0x1024]
.o1:    setz bl
        add edx, ebx
        not dword [esi + ecx*4 + 0x1028]
        neg dword [esi + ecx*4 + 0x102c]
        setc bl
        sub edx, ebx
        mov edi, ecx
        neg edi
        not edi
        add edx, edi
        xchg [esi + ecx*4 + 0x1030], edx
        mov eax, [esi + ecx*4 + 0x1034]
        test ecx, 1
        jz .ne
        lock cmpxchg [esi + ecx*4 + 0x1034], ebx
        jmp .cx
.ne:    inc eax
        cmpxchg [esi + ecx*4 + 0x1034], edx
.cx:    setz bl
        add edx, eax
        mov [esi + ecx*2 + 0x4000], dx
        mov ax, [esi + ecx*2 + 0x4002]
        mov bx, cx
        mov di, bx
        movzx edi, word [esi + ecx*2 + 0x4000]
        add edx, edi
        movzx edi, dx
        add edx, edi
        movsx edi, word [esi + ecx*2 + 0x4004]
        add edx, edi
        movsx edi, byte [esi + ecx + 0x3005]
        add edx, edi
        movsx edi, al
        add edx, edi
        movsx edi, bx
        add edx, edi
        dec ecx
        jnz .loop
`);
  });

  it('IMUL, DIV, ROL/ROR, BT/BTS/BTR/BTC, BSF/BSR, ADC/SBB, CMOVcc, TEST r16, MOV r8, imm, INC/DEC r8, NOP and CLD/STD, all in WebAssembly, each flag read after', () => {
    const r = diffAllWasm(`
        mov ecx, 300
        mov esi, ${hex(DATA)}
        mov ebx, 0x9e3779b9
        mov dword [esi + 0x3000], 0x12345
.loop:  std
        mov eax, ebx
        imul eax, ecx
        setc dl
        imul edi, [esi + ecx*4], 0x7fffffff
        seto dh
        imul ebp, eax, byte -7
        js .s1
        add ebp, ecx
.s1:    sets dl
        jp .p1
        inc dl
.p1:    add ebx, eax
        rol ebx, 5
        setc al
        seto ah
        add edi, eax
        ror ebx, 1
        jo .o1
        ror ebx, 13
.o1:    setz al
        adc edi, ebx
        adc ebp, 0x1234
        sbb edi, ecx
        sbb eax, [esi + ecx*4 + 4]
        adc eax, [esi + ecx*4 + 8]
        adc edx, edi
        setbe al
        bt ebx, 3
        setc al
        bt ebx, ecx
        adc edi, 0
        bts ebx, 7
        btr ebx, 12
        btc ebx, 30
        sbb edi, 0
        bt dword [esi + ecx*4], 5
        bts dword [esi + ecx*4 + 0x1000], 9
        btr dword [esi + ecx*4 + 0x1000], 2
        btc dword [esi + ecx*4 + 0x1000], 31
        adc eax, edi
        bsf edi, ebx
        setz al
        jp .p2
        bsr ebp, [esi + ecx*4 + 0x2000]
.p2:    setz ah
        bsf edx, [esi + ecx*4 + 0x2000]
        cmovz edi, ecx
        cmovnz ebp, [esi + ecx*4]
        cmp ecx, 150
        cmovl eax, ebx
        cmovge edx, [esi + ecx*4 + 0x1000]
        test cx, bx
        jz .z1
        test dx, si
.z1:    setnz al
        mov bl, 0x80
        mov ch, 1
        mov ch, 0
        inc bl
        seto al
        dec bh
        setz ah
        inc al
        jnz .z2
        dec al
.z2:    nop
        cmp ecx, 1000
        mov eax, 5
        adc eax, -1
        setc bl
        mov eax, 0
        sbb eax, 0
        setc bh
        add ebp, eax
        add ebp, ebx
        mov eax, ebx
        xor edx, edx
        div ecx
        add edi, edx
        mov edx, ecx
        shr edx, 4
        mov eax, ebx
        div dword [esi + 0x3000]
        add ebp, eax
        cld
        dec ecx
        jnz .loop
        std
        mov eax, 1
        xor edx, edx
        xor ecx, ecx
        div ecx
`);
    // The last DIV divides by zero: handed over, it raises #DE in the interpreter (whose handler halts).
    expect(r.exceptions).toBe(1);
  });

  it('MOVS and STOS (bytes, dwords, with and without REP) and shifts by CL in WebAssembly; overlapping, page-crossing, downward and empty ones handed over', () => {
    const r = diffAllWasm(`
        mov ebp, 400
        mov ebx, 0x1234567
.loop:  mov ecx, ebp
        and ecx, 63
        mov esi, ${hex(DATA)}
        lea edi, [esi + 0x1000 + ebp]
        rep movsb
        mov eax, ebp
        imul eax, eax, 0x01010101
        mov ecx, ebp
        and ecx, 15
        rep stosb
        add edx, ecx
        mov ecx, 5
        rep stosd
        add edx, ecx
        mov esi, ${hex(DATA + 0x1000)}
        lea edi, [esi + 3]
        mov ecx, ebp
        and ecx, 7
        or ecx, 1
        rep movsb
        jc .b1
.b1:    mov esi, ${hex(DATA + 0x1ffc)}
        mov edi, ${hex(DATA + 0x3000)}
        mov ecx, 3
        rep movsd
        jc .b2
.b2:    xor ecx, ecx
        rep stosb
        jc .b3
.b3:    mov esi, ${hex(DATA + 0x1000)}
        mov edi, ${hex(DATA + 0x4000)}
        movsb
        movsd
        stosb
        stosd
        test ebp, 1
        jz .up
        std
        movsb
        stosd
        cld
.up:    mov ecx, ebp
        shl ebx, cl
        setc al
        seto ah
        add edx, eax
        shr ebx, cl
        setc al
        seto ah
        add edx, eax
        rol ebx, 5
        sar ebx, cl
        setc al
        seto ah
        js .c2
        add edx, ebx
.c2:    add edx, eax
        mov ecx, 32
        add eax, 1
        shl ebx, cl
        seto al
        add edx, eax
        imul ebx, ebx, 0x9e3779b1
        add ebx, ebp
        dec ebp
        jnz .loop
`);
    // Handed over, and the rest of their blocks run interpreted: the copy to 3 bytes above its source when its count
    // is 5 or 7 (the element loop repeats what it wrote; half the passes), the dwords across a page and the empty
    // count on every pass.
    expect(r.jitted.jit.wasmHandOvers).toBeGreaterThan(2.5 * 390);
  });

  it('read-modify-write on memory hands over at a page fault and on a device that asks to stop, and runs through a based segment', () => {
    const r = diffProgram(`
${selector20(0x2000)}
        mov ax, 0x20
        mov fs, ax
        mov ecx, 300
        mov esi, ${hex(MMIO)}
.loop:  mov eax, ecx
        and eax, 7
        shl eax, 12
        add [eax + ${hex(0x21000)}], ecx
        inc dword [eax + ${hex(0x21800)}]
        add [fs:ecx*4 + ${hex(DATA)}], edx
        mov ebx, ecx
        and ebx, 3
        jnz .quiet
        add [esi + ${hex(STOP_MMIO_HALF + 0x40)}], ecx
        xchg [esi + 0x80], edx
        or byte [esi + ${hex(STOP_MMIO_HALF + 0x41)}], 1
.quiet: add edx, eax
        dec ecx
        jnz .loop
`, { budget: 1000, wasm: true, regions: true, hotThreshold: 4, notPresent: [0x21000, 0x22000, 0x23000, 0x24000, 0x25000, 0x26000, 0x27000], wasmHandlerCalls: 0 });
    expect(r.exceptions).toBe(7);
    wasmRan(r);
  });

  it('runs the SSE2 forms of libc\'s string code as WebAssembly SIMD: MOVD, PXOR, PUNPCKLBW, PSHUFD, PCMPEQB, PMOVMSKB, MOVDQA/MOVDQU/MOVD loads', () => {
    const [r, calls] = withHandlerCalls(() => diffProgram(`${ENABLE_SSE}
        mov ecx, 200
        mov esi, ${hex(DATA)}
.loop:  mov eax, ecx
        and eax, 0x7f0
        lea ebx, [esi + eax]
        movdqa xmm1, [ebx]
        movdqu xmm2, [ebx + 4]
        movd xmm3, [ebx + 8]
        movd xmm0, ecx
        punpcklbw xmm0, xmm0
        pshufd xmm0, xmm0, 0x1b
        pcmpeqb xmm1, xmm0
        pcmpeqb xmm2, xmm2
        pxor xmm3, xmm1
        pxor xmm2, xmm0
        pmovmskb edx, xmm1
        add edi, edx
        pmovmskb edx, xmm2
        add edi, edx
        pmovmskb edx, xmm3
        add edi, edx
        movd xmm4, [ebx + 0xffd]          ; across into the next page: the handler
        movd xmm5, edi
        pcmpeqb xmm5, xmm4
        pmovmskb edx, xmm5
        add edi, edx
        dec ecx
        jnz .loop
`, { budget: 1000, wasm: true, regions: true, hotThreshold: 4, wasmHandlerCalls: 0 }));
    wasmRan(r);
    expect(r.jitted.jit.wasmRegions).toBe(r.jitted.jit.regionsCompiled);
    // Only the load across a page boundary takes the handler.
    expect([...calls.keys()]).toEqual(['16em']);
  });

  it('raises #NM at an SSE form once CR0.TS is set, after the region ran with it clear', () => {
    const r = diffProgram(`${ENABLE_SSE}
        mov ecx, 100
.loop:  movd xmm0, ecx
        pxor xmm1, xmm1
        pcmpeqb xmm1, xmm0
        pmovmskb edx, xmm1
        add edi, edx
        cmp ecx, 10
        jne .next
        mov eax, cr0
        or eax, 8
        mov cr0, eax
        pxor xmm2, xmm2
.next:  dec ecx
        jnz .loop
`, { budget: 1000, wasm: true, regions: true, hotThreshold: 4, wasmHandlerCalls: 8 });
    wasmRan(r);
    expect(r.exceptions).toBe(1);
    expect(r.jitted.regs[1]).toBe(10);
  });

  it('drops a region whose member writes its own code, and runs the new code', () => {
    const r = diffProgram(`
        mov ecx, 40
        xor edx, edx
.loop:  mov edi, .patch + 1
        mov eax, ecx
        mov [edi], al
.patch: mov ebx, 0x11
        add edx, ebx
        dec ecx
        jnz .loop
`, { budget: 100_000, wasm: true, regions: true, hotThreshold: 2 });
    expect(r.interpreted.regs[2]).toBe((40 * 41) / 2);
    expect(r.jitted.regs[2]).toBe(r.interpreted.regs[2]);
  });
});
