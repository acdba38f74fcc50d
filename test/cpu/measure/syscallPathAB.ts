/**
 * Two versions of the processor's system-call path side by side in one
 * process: loads two bundles of syscallPath.ts (built from two trees, e.g.
 * the working tree and one with the changed files at HEAD) and alternates
 * short runs of each, compiler off and on, so that load from other work on
 * the machine falls on both alike. Prints each version's summed CPU time
 * per call and the ratio B / A per mode.
 *
 *   npx esbuild test/cpu/measure/syscallPathAB.ts --bundle --platform=node --format=esm \
 *     --target=node20 --outfile=test/cpu/.syscallPathAB.mjs
 *   node test/cpu/.syscallPathAB.mjs test/cpu/.syscallPathA.mjs test/cpu/.syscallPathB.mjs [calls per run] [rounds]
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

type TimeCalls = (jit: boolean, calls: number) => number;

async function load(path: string): Promise<TimeCalls> {
  const m = (await import(pathToFileURL(resolve(path)).href)) as { timeCalls: TimeCalls };
  return m.timeCalls;
}

const [pathA, pathB] = [process.argv[2], process.argv[3]];
if (!pathA || !pathB) throw new Error('usage: syscallPathAB <bundle A> <bundle B> [calls per run] [rounds]');
const calls = Number(process.argv[4] ?? 20000);
const rounds = Number(process.argv[5] ?? 20);
const a = await load(pathA);
const b = await load(pathB);
for (const jit of [false, true]) { a(jit, calls); b(jit, calls); } // warm-up
const sum = { off: [0, 0], on: [0, 0] };
for (let r = 0; r < rounds; r++) {
  for (const jit of [false, true]) {
    const s = jit ? sum.on : sum.off;
    // Which goes first alternates, so a drift in load favours neither.
    if (r % 2 === 0) { s[0] += a(jit, calls); s[1] += b(jit, calls); } else { s[1] += b(jit, calls); s[0] += a(jit, calls); }
  }
}
for (const mode of ['off', 'on'] as const) {
  const [ta, tb] = sum[mode];
  console.log(`compiler ${mode}: A ${(ta / rounds).toFixed(0)} ns/call, B ${(tb / rounds).toFixed(0)} ns/call, B/A ${(tb / ta).toFixed(3)}`);
}
