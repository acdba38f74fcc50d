/**
 * Which instruction forms keep the Tiny Linux shell loop out of the
 * WebAssembly back end (jit/wasm/wasmRegion.ts), as shellLoopForms.ts does
 * for the JavaScript one: boots interpreted, runs the loop, weights each
 * block by its runs in the loop, and prints the share of instructions in
 * blocks the back end translates and the first untranslated form of the
 * others by the instructions their blocks ran.
 *
 *   npx tsx test/cpu/jit/measure/wasmForms.ts [iterations=2000] [top=30]
 */
import { loopBlockRuns } from './loopBlockRuns.ts';
import { formOf } from './formOf.ts';
import { wasmUntranslated } from '../../../../core/cpu/jit/wasm/wasmRegion.ts';

const iterations = Number(process.argv[2] ?? 2000);
const top = Number(process.argv[3] ?? 30);

async function main(): Promise<void> {
  const { guest, cpu, runs } = await loopBlockRuns(iterations);
  let total = 0, translated = 0;
  const cost = new Map<string, number>();
  for (const [b, n] of runs) {
    const insns = n * b.insns.length;
    total += insns;
    const miss = wasmUntranslated(b, cpu.flatMask);
    if (miss === null) translated += insns;
    else cost.set(formOf(miss), (cost.get(formOf(miss)) ?? 0) + insns);
  }
  console.log(`${(100 * translated / total).toFixed(1)}% of ${total} instructions in blocks the WebAssembly back end translates`);
  for (const [form, n] of [...cost].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${(100 * n / total).toFixed(2).padStart(6)}%  ${form}`);
  guest.machine.pause();
}

await main();
