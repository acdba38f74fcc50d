/**
 * One of the bench's Tiny Linux workloads, compiler off against on, in one
 * process, quicker than workloadsAB.ts: two machines (deterministic clock,
 * the bench's initramfs with the system-call program) boot, then the
 * workload runs on each in turn for ROUNDS rounds (environment, default 2),
 * alternating which goes first; prints each round's CPU time (user +
 * system, so V8's compiler threads count) and on/off, with the blocks and
 * regions compiled during it. The boot line's ratio favours 'on': the 'off'
 * machine boots first and pays V8's warm-up of the interpreter.
 *
 *   npx esbuild test/cpu/jit/measure/oneWorkloadAB.ts --bundle --platform=node --format=esm \
 *     --target=node20 --outfile=bench/.one.mjs && node bench/.one.mjs 100000 '{"maxHandlerCalls":2}' getppid
 * Arguments: the workload's count (getppid calls, fork-loop or shell-loop
 * iterations), JitOptions for the 'on' machine as JSON, and the workload
 * (getppid, fork, shell).
 */
import { GuestConsole } from '../../../../scripts/guestConsole.ts';
import type { Cpu } from '../../../../core/cpu/cpu.ts';
import type { JitOptions } from '../../../../core/cpu/jit/jit.ts';
import { initramfsWithSyscallProgram, SYSCALL_PROGRAM } from '../../../../bench/syscallProgram.ts';

const count = Number(process.argv[2] ?? 100000);
const options = JSON.parse(process.argv[3] ?? '{}') as Partial<JitOptions>;
const workload = process.argv[4] ?? 'getppid';
const rounds = Number(process.env.ROUNDS ?? 2);
const LINES: Record<string, string> = {
  getppid: `${SYSCALL_PROGRAM} ${count} | cut -d' ' -f1-2`,
  fork: `i=0; while [ $i -lt ${count} ]; do /bin/true; i=$((i+1)); done; echo $i`,
  shell: `i=0; while [ $i -lt ${count} ]; do i=$((i+1)); done; echo $i`,
};

const cpuOf = (g: GuestConsole) => (g.machine as unknown as { side: { cpu: Cpu } }).side.cpu;

function cpuSeconds(since: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(since);
  return (c.user + c.system) / 1e6;
}

async function boot(jit: boolean, initrd: Uint8Array): Promise<{ guest: GuestConsole; seconds: number }> {
  const guest = GuestConsole.tinyLinux({ jit, initrd });
  if (jit) cpuOf(guest).jit.configure(options);
  const t = process.cpuUsage();
  await guest.waitFor('POPEK-READY', 1800);
  await guest.waitFor(/\n# (\x1b\[6n)?$/, 120);
  return { guest, seconds: cpuSeconds(t) };
}

async function main(): Promise<void> {
  const line = LINES[workload];
  if (line === undefined) throw new Error(`workload: one of ${Object.keys(LINES).join(', ')}`);
  const initrd = initramfsWithSyscallProgram();
  const off = await boot(false, initrd);
  const on = await boot(true, initrd);
  console.log(`boot: off ${off.seconds.toFixed(2)} s, on ${on.seconds.toFixed(2)} s, on/off ${(on.seconds / off.seconds).toFixed(3)}`);
  for (let r = 0; r < rounds; r++) {
    const order: [string, GuestConsole][] = r % 2 === 0 ? [['off', off.guest], ['on', on.guest]] : [['on', on.guest], ['off', off.guest]];
    const seconds: Record<string, number> = {};
    const outs: Record<string, string> = {};
    const s0 = cpuOf(on.guest).jit.stats();
    for (const [mode, guest] of order) {
      const t = process.cpuUsage();
      outs[mode] = (await guest.command(line, 3600)).trim();
      seconds[mode] = cpuSeconds(t);
    }
    const s1 = cpuOf(on.guest).jit.stats();
    console.log(`round ${r} ${workload}: off ${seconds.off.toFixed(2)} s, on ${seconds.on.toFixed(2)} s, on/off ${(seconds.on / seconds.off).toFixed(3)}`
      + ` | compiled ${s1.compiled - s0.compiled} blocks in ${s1.regions - s0.regions} regions, ${s1.sourceBytes - s0.sourceBytes} bytes of source`
      + (outs.off === outs.on ? '' : ` OUTPUTS DIFFER: ${JSON.stringify(outs)}`));
  }
  process.exit(0);
}

await main();
