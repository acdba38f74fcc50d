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
import { GuestConsole } from '../../../../scripts/guestConsole.ts';
import type { Cpu } from '../../../../core/cpu/cpu.ts';
import type { Block } from '../../../../core/cpu/decoder.ts';
import { formOf } from './formOf.ts';
import { wasmUntranslated } from '../../../../core/cpu/jit/wasm/wasmRegion.ts';

const iterations = Number(process.argv[2] ?? 2000);
const top = Number(process.argv[3] ?? 30);

async function main(): Promise<void> {
  const guest = GuestConsole.tinyLinux({ jit: false });
  await guest.waitFor('POPEK-READY', 900);
  await guest.waitFor(/\n# (\x1b\[6n)?$/, 120);
  const cpu = (guest.machine as unknown as { side: { cpu: Cpu } }).side.cpu;
  const before = new Map<Block, number>();
  for (const b of cpu.blocks.values()) before.set(b, b.heat);
  const out = await guest.command(`i=0; while [ $i -lt ${iterations} ]; do i=$((i+1)); done; echo $i`, 1800);
  if (out.trim() !== String(iterations)) throw new Error(`the loop printed ${JSON.stringify(out)}`);
  let total = 0, translated = 0;
  const cost = new Map<string, number>();
  for (const b of cpu.blocks.values()) {
    const n = b.heat - (before.get(b) ?? 0);
    if (n <= 0) continue;
    const insns = n * b.insns.length;
    total += insns;
    const miss = wasmUntranslated(b, cpu.flatMask);
    if (miss === null) translated += insns;
    else cost.set(formOf(miss), (cost.get(formOf(miss)) ?? 0) + insns);
  }
  console.log(`${(100 * translated / total).toFixed(1)}% of ${total} instructions in blocks the WebAssembly back end translates`);
  for (const [form, n] of [...cost].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${(100 * n / total).toFixed(2).padStart(6)}%  ${form}`);
  process.exit(0);
}

void main();
