/**
 * The counters `popek run --stats` prints when the machine stops, on stderr
 * (stdout is the guest's COM1): what the processor did, each virtio device's
 * counters (a NIC's dropped frames with them), and under a
 * hypervisor what the hypervisor did: exits by reason (the SDM's or the APM's names),
 * the busiest I/O ports, entries, injected interrupts, EPT violations, and
 * host time in the guest vs in the hypervisor; under the software monitor its
 * traps and reflections, and under binary translation the translator's counters.
 */
import type { CounterSnapshot, TranslatorSnapshot } from '../hypervisor/counters.ts';
import { CALLOUT_KINDS } from '../hypervisor/software/bt/calloutKinds.ts';
import { exitName } from '../hypervisor/exitNames.ts';
import { ACCELERATION_INFO, type Acceleration } from '../machine/acceleration.ts';
import type { MachineStats } from '../machine/types.ts';
import { TRAP_KINDS, totalReflected, totalTraps, type MonitorCounters } from '../hypervisor/software/monitorCounters.ts';

/** Ports listed by --stats (the busiest first). */
const TOP_PORTS = 8;

export function formatRunStats(acceleration: Acceleration, stats: MachineStats): string {
  const rows: [string, string][] = [
    ['acceleration', ACCELERATION_INFO[acceleration].label],
    ['guest time', `${(stats.guestNs / 1e9).toFixed(3)} s`],
    // Lag the realtime clock dropped rather than replay (a loaded host): shown when there was some.
    ...(stats.droppedNs ? [['guest time dropped', `${(stats.droppedNs / 1e9).toFixed(3)} s`] as [string, string]] : []),
    ['instructions', String(stats.instructions)],
    ['interrupts', String(stats.interrupts)],
    ['exceptions', String(stats.exceptions)],
  ];
  if (stats.balloon) {
    const b = stats.balloon;
    rows.push(['balloon target', `${b.targetPages} pages`], ['balloon actual', `${b.actualPages} pages`]);
    if (b.poolFreeFrames !== undefined) rows.push(['pool free frames', String(b.poolFreeFrames)]);
  }
  for (const d of stats.virtio ?? []) rows.push([d.name, virtioCounters(d)]);
  const monitor = stats.hypervisor?.monitor;
  if (monitor) rows.push(...monitorRows(monitor));
  if (stats.hypervisor?.translator) rows.push(...translatorRows(stats.hypervisor.translator));
  // Under the software monitor there are no VM entries, injections or EPT: only its shadow paging and host time apply.
  const noExits = new Set(monitor ? ['VM entries', 'injected interrupts', 'EPT violations', 'host ms in hypervisor'] : []);
  if (stats.hypervisor) rows.push(...hypervisorRows(stats.hypervisor).filter(([name]) => !noExits.has(name)));
  const width = Math.max(...rows.map(([name]) => name.length));
  return `--- stats ---\n${rows.map(([name, value]) => `${name.padEnd(width)}  ${value}`).join('\n')}\n`;
}

/** One virtio device's counters on a line, with the frames a NIC dropped. */
function virtioCounters(d: NonNullable<MachineStats['virtio']>[number]): string {
  const c = d.counters;
  const line = `${c.requests} requests, ${c.bytesRead} bytes read, ${c.bytesWritten} bytes written, ${c.kicks} kicks, ${c.interrupts} interrupts, ${c.errors} errors`;
  return d.dropped === undefined ? line : `${line}, ${d.dropped} frames dropped`;
}

/** The software monitor's traps by instruction and reflected events by vector (only those that happened). */
function monitorRows(m: MonitorCounters): [string, string][] {
  const rows: [string, string][] = [
    ['monitor traps', String(totalTraps(m))],
    ['reflected events', String(totalReflected(m))],
    ['hidden shadow #PF', String(m.hiddenPageFaults)],
    ['held interrupts', String(m.heldInterrupts)],
    ['shadow GDT resyncs', String(m.gdtResyncs)],
    ['GDT entries rewritten, write watch', String(m.gdtEntriesByWatch)],
    ['GDT entries rewritten, full resync', String(m.gdtEntriesByResync)],
  ];
  // The shadow GDT/LDT's kernel and user views (guestViews.ts): shown once the guest ran user code.
  if (m.viewSwitchesToUser + m.lazyViewSwitchesToUser + m.viewSwitchesToKernel > 0) {
    rows.push(
      ['to user view, leaving an event', String(m.viewSwitchesToUser)],
      ['to user view, lazily on #GP/#SS', String(m.lazyViewSwitchesToUser)],
      ['to kernel view', String(m.viewSwitchesToKernel)],
    );
  }
  // GDT pages the monitor stopped write-protecting (hot data beside the table): shown when there were some.
  if (m.gdtPagesUnwatched > 0) rows.push(['GDT pages unwatched', String(m.gdtPagesUnwatched)]);
  // Real-mode and 16-bit code (firmware, boot sectors) in the monitor's emulator: shown when the guest had some.
  if (m.emulatedInstructions > 0) {
    rows.push(
      ['emulated instructions', String(m.emulatedInstructions)],
      ['to the emulator', String(m.emulatorEntries)],
      ['back from the emulator', String(m.emulatorExits)],
    );
  }
  for (const k of TRAP_KINDS) if (m.traps[k] > 0) rows.push([`trap ${k}`, String(m.traps[k])]);
  m.reflected.forEach((n, vector) => {
    if (n > 0) rows.push([`reflected vector ${vector}`, String(n)]);
  });
  return rows;
}

/** The binary translator's counters ('bt'), callouts by kind only those that happened. */
function translatorRows(t: TranslatorSnapshot): [string, string][] {
  const rows: [string, string][] = [
    ['TC blocks translated', String(t.blocksBuilt)],
    ['TC guest instructions', String(t.guestInstructionsTranslated)],
    ['TC blocks entered', String(t.blocksEntered)],
    ['TC chained jumps', String(t.chainsMade)],
    ['TC blocks invalidated', String(t.blocksInvalidated)],
    ['TC code writes', String(t.codeWrites)],
    ['TC bytes used', `${t.tcUsed} of ${t.tcSize}`],
    ['TC flushes', String(t.cacheFlushes)],
    ['TC sections reused', String(t.sectionsReused)],
    ['TC blocks evicted', String(t.blocksEvicted)],
  ];
  for (const k of CALLOUT_KINDS) if ((t.callouts[k] ?? 0) > 0) rows.push([`callout ${k}`, String(t.callouts[k])]);
  return rows;
}

function hypervisorRows(h: CounterSnapshot): [string, string][] {
  const rows: [string, string][] = [
    ['VM entries', String(h.entries)],
    ['injected interrupts', String(h.injectedInterrupts)],
    [h.vendor === 'svm' ? 'nested page faults (#NPF)' : 'EPT violations', String(h.eptViolations)],
    ['host ms in guest', h.guestMs.toFixed(0)],
    ['host ms in hypervisor', h.hypervisorMs.toFixed(0)],
  ];
  h.exitsByReason.forEach((n, reason) => {
    if (n > 0) rows.push([`exits ${exitName(h.vendor, reason)}`, String(n)]);
  });
  if (h.shadowPaging) {
    const s = h.shadowPaging;
    rows.push(
      ['shadow #PF hidden', String(s.hiddenFaults)],
      ['shadow #PF reflected', String(s.reflectedFaults)],
      ['shadow #PF on devices', String(s.deviceFaults)],
      ['page-table write faults', String(s.pageTableWriteFaults)],
      ['page-table resyncs', String(s.resyncs)],
      ['shadow pages built', String(s.shadowPagesBuilt)],
      ['shadow pages dropped', String(s.shadowPagesDropped)],
      ['CR3 switches', `${s.cr3Switches} (${s.cr3CacheHits} from the cache)`],
      ['guest INVLPGs', String(s.invlpgs)],
    );
  }
  const ports = Object.entries(h.ioExitsByPort)
    .map(([port, n]) => [Number(port), n] as const)
    .sort((a, b) => b[1] - a[1] || a[0] - b[0])
    .slice(0, TOP_PORTS);
  for (const [port, n] of ports) rows.push([`I/O exits port 0x${port.toString(16)}`, String(n)]);
  return rows;
}
