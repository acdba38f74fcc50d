/**
 * Which instruction forms keep whole regions of the warm Tiny Linux shell
 * loop in JavaScript: the WebAssembly back end compiles a region only if
 * every member has a translation (wasm/wasmRegion.ts), so one instruction
 * without a form keeps all its region's members JavaScript. Boots with the
 * compiler on (deterministic clock), warms the loop up, records which
 * compiled blocks are WebAssembly members and which share a JavaScript
 * region function, then turns the compiler off and counts each block's runs
 * over one more round. Prints the share of the loop's instructions in
 * WebAssembly regions, JavaScript regions and interpreted blocks; then per
 * form, the instructions of the JavaScript regions it keeps out (alone: the
 * regions whose only missing form it is), and a greedy order of forms with
 * the share that would be WebAssembly after each (wasmForms.ts weighs
 * blocks, not regions).
 *   npx esbuild test/cpu/jit/measure/wasmRegionForms.ts --bundle --platform=node --format=esm \
 *     --outfile=bench/.regionForms.mjs && node bench/.regionForms.mjs [iterations=10000] [warm=3] [top=25]
 */
import { GuestConsole } from '../../../../scripts/guestConsole.ts';
import { formOf } from './formOf.ts';
import type { Cpu } from '../../../../core/cpu/cpu.ts';
import type { Block } from '../../../../core/cpu/decoder.ts';
import { wasmUntranslated } from '../../../../core/cpu/jit/wasm/wasmRegion.ts';

const iterations = Number(process.argv[2] ?? 10000);
const warm = Number(process.argv[3] ?? 3);
const top = Number(process.argv[4] ?? 25);
const loop = `i=0; while [ $i -lt ${iterations} ]; do i=$((i+1)); done; echo $i`;

/** The forms of `block`'s instructions without a WebAssembly translation (each tried as a block of its own). */
function missingForms(block: Block, flat: number): Set<string> {
  const forms = new Set<string>();
  for (const ins of block.insns) {
    const one = Object.create(block) as Block;
    Object.defineProperty(one, 'insns', { value: [ins] });
    const miss = wasmUntranslated(one, flat);
    if (miss !== null) forms.add(formOf(miss));
  }
  return forms;
}

async function main(): Promise<void> {
  const guest = GuestConsole.tinyLinux({ jit: true });
  const cpu = (guest.machine as unknown as { side: { cpu: Cpu } }).side.cpu;
  await guest.waitFor('POPEK-READY', 900);
  await guest.waitFor(/\n# (\x1b\[6n)?$/, 120);
  for (let r = 0; r < warm; r++) await guest.command(loop, 3600);
  const wasmCompiled = (cpu.jit as unknown as { wasmBackend: { compiled: unknown } }).wasmBackend.compiled;
  const jsRegions = new Map<unknown, Block[]>();
  const inWasm = new Set<Block>();
  for (const b of cpu.blocks.values()) {
    if (b.jit === null) continue;
    if (b.jit === wasmCompiled) inWasm.add(b);
    else jsRegions.set(b.jit, [...(jsRegions.get(b.jit) ?? []), b]);
  }
  cpu.jit.configure({ enabled: false });
  const before = new Map<Block, number>();
  for (const b of cpu.blocks.values()) before.set(b, b.heat);
  const out = await guest.command(loop, 3600);
  if (out.trim() !== String(iterations)) throw new Error(`the loop printed ${JSON.stringify(out)}`);
  const runs = (b: Block) => (b.heat - (before.get(b) ?? b.heat)) * b.insns.length;
  let total = 0, wasm = 0, js = 0;
  for (const b of cpu.blocks.values()) {
    const n = runs(b);
    total += n;
    if (inWasm.has(b)) wasm += n;
  }
  const regions: { weight: number; forms: Set<string> }[] = [];
  for (const members of jsRegions.values()) {
    const weight = members.reduce((s, b) => s + runs(b), 0);
    js += weight;
    const forms = new Set<string>();
    for (const b of members) for (const f of missingForms(b, cpu.flatMask)) forms.add(f);
    if (weight > 0) regions.push({ weight, forms });
  }
  const pct = (n: number) => `${(100 * n / total).toFixed(2).padStart(6)}%`;
  console.log(`${total / iterations} instructions per iteration: WebAssembly regions ${pct(wasm)}, JavaScript regions ${pct(js)} (${regions.length} ran), interpreted ${pct(total - wasm - js)}`);
  const alone = new Map<string, number>(), any = new Map<string, number>();
  for (const r of regions) {
    for (const f of r.forms) any.set(f, (any.get(f) ?? 0) + r.weight);
    if (r.forms.size === 1) { const [f] = r.forms; alone.set(f, (alone.get(f) ?? 0) + r.weight); }
  }
  console.log('form: JavaScript regions\' instructions with it / where it is the only missing form');
  for (const [f, n] of [...any].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${pct(n)} ${pct(alone.get(f) ?? 0)}  ${f}`);
  console.log('greedy: with forms for ... the share in WebAssembly regions would be');
  const chosen = new Set<string>();
  let gained = wasm;
  for (let step = 0; step < top; step++) {
    let best = '', bestGain = 0;
    for (const f of any.keys()) {
      if (chosen.has(f)) continue;
      let g = 0;
      for (const r of regions) if (r.forms.has(f) && [...r.forms].every((x) => x === f || chosen.has(x))) g += r.weight;
      if (g > bestGain) { best = f; bestGain = g; }
    }
    if (bestGain === 0) break;
    chosen.add(best);
    gained += bestGain;
    console.log(`${pct(gained)}  + ${best}`);
  }
  guest.machine.pause();
  process.exit(0);
}

await main();
