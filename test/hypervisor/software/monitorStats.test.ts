/** `popek run --stats` under trap-and-emulate: the monitor's traps by instruction and reflections by vector. */
import { expect, it } from 'vitest';
import { formatRunStats } from '../../../core/cli/runStats.ts';
import { HypervisorCounters } from '../../../core/hypervisor/counters.ts';
import { newMonitorCounters } from '../../../core/hypervisor/software/monitorCounters.ts';
import { newShadowCounters } from '../../../core/hypervisor/shadow/shadowCounters.ts';

it('prints the monitor rows, the shadow-paging rows, and no VM-entry rows', () => {
  const monitor = newMonitorCounters();
  monitor.traps.cli = 5;
  monitor.traps['in/out'] = 7;
  monitor.reflected[14] = 2;
  monitor.reflected[0x80] = 3;
  monitor.hiddenPageFaults = 11;
  monitor.heldInterrupts = 1;
  const counters = new HypervisorCounters();
  counters.shadowPaging({ ...newShadowCounters(), hiddenFaults: 11 });
  counters.softwareMonitor(monitor);
  const text = formatRunStats('trap', { instructions: 100, interrupts: 4, exceptions: 9, guestNs: 1e9, hypervisor: counters.snapshot() });
  const rows = text.split('\n').map((l) => l.replace(/\s+/g, ' ').trim());
  expect(rows.slice(1, 19)).toEqual([
    'acceleration Trap-and-emulate only',
    'guest time 1.000 s',
    'instructions 100',
    'interrupts 4',
    'exceptions 9',
    'monitor traps 12',
    'reflected events 5',
    'hidden shadow #PF 11',
    'held interrupts 1',
    'shadow GDT resyncs 0',
    'GDT entries rewritten, write watch 0',
    'GDT entries rewritten, full resync 0',
    'trap cli 5',
    'trap in/out 7',
    'reflected vector 14 2',
    'reflected vector 128 3',
    'host ms in guest 0',
    'shadow #PF hidden 11',
  ]);
  expect(text).not.toContain('VM entries');
  expect(text).not.toContain('EPT violations');
  expect(text).not.toContain('emulated instructions');
  expect(text).not.toContain('view'); // no user code ran: no view switches
});

it('prints the GDT entries rewritten and the view switches of a guest with user code (figures of guests/userView.asm under trap)', () => {
  const monitor = newMonitorCounters();
  monitor.gdtResyncs = 4;
  monitor.gdtEntriesByWatch = 2;
  monitor.gdtEntriesByResync = 10;
  monitor.lazyViewSwitchesToUser = 2;
  monitor.viewSwitchesToKernel = 2;
  const counters = new HypervisorCounters();
  counters.softwareMonitor(monitor);
  const rows = formatRunStats('trap', { instructions: 100, interrupts: 0, exceptions: 0, guestNs: 1e9, hypervisor: counters.snapshot() })
    .split('\n').map((l) => l.replace(/\s+/g, ' ').trim());
  const at = rows.indexOf('shadow GDT resyncs 4');
  expect(rows.slice(at + 1, at + 6)).toEqual([
    'GDT entries rewritten, write watch 2',
    'GDT entries rewritten, full resync 10',
    'to user view, leaving an event 0',
    'to user view, lazily on #GP/#SS 2',
    'to kernel view 2',
  ]);
});

it('prints the emulator rows when the guest had real-mode or 16-bit code (firmware)', () => {
  const monitor = newMonitorCounters();
  monitor.emulatedInstructions = 55546;
  monitor.emulatorEntries = 115;
  monitor.emulatorExits = 115;
  const counters = new HypervisorCounters();
  counters.softwareMonitor(monitor);
  const rows = formatRunStats('bt', { instructions: 100, interrupts: 0, exceptions: 0, guestNs: 1e9, hypervisor: counters.snapshot() })
    .split('\n').map((l) => l.replace(/\s+/g, ' ').trim());
  const at = rows.indexOf('GDT entries rewritten, full resync 0');
  expect(rows.slice(at + 1, at + 4)).toEqual(['emulated instructions 55546', 'to the emulator 115', 'back from the emulator 115']);
});
