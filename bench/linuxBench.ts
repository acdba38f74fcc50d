/**
 * Linux benchmarks on the realtime clock: host seconds from power-on to the
 * initramfs's ready line, and the fixed busybox shell loop timed inside the
 * guest from /proc/uptime (and on the host, for comparison). Under a
 * hypervisor, the exits it took during the loop too; under the software
 * monitor ('bt'), its traps, reflections and hidden page faults per workload.
 */
import { GuestConsole } from '../scripts/guestConsole.ts';
import type { MachineOptions } from '../core/machine/types.ts';
import type { Cpu } from '../core/cpu/cpu.ts';
import type { ShadowCounters } from '../core/hypervisor/shadow/shadowCounters.ts';
import { SYSCALL_CALLS, SYSCALL_PROGRAM } from './syscallProgram.ts';
import { TRAP_KINDS, totalReflected, totalTraps, type MonitorCounters } from '../core/hypervisor/software/monitorCounters.ts';

export const SHELL_LOOP_ITERATIONS = 200000;
export const SHELL_LOOP = `i=0; while [ $i -lt ${SHELL_LOOP_ITERATIONS} ]; do i=$((i+1)); done`;
/** Process creation: every run forks, execs and tears down an address space (where shadow paging pays most). */
export const FORK_LOOP = 'i=0; while [ $i -lt 300 ]; do /bin/true; i=$((i+1)); done';

export interface LinuxBenchResult {
  bootSeconds: number;
  loopGuestSeconds: number;
  loopHostSeconds: number;
  /**
   * This process's CPU seconds (all its threads: the machine's, dom0's, V8's compilers) over each workload. The
   * ratios between modes are taken on these: on the realtime clock a guest that lags its host by more than
   * core/cpu/clock.ts's MAX_LAG_NS loses the excess (it sees time run slower), so guest time understates a slow
   * mode on a loaded machine, and wall time counts the other processes' share of the cores.
   */
  loopCpuSeconds: number;
  /** Guest instructions retired over the shell loop (the v86 line compares them: the same work in both). */
  loopInstructions: number;
  /** VM exits during the loop (undefined without a hypervisor). */
  loopExits?: number;
  forkGuestSeconds: number;
  forkCpuSeconds: number;
  forkExits?: number;
  /** Shadow paging's counters over the fork loop (only without nested paging). */
  forkShadow?: ShadowCounters;
  /** The system-call loop (bench/guest/getppid.c), timed in the guest with CLOCK_MONOTONIC; only when its initramfs was given. */
  syscallGuestSeconds?: number;
  /** CPU seconds of the whole command (the program's exec and exit too: a few ms of the 100000 calls). */
  syscallCpuSeconds?: number;
  syscallExits?: number;
  /** Under the software monitor ('bt', 'trap'): what it did during each workload (shell, fork, syscall loop). */
  monitor?: { loop: MonitorSummary; fork: MonitorSummary; syscall?: MonitorSummary };
  /** The block compiler's code at the end (bare machine with the compiler on only). */
  compiled?: CompiledCode;
}

/** The block compiler's code alive: blocks, regions, and what it generated for them (core/cpu/jit/jit.ts stats). */
export interface CompiledCode {
  liveBlocks: number;
  regions: number;
  wasmRegions: number;
  /** JavaScript source and WebAssembly module bytes of the code alive (what JitOptions.budgetBytes bounds). */
  generatedBytes: number;
}

/** The compiled code of the bare machine's processor (core/machine/bareProcessor.ts keeps it in `side`), if it compiles. */
function compiledCode(guest: GuestConsole): CompiledCode | undefined {
  const cpu = (guest.machine as unknown as { side?: { cpu?: Cpu } }).side?.cpu;
  if (cpu === undefined || !cpu.jit.enabled) return undefined;
  const s = cpu.jit.stats();
  return { liveBlocks: s.liveBlocks, regions: s.regions, wasmRegions: cpu.jit.wasmRegions, generatedBytes: s.sourceBytes };
}

/** The software monitor's counters over one workload: traps (the three most frequent kinds), reflections, hidden shadow faults. */
export interface MonitorSummary {
  traps: number;
  topTraps: [kind: string, count: number][];
  reflected: number;
  hiddenPageFaults: number;
}

function monitorCounters(guest: GuestConsole): MonitorCounters | undefined {
  const m = guest.machine.stats().hypervisor?.monitor;
  return m && structuredClone(m);
}

function monitorSummary(before: MonitorCounters | undefined, after: MonitorCounters | undefined): MonitorSummary | undefined {
  if (!before || !after) return undefined;
  const kinds = TRAP_KINDS.map((k): [string, number] => [k, after.traps[k] - before.traps[k]]).filter(([, n]) => n > 0);
  return {
    traps: totalTraps(after) - totalTraps(before),
    topTraps: kinds.sort((a, b) => b[1] - a[1]).slice(0, 3),
    reflected: totalReflected(after) - totalReflected(before),
    hiddenPageFaults: after.hiddenPageFaults - before.hiddenPageFaults,
  };
}

function totalExits(guest: GuestConsole): number | undefined {
  const stats = guest.machine.stats();
  // The software monitor ('bt', 'trap') has no VM exits: its traps and reflections are counted apart (monitor).
  const hv = stats.hypervisor?.monitor ? undefined : stats.hypervisor;
  return hv ? hv.exitsByReason.reduce((a, b) => a + b, 0) : undefined;
}

/** `syscallInitrd`: the initramfs with the system-call program (bench/syscallProgram.ts); without it that loop is skipped. */
export async function runLinuxBench(kernelPath: string, memoryMiB: number, options: Partial<MachineOptions> = {}, syscallInitrd?: Uint8Array): Promise<LinuxBenchResult> {
  const guest = GuestConsole.tinyLinux({ memoryMiB, clock: 'realtime', ...options, ...(syscallInitrd ? { initrd: syscallInitrd } : {}) }, kernelPath);
  // The limits below count this process's CPU time: on a loaded machine (the bench runs beside the suite) a guest
  // gets a share of a core, and Tiny Linux under 'bt' at load 10-20 missed a 120 s wall-time limit on its prompt.
  guest.limitClock = 'cpu';
  try {
    return await measure(guest, syscallInitrd);
  } catch (e) {
    // The bench prints a failure's first line: say where the guest was (its last output line and guest time).
    const last = guest.output.trimEnd().split('\n').pop()?.slice(-120);
    throw new Error(`${e instanceof Error ? e.message.split('\n')[0] : e} at guest time ${guest.guestSeconds.toFixed(1)} s, last output ${JSON.stringify(last)}`);
  }
}

async function measure(guest: GuestConsole, syscallInitrd: Uint8Array | undefined): Promise<LinuxBenchResult> {
  const t0 = performance.now();
  await guest.waitFor('POPEK-READY', 1800);
  const bootSeconds = (performance.now() - t0) / 1000;
  await guest.waitFor(/\n# (\x1b\[6n)?$/, 300);
  const exits0 = totalExits(guest);
  const mon0 = monitorCounters(guest);
  const i1 = guest.machine.stats().instructions;
  const t1 = performance.now();
  const c1 = cpuSeconds();
  const loop = await timedInGuest(guest, SHELL_LOOP);
  const loopHostSeconds = (performance.now() - t1) / 1000;
  const c2 = cpuSeconds();
  const loopInstructions = guest.machine.stats().instructions - i1;
  const exits1 = totalExits(guest);
  const mon1 = monitorCounters(guest);
  const shadow0 = guest.machine.stats().hypervisor?.shadowPaging;
  const fork = await timedInGuest(guest, FORK_LOOP);
  const c3 = cpuSeconds();
  const exits2 = totalExits(guest);
  const mon2 = monitorCounters(guest);
  const shadow1 = guest.machine.stats().hypervisor?.shadowPaging;
  const syscall = syscallInitrd ? await syscallLoop(guest) : undefined;
  const c4 = cpuSeconds();
  const exits3 = totalExits(guest);
  const mon3 = monitorCounters(guest);
  const loopMonitor = monitorSummary(mon0, mon1);
  const forkMonitor = monitorSummary(mon1, mon2);
  guest.type('poweroff -f\n');
  await guest.waitForStop(120);
  return {
    bootSeconds,
    loopGuestSeconds: loop,
    loopHostSeconds,
    loopCpuSeconds: c2 - c1,
    loopInstructions,
    loopExits: exits0 === undefined || exits1 === undefined ? undefined : exits1 - exits0,
    forkGuestSeconds: fork,
    forkCpuSeconds: c3 - c2,
    forkExits: exits1 === undefined || exits2 === undefined ? undefined : exits2 - exits1,
    forkShadow: shadow0 && shadow1 ? difference(shadow1, shadow0) : undefined,
    syscallGuestSeconds: syscall,
    syscallCpuSeconds: syscall === undefined ? undefined : c4 - c3,
    syscallExits: syscall === undefined || exits2 === undefined || exits3 === undefined ? undefined : exits3 - exits2,
    monitor: loopMonitor && forkMonitor ? { loop: loopMonitor, fork: forkMonitor, syscall: syscall === undefined ? undefined : monitorSummary(mon2, mon3) } : undefined,
    compiled: compiledCode(guest),
  };
}

/** This process's CPU time in seconds, every thread. */
function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** What the timed loops need of a guest: a shell command line and its output (Popek's GuestConsole, the v86 bench's console). */
export type ShellConsole = Pick<GuestConsole, 'command'>;

/** Runs the system-call program in the guest and returns the seconds it measured around its loop. */
export async function syscallLoop(guest: ShellConsole): Promise<number> {
  const out = await guest.command(`${SYSCALL_PROGRAM} ${SYSCALL_CALLS}`, 3600);
  const m = out.match(/getppid: (\d+) calls in (\d+\.\d+) s/);
  if (!m || Number(m[1]) !== SYSCALL_CALLS) throw new Error(`could not read the system-call loop's time from: ${JSON.stringify(out.slice(-200))}`);
  return Number(m[2]);
}

/** Runs `command` in the guest's shell and returns the guest seconds it took (/proc/uptime before and after). */
export async function timedInGuest(guest: ShellConsole, command: string): Promise<number> {
  const out = await guest.command(`read a b < /proc/uptime; ${command}; read c d < /proc/uptime; echo $a $c`, 3600);
  // The echo of a long command line wraps with terminal escapes; the figures are the last line.
  const times = out.match(/(\d+\.\d+) (\d+\.\d+)\s*$/);
  if (!times) throw new Error(`could not read the /proc/uptime figures of ${command} from: ${JSON.stringify(out.slice(-200))}`);
  return Number(times[2]) - Number(times[1]);
}

function difference(after: ShadowCounters, before: ShadowCounters): ShadowCounters {
  const d = { ...after };
  for (const key of Object.keys(d) as (keyof ShadowCounters)[]) d[key] = after[key] - before[key];
  return d;
}
