/**
 * Runs the CPU benchmark's workload (bench/cpuBench.ts) a few times with the
 * block compiler on or off and prints MIPS per run: the quick figure while
 * working on the compiler, and the process to profile with node --cpu-prof.
 *
 *   npx tsx test/cpu/jit/measure/cpuBenchRuns.ts [on|off] [runs=4]
 */
import { runCpuBench } from '../../../../bench/cpuBench.ts';

const jit = process.argv[2] !== 'off';
const runs = Number(process.argv[3] ?? 4);
runCpuBench(2, 1, jit);
// Wall-clock MIPS, and MIPS over this process's CPU time (steadier on a loaded machine; it includes V8's compiler threads).
for (let i = 0; i < runs; i++) {
  const t = process.cpuUsage();
  const r = runCpuBench(undefined, undefined, jit);
  const c = process.cpuUsage(t);
  console.log(`jit ${jit ? 'on' : 'off'}: ${r.mips.toFixed(1)} MIPS, ${(r.instructions / ((c.user + c.system) / 1e6) / 1e6).toFixed(1)} MIPS of CPU time`);
}
