/**
 * Where the shell loop's gap to v86 lies, warm-up or steady state: boots
 * Tiny Linux in Popek (compiler on, real-time clock as in the bench) and in
 * v86 (its JIT) in one process and runs the bench's loop in rounds of
 * `iterations`, the two machines taking turns (the other paused: v86 by its
 * stop(), Popek runs only inside its own command), timing each round in host
 * seconds. The first rounds carry each JIT's warm-up (blocks turning hot,
 * V8 compiling them); the rest are the steady state. Prints each round's
 * times and ratio, and the sums of the first `warm` rounds and of the rest.
 *
 *   npx esbuild test/cpu/jit/measure/warmRounds.ts --bundle --platform=node --format=esm \
 *     --outfile=bench/.warm.mjs && node bench/.warm.mjs [iterations=10000] [rounds=12] [warm=3]
 */
import { GuestConsole, TINY_LINUX } from '../../../../scripts/guestConsole.ts';
import { loadV86, startV86Console } from '../../../../bench/v86Bench.ts';

const iterations = Number(process.argv[2] ?? 10000);
const rounds = Number(process.argv[3] ?? 12);
const warm = Number(process.argv[4] ?? 3);
const loop = `i=0; while [ $i -lt ${iterations} ]; do i=$((i+1)); done; echo $i`;

/** This process's CPU time (V8's compiler threads included): above the host time when they compile beside the loop. */
function cpuSeconds(): number {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1e6;
}

async function main(): Promise<void> {
  const v86 = await loadV86();
  if ('missing' in v86) throw new Error(v86.missing);
  const popek = GuestConsole.tinyLinux({ clock: 'realtime' });
  await popek.waitFor('POPEK-READY', 900);
  await popek.waitFor(/\n# (\x1b\[6n)?$/, 120);
  const other = await startV86Console(v86, TINY_LINUX + 'bzImage', 128);
  await other.emulator.stop();
  const times: [number, number][] = [];
  try {
    for (let r = 0; r < rounds; r++) {
      let t = performance.now();
      const c = cpuSeconds();
      const a = await popek.command(loop, 3600);
      const p = (performance.now() - t) / 1000;
      const pc = cpuSeconds() - c;
      await other.emulator.run();
      t = performance.now();
      const b = await other.command(loop, 3600);
      const v = (performance.now() - t) / 1000;
      await other.emulator.stop();
      if (a.trim() !== String(iterations) || b.trim() !== String(iterations)) throw new Error(`unexpected output: ${JSON.stringify([a, b])}`);
      times.push([p, v]);
      console.log(`round ${r}: Popek ${p.toFixed(2)} s (${pc.toFixed(2)} s CPU), v86 ${v.toFixed(2)} s, x${(p / v).toFixed(2)}`);
    }
  } finally {
    await other.emulator.destroy();
  }
  const sum = (from: number, to: number, k: 0 | 1) => times.slice(from, to).reduce((s, x) => s + x[k], 0);
  for (const [name, from, to] of [[`rounds 0-${warm - 1}`, 0, warm], [`rounds ${warm}-${rounds - 1}`, warm, rounds]] as const) {
    const p = sum(from, to, 0), v = sum(from, to, 1);
    console.log(`${name}: Popek ${p.toFixed(2)} s, v86 ${v.toFixed(2)} s, x${(p / v).toFixed(2)}`);
  }
  process.exit(0);
}

await main();
