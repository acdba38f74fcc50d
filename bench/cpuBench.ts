/**
 * CPU benchmark: a sieve and a bitwise CRC32 in flat 32-bit protected mode
 * with paging on (bench/asm/cpubench.asm), on the bare CPU. Verifies the
 * results against values computed here in JS, then reports guest MIPS.
 */
import { readFileSync } from 'node:fs';
import { MemoryBus } from '../core/memory/bus.ts';
import { PhysicalMemory } from '../core/memory/physicalMemory.ts';
import { GuestClock } from '../core/cpu/clock.ts';
import { Cpu, STOP_HALT, STOP_SHUTDOWN } from '../core/cpu/cpu.ts';
import { flatEntryState } from '../core/machine/boot/entryState.ts';
import { assemble } from '../scripts/nasm.ts';

const SIEVE_N = 65536;
const DATA_N = 16384;

export interface CpuBenchResult {
  instructions: number;
  seconds: number;
  mips: number;
  primes: number;
  crc: number;
}

export function runCpuBench(sieveRepeat = 40, crcRepeat = 12, jit = false): CpuBenchResult {
  const source = readFileSync(new URL('./asm/cpubench.asm', import.meta.url), 'utf8');
  const image = assemble(source, [], { SIEVE_REPEAT: sieveRepeat, CRC_REPEAT: crcRepeat });
  const memory = new PhysicalMemory(32 << 20);
  const bus = new MemoryBus(memory);
  const clock = new GuestClock('deterministic');
  const values: number[] = [];
  bus.addPorts(0xf0, 4, { portRead: () => 0, portWrite: (_p, _s, v) => { values.push(v >>> 0); } }, 'bench results', [4]);
  memory.u8.set(image, 0x100000);
  const cpu = new Cpu(bus, clock);
  cpu.jit.configure({ enabled: jit });
  const entry = flatEntryState(memory, 0x100000);
  entry.esp = 0x90000;
  cpu.loadEntryState(entry);
  const t0 = performance.now();
  let stop: number;
  do stop = cpu.run(10_000_000);
  while (stop !== STOP_HALT && stop !== STOP_SHUTDOWN);
  const seconds = (performance.now() - t0) / 1000;
  if (stop === STOP_SHUTDOWN) throw new Error(`cpu bench: triple fault (${cpu.shutdownDetail})`);
  const [primes, crc] = values;
  const expected = expectedResults(crcRepeat);
  if (primes !== expected.primes || crc !== expected.crc) {
    throw new Error(`cpu bench computed wrong results: primes ${primes} (want ${expected.primes}), crc ${crc?.toString(16)} (want ${expected.crc.toString(16)})`);
  }
  const instructions = clock.retired;
  return { instructions, seconds, mips: instructions / seconds / 1e6, primes, crc };
}

/** The same computations in JS, independently of the emulated CPU. */
function expectedResults(crcRepeat: number): { primes: number; crc: number } {
  const sieve = new Uint8Array(SIEVE_N).fill(1);
  for (let i = 2; i * i < SIEVE_N; i++) if (sieve[i]) for (let j = i * i; j < SIEVE_N; j += i) sieve[j] = 0;
  let primes = 0;
  for (let i = 2; i < SIEVE_N; i++) primes += sieve[i];
  const data = new Uint8Array(DATA_N);
  let x = 0x12345678;
  for (let i = 0; i < DATA_N; i++) {
    data[i] = x & 0xff;
    x = (Math.imul(x, 1103515245) + 12345) | 0;
  }
  let crc = 0;
  for (let r = 0; r < crcRepeat; r++) {
    let c = 0xffffffff;
    for (let i = 0; i < DATA_N; i++) {
      c ^= data[i];
      for (let b = 0; b < 8; b++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
    }
    crc = ~c >>> 0;
  }
  return { primes, crc };
}
