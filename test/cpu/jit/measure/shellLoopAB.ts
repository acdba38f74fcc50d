/**
 * Measures the block compiler on the Tiny Linux shell loop: two machines
 * (deterministic clock), one with the compiler off and one on, boot in one
 * process; then the loop runs on each in turn, alternating which goes
 * first, several rounds. Times are this process's CPU time (user + system,
 * which includes V8's background compiler threads), and only the ratios
 * mean anything on a shared machine. Also checks that both machines printed
 * exactly the same output.
 *
 *   npx tsx test/cpu/jit/measure/shellLoopAB.ts [iterations=10000] [rounds=4]
 */
import { getHeapCodeStatistics } from 'node:v8';
import { GuestConsole } from '../../../../scripts/guestConsole.ts';
import type { Cpu } from '../../../../core/cpu/cpu.ts';

const iterations = Number(process.argv[2] ?? 10000);
const rounds = Number(process.argv[3] ?? 4);
const loop = `i=0; while [ $i -lt ${iterations} ]; do i=$((i+1)); done; echo $i`;

function cpuSeconds(since: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(since);
  return (c.user + c.system) / 1e6;
}

async function boot(jit: boolean): Promise<{ guest: GuestConsole; seconds: number }> {
  const guest = GuestConsole.tinyLinux({ jit });
  const t = process.cpuUsage();
  await guest.waitFor('POPEK-READY', 900);
  await guest.waitFor(/\n# (\x1b\[6n)?$/, 120);
  return { guest, seconds: cpuSeconds(t) };
}

async function main(): Promise<void> {
  const off = await boot(false);
  const on = await boot(true);
  console.log(`boot: off ${off.seconds.toFixed(2)} s, on ${on.seconds.toFixed(2)} s, on/off ${(on.seconds / off.seconds).toFixed(3)}`);
  for (let r = 0; r < rounds; r++) {
    const order: [string, { guest: GuestConsole }][] = r % 2 === 0 ? [['off', off], ['on', on]] : [['on', on], ['off', off]];
    const seconds: Record<string, number> = {};
    for (const [name, m] of order) {
      const t = process.cpuUsage();
      const out = await m.guest.command(loop, 1800);
      seconds[name] = cpuSeconds(t);
      if (out.trim() !== String(iterations)) throw new Error(`${name}: the loop printed ${JSON.stringify(out)}`);
    }
    console.log(`round ${r}: off ${seconds.off.toFixed(2)} s, on ${seconds.on.toFixed(2)} s, on/off ${(seconds.on / seconds.off).toFixed(3)}`);
  }
  const cpu = (on.guest.machine as unknown as { side: { cpu: Cpu } }).side.cpu;
  console.log(`same output: ${off.guest.output === on.guest.output}`);
  console.log(`compiler: ${JSON.stringify(cpu.jit.stats())}`);
  console.log(`V8 code in this process: ${JSON.stringify(getHeapCodeStatistics())}`);
  off.guest.machine.pause();
  on.guest.machine.pause();
}

await main();
