/** The Hypervisor panel's summary rows for the monitor's emulator: present when the guest had real-mode or 16-bit code, absent otherwise. */
import { expect, it } from 'vitest';
import type { HypervisorStats } from '../../core/host/api.ts';
import { monitorSummaryRows } from '../../renderer/src/logic/monitorRows.ts';

const stats = (emulatedInstructions: number, entries: number, exits: number, gdtPagesUnwatched = 0): HypervisorStats => ({
  exitsByReason: {}, entries: 0, injectedInterrupts: 0, eptViolations: 0, guestMs: 10, hypervisorMs: 0,
  monitor: { trapsByInstruction: {}, reflectedByVector: {}, heldInterrupts: 0, gdtResyncs: 0, gdtPagesUnwatched,
    gdtEntriesByWatch: 0, gdtEntriesByResync: 0, viewSwitchesToUser: 0, lazyViewSwitchesToUser: 0, viewSwitchesToKernel: 0, emulatedInstructions, emulatorEntries: entries, emulatorExits: exits },
});

it('shows emulated instructions and the hand-overs each way for a firmware guest, nothing of them for a kernel guest', () => {
  const labels = (h: HypervisorStats) => monitorSummaryRows(h).map((r) => `${r.label} | ${r.value}`);
  expect(labels(stats(0, 0, 0))).toEqual(['Held interrupts | 0', 'Shadow GDT resyncs | 0']);
  expect(labels(stats(55546, 115, 115))).toEqual([
    'Held interrupts | 0', 'Shadow GDT resyncs | 0',
    'Emulated instructions | 55,546', 'Hand-overs to the emulator | 115', 'Hand-overs back | 115',
  ]);
});

it('shows the GDT pages the monitor stopped write-protecting only when there were some', () => {
  const labels = (h: HypervisorStats) => monitorSummaryRows(h).map((r) => `${r.label} | ${r.value}`);
  expect(labels(stats(0, 0, 0, 1))).toEqual(['Held interrupts | 0', 'Shadow GDT resyncs | 0', 'GDT pages unwatched | 1']);
});
