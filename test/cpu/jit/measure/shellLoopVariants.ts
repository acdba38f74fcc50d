/**
 * Compares compiler settings on the Tiny Linux shell loop in one process:
 * one machine per variant (deterministic clock), all booted first, then the
 * loop runs on each in turn, rotating the order every round; times are this
 * process's CPU time (which includes V8's background compiler threads), so
 * only ratios mean anything on a shared machine. Round 0 is the warm-up
 * (blocks turn hot and compile); the summary is the median of the others.
 * Checks that every machine printed the same output.
 *
 * Variants are JSON objects of JitOptions (core/cpu/jit/jit.ts), e.g.
 *   npx esbuild test/cpu/jit/measure/shellLoopVariants.ts --bundle --platform=node --format=esm \
 *     --outfile=bench/.variants.mjs && node bench/.variants.mjs 3000 4 '{"enabled":false}' '{"enabled":true}'
 */
import { GuestConsole } from '../../../../scripts/guestConsole.ts';
import type { Cpu } from '../../../../core/cpu/cpu.ts';
import type { JitOptions } from '../../../../core/cpu/jit/jit.ts';

const iterations = Number(process.argv[2] ?? 3000);
const rounds = Number(process.argv[3] ?? 4);
const variants = process.argv.slice(4).map((s) => JSON.parse(s) as Partial<JitOptions>);
const loop = `i=0; while [ $i -lt ${iterations} ]; do i=$((i+1)); done; echo $i`;

function cpuSeconds(since: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(since);
  return (c.user + c.system) / 1e6;
}

async function main(): Promise<void> {
  const machines: { name: string; guest: GuestConsole; cpu: Cpu; times: number[] }[] = [];
  for (const v of variants) {
    const guest = GuestConsole.tinyLinux({ jit: v.enabled ?? true });
    const cpu = (guest.machine as unknown as { side: { cpu: Cpu } }).side.cpu;
    cpu.jit.configure(v);
    const t = process.cpuUsage();
    await guest.waitFor('POPEK-READY', 900);
    await guest.waitFor(/\n# (\x1b\[6n)?$/, 120);
    const name = JSON.stringify(v);
    console.log(`${name}: boot ${cpuSeconds(t).toFixed(2)} s CPU`);
    machines.push({ name, guest, cpu, times: [] });
  }
  for (let r = 0; r < rounds; r++) {
    const order = machines.map((_, i) => machines[(i + r) % machines.length]);
    for (const m of order) {
      const t = process.cpuUsage();
      const out = await m.guest.command(loop, 3600);
      m.times.push(cpuSeconds(t));
      if (out.trim() !== String(iterations)) throw new Error(`${m.name}: the loop printed ${JSON.stringify(out)}`);
    }
    console.log(`round ${r}: ${machines.map((m) => m.times[r].toFixed(2)).join(' ')}`);
  }
  const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
  // Round 0 is the warm-up; with a single round (a cold run) it is all there is.
  const counted = (t: number[]) => (t.length > 1 ? t.slice(1) : t);
  const ref = median(counted(machines[0].times));
  for (const m of machines) {
    const med = median(counted(m.times));
    console.log(`${m.name}: median ${med.toFixed(2)} s (x${(med / ref).toFixed(2)} of the first); compiler ${JSON.stringify(m.cpu.jit.stats())}`);
  }
  const outputs = new Set(machines.map((m) => m.guest.output.replace(/\x1b\[6n/g, '')));
  console.log(`same output: ${outputs.size === 1}`);
  for (const m of machines) m.guest.machine.pause();
  process.exit(0);
}

await main();
