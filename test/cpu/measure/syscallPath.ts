/**
 * The processor's system-call path alone, without a guest OS: a ring-3 loop
 * of INT 0x80 into a ring-0 entry shaped like Linux 6.1's entry_INT80_32
 * (test/cpu/syscallLoop.ts), on the bare CPU (test/cpu/harness.ts,
 * asm/pmode.inc), with the block compiler off and on. Prints ns per round
 * trip (CPU time of this process) for each mode, several runs alternating,
 * and the least of them.
 *
 *   npx esbuild test/cpu/measure/syscallPath.ts --bundle --platform=node --format=esm \
 *     --target=node20 --outfile=test/cpu/.syscallPath.mjs && node test/cpu/.syscallPath.mjs [calls] [runs]
 *
 * (The bundle must sit in test/cpu/: the harness finds asm/ beside it.)
 * syscallPathAB.ts compares two such bundles, built from two versions of the
 * processor, in one process.
 *
 * 3 Dec, the fast paths of segments.ts (cacheHolds), far.ts (readIretFrame32),
 * stackFrame.ts (pushFrame) and stringFast.ts (the dword loop, shifts in room)
 * against the same tree with those files at their previous commit, three
 * syscallPathAB.ts runs of 6 x 50000 calls at load 17-22: interpreted 1887 ->
 * 1721, 2010 -> 1712, 1974 -> 1636 ns per call (B/A 0.91, 0.85, 0.83);
 * compiled 2057 -> 1644, 2106 -> 1760, 2016 -> 1937 (0.80, 0.84, 0.96).
 * Sampled after (node --cpu-prof, interpreted): the run loop 24%, MOV/POP Sreg's
 * loadSegmentProtected 6% + fetchDescriptor 2.4%, deliverProtected 5.7% +
 * loadInnerStack 2.1% + pushFrame 2.3%, iretProtected 4.7%, the SS/CS cache
 * writes (loadSegmentFromDescriptor, setSegmentCache) 6%, REP MOVSD 3.7%
 * (node --trace-gc: 4 scavenges in a 3 x 2 x 100000-call run, 15 before).
 * Then descriptor and gate reads with one TLB look-up for both dwords
 * (segments.ts readDescriptorWords) and the ring-0 frame written with one
 * (pushFrame), against the first step: interpreted 0.95, 0.84, 0.91,
 * compiled 1.18, 0.95, 0.97; both steps against neither: interpreted 1770 ->
 * 1538, 1928 -> 1696, 2090 -> 1594 (0.87, 0.88, 0.76), compiled 1996 -> 1633,
 * 2146 -> 1700, 2136 -> 1797 (0.82, 0.79, 0.84), load 16-18.
 * Tiny Linux's getppid loop, the first step, oneWorkloadAB.ts bundles of
 * both trees side by side (4 rounds of 100000 calls, load ~18), after /
 * before per round:
 * interpreted 0.95, 0.91, 0.91, 0.96 and 0.82, 0.92, 0.97, 1.02; compiled
 * 1.00, 1.08, 0.93, 1.04 and 1.27 (round 0: V8's compiles), 0.94, 1.00, 0.88.
 */
import { pathToFileURL } from 'node:url';
import { runPm } from '../pmodeRun.ts';
import { syscallLoop } from '../syscallLoop.ts';

/** Runs `calls` round trips; returns the CPU time per call in ns. */
export function timeCalls(jit: boolean, calls: number): number {
  const t = process.cpuUsage();
  const run = runPm(syscallLoop(calls), {
    maxInstructions: calls * 80,
    setup: (_bus, cpu) => { if (jit) cpu.jit.configure({ enabled: true }); },
  });
  const c = process.cpuUsage(t);
  if (run.stop !== 'halt' || run.values[0] !== calls) throw new Error(`the loop did not finish: ${run.stop} ${JSON.stringify(run.values)}`);
  return ((c.user + c.system) * 1000) / calls;
}

function main(): void {
  const calls = Number(process.argv[2] ?? 200000);
  const runs = Number(process.argv[3] ?? 3);
  timeCalls(false, calls); // V8's warm-up of the interpreter and the assembler's cache
  const best = { off: Infinity, on: Infinity };
  for (let r = 0; r < runs; r++) {
    const off = timeCalls(false, calls);
    const on = timeCalls(true, calls);
    best.off = Math.min(best.off, off);
    best.on = Math.min(best.on, on);
    console.log(`run ${r}: off ${off.toFixed(0)} ns/call, on ${on.toFixed(0)} ns/call`);
  }
  // The least of the runs: what the path costs when other work on the machine takes the least from it.
  console.log(`least: off ${best.off.toFixed(0)} ns/call, on ${best.on.toFixed(0)} ns/call`);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) main();
