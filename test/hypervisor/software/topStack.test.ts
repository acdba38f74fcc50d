/**
 * The monitor on its own, trap-and-emulate and with the translator, on a
 * small guest (guests/topStack.asm) that does what Linux 6.1 (i386) does with
 * its entry stack: TSS.ESP0 in the guest's own top 4 MiB (its
 * cpu_entry_area, at 0xFFC03000 here as in Linux), below the monitor, which
 * sits 1 MiB up in that slot. The INT 0x80 frame, the handler's pushes, POP
 * DS and IRET to user mode all run there natively, on the guest's own
 * mapping filled into the slot's table (guestTopPages.ts, with the guest's
 * A/D bits set): no instruction of the handler goes through the top window.
 * A user TLS read at %gs:-4 wraps below the segment's base: on the user view
 * of the shadow GDT (guestViews.ts) GS has the guest's 4 GiB limit and the
 * read runs natively; under 'trap', where the IRET to user mode runs natively
 * on the kernel view (truncated limits), the first such read after each IRET
 * traps once, onto the user view. The handler rewrites the GDT's TLS entry and loads GS natively:
 * the guest's GDT page is write-protected in the shadows, so each of its two
 * writes traps and the monitor updates the shadow descriptor there, and the
 * user sees the new base in both modes (no resync at the IRET to user mode,
 * which under 'trap' does not trap).
 * guests/topPages.asm: those filled entries follow a processor TLB's rules
 * (A/D bits, INVLPG, CR3 loads, a not-present entry is the guest's #PF).
 */
import { expect, it } from 'vitest';
import { runMonitorGuest } from './monitorGuest.ts';

for (const mode of ['trap', 'bt'] as const) {
  it(`keeps the guest's own top pages as a TLB would: A/D set, dropped at INVLPG and CR3 loads, a not-present one the guest's #PF (${mode})`, () => {
    const { memory, monitor } = runMonitorGuest('topPages.asm', mode);

    const r = (offset: number) => memory.readU32(0x90000 + offset) >>> 0;
    expect(r(0x00)).toBe(0xaaaaaaaa);
    expect(memory.readU32(0x300000) >>> 0).toBe(0x12345678); // the write reached frame A
    expect(r(0x04)).toBe(0xbbbbbbbb); // after INVLPG: frame B
    expect(r(0x08)).toBe(0xcccccccc); // after a CR3 load: frame C
    expect(r(0x0c)).toBe(0xffc05000); // the guest's #PF at the cleared entry: CR2 ...
    expect(r(0x10)).toBe(0); // ... supervisor read of a not-present page
    expect(memory.readU32(0x52000 + 5 * 4) >>> 0).toBe(0); // the guest's own PTE as it left it
    expect(r(0x14)).toBe(0x300000 | 0x23); // the guest's PTE after the first read: accessed
    expect(r(0x18)).toBe(0x300000 | 0x63); // ... after the first write: dirty too
    expect(monitor.counters.reflected[14]).toBe(1);
    expect(monitor.topPages.fills).toBe(4); // A read, A write (D), B, C
    expect(monitor.counters.traps['top 4 MiB']).toBe(0);
  });

  it(`runs an entry stack in the guest's top 4 MiB and user TLS past the truncated limits (${mode})`, () => {
    const { memory, monitor } = runMonitorGuest('topStack.asm', mode);

    const r = (offset: number) => memory.readU32(0x90000 + offset) >>> 0;
    expect(r(0x00)).toBe(0x11111111); // %gs:-4 with the first TLS base
    // ... and with the one the kernel wrote and loaded: both writes to the GDT (a word and a byte of the base) trapped.
    expect(r(0x04)).toBe(0x22222222);
    expect(monitor.counters.traps['gdt write']).toBe(2);
    expect(r(0x08)).toBe(0xffc04000 - 20 - 12); // the handler ran on the top stack: the frame, then DS, EAX, EBX
    expect(r(0x0c)).toBe(0x5a5a5a5a); // EBX popped back from there
    expect(r(0x10) & 0xffff).toBe(0x23); // DS popped from there
    expect(memory.readU32(0x200ffc) >>> 0).toBe(0x23); // the reflected frame's SS, written through the guest's own mapping
    expect(monitor.counters.reflected[0x80]).toBe(1);
    // The entry stack's page filled once (by the frame's write), with A and D set in the guest's PTE as the processor would.
    expect(monitor.topPages.fills).toBe(1);
    expect(memory.readU32(0x52000 + 3 * 4) >>> 0).toBe(0x200000 | 0x63);
    // Nothing of the system call trapped. Under bt the user reads at %gs:-4 did not either: each IRET to user mode (a
    // callout) put the processor on the user view. Under 'trap' each IRET to user mode ran natively, on the kernel
    // view, so each of the two reads trapped once past the truncated GS limit, onto the user view, and ran again.
    expect(monitor.counters.traps['top 4 MiB']).toBe(mode === 'bt' ? 0 : 2);
    expect(monitor.counters.lazyViewSwitchesToUser).toBe(mode === 'bt' ? 0 : 2);
    expect(monitor.topWindow.uses).toBe(0);
  });
}
