/**
 * Regions of linked blocks compiled into one function (jit/jit.ts
 * JitOptions.regions, translate.ts translateRegion and regionTail): with a
 * budget above one block, a region steps between its members, and a block
 * that jumps to itself loops in its function, without returning to the run
 * loop; exits out of a region return to the run loop, which enters the next
 * one. Each case runs interpreted and compiled in lockstep (diffRig.ts) and
 * compares after every run(budget), so a region that ran one instruction
 * too far or stopped where the run loop would not shows as a difference;
 * each also checks that compiled code ran the loops.
 */
import { describe, expect, it } from 'vitest';
import { DATA, diffProgram, IRQ_COUNT, IRQ_LOG, type DiffResult } from './diffRig.ts';

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
const ABSENT = [0x21000, 0x22000, 0x23000, 0x24000, 0x25000, 0x26000, 0x27000];

/** The IRQ handler's log of ECX at each delivery. */
function irqLog(cpu: DiffResult['interpreted']): number[] {
  const view = new DataView(cpu.u8.buffer, cpu.u8.byteOffset);
  return Array.from({ length: view.getUint32(IRQ_COUNT, true) }, (_, k) => view.getUint32(IRQ_LOG + 4 * k, true));
}

/** A loop of several blocks whose OUT to port 0x80 raises the interrupt line every 16th pass (the test device). */
const INTERRUPT_LOOP = `
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
`;

describe('block compiler: regions of linked blocks in one function', () => {
  it.each([7, 64, 1000, 1_000_000])('a region steps between its blocks and stops exactly at the run budget (%i instructions per run)', (budget) => {
    const r = diffProgram(`${LOOPS}        jmp .end\n${ADD}.end:`, { budget, regions: true, hotThreshold: 4 });
    expect(r.interpreted.regs[2]).toBe(LOOPS_RESULT);
    expect(r.jitted.regs[2]).toBe(LOOPS_RESULT);
    expect(r.jitted.jit.stats().regions).toBeGreaterThan(0);
    expect(r.compiledInstructions / r.entries).toBeGreaterThan(budget >= 64 ? 20 : 3);
  });

  it('an interrupt raised inside a compiled loop is delivered at the block boundary where the interpreter delivers it', () => {
    // Every pass writes port 0x80 (a handler call ending a compiled block), every 16th with a
    // nonzero byte, which raises the interrupt line: the region that went on from that block in
    // the other passes must stop there, and the interrupt arrive before the next block, as in the
    // run loop.
    const r = diffProgram(INTERRUPT_LOOP, { budget: 100_000, regions: true, hotThreshold: 4, maxHandlerCalls: 2 });
    // 12 passes (ECX = 192, 176, ..., 16) raise the line; the handler logs ECX as it was at the
    // delivery: right after the OUT (which ends its block), before the DEC.
    const expected = Array.from({ length: 12 }, (_, k) => 192 - 16 * k);
    expect(irqLog(r.interpreted)).toEqual(expected);
    expect(irqLog(r.jitted)).toEqual(expected);
    // The region stepped across the OUT's block boundary in the passes that raised nothing.
    expect(r.compiledInstructions / r.entries).toBeGreaterThan(20);
  });

  it('a single-step trap set inside a compiled loop stops it', () => {
    // After 100 passes the loop sets TF with POPFD: the next instruction (DEC) runs and traps (#DB,
    // the rig's "other" handler halts), with the region stopped where the run loop single-steps.
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
`, { budget: 100_000, regions: true, hotThreshold: 4, maxHandlerCalls: 2 });
    expect(r.interpreted.regs[1]).toBe(49);
    expect(r.exceptions).toBe(1);
    expect(r.compiledInstructions).toBeGreaterThan(r.retired / 2);
  });

  it('self-modifying code: a compiled loop patching its own block and the next one', () => {
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
`, { budget: 100_000, regions: true });
    // Each pass adds its ECX twice.
    expect(r.interpreted.regs[2]).toBe(2 * (40 * 41) / 2);
    expect(r.jitted.regs[2]).toBe(r.interpreted.regs[2]);
    // Compiled after one run (the rig's default threshold), so the rewritten blocks run compiled again.
    expect(r.compiledInstructions).toBeGreaterThan(r.retired / 2);
  });

  it('an exit to a member on its own page goes there only while that member is valid (its first instruction, straddling into the next page, rewritten there)', () => {
    // .j's MOV starts on the page of .i and ends on the next one; the store at pass 30 rewrites its
    // immediate's high byte on that next page, which invalidates .j but not .i. .i's region then
    // still holds .j's old code: its exit to .j (a member on its own page, translate.ts memberOnPage)
    // must see that .j is gone and leave the region, as the run loop would find the new block.
    const r = diffProgram(`
        mov ecx, 60
        xor edx, edx
        jmp .i
        times 0xf00 - ($ - $$) db 0x90
.i:     add edx, 1
        dec ecx
        jz .done
        cmp ecx, 30
        jne .j
        mov byte [.j + 3], 2         ; ebx becomes 0x20001 from now on
        jmp .j
        times 0xffe - ($ - $$) db 0x90
.j:     mov ebx, 1                   ; B8 01 00 00 00 from 0x10ffe: the immediate's bytes 1-3 on the next page
        add edx, ebx
        jmp .i
.done:
`, { budget: 100_000, regions: true, hotThreshold: 4 });
    // .i adds 1 in each of its 60 passes; .j runs in 59 of them, the last 30 with 0x20001.
    expect(r.interpreted.regs[2]).toBe(60 + 29 + 30 * 0x20001);
    expect(r.jitted.regs[2]).toBe(r.interpreted.regs[2]);
    expect(r.jitted.jit.stats().regions).toBeGreaterThan(0);
  });

  it('a compiled loop whose stores fault on absent pages leaves everything as the interpreter does', () => {
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
`, { budget: 100_000, regions: true, notPresent: ABSENT });
    expect(r.exceptions).toBe(7);
    expect(r.interpreted.regs[2]).toBe(120 * 7);
    expect(r.compiledInstructions).toBeGreaterThan(r.retired / 2);
  });

  it('loops of one block, one storing into its own block and one faulting on absent pages, match the interpreter', () => {
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
`, { budget: 100_000, regions: true, notPresent: ABSENT });
    expect(r.exceptions).toBe(7);
    expect(r.jitted.regs[2]).toBe(r.interpreted.regs[2]);
    expect(r.compiledInstructions).toBeGreaterThan(r.retired / 2);
  });

  // Small budgets: a fault after member transitions must leave the run loop's count of the budget where the
  // interpreter's is (the region hands its budget over before every call out of its code), or the run stops elsewhere.
  it.each([100_000, 1000, 64, 7])('interrupts, single steps, faults and self-modifying stores inside regions match the interpreter (%i instructions per run)', (budget) => {
    const r = diffProgram(MIXED, { budget, regions: true, hotThreshold: 4, maxHandlerCalls: 2, notPresent: ABSENT });
    const view = new DataView(r.jitted.u8.buffer, r.jitted.u8.byteOffset);
    expect(view.getUint32(IRQ_COUNT, true)).toBe(12);
    expect(r.exceptions).toBe(8); // 7 page faults and the single-step trap
    expect(r.jitted.regs[2]).toBe(r.interpreted.regs[2]);
    expect(r.jitted.jit.stats().regions).toBeGreaterThan(0);
  });

  it('a block that returns to itself through a handler (LOOP) or a computed target (RET) loops in its region', () => {
    // Neither exit has a constant target: the region's exit tail finds the block by its own links and
    // goes on in the function (100000 passes, a few entries from the run loop).
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
`, { budget: 10_000_000, regions: true, hotThreshold: 4 });
    expect(r.interpreted.regs[0]).toBe(300000);
    expect(r.jitted.regs[0]).toBe(300000);
    expect(r.compiledInstructions / r.entries).toBeGreaterThan(10000);
  });
});

/** Interrupts, a single step, page faults and self-modifying stores, in loops of several blocks. */
const MIXED = `${INTERRUPT_LOOP}        mov ecx, 120
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
`;

describe('block compiler: exits from one region into another', () => {
  // Regions of at most two blocks, so the loops span several regions: an exit out of a region
  // returns to the run loop, which enters the next region.
  it.each([7, 64, 1000, 1_000_000])('loops across regions of two blocks stop exactly at the run budget (%i instructions per run)', (budget) => {
    const r = diffProgram(`${LOOPS}        jmp .end\n${ADD}.end:`, { budget, regions: true, regionMax: 2, hotThreshold: 4 });
    expect(r.interpreted.regs[2]).toBe(LOOPS_RESULT);
    expect(r.jitted.regs[2]).toBe(LOOPS_RESULT);
    expect(r.jitted.jit.stats().regions).toBeGreaterThan(budget >= 64 ? 1 : 0);
    expect(r.compiledInstructions).toBeGreaterThan(r.retired * 0.9);
  });

  it('interrupts, single steps, faults and self-modifying stores across regions of two blocks match the interpreter', () => {
    const r = diffProgram(MIXED, { budget: 100_000, regions: true, regionMax: 2, hotThreshold: 4, maxHandlerCalls: 2, notPresent: ABSENT });
    const view = new DataView(r.jitted.u8.buffer, r.jitted.u8.byteOffset);
    expect(view.getUint32(IRQ_COUNT, true)).toBe(12);
    expect(r.exceptions).toBe(8); // 7 page faults and the single-step trap
    expect(r.jitted.regs[2]).toBe(r.interpreted.regs[2]);
    expect(r.jitted.jit.stats().regions).toBeGreaterThan(1);
  });
});
