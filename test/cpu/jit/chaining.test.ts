/**
 * Direct chaining between compiled blocks (jit/translate.ts chainExit): with
 * a budget above one block, compiled code goes on into the next compiled
 * block, or loops in its own function, without returning to the run loop.
 * Each case runs interpreted and compiled in lockstep (diffRig.ts) and
 * compares after every run(budget), so a chain that ran one instruction too
 * far or stopped where the run loop would not shows as a difference; each
 * also checks that chaining really happened.
 */
import { describe, expect, it } from 'vitest';
import { DATA, diffProgram, IRQ_COUNT, IRQ_LOG } from './diffRig.ts';

/** A loop over three blocks (a call, a conditional skip) and a tight loop of one block. */
const LOOPS = `
        mov ecx, 300
        xor edx, edx
.outer: call .add
        test ecx, 1
        jz .even
        inc edx
.even:  dec ecx
        jnz .outer
        mov ecx, 500
.tight: add edx, ecx
        dec ecx
        jnz .tight
        mov [0x${DATA.toString(16)}], edx
`;
const LOOPS_RESULT = 300 * 3 + 150 + (500 * 501) / 2;
const ADD = `
.add:   add edx, 3
        ret
`;

describe('block compiler: chaining compiled blocks', () => {
  it.each([7, 64, 1000, 1_000_000])('loops chain and stop exactly at the run budget (%i instructions per run)', (budget) => {
    const r = diffProgram(`${LOOPS}        jmp .end\n${ADD}.end:`, { budget });
    expect(r.interpreted.regs[2]).toBe(LOOPS_RESULT);
    expect(r.jitted.regs[2]).toBe(LOOPS_RESULT);
    // Most compiled instructions ran without a return to the run loop in between.
    expect(r.chained).toBeGreaterThan(budget >= 64 ? 100 : 10);
    expect(r.compiledInstructions / r.entries).toBeGreaterThan(budget >= 64 ? 20 : 3);
  });

  it('an interrupt raised inside a chained loop is delivered at the block boundary where the interpreter delivers it', () => {
    // Every pass writes port 0x80 (a handler call ending a compiled block), every 16th with a
    // nonzero byte, which raises the interrupt line: the chain that went on from that block in
    // the other passes must stop there, and the interrupt arrive before the next block, as in the
    // run loop.
    const r = diffProgram(`
        sti
        mov ecx, 200
        xor edx, edx
.loop:  add edx, ecx
        test ecx, 15
        setz al
        out 0x80, al
        add edx, 1
        dec ecx
        jnz .loop
        cli
`, { budget: 100_000, maxHandlerCalls: 2 });
    // 12 passes (ECX = 192, 176, ..., 16) raise the line; the handler logs ECX as it was at the
    // delivery: right after the OUT (which ends its block), before the DEC.
    const view = (cpu: typeof r.interpreted) => new DataView(cpu.u8.buffer, cpu.u8.byteOffset);
    const log = (cpu: typeof r.interpreted) => Array.from({ length: view(cpu).getUint32(IRQ_COUNT, true) }, (_, k) => view(cpu).getUint32(IRQ_LOG + 4 * k, true));
    const expected = Array.from({ length: 12 }, (_, k) => 192 - 16 * k);
    expect(log(r.interpreted)).toEqual(expected);
    expect(log(r.jitted)).toEqual(expected);
    expect(r.chained).toBeGreaterThan(50);
  });

  it('a single-step trap set inside a chained loop stops the chain', () => {
    // After 100 passes the loop sets TF with POPFD: the next instruction (DEC) runs and traps (#DB,
    // the rig's "other" handler halts), with the chain stopped where the run loop single-steps.
    const r = diffProgram(`
        mov ecx, 150
.loop:  add edx, ecx
        cmp ecx, 50
        jne .skip
        pushfd
        or dword [esp], 0x100
        popfd
.skip:  dec ecx
        jnz .loop
`, { budget: 100_000, maxHandlerCalls: 2 });
    expect(r.interpreted.regs[1]).toBe(49);
    expect(r.exceptions).toBe(1);
    expect(r.chained + r.compiledInstructions).toBeGreaterThan(100);
  });

  it('self-modifying code: a chained loop patching its own block and the next one', () => {
    const r = diffProgram(`
        mov ecx, 40
        xor edx, edx
.loop:  mov edi, .patch + 1
        mov eax, ecx
        mov [edi], al                ; rewrites the immediate below: the block ends, the next run recompiles
.patch: mov ebx, 0x11
        add edx, ebx
        mov edi, .next + 1
        mov [edi], cl                ; rewrites the next block's immediate
.next:  mov esi, 0x22
        add edx, esi
        dec ecx
        jnz .loop
`, { budget: 100_000 });
    // Each pass adds its ECX twice.
    expect(r.interpreted.regs[2]).toBe(2 * (40 * 41) / 2);
    expect(r.jitted.regs[2]).toBe(r.interpreted.regs[2]);
  });

  it('a loop whose stores fault on absent pages mid-chain leaves everything as the interpreter does', () => {
    // Each pass stores 256 bytes further on; every 16th pass reaches a page that is not present
    // (the #PF handler maps it and the store is retried).
    const r = diffProgram(`
        mov ecx, 120
        mov edi, 0x${DATA.toString(16)}
.loop:  push ecx
        push dword 7
        pop eax
        add edx, eax
        mov [edi], ecx
        add edi, 256
        pop ecx
        dec ecx
        jnz .loop
`, { budget: 100_000, notPresent: [0x21000, 0x22000, 0x23000, 0x24000, 0x25000, 0x26000, 0x27000] });
    expect(r.exceptions).toBe(7);
    expect(r.interpreted.regs[2]).toBe(120 * 7);
    expect(r.chained + r.compiledInstructions).toBeGreaterThan(100);
  });
});

describe('block compiler: self-loops inside their function (loops without chaining)', () => {
  it.each([7, 64, 1000, 1_000_000])('a block jumping to itself loops in its function and stops exactly at the run budget (%i instructions per run)', (budget) => {
    const r = diffProgram(`${LOOPS}        jmp .end\n${ADD}.end:`, { budget, chain: false, loops: true });
    expect(r.interpreted.regs[2]).toBe(LOOPS_RESULT);
    expect(r.jitted.regs[2]).toBe(LOOPS_RESULT);
    // No calls between blocks; the tight loop's 500 passes run in few entries when the budget allows.
    expect(r.chained).toBe(0);
    expect(r.compiledInstructions / r.entries).toBeGreaterThan(budget >= 1000 ? 4 : 2);
  });

  it('an interrupt raised inside a self-loop is delivered at the block boundary where the interpreter delivers it', () => {
    const r = diffProgram(`
        sti
        mov ecx, 200
        xor edx, edx
.loop:  add edx, ecx
        test ecx, 15
        setz al
        out 0x80, al
        add edx, 1
        dec ecx
        jnz .loop
        cli
`, { budget: 100_000, chain: false, loops: true, maxHandlerCalls: 2 });
    const view = (cpu: typeof r.interpreted) => new DataView(cpu.u8.buffer, cpu.u8.byteOffset);
    const log = (cpu: typeof r.interpreted) => Array.from({ length: view(cpu).getUint32(IRQ_COUNT, true) }, (_, k) => view(cpu).getUint32(IRQ_LOG + 4 * k, true));
    const expected = Array.from({ length: 12 }, (_, k) => 192 - 16 * k);
    expect(log(r.interpreted)).toEqual(expected);
    expect(log(r.jitted)).toEqual(expected);
  });

  it('a self-loop storing into its own block and faulting on absent pages matches the interpreter', () => {
    const r = diffProgram(`
        mov ecx, 120
        mov edi, 0x${DATA.toString(16)}
.loop:  mov [edi], ecx
        add edi, 256
        add edx, 7
        dec ecx
        jnz .loop
        mov ecx, 30
.smc:   mov ebx, .imm + 1
        mov [ebx], cl
.imm:   mov esi, 0x11
        add edx, esi
        dec ecx
        jnz .smc
`, { budget: 100_000, chain: false, loops: true, notPresent: [0x21000, 0x22000, 0x23000, 0x24000, 0x25000, 0x26000, 0x27000] });
    expect(r.exceptions).toBe(7);
    expect(r.jitted.regs[2]).toBe(r.interpreted.regs[2]);
  });
});

describe('block compiler: regions of linked blocks in one function', () => {
  it.each([7, 64, 1000, 1_000_000])('a region steps between its blocks and stops exactly at the run budget (%i instructions per run)', (budget) => {
    const r = diffProgram(`${LOOPS}        jmp .end\n${ADD}.end:`, { budget, chain: false, regions: true, hotThreshold: 4 });
    expect(r.interpreted.regs[2]).toBe(LOOPS_RESULT);
    expect(r.jitted.regs[2]).toBe(LOOPS_RESULT);
    expect(r.jitted.jit.stats().regions).toBeGreaterThan(0);
    expect(r.chained).toBe(0);
    expect(r.compiledInstructions / r.entries).toBeGreaterThan(budget >= 64 ? 20 : 3);
  });

  it('interrupts, single steps, faults and self-modifying stores inside regions match the interpreter', () => {
    const r = diffProgram(`
        sti
        mov ecx, 200
        xor edx, edx
.loop:  add edx, ecx
        test ecx, 15
        setz al
        out 0x80, al
        add edx, 1
        dec ecx
        jnz .loop
        cli
        mov ecx, 120
        mov edi, 0x${DATA.toString(16)}
.st:    mov [edi], ecx
        add edi, 256
        test ecx, 3
        jz .skip
        add edx, 7
.skip:  dec ecx
        jnz .st
        mov ecx, 30
.smc:   mov ebx, .imm + 1
        mov [ebx], cl
.imm:   mov esi, 0x11
        add edx, esi
        cmp ecx, 10
        jne .nt
        pushfd
        or dword [esp], 0x100
        popfd
.nt:    dec ecx
        jnz .smc
`, { budget: 100_000, chain: false, regions: true, hotThreshold: 4, maxHandlerCalls: 2, notPresent: [0x21000, 0x22000, 0x23000, 0x24000, 0x25000, 0x26000, 0x27000] });
    const view = (cpu: typeof r.interpreted) => new DataView(cpu.u8.buffer, cpu.u8.byteOffset);
    expect(view(r.jitted).getUint32(IRQ_COUNT, true)).toBe(12);
    expect(r.exceptions).toBe(8); // 7 page faults and the single-step trap
    expect(r.jitted.regs[2]).toBe(r.interpreted.regs[2]);
    expect(r.jitted.jit.stats().regions).toBeGreaterThan(0);
  });
});

describe('block compiler: chaining between regions', () => {
  // Regions of at most two blocks, so the loops span several regions: with `chain`, an exit out of a
  // region goes on into the next region's function where the run loop would run it next.
  it.each([7, 64, 1000, 1_000_000])('an exit out of a region goes on into the next region and stops exactly at the run budget (%i instructions per run)', (budget) => {
    const r = diffProgram(`${LOOPS}        jmp .end\n${ADD}.end:`, { budget, chain: true, regions: true, regionMax: 2, hotThreshold: 4 });
    expect(r.interpreted.regs[2]).toBe(LOOPS_RESULT);
    expect(r.jitted.regs[2]).toBe(LOOPS_RESULT);
    expect(r.jitted.jit.stats().regions).toBeGreaterThan(budget >= 64 ? 1 : 0);
    if (budget >= 64) expect(r.chained).toBeGreaterThan(50);
    expect(r.compiledInstructions / r.entries).toBeGreaterThan(budget >= 64 ? 20 : 3);
  });

  it('interrupts, single steps, faults and self-modifying stores across chained regions match the interpreter', () => {
    const r = diffProgram(`
        sti
        mov ecx, 200
        xor edx, edx
.loop:  add edx, ecx
        test ecx, 15
        setz al
        out 0x80, al
        add edx, 1
        dec ecx
        jnz .loop
        cli
        mov ecx, 120
        mov edi, 0x${DATA.toString(16)}
.st:    mov [edi], ecx
        add edi, 256
        test ecx, 3
        jz .skip
        add edx, 7
.skip:  dec ecx
        jnz .st
        mov ecx, 30
.smc:   mov ebx, .imm + 1
        mov [ebx], cl
.imm:   mov esi, 0x11
        add edx, esi
        cmp ecx, 10
        jne .nt
        pushfd
        or dword [esp], 0x100
        popfd
.nt:    dec ecx
        jnz .smc
`, { budget: 100_000, chain: true, regions: true, regionMax: 2, hotThreshold: 4, maxHandlerCalls: 2, notPresent: [0x21000, 0x22000, 0x23000, 0x24000, 0x25000, 0x26000, 0x27000] });
    const view = (cpu: typeof r.interpreted) => new DataView(cpu.u8.buffer, cpu.u8.byteOffset);
    expect(view(r.jitted).getUint32(IRQ_COUNT, true)).toBe(12);
    expect(r.exceptions).toBe(8); // 7 page faults and the single-step trap
    expect(r.jitted.regs[2]).toBe(r.interpreted.regs[2]);
    expect(r.jitted.jit.stats().regions).toBeGreaterThan(1);
    expect(r.chained).toBeGreaterThan(0);
  });
});

describe('block compiler: chaining depth', () => {
  it('a block that returns to itself through a handler (LOOP) or a dynamic target (RET) chains a bounded depth', () => {
    // Neither exit has a constant target, so the block cannot loop inside its function: each
    // pass is a nested call, bounded by JIT_CHAIN_DEPTH (unbounded, 100000 passes would overflow the stack).
    const r = diffProgram(`
        mov ecx, 100000
        xor eax, eax
.l:     add eax, 3
        loop .l
        mov ecx, 50000
        mov ebx, .r
.r:     push ebx
        dec ecx
        jz .out
        ret
.out:   pop ebx
`, { budget: 10_000_000 });
    expect(r.interpreted.regs[0]).toBe(300000);
    expect(r.jitted.regs[0]).toBe(300000);
    expect(r.chained).toBeGreaterThan(10000);
  });
});
