/**
 * The counters `popek run --stats` prints when the machine stops: what the
 * processor did, in one aligned block on stderr (stdout is the guest's COM1).
 */
import { ACCELERATION_INFO, type Acceleration } from '../machine/acceleration.ts';
import type { MachineStats } from '../machine/types.ts';

export function formatRunStats(acceleration: Acceleration, stats: MachineStats): string {
  const rows: [string, string][] = [
    ['acceleration', ACCELERATION_INFO[acceleration].label],
    ['guest time', `${(stats.guestNs / 1e9).toFixed(3)} s`],
    ['instructions', String(stats.instructions)],
    ['interrupts', String(stats.interrupts)],
    ['exceptions', String(stats.exceptions)],
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  return `--- stats ---\n${rows.map(([name, value]) => `${name.padEnd(width)}  ${value}`).join('\n')}\n`;
}
