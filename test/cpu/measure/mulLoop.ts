/**
 * The two multiply loops Debian 686's boot spends most of its time in
 * (debianBootProfile.ts), on the bare CPU (asm/pmode.inc) with the block
 * compiler on: the Diffie-Hellman self-test's mpihelp_addmul_1 (MUL r32
 * with ADC carrying the high half, as gcc compiles umul_ppmm) and the XZ
 * decompressor's range-coder step (IMUL r32, r/m32 of the range by a 16-bit
 * probability). Since 3 Dec the compiler translates MUL, IMUL and ADC
 * inline (core/cpu/jit/arithForms.ts); before, its code called MUL's and
 * IMUL's handlers (ops/muldiv.ts) and ADC's aluCompute (ops/alu.ts). Prints
 * the CPU time per loop iteration, several runs, and the least.
 *
 *   npx esbuild test/cpu/measure/mulLoop.ts --bundle --platform=node --format=esm \
 *     --target=node20 --outfile=test/cpu/.mulLoop.mjs && node test/cpu/.mulLoop.mjs [iterations] [runs]
 *
 * (The bundle must sit in test/cpu/: the harness finds asm/ beside it.)
 *
 * 3 Dec, ops/muldiv.ts's MUL r/m32 and 32-bit IMUL Gv,Ev(,I) by Math.imul
 * (B) against the previous handlers (A), bundles run alternately, 4 x 3 runs
 * of 1 M iterations at load 9-10: least ns per iteration A 182.7, 207.0,
 * 184.3, 170.9; B 202.6, 189.0, 176.6, 184.8: within the noise, the
 * handler call (state synced, registers reloaded) costing more than the
 * multiply inside it.
 *
 * 3 Dec, arithForms.ts, bundles run alternately, 3 x 3 runs of 1 M
 * iterations at load 1-5, least ns per iteration: the compiler without
 * arithForms 152.6, 142.4, 169.0; with MUL/IMUL inline and ADC's carry from
 * the block's flag locals 102.6, 110.4, 107.6 (the MUL/IMUL step alone was
 * x0.85-0.95, the ADC step x0.79-0.87 on top of it).
 */
import { runPm } from '../pmodeRun.ts';

const iterations = Number(process.argv[2] ?? 2_000_000);
const runs = Number(process.argv[3] ?? 5);

/** 64 limbs multiplied by a constant and added into a second array, `rounds` times; then `rounds` x 64 range-coder steps. */
function program(rounds: number): string {
  return `
test_main:
        mov edi, 0x20000
        mov ecx, 256
        mov eax, 0x9e3779b9
.fill:  mov [edi + ecx*4 - 4], eax
        imul eax, eax, 69069
        add eax, 1
        dec ecx
        jnz .fill
        mov ebx, ${rounds}
.round: push ebx
        mov esi, 0x20000            ; s1
        mov edi, 0x20100            ; res (64 limbs)
        mov ebp, 0xdeadbeef         ; the multiplier limb
        mov ecx, -64
        xor ebx, ebx                ; carry limb
        lea esi, [esi + 256]
        lea edi, [edi + 256]
.limb:  mov eax, [esi + ecx*4]
        mul ebp
        add eax, ebx
        adc edx, 0
        add eax, [edi + ecx*4]
        adc edx, 0
        mov [edi + ecx*4], eax
        mov ebx, edx
        inc ecx
        jnz .limb
        ; range coder: bound = (range >> 11) * prob; code < bound decides the bit
        mov ecx, 64
        mov edx, 0xffffffff         ; range
        mov esi, 0x20000
.bit:   mov eax, edx
        shr eax, 11
        movzx ebx, word [esi + ecx*2]
        imul eax, ebx
        cmp eax, 0x40000000
        jb .zero
        sub edx, eax
        or edx, 0x01000000
        jmp .next
.zero:  mov edx, eax
        or edx, 0x01000000
.next:  dec ecx
        jnz .bit
        pop ebx
        dec ebx
        jnz .round
        mov eax, [0x20100]
        out 0xF0, eax
        PM_DONE
`;
}

const rounds = Math.max(1, Math.round(iterations / 64));
const times: number[] = [];
let result = -1;
for (let r = 0; r < runs; r++) {
  const t = process.cpuUsage();
  const run = runPm(program(rounds), { maxInstructions: rounds * 2000 + 100_000, setup: (_bus, cpu) => cpu.jit.configure({ enabled: true }) });
  const c = process.cpuUsage(t);
  if (run.stop !== 'halt') throw new Error(`did not halt: ${run.stop}`);
  result = run.values[0];
  times.push(((c.user + c.system) * 1000) / (rounds * 64));
}
console.log(`${rounds * 64} limb+bit iterations, result 0x${(result >>> 0).toString(16)}; ns per iteration: ${times.map((t) => t.toFixed(1)).join(' ')}; least ${Math.min(...times).toFixed(1)}`);
