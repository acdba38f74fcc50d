/**
 * Why the WebAssembly back end's dispatch loop (jit/wasm/wasmDispatch.ts)
 * goes back to the run loop, and what its regions call out for, on the warm
 * Tiny Linux shell loop: boots with the compiler and the WebAssembly back
 * end on (deterministic clock), runs `warm` rounds of the loop, then counts
 * over one more round, per loop iteration: the run loop's entries into
 * WebAssembly code and the instructions each ran there, the dispatch
 * loop's region calls (a step from a member to one in another region, or
 * one the region's tail does not take); each return by
 * reason (an instruction handed over, a handler's request, interrupts polled, budget, and for the
 * others what the next block is: a JavaScript region, an interpreted
 * block, a WebAssembly member the loop did not enter); and the calls out
 * by import, the interpreter handler calls by instruction form. Counting goes through wasmRuntime.ts's hooks, which cost time:
 * use this for the counts, codeAB.ts for times.
 *   npx esbuild test/cpu/jit/measure/wasmExits.ts --bundle --platform=node --format=esm \
 *     --outfile=bench/.exits.mjs && node bench/.exits.mjs [iterations=10000] [warm=3]
 */
import { GuestConsole } from '../../../../scripts/guestConsole.ts';
import { formOf } from './formOf.ts';
import type { Cpu } from '../../../../core/cpu/cpu.ts';
import { CS } from '../../../../core/cpu/regs.ts';
import { wasmHooks } from '../../../../core/cpu/jit/wasm/wasmRuntime.ts';
import { JIT_CALLED, JIT_LEFT, JIT_STEPS } from '../../../../core/cpu/jit/wasm/wasmRegion.ts';
import { JC_KEY, JC_MEMBER, jumpCacheSlot } from '../../../../core/cpu/jit/wasm/wasmDispatch.ts';
import { JUMP_CACHE_ENTRY_BYTES } from '../../../../core/memory/processorMemory.ts';
import { TLB_NOEXEC, TLB_SUPERVISOR, TLB_USER } from '../../../../core/cpu/tlb.ts';

const iterations = Number(process.argv[2] ?? 10000);
const warm = Number(process.argv[3] ?? 3);
const loop = `i=0; while [ $i -lt ${iterations} ]; do i=$((i+1)); done; echo $i`;

let counting = false;
const imports = new Map<string, number>();
const handlers = new Map<string, number>();
const exits = new Map<string, number>();
let entries = 0, instructions = 0;
const bump = (m: Map<string, number>, k: string) => m.set(k, (m.get(k) ?? 0) + 1);

/** What the block at the CPU's CS:EIP is, for a return that was not the run loop's business. */
function nextBlock(cpu: Cpu, wasmCompiled: unknown): string {
  const lin = (cpu.segBase[CS] + cpu.eip) | 0;
  const e = cpu.tlbRead[lin >>> 12];
  if (e === 0) return 'next: TLB miss';
  const b = cpu.blocks.get((e & ~0xfff) | (lin & 0xfff));
  if (b === undefined || b.eip !== cpu.eip) return 'next: not decoded';
  if (b.jit === null) return 'next: interpreted';
  if (b.jit !== wasmCompiled) return 'next: JavaScript code';
  if (b.jitLive![b.jitEntry] !== 1) return 'next: WebAssembly member not live';
  const backend = (cpu.jit as unknown as { wasmBackend: { jumpCache: Int32Array; needOf: Int32Array; regionOf: Int32Array } }).wasmBackend;
  const slot = jumpCacheSlot((b.csBase + b.eip) | 0) * (JUMP_CACHE_ENTRY_BYTES >> 2);
  if (backend.jumpCache[slot + JC_MEMBER] !== b.jitEntry || backend.jumpCache[slot + JC_KEY] !== b.key) return 'next: WebAssembly member, its jump cache slot taken by another';
  const need = backend.needOf[backend.regionOf[b.jitEntry]];
  if ((cpu.flatMask & need) !== need) return 'next: WebAssembly member whose flat segments are not';
  const fetchBit = cpu.cpl === 3 ? TLB_USER : TLB_SUPERVISOR;
  if ((e & (fetchBit | TLB_NOEXEC)) !== fetchBit) return 'next: WebAssembly member, TLB entry without execute permission';
  return 'next: WebAssembly member (other)';
}

wasmHooks.countSteps = true;
wasmHooks.onImport = (name, handled) => {
  if (!counting) return;
  bump(imports, name);
  if (handled !== undefined) bump(handlers, formOf(handled));
};
wasmHooks.onReturn = (cpu, d, ran, once) => {
  if (!counting) return;
  entries++;
  const out = cpu.jitState;
  instructions += ran;
  const wasmCompiled = (cpu.jit as unknown as { wasmBackend: { compiled: unknown } }).wasmBackend.compiled;
  if (cpu.jitResume) bump(exits, 'handed an instruction over (Cpu.jitResume)');
  else if (out[JIT_CALLED] !== 0) bump(exits, 'a handler asked the run loop to look');
  else if (once) bump(exits, 'interrupts polled');
  else if (out[JIT_LEFT] - d <= 0) bump(exits, 'budget');
  else bump(exits, nextBlock(cpu, wasmCompiled));
};

async function main(): Promise<void> {
  const guest = GuestConsole.tinyLinux({ jit: true });
  const cpu = (guest.machine as unknown as { side: { cpu: Cpu } }).side.cpu;
  cpu.jit.configure({ wasm: true, wasmHandlerCalls: Number(process.env.HANDLERS ?? 8) });
  await guest.waitFor('POPEK-READY', 900);
  await guest.waitFor(/\n# (\x1b\[6n)?$/, 120);
  for (let r = 0; r < warm; r++) await guest.command(loop, 3600);
  const retired = cpu.clock.retired;
  cpu.jitState[JIT_STEPS] = 0;
  counting = true;
  const out = await guest.command(loop, 3600);
  counting = false;
  if (out.trim() !== String(iterations)) throw new Error(`the loop printed ${JSON.stringify(out)}`);
  const per = (n: number) => (n / iterations).toFixed(1);
  const all = cpu.clock.retired - retired;
  console.log(`per iteration: ${per(all)} instructions, ${per(instructions)} in WebAssembly (${((100 * instructions) / all).toFixed(1)}%), `
    + `${per(entries)} entries from the run loop (${(instructions / entries).toFixed(1)} instructions each), ${per(cpu.jitState[JIT_STEPS])} region calls by the dispatch loop; compiler ${JSON.stringify(cpu.jit.stats())}, WebAssembly regions ${cpu.jit.wasmRegions}`);
  console.log('returns to the run loop:');
  for (const [k, n] of [...exits].sort((a, b) => b[1] - a[1])) console.log(`  ${per(n).padStart(8)}  ${k}`);
  console.log('calls out:');
  for (const [k, n] of [...imports].sort((a, b) => b[1] - a[1])) console.log(`  ${per(n).padStart(8)}  ${k}`);
  console.log('handler calls by form (the 25 most frequent):');
  for (const [k, n] of [...handlers].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`  ${per(n).padStart(8)}  ${k}`);
}

main().then(() => process.exit(0), (e: unknown) => {
  console.error(e);
  process.exit(1);
});
