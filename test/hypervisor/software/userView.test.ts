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
 * views and runs again.
 */
import { expect, it } from 'vitest';
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
    expect(monitor.views.toKernel).toBe(2);
    expect(monitor.views.view).toBe('kernel');
    if (mode === 'bt') {
      // Two returns to user mode (the first IRET, the #PF handler's), each a callout onto the user view: no TLS read trapped.
      expect(monitor.views.toUser).toBe(2);
      expect(monitor.views.lazyToUser).toBe(0);
      // The four probes only, each run through the window.
      expect(monitor.counters.traps['top 4 MiB']).toBe(4);
    } else {
      // Both IRETs to user mode ran natively: each first TLS read after one trapped once, onto the user view.
      expect(monitor.views.toUser).toBe(2);
      expect(monitor.views.lazyToUser).toBe(2);
      expect(monitor.counters.traps['top 4 MiB']).toBe(2 + 4);
    }
    expect(monitor.topWindow.uses).toBe(4);
  });
}
