/**
 * Guest-level test of the hypervisor on AMD-V: the bundled Tiny Linux boots
 * to its shell as a domain run by Popek's hypervisor on the AMD part's SVM
 * with nested paging, with the deterministic clock. The guest sees the AMD
 * part through the CPUID the hypervisor filters (`hypervisor`, no `svm`),
 * its interrupts arrive by EVENTINJ, and the counters (by EXITCODE, with the
 * APM's names) tell what happened: IOIO, HLT and INTR exits.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GuestConsole } from '../../scripts/guestConsole.ts';
import * as B from '../../core/cpu/svm/vmcb.ts';
import type { CounterSnapshot } from '../../core/hypervisor/counters.ts';
import { exitName } from '../../core/hypervisor/exitNames.ts';

describe('Tiny Linux under the AMD-V hypervisor', () => {
  let guest: GuestConsole;
  const counters = (): CounterSnapshot => {
    const h = guest.machine.stats().hypervisor;
    if (!h) throw new Error('the machine reports no hypervisor counters');
    return h;
  };

  // Under a minute of host time on an idle machine (45 s measured); the limits leave room for a busy one.
  beforeAll(async () => {
    guest = GuestConsole.tinyLinux({ acceleration: 'svm' });
    await guest.waitFor('POPEK-READY\r\n', 900);
    await guest.waitFor(/\n# (\x1b\[6n)?$/, 120);
  }, 1_100_000);

  afterAll(() => {
    guest?.machine.pause();
  });

  it('boots the kernel to its shell without oops, BUG or WARNING, and runs commands', async () => {
    expect(guest.output).toMatch(/^\[ *[0-9.]+\] Linux version 6\.1\.192 /m);
    expect(guest.output).toContain('00:03: ttyS0 at I/O 0x3f8 (irq = 4, base_baud = 115200) is a 16550A');
    expect(guest.output).not.toMatch(/Oops|BUG|WARNING|Kernel panic/);
    expect(await guest.command('echo $((6 * 7))')).toBe('42\n');
  });

  it('shows an AMD processor with the hypervisor bit and no svm in /proc/cpuinfo', async () => {
    const info = await guest.command('cat /proc/cpuinfo');
    expect(info).toMatch(/^vendor_id\s*: AuthenticAMD$/m);
    expect(info).toMatch(/^model name\s*: AMD Athlon\(tm\) 64 Processor 3500\+$/m);
    expect(info).toMatch(/^cache size\s*: 512 KB$/m);
    const flags = info.match(/^flags\s*: (.*)$/m)?.[1]?.split(' ');
    expect(flags).toContain('hypervisor');
    expect(flags).not.toContain('svm');
    expect(flags).not.toContain('npt');
  });

  it('counts IOIO, HLT and INTR exits by their APM names while the guest sleeps and echoes', async () => {
    const before = counters();
    await guest.command('sleep 1');
    const after = counters();
    expect(after.vendor).toBe('svm');
    const exits = (s: CounterSnapshot, code: number) => s.exitsByReason[code] ?? 0;
    expect(after.ioExitsByPort[0x3f8]! - (before.ioExitsByPort[0x3f8] ?? 0)).toBeGreaterThanOrEqual('sleep 1\r\n# '.length);
    expect(exits(after, B.VMEXIT_IOIO)).toBeGreaterThan(exits(before, B.VMEXIT_IOIO));
    // A second of sleep is a second of idle: the vCPU halts and is woken by timer interrupts (HZ=100 or more).
    expect(exits(after, B.VMEXIT_HLT) - exits(before, B.VMEXIT_HLT)).toBeGreaterThanOrEqual(50);
    // INTR exits come when an interrupt is raised while the guest runs (a halted vCPU takes it at the next VMRUN):
    // how many fall in this one second depends on when the host's typing arrives, so they are counted since boot.
    expect(exits(after, B.VMEXIT_INTR)).toBeGreaterThan(0);
    expect(after.injectedInterrupts - before.injectedInterrupts).toBeGreaterThanOrEqual(100);
    // Every exit follows a VMRUN (or one VMRUN more: a run slice may end with the vCPU in the guest);
    // only intercepts with a handler occurred; nothing touched unbacked memory.
    expect([0, 1]).toContain(after.entries - after.exitsByReason.reduce((a, b) => a + b, 0));
    const seen = after.exitsByReason.flatMap((n, code) => (n > 0 ? [exitName('svm', code)] : []));
    for (const name of ['IOIO', 'HLT', 'INTR', 'CPUID', 'MSR']) expect(seen).toContain(name);
    for (const name of seen) expect(['IOIO', 'HLT', 'INTR', 'VINTR', 'CPUID', 'MSR']).toContain(name);
    expect(after.eptViolations).toBe(0);
  });

  it('takes a 212-byte line pasted at once (every UART interrupt reaches the guest)', async () => {
    // Typed-ahead bytes keep COM1 interrupting while the timer does too. The vector held for injection keeps the
    // INTR pin low; a V_IRQ window makes the processor poll, and that poll must not look past the pin at the
    // controller (cpu/svm/guestOps.ts), or the next interrupt exits again before the held one is delivered.
    // Forty pastes, each landing at another moment of guest time (as the VT-x test does).
    for (let i = 0; i < 40; i++) {
      const line = `echo ${'abcdefghij'.repeat(20)} paste${i % 10}`;
      const from = guest.output.length;
      guest.type(line + '\n');
      const text = await guest.waitFor(new RegExp(`(^|\\n)(abcdefghij){20} paste${i % 10}\\r\\n# (\\x1b\\[6n)?$`), 20, from);
      expect(text).toContain('echo abcdefghij');
    }
  });

  it('keeps guest time: sleep 2 takes two seconds of the guest clock', async () => {
    const out = await guest.command('cat /proc/uptime; sleep 2; cat /proc/uptime');
    const [t0, t1] = out.trim().split('\n').map((line) => Number(line.split(' ')[0]));
    expect(t1 - t0).toBeGreaterThanOrEqual(2);
    expect(t1 - t0).toBeLessThan(2.1);
  });
});
