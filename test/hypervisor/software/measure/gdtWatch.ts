/**
 * Not a test (Linux boots, minutes of host time): what write-protecting the
 * guest's GDT costs Tiny Linux under the software monitor. Boots Tiny Linux
 * in each mode given (none, trap, bt; deterministic clock), then times a
 * shell loop and a fork loop in host CPU seconds (process.cpuUsage, so other
 * processes' load counts less) and prints, per workload, the monitor's
 * 'gdt write' traps, all its traps and its shadow GDT updates. Ratios to
 * `none` from the same run are what to compare between two trees.
 *
 *   npx tsx test/hypervisor/software/measure/gdtWatch.ts none trap bt
 */
import { GuestConsole, PROMPT } from '../../../../scripts/guestConsole.ts';
import type { Acceleration } from '../../../../core/machine/acceleration.ts';

const SHELL = 'i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; echo done';
const FORK = 'i=0; while [ $i -lt 40 ]; do /bin/true; i=$((i+1)); done; echo done';

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

interface Snapshot { gdtWrites: number; traps: number; gdtResyncs: number }

function snapshot(guest: GuestConsole): Snapshot {
  const m = guest.machine.stats().hypervisor?.monitor;
  if (m === undefined) return { gdtWrites: 0, traps: 0, gdtResyncs: 0 };
  const traps = m.traps as Record<string, number>;
  return { gdtWrites: traps['gdt write'] ?? 0, traps: Object.values(traps).reduce((a, b) => a + b, 0), gdtResyncs: m.gdtResyncs };
}

async function timed(guest: GuestConsole, label: string, command: string): Promise<number> {
  const before = snapshot(guest);
  const t0 = cpuSeconds();
  const out = await guest.command(command, 900);
  const seconds = cpuSeconds() - t0;
  const after = snapshot(guest);
  if (out.trim() !== 'done') throw new Error(`${label}: unexpected output ${JSON.stringify(out)}`);
  console.log(`  ${label}: ${seconds.toFixed(2)} s host CPU; gdt write traps ${after.gdtWrites - before.gdtWrites}, all traps ${after.traps - before.traps}, shadow GDT updates ${after.gdtResyncs - before.gdtResyncs}`);
  return seconds;
}

async function main(modes: Acceleration[]): Promise<void> {
  const results: Record<string, [number, number]> = {};
  for (const acceleration of modes) {
    const guest = GuestConsole.tinyLinux({ acceleration, clock: 'deterministic' });
    const t0 = cpuSeconds();
    try {
      await guest.waitFor(PROMPT, acceleration === 'trap' ? 240 : 600);
    } catch (e) {
      console.log(`${acceleration}: no shell prompt (${(e as Error).message.split('\n')[0]}); boot snapshot ${JSON.stringify(snapshot(guest))}`);
      guest.machine.pause();
      continue;
    }
    console.log(`${acceleration}: boot ${(cpuSeconds() - t0).toFixed(2)} s host CPU, ${JSON.stringify(snapshot(guest))}`);
    results[acceleration] = [await timed(guest, 'shell loop', SHELL), await timed(guest, 'fork loop', FORK)];
    guest.machine.pause();
  }
  const base = results.none;
  if (base === undefined) return;
  for (const [mode, [shell, fork]] of Object.entries(results)) {
    if (mode !== 'none') console.log(`${mode} / none: shell loop x${(shell / base[0]).toFixed(2)}, fork loop x${(fork / base[1]).toFixed(2)}`);
  }
}

void main((process.argv.slice(2) as Acceleration[]).length > 0 ? (process.argv.slice(2) as Acceleration[]) : ['none', 'bt']);
