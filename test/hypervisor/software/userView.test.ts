/**
 * The two views of the monitor's shadow GDT (guestViews.ts) on a small guest
 * (guests/userView.asm). User code runs on the user view, where its DPL-3
 * segments keep their 4 GiB limits: a TLS read at %gs:-4 (the offset wraps
 * below the segment's base) runs natively and reads the TLS word; a read of
 * 0xFFD00000 through a flat user segment is stopped by paging (the monitor's
 * pages are supervisor-only) and becomes the guest's own #PF there (user,
 * read, not present: the guest maps nothing in its top 4 MiB). The guest
 * kernel at CPL 1 runs on the kernel view and cannot reach the monitor
 * through a user segment: not through the FS its user loaded (kept across
 * the INT 0x80 entry), nor through the DPL-3 selector loaded into ES by
 * itself, nor through a DPL-3 SS its TSS.SS0 names; each is the guest's own
 * #PF at 0xFFD00000 (supervisor, read, not present) after the monitor ran the
 * access through its top window, as before the user view existed.
 * Under bt every return to user mode is a callout, so user code never runs on
 * the kernel view; under 'trap' an IRET to user mode runs natively (on the
 * kernel view) and the user's first access past a truncated limit switches
 * views and runs again. The monitor counts those switches apart from the
 * ones on leaving an event (monitorCounters.ts). Last, the kernel moves the
 * TLS entry's base with one write into its write-protected GDT: the write
 * watch rewrites that entry in both views.
 */
import { expect, it } from 'vitest';
import { gdtOffset } from '../../../core/hypervisor/software/monitorSpace.ts';
import { runMonitorGuest } from './monitorGuest.ts';

const PROBE = 0xffd00000;

for (const mode of ['trap', 'bt'] as const) {
  it(`runs user TLS at %gs:-4 natively on the user view, and keeps the guest kernel out of the monitor through user segments (${mode})`, () => {
    const { memory, monitor } = runMonitorGuest('userView.asm', mode);
    const r = (offset: number) => memory.readU32(0x90000 + offset) >>> 0;

    expect(r(0x00)).toBe(0x7157da7a); // %gs:-4 before the user's probe
    expect(r(0x04)).toBe(0x7157da7a); // ... and after it
    expect(r(0x08)).toBe(4); // four #PFs, one per probe
    expect([r(0x10), r(0x14), r(0x18), r(0x1c)]).toEqual([PROBE, PROBE, PROBE, PROBE]);
    // The user's: user read, not present. The kernel's (FS kept, ES loaded, SS from TSS.SS0): supervisor read, not present.
    expect([r(0x20), r(0x24), r(0x28), r(0x2c)]).toEqual([4, 0, 0, 0]);
    // No probe read anything (the loader filled these).
    expect([r(0x30), r(0x34), r(0x38), r(0x3c)]).toEqual([0xdeadbeef, 0xdeadbeef, 0xdeadbeef, 0xdeadbeef]);
    expect(monitor.counters.reflected[14]).toBe(4);
    // Two entries into the guest kernel from user mode (the user's #PF, INT 0x80), each onto the kernel view.
    expect(monitor.counters.viewSwitchesToKernel).toBe(2);
    expect(monitor.views.view).toBe('kernel');
    if (mode === 'bt') {
      // Two returns to user mode (the first IRET, the #PF handler's), each a callout onto the user view: no TLS read trapped.
      expect(monitor.counters.viewSwitchesToUser).toBe(2);
      expect(monitor.counters.lazyViewSwitchesToUser).toBe(0);
      // The four probes only, each run through the window.
      expect(monitor.counters.traps['top 4 MiB']).toBe(4);
    } else {
      // Both IRETs to user mode ran natively: each first TLS read after one trapped once, onto the user view (lazily).
      expect(monitor.counters.viewSwitchesToUser).toBe(0);
      expect(monitor.counters.lazyViewSwitchesToUser).toBe(2);
      expect(monitor.counters.traps['top 4 MiB']).toBe(2 + 4);
    }
    expect(monitor.topWindow.uses).toBe(4);
    const shadow = (view: 'kernel' | 'user') => [monitor.space.read32(gdtOffset(view) + 0x30) >>> 0, monitor.space.read32(gdtOffset(view) + 0x34) >>> 0];
    // The kernel's last write moved the TLS entry's base to 0x80810: the write watch rewrote it in both views, the
    // kernel view's limit truncated below the monitor (0xFFC7E pages), the user view's the guest's own (4 GiB).
    expect(shadow('kernel')).toEqual([0x0810fc7e, 0x00cff308]);
    expect(shadow('user')).toEqual([0x0810ffff, 0x00cff308]);
    // Five trapped writes to the GDT's page: the four to [resume] beside the table, the TLS base byte.
    expect(monitor.counters.traps['gdt write']).toBe(5);
    // Entries the watch found changed: the TSS's busy bit (the monitor's LTR, written through the watch), the TLS entry.
    expect(monitor.counters.gdtEntriesByWatch).toBe(2);
    // Whole-table copies: the loader's 4 entries at start, then at LGDT 3 changed and 3 new (the CR3 load changed none).
    expect(monitor.counters.gdtEntriesByResync).toBe(10);
    expect(monitor.counters.gdtResyncs).toBe(4);
  });
}
