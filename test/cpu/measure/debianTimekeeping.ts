/**
 * Debian 686's timekeeping on the bare PC with the realtime clock, booted as
 * debianBootProfile.ts boots it, with the host's clock optionally running
 * `SLOWDOWN` times faster than real time: the guest then sees a host that
 * runs it that much slower, as a loaded machine does, without loading the
 * machine the other engineers share. Prints the kernel's console lines about
 * TSC calibration, clocksources and the watchdog, and counts PIT channel 0
 * rising edges (IRQ 0 pulses) against the IRQ 0 requests the guest took (the
 * master PIC's INTA of IR0).
 *
 *   npx esbuild test/cpu/measure/debianTimekeeping.ts --bundle --platform=node --format=esm \
 *     --outfile=bench/.debian-timekeeping.mjs && node bench/.debian-timekeeping.mjs 3
 * Argument: SLOWDOWN (default 1).
 *
 * 3 Dec, SLOWDOWN 3, load ~2-9. Before the PIT's tick reinjection: IRQ 0
 * edges 34089, taken 29366 (14% merged in the 8259 while guest time caught
 * up one PIT period per run chunk); the watchdog marked tsc-early unstable
 * ('refined-jiffies' wd_nsec 512032000 against cs_nsec 633755688) and the
 * kernel ran on the PIT clocksource. After: edges 48201, taken 48197; no
 * watchdog message, "Refined TSC clocksource calibration: 1000.004 MHz",
 * "Switched to clocksource tsc". Both runs still print "Fast TSC
 * calibration failed" and "Unable to calibrate against PIT" (then the PM
 * timer reference: 997.978 / 999.072 MHz).
 */
import { GuestConsole } from '../../../scripts/guestConsole.ts';
import type { GuestClock } from '../../../core/cpu/clock.ts';
import type { Pic } from '../../../core/devices/pic.ts';

/** Bundled into bench/ (as the bench is), the repository is one level up. */
const KERNEL = new URL('../.cache/debian-kernel/vmlinuz-debian-686', import.meta.url).pathname;
const slowdown = Number(process.argv[2] ?? '1');

async function main(): Promise<void> {
  const guest = GuestConsole.tinyLinux({ memoryMiB: 256, clock: 'realtime', jit: true, cmdline: 'console=ttyS0' }, KERNEL);
  const machine = guest.machine as unknown as { side: { clock: GuestClock }; chipset: { pic: Pic } };
  const clock = machine.side.clock;
  // A host `slowdown` times slower: its clock runs that much faster than the machine's progress.
  const t0 = performance.now();
  (clock as unknown as { hostNow: () => number }).hostNow = () => (t0 + (performance.now() - t0) * slowdown) * 1e6;
  clock.loadState(clock.saveState());

  const pic = machine.chipset.pic;
  let irq0Taken = 0;
  const acknowledge = pic.acknowledge.bind(pic);
  pic.acknowledge = () => {
    const vector = acknowledge();
    if (vector === pic.master.s.vectorBase) irq0Taken++;
    return vector;
  };
  let irq0Edges = 0;
  const setIrq = pic.setIrq.bind(pic);
  pic.setIrq = (irq, level) => {
    if (irq === 0 && level) irq0Edges++;
    setIrq(irq, level);
  };

  await guest.waitFor('POPEK-READY', 3600);
  const wall = (performance.now() - t0) / 1000;
  for (const text of guest.output.split('\n')) {
    if (/calibrat|unstable|clocksource|tsc|watchdog|MHz/i.test(text)) console.log(text.trim());
  }
  console.log(`slowdown ${slowdown}: ${wall.toFixed(1)} s wall, guest time ${(clock.nowNs() / 1e9).toFixed(1)} s, dropped lag ${(clock.droppedNs / 1e9).toFixed(1)} s; `
    + `IRQ 0 edges ${irq0Edges}, taken ${irq0Taken}`);
  process.exit(0);
}

void main();
