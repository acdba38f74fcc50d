/**
 * Not a test (Linux boots, minutes of host time): what the user view of the
 * shadow GDT (core/hypervisor/software/guestViews.ts) does for Tiny Linux's
 * user code. Boots Tiny Linux in each mode given (deterministic clock), then
 * times a busybox shell loop (its i386 libc reads TLS at %gs:-N about 25
 * times per iteration) in host CPU seconds (process.cpuUsage) and prints the
 * monitor's `top 4 MiB` traps over it (an access past a truncated segment
 * limit, or into the guest's pages above the monitor's base) and all its
 * traps. Ratios to `none` from the same run are what to compare.
 *
 *   npx tsx test/hypervisor/software/measure/userView.ts none bt
 */
import { GuestConsole, PROMPT } from '../../../../scripts/guestConsole.ts';
import type { Acceleration } from '../../../../core/machine/acceleration.ts';

const ITERATIONS = Number(process.env.LOOP ?? 20000);
const SHELL = `i=0; while [ $i -lt ${ITERATIONS} ]; do i=$((i+1)); done; echo done`;

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

interface Snapshot { top: number; traps: number }

function snapshot(guest: GuestConsole): Snapshot {
  const m = guest.machine.stats().hypervisor?.monitor;
  if (m === undefined) return { top: 0, traps: 0 };
  const traps = m.traps as Record<string, number>;
  return { top: traps['top 4 MiB'] ?? 0, traps: Object.values(traps).reduce((a, b) => a + b, 0) };
}

async function main(modes: Acceleration[]): Promise<void> {
  const results: Record<string, number> = {};
  for (const acceleration of modes) {
    const guest = GuestConsole.tinyLinux({ acceleration, clock: 'deterministic' });
    const t0 = cpuSeconds();
    await guest.waitFor(PROMPT, 900);
    console.log(`${acceleration}: boot ${(cpuSeconds() - t0).toFixed(2)} s host CPU, ${JSON.stringify(snapshot(guest))}`);
    const before = snapshot(guest);
    const t1 = cpuSeconds();
    const out = await guest.command(SHELL, 900);
    const seconds = cpuSeconds() - t1;
    const after = snapshot(guest);
    if (out.trim() !== 'done') throw new Error(`${acceleration}: unexpected output ${JSON.stringify(out)}`);
    console.log(`  shell loop (${ITERATIONS}): ${seconds.toFixed(2)} s host CPU; top 4 MiB traps ${after.top - before.top}, all traps ${after.traps - before.traps}`);
    results[acceleration] = seconds;
    guest.machine.pause();
  }
  const base = results.none;
  if (base === undefined) return;
  for (const [mode, seconds] of Object.entries(results)) {
    if (mode !== 'none') console.log(`${mode} / none: shell loop x${(seconds / base).toFixed(2)}`);
  }
}

void main((process.argv.slice(2) as Acceleration[]).length > 0 ? (process.argv.slice(2) as Acceleration[]) : ['none', 'bt']);
