/**
 * Guest-to-guest network throughput: two Tiny Linux machines in this process,
 * each with a virtio-net adapter on one internal network (dom0's virtual
 * switch), both run in turns in 2 ms slices (when both are halted, the loop
 * waits up to 1 ms on dom0's wake word: MachineApi.waitIdle); busybox nc moves 8 MiB from one to the other
 * and the receiver's /proc/uptime times it. The two guests share the host's
 * thread, so the figure is what one emulated processor's time can move while
 * the other's runs too.
 */
import type { MachineOptions } from '../core/machine/types.ts';
import { GuestConsole, PROMPT } from '../scripts/guestConsole.ts';

export const NETWORK_BENCH_MIB = 8;

/** Types `line` on `guest` and runs both machines until its prompt comes back; returns the output. */
async function commandWhileBothRun(guest: GuestConsole, other: GuestConsole, line: string, hostSeconds = 1800): Promise<string> {
  const from = guest.output.length;
  guest.type(line + '\n');
  const deadline = performance.now() + hostSeconds * 1000;
  for (;;) {
    const text = guest.output.slice(from);
    const echo = text.indexOf('\n');
    if (echo >= 0 && PROMPT.test(text)) return text.slice(echo + 1).replace(PROMPT, '').replace(/\r\n/g, '\n');
    if (performance.now() > deadline) throw new Error(`timed out waiting for '${line}'`);
    let idle = 0;
    for (const g of [guest, other]) {
      const started = performance.now();
      const r = g.machine.run(2);
      if (r.kind === 'stopped') throw new Error(`machine stopped: ${JSON.stringify(r.reason)}`);
      if (performance.now() - started < 1) idle++;
    }
    // Both halted: wait for either guest's dom0 (the thread's wake word) instead of spinning, as a one-machine driver would sleep.
    if (idle === 2) guest.machine.waitIdle?.(1);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** MB/s from one guest to the other over TCP (nc), in the receiver's guest seconds. */
export async function runNetworkBench(kernelPath: string, options: Partial<MachineOptions>): Promise<number> {
  const network = 'bench-net';
  const rx = GuestConsole.tinyLinux({ memoryMiB: 128, clock: 'realtime', ...options, nics: [{ network, mac: '52:54:00:00:be:01' }] }, kernelPath);
  const tx = GuestConsole.tinyLinux({ memoryMiB: 128, clock: 'realtime', ...options, nics: [{ network, mac: '52:54:00:00:be:02' }] }, kernelPath);
  for (const g of [rx, tx]) {
    await g.waitFor('POPEK-READY', 1800);
    await g.waitFor(/\n# (\x1b\[6n)?$/, 120);
  }
  await rx.command('ip addr add 192.0.2.1/24 dev eth0 && ip link set eth0 up');
  await tx.command('ip addr add 192.0.2.2/24 dev eth0 && ip link set eth0 up');
  // The receiver times itself: uptime when the listener starts and when the last byte is in.
  rx.type('read a b < /proc/uptime; nc -l -p 5001 | wc -c; read c d < /proc/uptime; echo $a $c\n');
  await commandWhileBothRun(tx, rx, `dd if=/dev/zero bs=64k count=${NETWORK_BENCH_MIB * 16} 2>/dev/null | nc 192.0.2.1 5001`);
  const out = await commandWhileBothRun(rx, tx, 'true');
  const figures = rx.output.match(/(\d+)\s*\r?\n(\d+\.\d+) (\d+\.\d+)\s*\r?\n/);
  for (const g of [rx, tx]) g.machine.pause();
  if (!figures || Number(figures[1]) !== NETWORK_BENCH_MIB * 1024 * 1024) throw new Error(`the receiver did not report ${NETWORK_BENCH_MIB} MiB: ${JSON.stringify((figures?.[0] ?? out).slice(-200))}`);
  return (NETWORK_BENCH_MIB * 1024 * 1024) / 1e6 / (Number(figures[3]) - Number(figures[2]));
}
