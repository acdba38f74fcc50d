/**
 * The block compiler's figures (`npm run bench -- jit`): Tiny Linux on the
 * bare PC with the compiler off and then on, in one process: seconds to the
 * ready line, the bench's shell loop (guest time from /proc/uptime, and host
 * time), and the compiled code's memory.
 *
 * Compiled-code memory, how measured: the compiler's own counters (compiled
 * blocks alive, the size of their generated JavaScript source), and the
 * growth of V8's code and metadata space (v8.getHeapCodeStatistics) from
 * before the boot to after the loop. The 'off' run's growth is V8's code
 * for the interpreter and devices; the 'on' run comes second, after that
 * code exists, so its growth is mostly the compiled blocks' machine code
 * (V8 also drops code it no longer needs, so it is an estimate).
 */
import { getHeapCodeStatistics } from 'node:v8';
import { GuestConsole, TINY_LINUX } from '../scripts/guestConsole.ts';
import type { Cpu } from '../core/cpu/cpu.ts';
import { SHELL_LOOP, timedInGuest } from './linuxBench.ts';

export interface JitBenchResult {
  bootSeconds: number;
  loopGuestSeconds: number;
  loopHostSeconds: number;
  /** Compiled blocks alive after the loop, and their generated source in bytes. */
  blocks: number;
  sourceBytes: number;
  /** Growth of V8's code and metadata space over the run, in bytes. */
  v8CodeBytes: number;
}

/** `loop`: the shell loop to time (the bench's own by default; a shorter one for a quick check). */
export async function runJitBench(jit: boolean, loop = SHELL_LOOP): Promise<JitBenchResult> {
  const code0 = getHeapCodeStatistics().code_and_metadata_size;
  const guest = GuestConsole.tinyLinux({ memoryMiB: 128, clock: 'realtime', acceleration: 'none', jit });
  // The bare machine keeps its processor in `side` (core/machine/bareProcessor.ts).
  const cpu = (guest.machine as unknown as { side: { cpu: Cpu } }).side.cpu;
  const t0 = performance.now();
  await guest.waitFor('POPEK-READY', 1800);
  const bootSeconds = (performance.now() - t0) / 1000;
  await guest.waitFor(/\n# (\x1b\[6n)?$/, 120);
  const t1 = performance.now();
  const loopGuestSeconds = await timedInGuest(guest, loop);
  const loopHostSeconds = (performance.now() - t1) / 1000;
  const stats = cpu.jit.stats();
  const v8CodeBytes = getHeapCodeStatistics().code_and_metadata_size - code0;
  guest.type('poweroff -f\n');
  await guest.waitForStop(120);
  return { bootSeconds, loopGuestSeconds, loopHostSeconds, blocks: stats.liveBlocks, sourceBytes: stats.sourceBytes, v8CodeBytes };
}

/** Prints the compiler off and on, each 'on' figure with its ratio to 'off'. */
export async function printJitBench(loop = SHELL_LOOP): Promise<void> {
  const mib = (n: number) => (n / 2 ** 20).toFixed(1);
  let off: JitBenchResult | undefined;
  for (const jit of [false, true]) {
    const label = `tiny-linux [none, jit ${jit ? 'on' : 'off'}]`;
    let r: JitBenchResult;
    try {
      r = await runJitBench(jit, loop);
    } catch (e) {
      console.log(`${label}: FAILED: ${e instanceof Error ? e.message.split('\n')[0] : e}`);
      continue;
    }
    const ratio = (a: number, b: number | undefined) => (b === undefined ? '' : ` (x${(a / b).toFixed(2)} of jit off)`);
    console.log(`${label}: ${r.bootSeconds.toFixed(1)} s to the ready line${ratio(r.bootSeconds, off?.bootSeconds)}`);
    console.log(`${label}: shell loop ${r.loopGuestSeconds.toFixed(2)} s guest time, ${r.loopHostSeconds.toFixed(2)} s host time${ratio(r.loopGuestSeconds, off?.loopGuestSeconds)}`);
    console.log(`${label}: compiled code: ${r.blocks} blocks, ${mib(r.sourceBytes)} MiB of generated source; V8 code and metadata grew ${mib(r.v8CodeBytes)} MiB over the run`);
    off ??= r;
  }
}
