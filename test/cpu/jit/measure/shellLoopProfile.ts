/**
 * Where the time goes in the Tiny Linux shell loop: boots Tiny Linux
 * (deterministic clock) with the compiler on or off, runs the loop once to
 * warm up, then runs it again under the V8 CPU profiler (node:inspector) and
 * writes the profile (.cpuprofile) and a flat self-time summary by function.
 * Also counts, over the profiled run, how many instructions ran in compiled
 * blocks versus the interpreter (the run loop's counters).
 *
 * Bundle it first, like the bench (the TypeScript loader costs ~10%):
 *   npx esbuild test/cpu/jit/measure/shellLoopProfile.ts --bundle --platform=node --format=esm \
 *     --outfile=bench/.profile.mjs && node bench/.profile.mjs on 20000 /tmp/loop-on
 */
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
import { getHeapCodeStatistics } from 'node:v8';
import { GuestConsole } from '../../../../scripts/guestConsole.ts';
import type { Cpu } from '../../../../core/cpu/cpu.ts';
import type { Block } from '../../../../core/cpu/decoder.ts';
import { translateBlock } from '../../../../core/cpu/jit/translate.ts';
import { JIT_DEFAULTS } from '../../../../core/cpu/jit/jit.ts';

const mode = process.argv[2] ?? 'on';
const iterations = Number(process.argv[3] ?? 20000);
const out = process.argv[4] ?? `/tmp/shell-loop-${mode}`;
const loop = `i=0; while [ $i -lt ${iterations} ]; do i=$((i+1)); done; echo $i`;

interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount: number; children?: number[] }

async function main(): Promise<void> {
  const guest = GuestConsole.tinyLinux({ jit: mode === 'on' });
  let t = performance.now();
  await guest.waitFor('POPEK-READY', 900);
  await guest.waitFor(/\n# (\x1b\[6n)?$/, 120);
  console.log(`boot ${((performance.now() - t) / 1000).toFixed(2)} s`);
  const cpu = (guest.machine as unknown as { side: { cpu: Cpu } }).side.cpu;
  const code0 = getHeapCodeStatistics().code_and_metadata_size;
  t = performance.now();
  await guest.command(loop, 1800);
  console.log(`V8 code and metadata: ${(code0 / 2 ** 20).toFixed(1)} MiB after boot, ${(getHeapCodeStatistics().code_and_metadata_size / 2 ** 20).toFixed(1)} MiB after the warm-up loop`);
  console.log(`warm-up loop ${((performance.now() - t) / 1000).toFixed(2)} s`);
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  const r0 = cpu.clock.retired;
  t = performance.now();
  const text = await guest.command(loop, 1800);
  const seconds = (performance.now() - t) / 1000;
  const { profile } = await session.post('Profiler.stop');
  const retired = cpu.clock.retired - r0;
  console.log(`profiled loop ${seconds.toFixed(2)} s, ${retired} instructions, ${(retired / seconds / 1e6).toFixed(1)} MIPS, output ${text.trim()}`);
  console.log(`compiler: ${JSON.stringify(cpu.jit.stats())}`);
  writeFileSync(`${out}.cpuprofile`, JSON.stringify(profile));
  const nodes = profile.nodes as Node[];
  const self = new Map<string, number>();
  let total = 0;
  for (const n of nodes) {
    const f = n.callFrame;
    const key = `${f.functionName || '(anon)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + n.hitCount);
    total += n.hitCount;
  }
  // Compiled blocks grouped together.
  let blocks = 0;
  for (const [k, v] of self) if (k.startsWith('block_')) blocks += v;
  const rows = [...self].filter(([k]) => !k.startsWith('block_')).sort((a, b) => b[1] - a[1]).slice(0, 45);
  const lines = [`compiled blocks (block_*) ${(100 * blocks / total).toFixed(1)}%`, ...rows.map(([k, v]) => `${(100 * v / total).toFixed(1).padStart(5)}% ${k}`)];
  writeFileSync(`${out}.txt`, lines.join('\n') + '\n');
  console.log(lines.join('\n'));
  await countRun(guest, cpu);
  guest.machine.pause();
  process.exit(0);
}

/**
 * One more run of the loop with every compiled block's function wrapped to
 * count its runs and the instructions it retired (interpreted runs are the
 * blocks' heat counters, which the run loop bumps for uncompiled blocks).
 * The wrapping perturbs timing, so this run is not the profiled one.
 */
async function countRun(guest: GuestConsole, cpu: Cpu): Promise<void> {
  const heat = new Map<Block, number>();
  let compiledRuns = 0, compiledInsns = 0;
  const perBlock = new Map<Block, number>();
  for (const b of cpu.blocks.values()) {
    heat.set(b, b.heat);
    const f = b.jit;
    if (f !== null) b.jit = (c) => { const k = f(c); compiledRuns++; compiledInsns += k; perBlock.set(b, (perBlock.get(b) ?? 0) + 1); return k; };
  }
  const r0 = cpu.clock.retired;
  await guest.command(loop, 1800);
  const retired = cpu.clock.retired - r0;
  let interpRuns = 0, interpInsns = 0;
  const byLength = new Map<number, number>();
  for (const b of cpu.blocks.values()) {
    const n = b.heat - (heat.get(b) ?? 0);
    if (b.jit !== null && heat.has(b) || n <= 0) continue;
    interpRuns += n;
    interpInsns += n * b.insns.length;
  }
  const runs = compiledRuns + interpRuns;
  console.log(`counted loop: ${retired} instructions retired; blocks run ${runs} (avg ${(retired / runs).toFixed(2)} insns); `
    + `compiled ${compiledRuns} runs, ${compiledInsns} insns (${(100 * compiledInsns / retired).toFixed(1)}%); interpreted ~${interpRuns} runs, ~${interpInsns} insns`);
  const top = [...perBlock].sort((a, b) => b[1] - a[1]);
  let acc = 0;
  const cum = [10, 50, 100, 200, 500].map((n) => { acc = top.slice(0, n).reduce((a, [, v]) => a + v, 0); return `top ${n}: ${(100 * acc / compiledRuns).toFixed(1)}%`; });
  console.log(`compiled runs by block: ${cum.join(', ')}`);
  writeFileSync(`${out}.blocks.js`, top.slice(0, 8).map(([b, v]) => `// ${v} runs, ${b.insns.length} insns\n${translateBlock(b, JIT_DEFAULTS.maxHandlerCalls)}`).join('\n\n'));
}

await main();
