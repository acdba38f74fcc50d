/**
 * Exits per second by reason, from the host's cumulative hypervisor samples
 * (about every 500 ms): the Hypervisor panel's chart data. Pure, so the
 * chart and its tests agree on every number.
 */
import type { HypervisorStats } from '../../../core/host/api.ts';

/** One point of the chart: when, and exits per second per reason over the interval before it. */
export interface RatePoint {
  /** Host seconds (sampledAt / 1000). */
  t: number;
  rates: Record<string, number>;
}

/** Samples kept for the chart (about a minute at the host's 500 ms interval). */
export const RATE_HISTORY = 120;

export interface Sample {
  sampledAt: number;
  hypervisor: HypervisorStats;
}

/**
 * The rates between two samples; null when they cannot be compared (same
 * time, or counters that went backwards: the VM was reset or restarted).
 */
export function ratesBetween(prev: Sample, next: Sample): RatePoint | null {
  return countRatesBetween(prev.sampledAt, prev.hypervisor.exitsByReason, next.sampledAt, next.hypervisor.exitsByReason);
}

/**
 * Events per second by name between two samples of cumulative counts (exits
 * by reason, or the software monitor's traps, reflections and callouts);
 * null as for ratesBetween.
 */
export function countRatesBetween(prevAt: number, prevCounts: Record<string, number>, nextAt: number, nextCounts: Record<string, number>): RatePoint | null {
  const dt = (nextAt - prevAt) / 1000;
  if (!(dt > 0)) return null;
  const rates: Record<string, number> = {};
  for (const [name, n] of Object.entries(nextCounts)) {
    const before = prevCounts[name] ?? 0;
    if (n < before) return null;
    rates[name] = (n - before) / dt;
  }
  return { t: nextAt / 1000, rates };
}

/** Appends a point, keeping the last RATE_HISTORY. */
export function pushPoint(history: RatePoint[], point: RatePoint): RatePoint[] {
  const out = history.length >= RATE_HISTORY ? history.slice(history.length - RATE_HISTORY + 1) : history.slice();
  out.push(point);
  return out;
}

/** The reasons to chart: every reason seen in the history, busiest (by total rate) first. */
export function chartedReasons(history: RatePoint[]): string[] {
  const totals = new Map<string, number>();
  for (const p of history) for (const [r, v] of Object.entries(p.rates)) totals.set(r, (totals.get(r) ?? 0) + v);
  return [...totals].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([r]) => r);
}

/** uPlot's columnar data: [times, series per reason] (0 where a reason had no exits in an interval). */
export function chartColumns(history: RatePoint[], reasons: string[]): number[][] {
  return [history.map((p) => p.t), ...reasons.map((r) => history.map((p) => p.rates[r] ?? 0))];
}

/** Share of host time the processor spent in the guest, as a percentage with one decimal. */
export function guestShare(h: HypervisorStats): string {
  const total = h.guestMs + h.hypervisorMs;
  return total > 0 ? `${((100 * h.guestMs) / total).toFixed(1)} %` : '—';
}
