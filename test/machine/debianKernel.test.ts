/**
 * Guest-level test: Debian 12's unmodified i386 kernel (the image the
 * linux-image-686 metapackage depends on, fetched from the Debian mirror by
 * scripts/fetch-debian-kernel.sh, never committed) boots with the bundled
 * initramfs to the same shell, on the bare emulated PC and as a domain of the
 * hypervisor under VT-x with EPT. Deterministic clock.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GuestConsole } from '../../scripts/guestConsole.ts';
import { CPUID_FEATURES } from '../../core/cpu/system.ts';
import type { Acceleration } from '../../core/machine/acceleration.ts';

const KERNEL = new URL('../../.cache/debian-kernel/vmlinuz-debian-686', import.meta.url).pathname;

/**
 * Linux names the CPUID.1:EDX bits and its synthesized `cpuid`. On the bare PC the processor
 * has VMX (CPUID.1:ECX), and this kernel (unlike Tiny Linux's, built without KVM's feature
 * names) adds `vmx` and the VMX features it reads from the capability MSRs; under the
 * hypervisor VMX is hidden and CPUID.1:ECX shows `hypervisor` instead.
 */
const advertised = Object.keys(CPUID_FEATURES).map((f) => f.toLowerCase());
const RUNS: { acceleration: Acceleration; title: string; flags: string[] }[] = [
  { acceleration: 'none', title: 'on the emulated PC', flags: [...advertised, 'cpuid', 'vmx', 'vnmi', 'ept', 'vpid'] },
  { acceleration: 'vtx', title: 'under the VT-x hypervisor (EPT)', flags: [...advertised, 'cpuid', 'hypervisor'] },
];

describe.each(RUNS)('Debian 12 i386 kernel $title', ({ acceleration, flags: expectedFlags }) => {
  let guest: GuestConsole;

  beforeAll(async () => {
    if (!existsSync(KERNEL)) {
      throw new Error(`${KERNEL} is missing: run scripts/fetch-debian-kernel.sh (CI does)`);
    }
    guest = GuestConsole.tinyLinux({ memoryMiB: 256, acceleration }, KERNEL);
    await guest.waitFor('POPEK-READY\r\n', 1500);
    await guest.waitFor(/\n# (\x1b\[6n)?$/, 120);
  }, 1_800_000);

  afterAll(() => {
    guest?.machine.pause();
  });

  it('boots the distribution kernel to the shell without oops, BUG or WARNING', () => {
    expect(guest.output).toMatch(/\] Linux version 6\.1\.0-\d+-686 \(debian-kernel@lists\.debian\.org\)/);
    expect(guest.output).not.toMatch(/Oops|BUG|WARNING|Kernel panic|Call Trace/);
  });

  it('answers uname -a', async () => {
    expect(await guest.command('uname -a')).toMatch(/^Linux popek 6\.1\.0-\d+-686 #1 SMP PREEMPT_DYNAMIC Debian 6\.1\.\d+-\d+ \([0-9-]+\) i686 GNU\/Linux\n$/);
  });

  it('sees exactly the CPUID features the CPU advertises', async () => {
    const info = await guest.command('cat /proc/cpuinfo');
    const flags = info.match(/^flags\s*: (.*)$/m)?.[1];
    expect(flags).toBe(expectedFlags.join(' '));
  });

  it('counts timer and serial interrupts', async () => {
    const text = await guest.command('cat /proc/interrupts');
    expect(Number(text.match(/^\s*0:\s+(\d+)\s+XT-PIC\s+timer/m)?.[1])).toBeGreaterThan(0);
    expect(Number(text.match(/^\s*4:\s+(\d+)\s+XT-PIC\s+ttyS0/m)?.[1])).toBeGreaterThan(0);
  });

  it('powers off with poweroff -f', async () => {
    guest.type('poweroff -f\n');
    expect(await guest.waitForStop(300)).toEqual({ kind: 'poweroff' });
  });
});
