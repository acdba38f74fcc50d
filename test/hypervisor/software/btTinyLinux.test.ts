/**
 * Tiny Linux under binary translation (acceleration 'bt': the software
 * monitor, ring compression, the translator), one boot on the deterministic
 * clock to its shell, a few commands, poweroff. What it exercises beyond the
 * detector: Linux 6.1 (i386) enters and leaves user mode on its entry stack
 * in cpu_entry_area, inside the top 4 MiB the monitor takes (topWindow.ts,
 * emulate.ts: stack accesses, POP Sreg and IRET to user from there), its
 * libc's TLS accesses wrap past the monitor's truncated GS limit
 * (mov %gs:0xffffffac), and the kernel rewrites GDT TLS entries and loads GS
 * natively (the shadow GDT is resynced on the way to user mode).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GuestConsole, PROMPT } from '../../../scripts/guestConsole.ts';

describe('Tiny Linux under binary translation', () => {
  let guest: GuestConsole;

  beforeAll(async () => {
    guest = GuestConsole.tinyLinux({ acceleration: 'bt' });
    await guest.waitFor(PROMPT, 300);
  }, 320_000);

  afterAll(() => {
    guest?.machine.pause();
  });

  it('boots to the shell and answers commands', async () => {
    expect(guest.output).toContain('Run /init as init process');
    expect(await guest.command('uname -sr')).toBe('Linux 6.1.192\n');
    // The timer ticks through the monitor (reflected IRQ 0): the count is in the first row.
    expect(await guest.command('cat /proc/interrupts')).toMatch(/^ +CPU0 *\n +0: +[1-9][0-9]* +XT-PIC +timer\n/);
  }, 120_000);

  it('forks and execs (each child enters and leaves user mode through the entry stack)', async () => {
    expect(await guest.command('for i in 1 2 3 4 5 6 7 8; do /bin/true; done; echo forked $i')).toBe('forked 8\n');
  }, 120_000);

  it('switches the shadow GDT\'s views on each return to user mode and each entry from it, and follows TLS writes through the watch', async () => {
    const counts = () => {
      const m = guest.machine.stats().hypervisor!.monitor!;
      return { toUser: m.viewSwitchesToUser, lazy: m.lazyViewSwitchesToUser, toKernel: m.viewSwitchesToKernel, byWatch: m.gdtEntriesByWatch };
    };
    const before = counts();
    expect(await guest.command('echo views')).toBe('views\n');
    const after = counts();
    // Under bt every return to user mode is a callout, so none is lazy; the switches alternate from the kernel view,
    // so there is one more to the user view than to the kernel view, or as many, wherever the run stopped.
    expect(after.lazy).toBe(0);
    expect([0, 1]).toContain(after.toUser - after.toKernel);
    expect(after.toUser).toBeGreaterThan(before.toUser); // the shell's read and write system calls came back to user mode
    // Linux writes a task's TLS entries into its GDT at each switch to it: the watch rewrote them in both views.
    expect(after.byWatch).toBeGreaterThan(0);
  }, 120_000);

  it('powers off', async () => {
    guest.type('poweroff\n');
    const reason = await guest.waitForStop(120);
    expect(reason.kind).toBe('poweroff');
  }, 130_000);
});
