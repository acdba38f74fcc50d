/**
 * Code compiled for flat segments (JitOptions.flatSegments: accesses through
 * a segment with base 0 and no limit are compiled as the TLB lookup alone)
 * meets segments that are no longer flat: the function's guard drops it and
 * the blocks run interpreted, then compile again with their limits checked,
 * so every #GP comes at the instruction the interpreter raises it at
 * (diffRig.ts: selector 0x18 is DS with limit 0x27fff, the #GP handler makes
 * DS and ES flat again and retries).
 */
import { describe, expect, it } from 'vitest';
import { diffProgram } from './diffRig.ts';

describe('block compiler: code assuming flat segments', () => {
  it('a block compiled while DS is flat, entered with a limited DS, is dropped and compiled again with the limit checked (#GP exact)', () => {
    // Each round reads the dwords at ESI, ESI + 4, ESI + 8 (the first in the round's first block,
    // the others in .loop), then loads the limited DS and moves ESI up by 4. Round 1 compiles
    // .loop with DS flat (hot threshold 1); round 2 enters it with the limited DS (its guard drops
    // it: interpreted, then compiled with DS's limit checked); the read at 0x28000 crosses the
    // limit in rounds 3 and 4 (the handler makes DS flat and retries).
    const r = diffProgram(`
        mov esi, 0x27ff0
        mov ebp, 4
.round: xor edi, edi
.loop:  mov eax, [esi + edi*4]
        add ebx, eax
        mov [esi], bl
        inc edi
        cmp edi, 3
        jne .loop
        mov eax, 0x18
        mov ds, eax
        add esi, 4
        dec ebp
        jnz .round
`);
    expect(r.exceptions).toBe(2);
    expect(r.jitted.jit.flatDrops).toBe(1);
    expect(r.compiledInstructions).toBeGreaterThan(20);
  });

  it('a block that loads a limited DS does not step through the region tail into code compiled for a flat DS', () => {
    // .top loops on itself (a region of one, compiled with DS flat after 3 passes) and ends with
    // MOV DS (a handler call) loading the selector of a table: DS flat for ECX 16..9, limited from
    // 8 on. Then the read at 0x28000 must raise #GP at the start of every later pass (7), so the
    // tail must not go on into .top's flat code after the MOV DS.
    const r = diffProgram(`
        mov ecx, 16
.fill:  mov dword [0x20000 + ecx*4], 0x10
        cmp ecx, 8
        ja .next
        mov dword [0x20000 + ecx*4], 0x18
.next:  dec ecx
        jnz .fill
        mov esi, 0x28000
        mov ebp, 16
.top:   mov eax, [esi]
        add ebx, eax
        mov edx, [0x20000 + ebp*4]
        mov ds, edx
        dec ebp
        jnz .top
`, { budget: 100_000, regions: true, hotThreshold: 3 });
    expect(r.exceptions).toBe(7);
    // The tail returned to the run loop, whose entry found DS limited: dropped once, compiled again.
    expect(r.jitted.jit.flatDrops).toBe(1);
    expect(r.compiledInstructions).toBeGreaterThan(20);
  });
});
