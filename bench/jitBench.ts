/**
 * The block compiler's figures (`npm run bench -- jit`): Tiny Linux on the
 * bare PC with the compiler off and then on, in one process: seconds to the
 * ready line, the bench's shell loop (guest time from /proc/uptime, and host
 * time), its fork loop and system-call loop (the same workloads as the
 * tiny-linux section's, so the ratios compare with its 'none' and 'none, jit
 * on' lines without running the other modes), and the compiled code's memory.
 *
 * Compiled-code memory, how measured: the compiler's own counters (compiled
 * blocks alive, the size of the JavaScript source and WebAssembly modules
 * generated for them), and the
 * growth of V8's code and metadata space (v8.getHeapCodeStatistics) from
 * before the boot to after the loop. The 'off' run's growth is V8's code
 * for the interpreter and devices; the 'on' run comes second, after that
 * code exists, so its growth is mostly the compiled blocks' machine code
 * (V8 also drops code it no longer needs, so it is an estimate).
 */
import { getHeapCodeStatistics } from 'node:v8';
import { GuestConsole, TINY_LINUX } from '../scripts/guestConsole.ts';
import type { Cpu } from '../core/cpu/cpu.ts';
import { FORK_LOOP, SHELL_LOOP, syscallLoop, timedInGuest } from './linuxBench.ts';
import { initramfsWithSyscallProgram } from './syscallProgram.ts';

export interface JitBenchResult {
  bootSeconds: number;
  loopGuestSeconds: number;
  loopHostSeconds: number;
  forkGuestSeconds: number;
  /** The getppid loop's seconds (measured in the guest), when its program could be built. */
  syscallGuestSeconds?: number;
  /** Compiled blocks alive after the loop, and their generated source in bytes. */
  blocks: number;
  sourceBytes: number;
  /** Growth of V8's code and metadata space over the run, in bytes. */
  v8CodeBytes: number;
}

/** `loop`: the shell loop to time (the bench's own by default; a shorter one for a quick check). */
export async function runJitBench(jit: boolean, loop = SHELL_LOOP, syscallInitrd?: Uint8Array): Promise<JitBenchResult> {
  const code0 = getHeapCodeStatistics().code_and_metadata_size;
  const guest = GuestConsole.tinyLinux({ memoryMiB: 128, clock: 'realtime', acceleration: 'none', jit, ...(syscallInitrd ? { initrd: syscallInitrd } : {}) });
  // The bare machine keeps its processor in `side` (core/machine/bareProcessor.ts).
  const cpu = (guest.machine as unknown as { side: { cpu: Cpu } }).side.cpu;
  const t0 = performance.now();
  await guest.waitFor('POPEK-READY', 1800);
  const bootSeconds = (performance.now() - t0) / 1000;
  await guest.waitFor(/\n# (\x1b\[6n)?$/, 120);
  const t1 = performance.now();
  const loopGuestSeconds = await timedInGuest(guest, loop);
  const loopHostSeconds = (performance.now() - t1) / 1000;
  const forkGuestSeconds = await timedInGuest(guest, FORK_LOOP);
  const syscallGuestSeconds = syscallInitrd ? await syscallLoop(guest) : undefined;
  const stats = cpu.jit.stats();
  const v8CodeBytes = getHeapCodeStatistics().code_and_metadata_size - code0;
  guest.type('poweroff -f\n');
  await guest.waitForStop(120);
  return { bootSeconds, loopGuestSeconds, loopHostSeconds, forkGuestSeconds, syscallGuestSeconds, blocks: stats.liveBlocks, sourceBytes: stats.sourceBytes, v8CodeBytes };
}

/** Prints the compiler off and on, each 'on' figure with its ratio to 'off'. */
export async function printJitBench(loop = SHELL_LOOP): Promise<void> {
  const mib = (n: number) => (n / 2 ** 20).toFixed(1);
  let off: JitBenchResult | undefined;
  let syscallInitrd: Uint8Array | undefined;
  try {
    syscallInitrd = initramfsWithSyscallProgram();
  } catch (e) {
    console.log(`syscall loop: skipped (${e instanceof Error ? e.message : e})`);
  }
  for (const jit of [false, true]) {
    const label = `tiny-linux [none, jit ${jit ? 'on' : 'off'}]`;
    let r: JitBenchResult;
    try {
      r = await runJitBench(jit, loop, syscallInitrd);
    } catch (e) {
      console.log(`${label}: FAILED: ${e instanceof Error ? e.message.split('\n')[0] : e}`);
      continue;
    }
    const ratio = (a: number, b: number | undefined) => (b === undefined ? '' : ` (x${(a / b).toFixed(2)} of jit off)`);
    console.log(`${label}: ${r.bootSeconds.toFixed(1)} s to the ready line${ratio(r.bootSeconds, off?.bootSeconds)}`);
    console.log(`${label}: shell loop ${r.loopGuestSeconds.toFixed(2)} s guest time, ${r.loopHostSeconds.toFixed(2)} s host time${ratio(r.loopGuestSeconds, off?.loopGuestSeconds)}`);
    console.log(`${label}: fork loop ${r.forkGuestSeconds.toFixed(2)} s guest time${ratio(r.forkGuestSeconds, off?.forkGuestSeconds)}`);
    if (r.syscallGuestSeconds !== undefined) console.log(`${label}: syscall loop ${r.syscallGuestSeconds.toFixed(3)} s guest time${ratio(r.syscallGuestSeconds, off?.syscallGuestSeconds)}`);
    console.log(`${label}: compiled code: ${r.blocks} blocks, ${mib(r.sourceBytes)} MiB generated (JavaScript source and WebAssembly module bytes); V8's JavaScript code and metadata grew ${mib(r.v8CodeBytes)} MiB over the run (WebAssembly's machine code lies outside that space)`);
    off ??= r;
  }
}
