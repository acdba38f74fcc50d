import { describe, expect, it } from 'vitest';
import type { HypervisorStats } from '../../core/host/api.ts';
import { chartColumns, chartedReasons, guestShare, pushPoint, RATE_HISTORY, ratesBetween, type RatePoint } from '../../renderer/src/logic/exitRates.ts';

const hv = (exitsByReason: Record<string, number>, guestMs = 0, hypervisorMs = 0): HypervisorStats => ({
  exitsByReason,
  entries: 0,
  injectedInterrupts: 0,
  eptViolations: 0,
  guestMs,
  hypervisorMs,
});

describe('exit rates for the Hypervisor panel', () => {
  it('turns two cumulative samples into exits per second by reason', () => {
    const point = ratesBetween(
      { sampledAt: 10_000, hypervisor: hv({ IO_INSTRUCTION: 100, HLT: 10 }) },
      { sampledAt: 10_500, hypervisor: hv({ IO_INSTRUCTION: 400, HLT: 60, EXTERNAL_INTERRUPT: 5 }) },
    );
    expect(point).toEqual({ t: 10.5, rates: { IO_INSTRUCTION: 600, HLT: 100, EXTERNAL_INTERRUPT: 10 } });
  });

  it('refuses to compare samples at the same time or across a restart (counters went back)', () => {
    expect(ratesBetween({ sampledAt: 1, hypervisor: hv({ HLT: 1 }) }, { sampledAt: 1, hypervisor: hv({ HLT: 2 }) })).toBe(null);
    expect(ratesBetween({ sampledAt: 1, hypervisor: hv({ HLT: 9 }) }, { sampledAt: 2, hypervisor: hv({ HLT: 2 }) })).toBe(null);
  });

  it('keeps the last RATE_HISTORY points and charts the busiest reasons first, 0 where absent', () => {
    let history: RatePoint[] = [{ t: 1, rates: { HLT: 5 } }, { t: 2, rates: { HLT: 1, IO_INSTRUCTION: 50 } }];
    expect(chartedReasons(history)).toEqual(['IO_INSTRUCTION', 'HLT']);
    expect(chartColumns(history, ['IO_INSTRUCTION', 'HLT'])).toEqual([[1, 2], [0, 50], [5, 1]]);
    for (let i = 0; i < RATE_HISTORY + 5; i++) history = pushPoint(history, { t: 3 + i, rates: {} });
    expect(history.length).toBe(RATE_HISTORY);
    expect(history[0]!.t).toBe(8); // 127 points were pushed in all, t = 1, 2, 3, ...; the first 7 fell out
  });

  it('shows the share of host time in the guest', () => {
    expect(guestShare(hv({}, 900, 100))).toBe('90.0 %');
    expect(guestShare(hv({}))).toBe('—');
  });
});
