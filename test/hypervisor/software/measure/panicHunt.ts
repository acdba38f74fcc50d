/**
 * Not a test (Linux boots, minutes of host time each): hunts a rare guest
 * crash under the software monitor. Boots Tiny Linux again and again under
 * the given acceleration and clock, runs the Linux bench's workloads (the
 * shell loop, the fork loop and the getppid system-call loop) and checks the
 * console for a kernel panic, oops or a user segfault line after each one.
 * Prints one line per run; on a crash, the console's tail and where the
 * machine was are written to `crash-<pid>-<n>.log` in the working directory.
 * Runs until `minutes` of wall time have passed (a run started before then
 * finishes). Workloads `bench` (the default) or `orphans`: the latter makes
 * PID 1 work instead of sleeping in `wait` (the bench's crash killed init):
 * each `(/bin/true &)` leaves an orphan that the kernel hands to PID 1, whose
 * exit sends it SIGCHLD, so init takes a signal frame, runs its CHLD trap
 * and returns through sigreturn, 300 times per loop, 5 loops per boot.
 *
 *   npx tsx test/hypervisor/software/measure/panicHunt.ts bt realtime 20 [bench|orphans]
 *
 * Under load a realtime guest is interrupted at different instructions every
 * run, which is what makes repeated runs explore different interleavings;
 * the deterministic clock repeats the same run.
 */
import { writeFileSync } from 'node:fs';
import { GuestConsole, PROMPT } from '../../../../scripts/guestConsole.ts';
import type { Acceleration } from '../../../../core/machine/acceleration.ts';
import type { ClockMode } from '../../../../core/cpu/clock.ts';
import { FORK_LOOP, SHELL_LOOP } from '../../../../bench/linuxBench.ts';
import { initramfsWithSyscallProgram, SYSCALL_CALLS, SYSCALL_PROGRAM } from '../../../../bench/syscallProgram.ts';

/** Console lines that mean the guest crashed (kernel) or a process died of a fault (x86's show_unhandled_signals). */
const CRASH = /Kernel panic|Oops|BUG:|general protection fault|segfault at|invalid opcode:|Unable to handle|traps: /;

const [acceleration = 'bt', clock = 'realtime', minutes = '20', workload = 'bench'] = process.argv.slice(2) as [Acceleration, ClockMode, string, string];

/** Orphans for PID 1: each exits after the kernel has reparented it to init (the subshell that started it is gone). */
const ORPHAN_LOOP = 'i=0; while [ $i -lt 300 ]; do (/bin/true &); i=$((i+1)); done';

function workloadSteps(): [string, string][] {
  if (workload === 'orphans') return [1, 2, 3, 4, 5].map((n): [string, string] => [`orphans ${n}`, `${ORPHAN_LOOP}; echo done`]);
  if (workload !== 'bench') throw new Error(`unknown workload ${workload} (bench or orphans)`);
  return [
    ['shell', `${SHELL_LOOP}; echo done`],
    ['fork', `${FORK_LOOP}; echo done`],
    ['syscall', `${SYSCALL_PROGRAM} ${SYSCALL_CALLS}`],
  ];
}

function crashLine(output: string): string | undefined {
  return output.split('\n').find((l) => CRASH.test(l));
}

async function oneRun(n: number, initrd: Uint8Array): Promise<string> {
  const guest = GuestConsole.tinyLinux({ acceleration, clock, initrd });
  guest.limitClock = 'cpu';
  const steps = workloadSteps();
  let reached = 'boot';
  try {
    await guest.waitFor(PROMPT, 1800);
    for (const [name, line] of steps) {
      reached = name;
      await guest.command(line, 1800);
      if (crashLine(guest.output)) break;
    }
  } catch (e) {
    reached += ` (${e instanceof Error ? e.message.split('\n')[0] : e})`;
  }
  const crash = crashLine(guest.output);
  const stats = guest.machine.stats();
  guest.machine.pause();
  const summary = `run ${n}: ${crash ? 'CRASH' : 'ok'} after ${reached}, guest ${(stats.guestNs / 1e9).toFixed(1)} s (${((stats.droppedNs ?? 0) / 1e9).toFixed(1)} s dropped), ${stats.instructions} instructions`;
  if (crash) {
    const file = `crash-${process.pid}-${n}.log`;
    writeFileSync(file, `${summary}\n${crash}\n${JSON.stringify(stats.hypervisor?.monitor)}\n----\n${guest.output.slice(-20000)}`);
    return `${summary}: ${crash.trim()} (${file})`;
  }
  return summary;
}

async function main(): Promise<void> {
  const initrd = initramfsWithSyscallProgram();
  const end = performance.now() + Number(minutes) * 60_000;
  let runs = 0;
  let crashes = 0;
  while (performance.now() < end) {
    const t0 = performance.now();
    const line = await oneRun(++runs, initrd);
    if (line.includes('CRASH')) crashes++;
    console.log(`${new Date().toISOString()} ${acceleration}/${clock}/${workload} ${line} (${((performance.now() - t0) / 1000).toFixed(0)} s wall)`);
  }
  console.log(`${acceleration}/${clock}/${workload}: ${runs} runs, ${crashes} crashes`);
}

await main();
