/**
 * `npm run bench`: prints Popek's speed and memory figures.
 *   - guest MIPS of CPU-bound protected-mode code with paging on
 *   - (with the bundled guest) Linux boot time to the ready line and a shell loop
 */
import { runCpuBench } from './cpuBench.ts';

function fmt(n: number, digits = 1): string {
  return n.toFixed(digits);
}

async function main(): Promise<void> {
  // Warm-up run so the figures reflect optimized code, then the measured run.
  runCpuBench(2, 1);
  const cpu = runCpuBench();
  console.log(`cpu: sieve + crc32, protected mode, paging on: ${cpu.instructions} instructions in ${fmt(cpu.seconds, 2)} s`);
  console.log(`${fmt(cpu.mips)} MIPS`);
  const mem = process.memoryUsage();
  console.log(`host memory: rss ${fmt(mem.rss / 2 ** 20, 0)} MiB, heap ${fmt(mem.heapUsed / 2 ** 20, 0)} MiB`);
}

await main();
