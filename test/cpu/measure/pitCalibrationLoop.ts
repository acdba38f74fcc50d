/**
 * Why Linux's PIT calibration of the TSC fails under the realtime clock:
 * a Multiboot kernel runs the loop of arch/x86/kernel/tsc.c
 * pit_calibrate_tsc() 20 times (PIT channel 2 in mode 0 for 10 ms, polling
 * OUT2 in port 0x61 with RDTSC between polls) and records per round the
 * polls, the least and the most TSC cycles between two polls; Linux rejects
 * a round with fewer than 1000 polls or a maximum above 10x the minimum.
 *
 *   npx esbuild test/cpu/measure/pitCalibrationLoop.ts --bundle --platform=node --format=esm \
 *     --outfile=bench/.pit-calibration.mjs && node bench/.pit-calibration.mjs [on|off] [realtime|deterministic]
 *
 * 3 Dec, block compiler on, realtime, load ~9, two runs: all 40 rounds
 * rejected; the least gap is 220-3545 cycles (ns) a poll, the most 57 us to
 * 32 ms (compiler off: least ~5 us, most ~4 ms, rejected too). The
 * deterministic clock: 76,930 polls, least 80, most 150, all accepted. Guest
 * time reads the host's clock at each RDTSC and port read, so every pause
 * of the host thread inside the loop (the end of a run chunk, a block
 * compile, garbage collection, the thread preempted) is a jump in guest
 * time between two polls. quick_pit_calibrate()'s 500 ppm bound on the TSC
 * reads around each PIT MSB change fails the same way. Linux then
 * calibrates against the ACPI PM timer, which counts the same guest time
 * and gives the right frequency (999-1000 MHz).
 */
import { assemble } from '../../../scripts/nasm.ts';
import { createMachine } from '../../../core/machine/machine.ts';
import type { ClockMode } from '../../../core/cpu/clock.ts';

const KERNELS = new URL('../test/machine/kernels', import.meta.url).pathname;
const RESULTS = 0x200000;
const ROUNDS = 20;
const SOURCE = `
bits 32
org 0x100000
%include "multiboot.inc"
MULTIBOOT_HEADER 0x00010000, start
RESULTS equ 0x200000
start:
    mov esp, 0x180000
    mov edi, RESULTS
    mov ecx, 20
round:
    push ecx
    ; pit_calibrate_tsc: gate on, speaker off; channel 2 mode 0, latch 11932 (10 ms)
    in al, 0x61
    and al, 0xfd
    or al, 1
    out 0x61, al
    mov al, 0xb0
    out 0x43, al
    mov al, 11932 & 0xff
    out 0x42, al
    mov al, 11932 >> 8
    out 0x42, al
    rdtsc
    mov esi, eax            ; previous tsc (low 32 bits)
    xor ebx, ebx            ; pitcnt
    mov ebp, 0xffffffff     ; tscmin
    mov dword [edi+8], 0    ; tscmax
poll:
    in al, 0x61
    test al, 0x20
    jnz done
    rdtsc
    mov edx, eax
    sub edx, esi
    mov esi, eax
    cmp edx, ebp
    jae notmin
    mov ebp, edx
notmin:
    cmp edx, [edi+8]
    jbe notmax
    mov [edi+8], edx
notmax:
    inc ebx
    jmp poll
done:
    mov [edi], ebx
    mov [edi+4], ebp
    add edi, 12
    pop ecx
    dec ecx
    jnz round
    mov dword [RESULTS-4], 1
    cli
    hlt
`;

const jit = process.argv[2] !== 'off';
const clock = (process.argv[3] ?? 'realtime') as ClockMode;
const m = createMachine({ memoryMiB: 16, clock, kernel: assemble(SOURCE, [KERNELS]), jit }, {});
const mem = new DataView(m.memory);
const t0 = performance.now();
while (mem.getUint32(RESULTS - 4, true) !== 1 && performance.now() - t0 < 60_000) m.run(10);
console.log(`block compiler ${jit ? 'on' : 'off'}, ${clock} clock`);
for (let i = 0; i < ROUNDS; i++) {
  const at = RESULTS + i * 12;
  const polls = mem.getUint32(at, true);
  const min = mem.getUint32(at + 4, true);
  const max = mem.getUint32(at + 8, true);
  console.log(`polls ${polls} least ${min} most ${max} ${polls < 1000 || max > 10 * min ? 'rejected' : 'accepted'}`);
}
