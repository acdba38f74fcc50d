/**
 * Compares two builds of the core (before and after a change to the code, not
 * a JitOptions setting: shellLoopVariants.ts does those) on the Tiny Linux
 * shell loop in one process: each build is this file bundled from its tree,
 * and the one run imports both. Four machines (deterministic clock) boot in
 * the order A B B A and run the loop in rounds, the order rotating every
 * round, so the load of the shared machine falls on both builds alike, and
 * the position in the process (which favoured one side by up to ~10% when
 * there was one machine per build) cancels out. Times are the process's CPU
 * time per loop; rounds 0-2 are the warm-up (blocks turn hot and compile),
 * the others the warm loop. The ratios printed are B / A: the warm sum, and
 * the median of the per-round ratios with all of them (their spread is the
 * noise; swap A and B to check a small difference). A build against a copy
 * of itself (no difference in the code) gave B/A 1.096 while the machines
 * shared generated functions through V8's eval cache (core/cpu/jit/jit.ts
 * `generated` says why), 1.027 since (warm rounds: machines in boot order
 * 0.85, 0.90, 0.96, 0.95 s per round, so a small bias against later ones
 * remains, which swapping A and B cancels). Builds that run different back
 * ends (JitOptions.wasm) are not compared this way: with the JavaScript
 * one in the process the WebAssembly one's figures moved a lot (jit.ts
 * history, stop 34); run each build against itself
 * (`node bench/.abB.mjs ./.abA.mjs ./.abA.mjs`, then `./.abB.mjs ./.abB.mjs`),
 * in turns.
 *
 *   git stash && npx esbuild test/cpu/jit/measure/codeAB.ts --bundle --platform=node --format=esm \
 *     --outfile=bench/.abA.mjs; git stash pop
 *   npx esbuild test/cpu/jit/measure/codeAB.ts --bundle --platform=node --format=esm --outfile=bench/.abB.mjs
 *   node bench/.abB.mjs ./.abA.mjs ./.abB.mjs [iterations=10000] [rounds=12]
 * (the builds' paths are relative to the script running).
 */
import { pathToFileURL } from 'node:url';
import { GuestConsole } from '../../../../scripts/guestConsole.ts';

/** Boots Tiny Linux to its shell; returns a function running a shell command and giving its output. */
export async function boot(): Promise<(command: string) => Promise<string>> {
  const guest = GuestConsole.tinyLinux({ jit: true });
  await guest.waitFor('POPEK-READY', 900);
  await guest.waitFor(/\n# (\x1b\[6n)?$/, 120);
  return (command) => guest.command(command, 3600);
}

function cpuSeconds(): number {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1e6;
}

async function main(): Promise<void> {
  const [pathA, pathB] = process.argv.slice(2, 4);
  const iterations = Number(process.argv[4] ?? 10000);
  const rounds = Number(process.argv[5] ?? 12);
  if (pathA === undefined || pathB === undefined || !(rounds > 3)) throw new Error('usage: node <bundle> <build A> <build B> [iterations] [rounds > 3]');
  const builds = { A: (await import(pathA)) as { boot: typeof boot }, B: (await import(pathB)) as { boot: typeof boot } };
  const loop = `i=0; while [ $i -lt ${iterations} ]; do i=$((i+1)); done; echo $i`;
  const machines: { build: 'A' | 'B'; run: (command: string) => Promise<string>; times: number[] }[] = [];
  for (const build of ['A', 'B', 'B', 'A'] as const) {
    const t = cpuSeconds();
    machines.push({ build, run: await builds[build].boot(), times: [] });
    console.log(`boot ${build}: ${(cpuSeconds() - t).toFixed(2)} s CPU`);
  }
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < machines.length; i++) {
      const m = machines[(i + r) % machines.length];
      const t = cpuSeconds();
      const out = await m.run(loop);
      m.times.push(cpuSeconds() - t);
      if (out.trim() !== String(iterations)) throw new Error(`build ${m.build}: the loop printed ${JSON.stringify(out)}`);
    }
    console.log(`round ${r}: ${machines.map((m) => `${m.build} ${m.times[r].toFixed(2)}`).join('  ')}`);
  }
  const sum = (build: 'A' | 'B', r: number) => machines.filter((m) => m.build === build).reduce((s, m) => s + m.times[r], 0);
  const range = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => from + k);
  const total = (build: 'A' | 'B', rs: number[]) => rs.reduce((s, r) => s + sum(build, r), 0);
  const cold = range(0, 3), warm = range(3, rounds);
  const ratios = warm.map((r) => sum('B', r) / sum('A', r)).sort((x, y) => x - y);
  console.log(`warm-up (rounds 0-2): A ${total('A', cold).toFixed(2)} s, B ${total('B', cold).toFixed(2)} s, B/A ${(total('B', cold) / total('A', cold)).toFixed(3)}`);
  console.log(`warm (rounds 3-${rounds - 1}): A ${total('A', warm).toFixed(2)} s, B ${total('B', warm).toFixed(2)} s, B/A ${(total('B', warm) / total('A', warm)).toFixed(3)};`
    + ` per round median ${ratios[ratios.length >> 1].toFixed(3)} [${ratios.map((x) => x.toFixed(2)).join(' ')}]`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(() => process.exit(0), (e: unknown) => {
    console.error(e);
    process.exit(1);
  });
}
