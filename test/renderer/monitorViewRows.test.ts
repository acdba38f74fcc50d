/**
 * The Hypervisor panel's rows for the shadow GDT's two views (core/hypervisor/software/guestViews.ts): GDT entries
 * rewritten in both views, and the switches between them. The figures are a real run's: guests/userView.asm under
 * the monitor (test/hypervisor/software/userView.test.ts says why they are what they are), through the shared
 * counters the host reads (core/hypervisor/counters.ts) and the host's copy for the app (softwareMonitorStats.ts).
 */
import { expect, it } from 'vitest';
import type { HypervisorStats } from '../../core/host/api.ts';
import { monitorStats } from '../../core/host/softwareMonitorStats.ts';
import { HypervisorCounters } from '../../core/hypervisor/counters.ts';
import { newMonitorCounters } from '../../core/hypervisor/software/monitorCounters.ts';
import { monitorSummaryRows } from '../../renderer/src/logic/monitorRows.ts';
import { runMonitorGuest } from '../hypervisor/software/monitorGuest.ts';

function asTheAppSeesIt(monitor: ReturnType<typeof newMonitorCounters>): HypervisorStats {
  const counters = new HypervisorCounters();
  counters.softwareMonitor(monitor);
  const m = counters.snapshot().monitor!;
  return { exitsByReason: {}, entries: 0, injectedInterrupts: 0, eptViolations: 0, guestMs: 10, hypervisorMs: 0, monitor: monitorStats(m) };
}

const labels = (h: HypervisorStats) => monitorSummaryRows(h).map((r) => `${r.label} | ${r.value}`);

it('shows the GDT entries rewritten in both views and the view switches of guests/userView.asm, lazy ones apart (trap) or none (bt)', () => {
  expect(labels(asTheAppSeesIt(runMonitorGuest('userView.asm', 'trap').monitor.counters))).toEqual([
    'Held interrupts | 0', 'Shadow GDT resyncs | 4',
    'GDT entries rewritten by the write watch | 2', 'GDT entries rewritten by full copies | 10',
    'Switches to the user view | 0', 'Lazy switches to the user view | 2', 'Switches to the kernel view | 2',
  ]);
  expect(labels(asTheAppSeesIt(runMonitorGuest('userView.asm', 'bt').monitor.counters)).slice(4)).toEqual([
    'Switches to the user view | 2', 'Lazy switches to the user view | 0', 'Switches to the kernel view | 2',
  ]);
});

it('shows no view rows for a guest that never ran user code', () => {
  const m = newMonitorCounters();
  m.gdtResyncs = 2;
  m.gdtEntriesByResync = 9;
  expect(labels(asTheAppSeesIt(m))).toEqual([
    'Held interrupts | 0', 'Shadow GDT resyncs | 2', 'GDT entries rewritten by the write watch | 0', 'GDT entries rewritten by full copies | 9',
  ]);
});
