/**
 * Where the time goes in one of the bench's Tiny Linux workloads (shell,
 * fork or getppid loop; workloadsAB.ts has the lines): boots Tiny Linux
 * (deterministic clock) with the compiler on or off, runs the workload once
 * to warm up, then again under the V8 CPU profiler (node:inspector), and
 * prints a flat self-time summary by function (compiled regions and blocks
 * grouped together) and writes the .cpuprofile.
 *
 *   npx esbuild test/cpu/jit/measure/workloadProfile.ts --bundle --platform=node --format=esm \
 *     --target=node20 --outfile=bench/.wprof.mjs && node bench/.wprof.mjs on getppid /tmp/getppid-on [cold]
 */
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
import { GuestConsole } from '../../../../scripts/guestConsole.ts';
import type { Cpu } from '../../../../core/cpu/cpu.ts';
import { initramfsWithSyscallProgram, SYSCALL_PROGRAM } from '../../../../bench/syscallProgram.ts';

const mode = process.argv[2] ?? 'on';
const workload = process.argv[3] ?? 'getppid';
const out = process.argv[4] ?? `/tmp/${workload}-${mode}`;
/** `cold`: profile the workload's first run (what the bench measures), without the warm-up run. */
const cold = process.argv[5] === 'cold';
const LINES: Record<string, string> = {
  shell: 'i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; echo $i',
  fork: 'i=0; while [ $i -lt 200 ]; do /bin/true; i=$((i+1)); done; echo $i',
  getppid: `${SYSCALL_PROGRAM} 100000`,
};

interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount: number }

async function main(): Promise<void> {
  const line = LINES[workload];
  if (line === undefined) throw new Error(`workload: one of ${Object.keys(LINES).join(', ')}`);
  const guest = GuestConsole.tinyLinux({ jit: mode === 'on', initrd: initramfsWithSyscallProgram() });
  await guest.waitFor('POPEK-READY', 1800);
  await guest.waitFor(/\n# (\x1b\[6n)?$/, 120);
  const cpu = (guest.machine as unknown as { side: { cpu: Cpu } }).side.cpu;
  let t = performance.now();
  if (!cold) {
    await guest.command(line, 3600);
    console.log(`warm-up ${((performance.now() - t) / 1000).toFixed(2)} s`);
  }
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  const r0 = cpu.clock.retired;
  const s0 = cpu.jit.stats();
  t = performance.now();
  const text = await guest.command(line, 3600);
  const seconds = (performance.now() - t) / 1000;
  const { profile } = await session.post('Profiler.stop');
  const retired = cpu.clock.retired - r0;
  const s1 = cpu.jit.stats();
  console.log(`profiled ${seconds.toFixed(2)} s, ${retired} instructions, ${(retired / seconds / 1e6).toFixed(1)} MIPS, output ${JSON.stringify(text.trim().slice(-80))}`);
  console.log(`compiled during it: ${s1.compiled - s0.compiled} blocks in ${s1.regions - s0.regions} regions; ${JSON.stringify(s1)}`);
  writeFileSync(`${out}.cpuprofile`, JSON.stringify(profile));
  const self = new Map<string, number>();
  let total = 0;
  for (const n of profile.nodes as Node[]) {
    const f = n.callFrame;
    const compiled = f.functionName.startsWith('block_') || f.functionName.startsWith('region_');
    const key = compiled ? '(compiled regions and blocks)' : `${f.functionName || '(anon)'} ${f.url.split('/').slice(-2).join('/')}:${f.lineNumber + 1}`;
    self.set(key, (self.get(key) ?? 0) + n.hitCount);
    total += n.hitCount;
  }
  const rows = [...self].sort((a, b) => b[1] - a[1]).slice(0, 40);
  const lines = rows.map(([k, v]) => `${(100 * v / total).toFixed(1).padStart(5)}% ${k}`);
  writeFileSync(`${out}.txt`, lines.join('\n') + '\n');
  console.log(lines.join('\n'));
  guest.machine.pause();
  process.exit(0);
}

await main();
