/**
 * Tiny Linux under trap-and-emulate (acceleration 'trap': the software
 * monitor with translation off), one partial boot on the deterministic
 * clock. What Popek and Goldberg predict, as Linux itself reports it: its
 * CLI traps and is emulated (virtual IF = 0), but PUSHF at CPL 1 shows the
 * processor's IF, which the monitor keeps at 1, so start_kernel's
 * `irqs_disabled()` checks (PUSHF; test bit 9) find interrupts on and warn,
 * twice, before the console is even up. The monitor itself did its part:
 * the boot got that far through emulated CLI/STI, port I/O, CR and
 * descriptor-table loads, reflected faults, shadow paging and the fixmap
 * window (core/hypervisor/software/README.md has what happens later).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GuestConsole } from '../../../scripts/guestConsole.ts';

describe('Tiny Linux under trap-and-emulate', () => {
  let guest: GuestConsole;

  beforeAll(async () => {
    guest = GuestConsole.tinyLinux({ acceleration: 'trap' });
    await guest.waitFor('printk: console [ttyS0] enabled', 300);
  }, 320_000);

  afterAll(() => {
    guest?.machine.pause();
  });

  it('boots through the monitor to the console', () => {
    expect(guest.output).toMatch(/^\[ *[0-9.]+\] Linux version 6\.1\.192 /m);
    expect(guest.output).toContain('Kernel command line: console=ttyS0');
    expect(guest.output).toContain('Checking if this processor honours the WP bit even in supervisor mode...Ok.');
  });

  it('sees interrupts enabled after its own CLI: PUSHF leaks the real IF', () => {
    expect(guest.output).toContain('Interrupts were enabled *very* early, fixing it');
    expect(guest.output).toMatch(/WARNING: CPU: 0 PID: 0 at init\/main\.c:987 /);
    expect(guest.output).toContain('Interrupts were enabled early\r\n');
    expect(guest.output).toMatch(/WARNING: CPU: 0 PID: 0 at init\/main\.c:1037 /);
    // The frame the monitor reflected the WARN's #UD (UD2) with shows the guest's view: RPL 0 is not what the
    // processor holds (SS 0x69 = the kernel's 0x68 with RPL 1, read by Linux with MOV from SS: another leak).
    expect(guest.output).toMatch(/DS: 007b ES: 007b FS: 0000 GS: 0000 SS: 0069 EFLAGS: 00200296/);
  });
});
