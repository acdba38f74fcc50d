/**
 * A region's exit tail (jit/translate.ts regionTail): every exit of a
 * compiled region decides inline whether to go on into a member, finding
 * the successor by the exiting block's links. These programs make those
 * lookups find stale answers: a RET whose return address is replaced, RETs
 * to more return sites than a block has links, an indirect JMP through a
 * table, and targets whose code is rewritten (their blocks invalidated
 * while the region that jumps to them stays compiled, since they are on
 * another page). Each runs interpreted and compiled in lockstep
 * (diffRig.ts), compared after every run(budget), and its result is checked
 * against a model of the program.
 */
import { describe, expect, it } from 'vitest';
import { DATA, diffProgram } from './diffRig.ts';

const PASSES = 600;

/**
 * Page 1: `f` (its RET returns to four call sites, or elsewhere every 32nd
 * pass) and `dispatch` (JMP [table + (ECX & 1) * 4]). Page 2: the loop that
 * calls `f`, the jump targets, and the stores that rewrite the immediate of
 * the block after the second call site and of `t1` (each every 128th pass).
 */
const PROGRAM = `
        mov dword [0x${DATA.toString(16)}], t0
        mov dword [0x${(DATA + 4).toString(16)}], t1
        mov ecx, ${PASSES}
        xor edx, edx
        jmp loop
f:      add edx, ecx
        test ecx, 31
        jnz .fr
        mov dword [esp], alt    ; this pass returns elsewhere
.fr:    ret
dispatch:
        mov ebx, ecx
        and ebx, 1
        jmp [0x${DATA.toString(16)} + ebx*4]
        align 4096, db 0x90
loop:   call f
        add edx, 1
        call f
b:      add edx, 0x11111111
        call f
        add edx, 3
        call f
        mov eax, ecx
        and eax, 127
        cmp eax, 5
        jne .keep
        mov [b + 2], ecx        ; rewrites the immediate of the block at b
.keep:  jmp dispatch
t0:     add edx, 5
        jmp back
t1:     add edx, 0x22222222
        jmp back
alt:    add edx, 1000
back:   mov eax, ecx
        and eax, 127
        cmp eax, 66
        jne .keep2
        mov [t1 + 2], ecx       ; rewrites the immediate of the block at t1
.keep2: dec ecx
        jnz loop
`;

/** EDX at the end of PROGRAM, computed from its description. */
function expectedEdx(): number {
  let edx = 0, immB = 0x11111111, immT1 = 0x22222222;
  for (let ecx = PASSES; ecx > 0; ecx--) {
    if ((ecx & 31) === 0) edx = (edx + ecx + 1000) | 0; // the first call returns to alt
    else {
      edx = (edx + ecx + 1 + ecx + immB + ecx + 3 + ecx) | 0;
      if ((ecx & 127) === 5) immB = ecx;
      edx = (edx + ((ecx & 1) === 0 ? 5 : immT1)) | 0;
    }
    if ((ecx & 127) === 66) immT1 = ecx;
  }
  return edx;
}

describe('block compiler: region exit tails (links)', () => {
  it.each([
    [7, 32], [100, 32], [100_000, 32], [100_000, 2],
  ])('RETs to changed and rewritten targets and an indirect JMP to a rewritten block match the interpreter (%i instructions per run, regions of at most %i blocks)', (budget, regionMax) => {
    const r = diffProgram(PROGRAM, { budget, regions: true, regionMax, hotThreshold: 4 });
    expect(r.interpreted.regs[2]).toBe(expectedEdx());
    expect(r.jitted.regs[2]).toBe(expectedEdx());
    expect(r.jitted.jit.stats().regions).toBeGreaterThan(1);
    // Compiled code ran most of the program (every block turns hot again after its page is rewritten).
    expect(r.compiledInstructions).toBeGreaterThan(r.retired / 2);
  });
});
