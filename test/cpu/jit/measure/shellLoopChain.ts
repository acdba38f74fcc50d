/**
 * Chaining on and off (JitOptions.chain) on the Tiny Linux shell loop, in
 * one booted machine with the compiler on: for each setting in turn, a
 * warm-up run of the loop (changing the setting drops the compiled code;
 * blocks compile again once hot) and then a measured run, in this process's
 * CPU time. Alternates the settings so both see the same machine load.
 *
 *   npx tsx test/cpu/jit/measure/shellLoopChain.ts [iterations=3000] [rounds=2] [hotThreshold=100]
 */
import { GuestConsole } from '../../../../scripts/guestConsole.ts';
import type { Cpu } from '../../../../core/cpu/cpu.ts';

const iterations = Number(process.argv[2] ?? 3000);
const rounds = Number(process.argv[3] ?? 2);
const hotThreshold = Number(process.argv[4] ?? 100);
const loop = `i=0; while [ $i -lt ${iterations} ]; do i=$((i+1)); done; echo $i`;

async function main(): Promise<void> {
  const guest = GuestConsole.tinyLinux({ jit: true });
  await guest.waitFor('POPEK-READY', 900);
  await guest.waitFor(/\n# (\x1b\[6n)?$/, 120);
  const cpu = (guest.machine as unknown as { side: { cpu: Cpu } }).side.cpu;
  const run = async (): Promise<number> => {
    const t = process.cpuUsage();
    const out = await guest.command(loop, 1800);
    if (out.trim() !== String(iterations)) throw new Error(`the loop printed ${JSON.stringify(out)}`);
    const c = process.cpuUsage(t);
    return (c.user + c.system) / 1e6;
  };
  for (let r = 0; r < rounds; r++) {
    for (const chain of r % 2 === 0 ? [false, true] : [true, false]) {
      cpu.jit.configure({ chain, hotThreshold });
      const warm = await run();
      const measured = await run();
      console.log(`round ${r}, chain ${chain ? 'on ' : 'off'}: warm-up ${warm.toFixed(2)} s, measured ${measured.toFixed(2)} s`);
    }
  }
  guest.machine.pause();
}

await main();
