/**
 * Measures the block compiler on the CPU benchmark's workload
 * (bench/asm/cpubench.asm: a sieve and a bitwise CRC32, flat 32-bit code with
 * paging), compiler off and on alternately in one process, in CPU time.
 * Checks that both runs compute the same results in the same number of
 * instructions.
 *
 *   npx tsx test/cpu/jit/measure/cpuBenchAB.ts [rounds=4]
 */
import { readFileSync } from 'node:fs';
import { MemoryBus } from '../../../../core/memory/bus.ts';
import { PhysicalMemory } from '../../../../core/memory/physicalMemory.ts';
import { GuestClock } from '../../../../core/cpu/clock.ts';
import { Cpu, STOP_HALT, STOP_SHUTDOWN } from '../../../../core/cpu/cpu.ts';
import { flatEntryState } from '../../../../core/machine/boot/entryState.ts';
import { assemble } from '../../../../scripts/nasm.ts';

const source = readFileSync(new URL('../../../../bench/asm/cpubench.asm', import.meta.url), 'utf8');
const image = assemble(source, [], { SIEVE_REPEAT: 40, CRC_REPEAT: 12 });

function run(jit: boolean): { seconds: number; retired: number; values: number[]; blocks: number } {
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
  const t = process.cpuUsage();
  let stop: number;
  do stop = cpu.run(10_000_000);
  while (stop !== STOP_HALT && stop !== STOP_SHUTDOWN);
  const c = process.cpuUsage(t);
  return { seconds: (c.user + c.system) / 1e6, retired: clock.retired, values, blocks: cpu.jit.stats().compiled };
}

const rounds = Number(process.argv[2] ?? 4);
for (let r = 0; r < rounds; r++) {
  const off = run(false);
  const on = run(true);
  const same = off.retired === on.retired && JSON.stringify(off.values) === JSON.stringify(on.values);
  console.log(`round ${r}: off ${off.seconds.toFixed(2)} s (${(off.retired / off.seconds / 1e6).toFixed(1)} MIPS), on ${on.seconds.toFixed(2)} s (${(on.retired / on.seconds / 1e6).toFixed(1)} MIPS), on/off ${(on.seconds / off.seconds).toFixed(3)}, ${on.blocks} blocks compiled, same results: ${same}`);
}
