/**
 * Linux benchmarks on the realtime clock: host seconds from power-on to the
 * initramfs's ready line, and the fixed busybox shell loop timed inside the
 * guest from /proc/uptime (and on the host, for comparison). Under a
 * hypervisor, the exits it took during the loop too.
 */
import { GuestConsole } from '../scripts/guestConsole.ts';
import type { MachineOptions } from '../core/machine/types.ts';

export const SHELL_LOOP = 'i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done';

export interface LinuxBenchResult {
  bootSeconds: number;
  loopGuestSeconds: number;
  loopHostSeconds: number;
  /** VM exits during the loop (undefined without a hypervisor). */
  loopExits?: number;
}

function totalExits(guest: GuestConsole): number | undefined {
  const hv = guest.machine.stats().hypervisor;
  return hv ? hv.exitsByReason.reduce((a, b) => a + b, 0) : undefined;
}

export async function runLinuxBench(kernelPath: string, memoryMiB: number, options: Partial<MachineOptions> = {}): Promise<LinuxBenchResult> {
  const guest = GuestConsole.tinyLinux({ memoryMiB, clock: 'realtime', ...options }, kernelPath);
  const t0 = performance.now();
  await guest.waitFor('POPEK-READY', 1800);
  const bootSeconds = (performance.now() - t0) / 1000;
  await guest.waitFor(/\n# (\x1b\[6n)?$/, 120);
  const exits0 = totalExits(guest);
  const t1 = performance.now();
  const out = await guest.command(`read a b < /proc/uptime; ${SHELL_LOOP}; read c d < /proc/uptime; echo $a $c`, 3600);
  const loopHostSeconds = (performance.now() - t1) / 1000;
  const exits1 = totalExits(guest);
  // The echo of a long command line wraps with terminal escapes; the figures are the last line.
  const times = out.match(/(\d+\.\d+) (\d+\.\d+)\s*$/);
  if (!times) throw new Error(`could not read the loop's /proc/uptime figures from: ${JSON.stringify(out.slice(-200))}`);
  const [start, end] = [Number(times[1]), Number(times[2])];
  guest.type('poweroff -f\n');
  await guest.waitForStop(120);
  return { bootSeconds, loopGuestSeconds: end - start, loopHostSeconds, loopExits: exits0 === undefined || exits1 === undefined ? undefined : exits1 - exits0 };
}
