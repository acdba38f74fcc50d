/**
 * Runs assembly test programs on the bare CPU: assembles NASM source into a
 * 64 KiB firmware ROM (mapped like a PC's flash: ending at 4 GiB and at
 * 0xFFFFF), starts the CPU at the reset vector and collects what the program
 * reports through I/O ports:
 *   port 0xE9  (byte)  debug console: appended to `console`
 *   port 0xF0  (dword) result values: appended to `values`
 * The program ends with HLT (interrupts disabled) or a triple fault.
 */
import { MemoryBus, type AccessSize } from '../../core/memory/bus.ts';
import { PhysicalMemory } from '../../core/memory/physicalMemory.ts';
import { GuestClock } from '../../core/cpu/clock.ts';
import { Cpu, STOP_BUDGET, STOP_HALT, STOP_SHUTDOWN } from '../../core/cpu/cpu.ts';
import { mapRomImage } from '../../core/machine/firmware/romImage.ts';
import type { ProcessorModel } from '../../core/cpu/processorModel.ts';
import { ResetControl } from '../../core/devices/resetControl.ts';
import { assemble as nasm } from '../../scripts/nasm.ts';

export const ASM_DIR = new URL('./asm/', import.meta.url).pathname;

/** Assembles NASM source (flat binary) with test/cpu/asm on the include path. */
export function assemble(source: string, includeDirs: string[] = [ASM_DIR], defines: Record<string, string | number> = {}): Uint8Array {
  return nasm(source, includeDirs, defines);
}

export interface RomRun {
  cpu: Cpu;
  bus: MemoryBus;
  console: string;
  values: number[];
  stop: 'halt' | 'shutdown' | 'budget';
  shutdownDetail: string | null;
}

export interface RomRunOptions {
  memoryMiB?: number;
  maxInstructions?: number;
  /** Extra port handlers to install before running. */
  setup?(bus: MemoryBus, cpu: Cpu): void;
  /** The processor part (default: the Intel part with VMX). */
  cpuModel?: ProcessorModel;
}

export function runRom(rom: Uint8Array, opts: RomRunOptions = {}): RomRun {
  const memory = new PhysicalMemory((opts.memoryMiB ?? 4) << 20, rom.length);
  const bus = new MemoryBus(memory);
  mapRomImage(memory, bus, rom);
  const clock = new GuestClock('deterministic');
  const cpu = new Cpu(bus, clock, opts.cpuModel);
  const result: RomRun = { cpu, bus, console: '', values: [], stop: 'budget', shutdownDetail: null };
  bus.addPorts(0xe9, 1, {
    portRead: () => 0xe9,
    portWrite: (_p: number, _s: AccessSize, v: number) => { result.console += String.fromCharCode(v & 0xff); },
  }, 'debug console', [1]);
  bus.addPorts(0xf0, 4, {
    portRead: () => 0,
    portWrite: (_p: number, _s: AccessSize, v: number) => { result.values.push(v >>> 0); },
  }, 'test results', [4]);
  opts.setup?.(bus, cpu);
  const max = opts.maxInstructions ?? 50_000_000;
  let done = 0;
  for (;;) {
    const before = clock.retired;
    const stop = cpu.run(Math.min(1_000_000, max - done));
    done += clock.retired - before;
    if (stop === STOP_HALT) { result.stop = 'halt'; break; }
    if (stop === STOP_SHUTDOWN) { result.stop = 'shutdown'; result.shutdownDetail = cpu.shutdownDetail; break; }
    if (stop === STOP_BUDGET && done >= max) break;
  }
  return result;
}

/** Assembles a test program and runs it. */
export function runAsm(source: string, opts?: RomRunOptions): RomRun {
  return runRom(assemble(source), opts);
}

/** A RomRunOptions.setup: port 0xCF9 whose soft reset asserts INIT on the processor, as the PC board's (core/machine/chipset.ts). */
export function softResetPort(bus: MemoryBus, cpu: Cpu): void {
  new ResetControl({ onReset: (cause) => { if (cause === 'cf9-soft') cpu.initPending = true; } }).attach(bus);
}
