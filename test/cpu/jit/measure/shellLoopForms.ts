/**
 * Which instruction forms keep the Tiny Linux shell loop out of compiled
 * code: boots Tiny Linux interpreted (deterministic clock), runs the shell
 * loop, and weights every decoded block by how often it ran during the loop
 * (its heat counter, which the run loop bumps on every interpreted run).
 * For each block the compiler's own translator says which instructions lack
 * an inline translation; a block with more of them than maxHandlerCalls
 * stays interpreted. Prints the share of instructions in blocks that would
 * compile, and the untranslated forms by the instructions they cost.
 *
 *   npx tsx test/cpu/jit/measure/shellLoopForms.ts [iterations=2000] [top=40]
 */
import { loopBlockRuns } from './loopBlockRuns.ts';
import { formOf } from './formOf.ts';
import { untranslated } from '../../../../core/cpu/jit/translate.ts';
import { JIT_DEFAULTS } from '../../../../core/cpu/jit/jit.ts';

const iterations = Number(process.argv[2] ?? 2000);
const top = Number(process.argv[3] ?? 40);

async function main(): Promise<void> {
  const { guest, runs: blockRuns } = await loopBlockRuns(iterations);
  const max = JIT_DEFAULTS.maxHandlerCalls;
  let total = 0, compilable = 0, blocksRun = 0, runs = 0;
  const cost = new Map<string, number>();
  const costRejected = new Map<string, number>();
  for (const [b, n] of blockRuns) {
    blocksRun++;
    runs += n;
    const insns = n * b.insns.length;
    total += insns;
    const missing = untranslated(b);
    const ok = missing.length <= max;
    if (ok) compilable += insns;
    for (const i of missing) {
      const f = formOf(i);
      cost.set(f, (cost.get(f) ?? 0) + n);
      // A rejected block's instructions all run interpreted: charge them to its untranslated forms.
      if (!ok) costRejected.set(f, (costRejected.get(f) ?? 0) + insns / missing.length);
    }
  }
  console.log(`${iterations} iterations: ${total} instructions in ${runs} block runs (${(total / runs).toFixed(2)} per block), ${blocksRun} distinct blocks`);
  console.log(`in blocks that compile (at most ${max} handler calls): ${(100 * compilable / total).toFixed(1)}% of instructions`);
  console.log('\nuntranslated forms: executions as handler calls | instructions of rejected blocks charged to them');
  const rows = [...cost.entries()].sort((a, b) => (costRejected.get(b[0]) ?? 0) + b[1] - ((costRejected.get(a[0]) ?? 0) + a[1]));
  for (const [f, n] of rows.slice(0, top)) {
    console.log(`${(n / iterations).toFixed(2).padStart(8)} /iter ${((costRejected.get(f) ?? 0) / iterations).toFixed(2).padStart(8)} /iter  ${f}`);
  }
  guest.machine.pause();
}

await main();
