/**
 * Booting the bundled SeaBIOS (resources/firmware/seabios) for the firmware
 * tests, on the bare PC and under every acceleration (seabios.test.ts,
 * bootMedia.test.ts, software/seabiosMonitor.test.ts): the firmware images,
 * what its serial console sends first, the project's boot sector
 * (seabiosMbr.asm) on a raw disk image, and a bounded run that collects COM1
 * and the debug ports.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createMachine } from '../../core/machine/machine.ts';
import type { Acceleration } from '../../core/machine/acceleration.ts';
import type { MachineApi, MachineOptions, RunResult } from '../../core/machine/types.ts';
import { assemble } from '../../scripts/nasm.ts';

export const BIOS = readFileSync(new URL('../../resources/firmware/seabios/bios.bin', import.meta.url));
export const VGA_BIOS = readFileSync(new URL('../../resources/firmware/seabios/vgabios-isavga.bin', import.meta.url));
/** The boot sector: prints a line through INT 10h, one on the UART, then CLI; HLT. */
export const MBR = assemble(readFileSync(new URL('./seabiosMbr.asm', import.meta.url), 'utf8'));
/** What SeaBIOS's serial console sends first: reset, no line wrap, clear screen, default attributes. */
export const SERCON_INIT = '\x1bc\x1b[?7l\x1b[2J\x1b[0m';
export const BANNER = 'SeaBIOS (version 1.16.2-debian-1.16.2-1)\r\n';

/** Writes a 1 MiB raw disk image in `dir` whose first sector is MBR; returns its path. */
export function writeMbrImage(dir: string, name: string): string {
  const path = join(dir, name);
  const image = new Uint8Array(1024 * 1024);
  image.set(MBR);
  writeFileSync(path, image);
  return path;
}

export interface SeaBiosRun {
  /** What reached COM1. */
  out: string;
  /** The bytes written to `options.logPorts` (SeaBIOS's debug log on 0x402), as text. */
  debug: string;
  result: RunResult;
  machine: MachineApi;
}

/**
 * Runs the bundled SeaBIOS on a PC (64 MiB unless `options` say otherwise)
 * with the deterministic clock until `until` matches COM1's output or the
 * machine stops (bounded: 4000 slices).
 */
export function bootSeaBios(acceleration: Acceleration, options: Partial<MachineOptions>, until: RegExp): SeaBiosRun {
  let out = '';
  let debug = '';
  const machine = createMachine(
    { memoryMiB: 64, clock: 'deterministic', acceleration, rom: new Uint8Array(BIOS), noReboot: true, ...options },
    {
      onSerialOutput: (port, bytes) => port === 0 && (out += Buffer.from(bytes).toString('latin1')),
      onPortByte: (_port, byte) => (debug += String.fromCharCode(byte)),
    },
  );
  let result: RunResult = { kind: 'running' };
  for (let i = 0; i < 4000 && result.kind === 'running' && !until.test(out); i++) result = machine.run(50);
  return { out, debug, result, machine };
}
