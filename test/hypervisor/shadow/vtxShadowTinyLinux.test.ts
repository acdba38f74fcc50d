/**
 * Guest-level test of shadow paging under VT-x: the bundled Tiny Linux boots
 * to its shell on the hypervisor with nested paging off (no EPT, no
 * unrestricted guest: the 32-bit boot entry runs on the identity shadow until
 * the kernel turns paging on), runs processes, and the exits show the
 * shadow-paging work: #PF exits, CR3 loads, INVLPG, and no EPT at all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GuestConsole } from '../../../scripts/guestConsole.ts';
import * as F from '../../../core/cpu/vmx/vmcsFields.ts';
import { CPUID_FEATURES } from '../../../core/cpu/system.ts';
import type { CounterSnapshot } from '../../../core/hypervisor/counters.ts';

describe('Tiny Linux under VT-x with shadow page tables (nested paging off)', () => {
  let guest: GuestConsole;
  const counters = (): CounterSnapshot => {
    const h = guest.machine.stats().hypervisor;
    if (!h) throw new Error('the machine reports no hypervisor counters');
    return h;
  };
  const exits = (s: CounterSnapshot, r: number) => s.exitsByReason[r] ?? 0;

  beforeAll(async () => {
    guest = GuestConsole.tinyLinux({ acceleration: 'vtx', nestedPaging: false });
    await guest.waitFor('POPEK-READY\r\n', 400);
    await guest.waitFor(/\n# (\x1b\[6n)?$/, 60);
  }, 500_000);

  afterAll(() => {
    guest?.machine.pause();
  });

  it('boots the kernel to its shell without oops, BUG or WARNING', () => {
    expect(guest.output).toMatch(/^\[ *[0-9.]+\] Linux version 6\.1\.192 /m);
    expect(guest.output).not.toMatch(/Oops|BUG|WARNING|Kernel panic|segfault/);
  });

  it('does not offer PAE or NX, which the shadows (two-level only) cannot follow', async () => {
    const flags = (await guest.command('cat /proc/cpuinfo')).match(/^flags\s*: (.*)$/m)?.[1];
    const advertised = Object.keys(CPUID_FEATURES).filter((f) => f !== 'PAE').map((f) => f.toLowerCase());
    expect(flags).toBe([...advertised, 'constant_tsc', 'cpuid', 'hypervisor'].join(' ')); // constant_tsc: Intel family 6, model 0Eh on
  });

  it('runs commands and creates processes, each in its own address space', async () => {
    expect(await guest.command('echo $((6 * 7))')).toBe('42\n');
    const before = counters();
    expect(await guest.command('i=0; while [ $i -lt 20 ]; do /bin/true; i=$((i+1)); done; echo $i')).toBe('20\n');
    expect(await guest.command('ls / | wc -l')).toMatch(/^\d+\n$/);
    const after = counters();
    // Process creation and exit: page faults through the shadows, CR3 loads, INVLPGs, each an exit.
    expect(exits(after, F.EXIT_REASON_EXCEPTION_NMI) - exits(before, F.EXIT_REASON_EXCEPTION_NMI)).toBeGreaterThan(20 * 10);
    expect(exits(after, F.EXIT_REASON_CR_ACCESS) - exits(before, F.EXIT_REASON_CR_ACCESS)).toBeGreaterThanOrEqual(20 * 2);
    // What shadow paging did for them: every #PF exit counted as hidden, reflected (Linux's demand paging and
    // copy-on-write) or device; page-table pages written and resynced; one CR3 load at least per process switch.
    const a = after.shadowPaging!;
    const b = before.shadowPaging!;
    const pfExits = exits(after, F.EXIT_REASON_EXCEPTION_NMI) - exits(before, F.EXIT_REASON_EXCEPTION_NMI);
    expect(a.hiddenFaults - b.hiddenFaults + (a.reflectedFaults - b.reflectedFaults) + (a.deviceFaults - b.deviceFaults)).toBe(pfExits);
    expect(a.reflectedFaults - b.reflectedFaults).toBeGreaterThan(20);
    expect(a.pageTableWriteFaults - b.pageTableWriteFaults).toBeGreaterThan(20);
    expect(a.resyncs - b.resyncs).toBeGreaterThan(20);
    expect(a.cr3Switches - b.cr3Switches).toBeGreaterThanOrEqual(40);
    expect(a.shadowPagesBuilt - b.shadowPagesBuilt).toBeGreaterThan(20);
    expect(a.deviceFaults).toBe(0);
    expect(a.shadowPagesBuilt - a.shadowPagesDropped).toBeLessThanOrEqual(1024);
  });

  it('has exits only of the reasons shadow paging and the devices expect, and none of EPT', () => {
    const s = counters();
    const total = s.exitsByReason.reduce((a, b) => a + b, 0);
    // A run slice may end with the vCPU in the guest: its last entry has no exit yet.
    expect([0, 1]).toContain(s.entries - total);
    expect(exits(s, F.EXIT_REASON_EPT_VIOLATION)).toBe(0);
    expect(s.eptViolations).toBe(0);
    expect(exits(s, F.EXIT_REASON_INVLPG)).toBeGreaterThan(0);
    const handled = [
      F.EXIT_REASON_EXCEPTION_NMI, F.EXIT_REASON_EXTERNAL_INTERRUPT, F.EXIT_REASON_INTERRUPT_WINDOW, F.EXIT_REASON_CPUID,
      F.EXIT_REASON_HLT, F.EXIT_REASON_INVLPG, F.EXIT_REASON_CR_ACCESS, F.EXIT_REASON_IO_INSTRUCTION,
      F.EXIT_REASON_MSR_READ, F.EXIT_REASON_MSR_WRITE,
    ];
    s.exitsByReason.forEach((n, reason) => {
      if (n > 0) expect(handled).toContain(reason);
    });
  });
});
