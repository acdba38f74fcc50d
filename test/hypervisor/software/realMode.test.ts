/**
 * The software monitor runs a firmware guest's real-mode and 16-bit code in
 * its emulator (core/hypervisor/software/realModeEmulator.ts) and its 32-bit
 * ring-0 code ring-compressed, handing the guest over at each mode switch.
 * The ROM (guests/realModeRom.asm) starts at the reset vector, prints on
 * COM1 in real mode and from an INT 40h handler in its IVT, enters 32-bit
 * protected mode and runs sensitive instructions at ring 0 (MOV from CR0,
 * CLI/STI, LIDT, port I/O), reads the ROM's alias below 4 GiB and calls
 * code there (where the monitor lives: the emulator runs both), and returns
 * to real mode twice (through a
 * 16-bit code segment; by clearing CR0.PE in 32-bit code, which prints from
 * real mode with 32-bit segment caches before going the 16-bit way). Under
 * 'trap' and 'bt' it prints exactly what it prints on the bare PC and stops
 * at the same HLT.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Acceleration } from '../../../core/machine/acceleration.ts';
import { createMachine } from '../../../core/machine/machine.ts';
import type { RunResult } from '../../../core/machine/types.ts';
import { assemble } from '../../../scripts/nasm.ts';

/** Where serial.inc, the COM1 output routines the ROM shares with the Multiboot test kernels, lives. */
const KERNELS = fileURLToPath(new URL('../../machine/kernels', import.meta.url));
const ROM = assemble(readFileSync(new URL('./guests/realModeRom.asm', import.meta.url), 'utf8'), [KERNELS]);

const EXPECTED =
  'real mode: hello from F000:[int 40h via the IVT] round 1\n' +
  'protected mode, ring 0: cr0 & 0x80000011 = 00000011, at the top: 000000ea 600dc0de\n' +
  'real mode: hello from F000:[int 40h via the IVT] round 2\n' +
  'protected mode, ring 0: cr0 & 0x80000011 = 00000011, at the top: 000000ea 600dc0de\n' +
  'real mode with a 32-bit code segment and flat data segments\n' +
  'back in real mode twice; halting\n';

function run(acceleration: Acceleration) {
  let out = '';
  const machine = createMachine(
    { clock: 'deterministic', acceleration, memoryMiB: 16, rom: new Uint8Array(ROM) },
    { onSerialOutput: (port, bytes) => port === 0 && (out += Buffer.from(bytes).toString('latin1')) },
  );
  let result: RunResult = { kind: 'running' };
  for (let i = 0; i < 200 && result.kind === 'running'; i++) result = machine.run(50);
  return { out, result, monitor: machine.stats().hypervisor?.monitor };
}

describe('real mode and 16-bit code under the software monitor', () => {
  const bare = run('none');

  it('on the bare PC: the ROM prints its lines and halts at F000:0193', () => {
    expect(bare.out).toBe(EXPECTED);
    expect(bare.result).toEqual({ kind: 'stopped', reason: { kind: 'halt', cs: 0xf000, eip: 0x193 } });
  });

  it.each<Acceleration>(['trap', 'bt'])('under %s: the same output and stop, seven hand-overs each way', (acceleration) => {
    const { out, result, monitor } = run(acceleration);
    expect(out).toBe(bare.out);
    expect(result).toEqual(bare.result);
    // To the emulator: in each round the read of the ROM's alias at 0xFFFFFFF0 (the monitor's part of the space:
    // the faulting MOV runs in the emulator) and the CALL into it (#GP past the truncated CS limit under trap, the
    // translator's hook under bt); then the MOV SS of the 16-bit segment (round 1, its first event there), the
    // 32-bit MOV CR0 clearing PE (round 2), the MOV SS after its second far JMP to the 16-bit segment. Back: after
    // each of the first four, and at each far JMP to 32-bit code once every segment register matches its
    // descriptor (twice from real mode, once from the real mode with 32-bit caches, where setting PE again leaves
    // a state the shadow GDT represents).
    expect(monitor!.emulatorEntries).toBe(7);
    expect(monitor!.emulatorExits).toBe(7);
    expect(monitor!.emulatedInstructions).toBe(3454);
    // The 32-bit ring-0 code ran on the monitor's processor: its port I/O (166 characters, an IN and an OUT
    // each), LIDT, its MOV CR0 (three reads, round 2's write clearing PE) and the alias reads (counted as top
    // 4 MiB traps before the emulator took them) trapped there; under bt CLI/STI are translated inline, not
    // trapped. The real-mode and 16-bit code's own port I/O was the emulator's.
    const traps = Object.fromEntries(Object.entries(monitor!.traps).filter(([, n]) => n > 0));
    expect(traps).toEqual(
      acceleration === 'trap'
        ? { cli: 4, sti: 2, 'in/out': 332, 'lgdt/lidt': 2, 'mov cr': 4, 'top 4 MiB': 2 }
        : { 'in/out': 332, 'lgdt/lidt': 2, 'mov cr': 4, 'top 4 MiB': 2 },
    );
  });
});
