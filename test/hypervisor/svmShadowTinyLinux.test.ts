/**
 * Guest-level test of shadow paging under AMD-V: the bundled Tiny Linux boots
 * to its shell on the hypervisor with nested paging off (the 32-bit boot
 * entry runs on the identity shadow until the kernel turns paging on), runs
 * processes, and the exits (by EXITCODE) show the shadow-paging work: #PF
 * intercepts, CR3 writes, INVLPG, and no #NPF at all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GuestConsole } from '../../scripts/guestConsole.ts';
import * as B from '../../core/cpu/svm/vmcb.ts';
import type { CounterSnapshot } from '../../core/hypervisor/counters.ts';
import { exitName } from '../../core/hypervisor/exitNames.ts';

const PF = B.VMEXIT_EXCP_BASE + 14;
const CR3_WRITE = B.VMEXIT_CR0_WRITE + 3;

describe('Tiny Linux under AMD-V with shadow page tables (nested paging off)', () => {
  let guest: GuestConsole;
  const counters = (): CounterSnapshot => {
    const h = guest.machine.stats().hypervisor;
    if (!h) throw new Error('the machine reports no hypervisor counters');
    return h;
  };
  const exits = (s: CounterSnapshot, code: number) => s.exitsByReason[code] ?? 0;

  // Half a minute of host time on an idle machine, 75 s on a busy one (measured); the limits leave more room.
  beforeAll(async () => {
    guest = GuestConsole.tinyLinux({ acceleration: 'svm', nestedPaging: false });
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

  it('runs commands and creates processes, each in its own address space', async () => {
    expect(await guest.command('echo $((6 * 7))')).toBe('42\n');
    const before = counters();
    expect(await guest.command('i=0; while [ $i -lt 20 ]; do /bin/true; i=$((i+1)); done; echo $i')).toBe('20\n');
    expect(await guest.command('ls / | wc -l')).toMatch(/^\d+\n$/);
    const after = counters();
    const pfExits = exits(after, PF) - exits(before, PF);
    expect(pfExits).toBeGreaterThan(20 * 10);
    expect(exits(after, CR3_WRITE) - exits(before, CR3_WRITE)).toBeGreaterThanOrEqual(20 * 2);
    const a = after.shadowPaging!;
    const b = before.shadowPaging!;
    expect(a.hiddenFaults - b.hiddenFaults + (a.reflectedFaults - b.reflectedFaults) + (a.deviceFaults - b.deviceFaults)).toBe(pfExits);
    expect(a.reflectedFaults - b.reflectedFaults).toBeGreaterThan(20);
    expect(a.pageTableWriteFaults - b.pageTableWriteFaults).toBeGreaterThan(20);
    expect(a.resyncs - b.resyncs).toBeGreaterThan(20);
    expect(a.cr3Switches - b.cr3Switches).toBeGreaterThanOrEqual(40);
    expect(a.deviceFaults).toBe(0);
  });

  it('has exits only of the intercepts shadow paging and the devices expect, and no #NPF', () => {
    const s = counters();
    // Every exit follows a VMRUN, and a run slice may end with the vCPU in the guest (one VMRUN more).
    expect([0, 1]).toContain(s.entries - s.exitsByReason.reduce((a, b) => a + b, 0));
    expect(exits(s, B.VMEXIT_NPF)).toBe(0);
    expect(s.eptViolations).toBe(0);
    expect(exits(s, B.VMEXIT_INVLPG)).toBeGreaterThan(0);
    const expected = ['EXCP14', 'INTR', 'VINTR', 'CPUID', 'HLT', 'INVLPG', 'IOIO', 'MSR', 'CR0_READ', 'CR3_READ', 'CR4_READ', 'CR0_WRITE', 'CR3_WRITE', 'CR4_WRITE'];
    s.exitsByReason.forEach((n, code) => {
      if (n > 0) expect(expected).toContain(exitName('svm', code));
    });
  });
});
