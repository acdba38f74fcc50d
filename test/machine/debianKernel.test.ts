/**
 * Guest-level test: Debian 12's unmodified i386 kernels (the images the
 * linux-image-686 and linux-image-686-pae metapackages depend on, fetched
 * from the Debian mirror by scripts/fetch-debian-kernel.sh, never committed)
 * boot with the bundled initramfs to the same shell: the 686 kernel
 * (two-level paging) on the bare emulated PC, the 686-pae kernel (PAE
 * paging with NX) as a domain of the hypervisor under VT-x with EPT, which
 * exercises the processor's PAE walk, the VMCS's guest PDPTEs and the
 * guest's EFER.NXE. The PAE kernel also boots on the bare PC (checked by
 * hand; one boot per kernel keeps the suite's budget). Deterministic clock.
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GuestConsole } from '../../scripts/guestConsole.ts';
import { CPUID_FEATURES } from '../../core/cpu/system.ts';
import type { Acceleration } from '../../core/machine/acceleration.ts';

const kernelPath = (flavour: string): string => new URL(`../../.cache/debian-kernel/vmlinuz-debian-${flavour}`, import.meta.url).pathname;

/**
 * Linux names the CPUID.1:EDX bits (`pae` among them), 8000_0001h:EDX's `nx`, and its
 * synthesized `constant_tsc` (every Intel family-6 part from model 0Eh on) and `cpuid`.
 * On the bare PC the processor has VMX (CPUID.1:ECX), and these kernels
 * (unlike Tiny Linux's, built without KVM's feature names) add `vmx` and the VMX features it
 * reads from the capability MSRs; under the hypervisor VMX is hidden and CPUID.1:ECX shows
 * `hypervisor` instead. The PAE kernel adds `pti`: it isolates its page tables from user
 * space (Meltdown), which a 32-bit kernel can only do with PAE.
 */
const advertised = Object.keys(CPUID_FEATURES).map((f) => f.toLowerCase());
const RUNS: { acceleration: Acceleration; flavour: '686' | '686-pae'; title: string; flags: string[] }[] = [
  { acceleration: 'none', flavour: '686', title: 'on the emulated PC', flags: [...advertised, 'nx', 'constant_tsc', 'cpuid', 'vmx', 'vnmi', 'ept', 'vpid'] },
  { acceleration: 'vtx', flavour: '686-pae', title: 'under the VT-x hypervisor (EPT)', flags: [...advertised, 'nx', 'constant_tsc', 'cpuid', 'hypervisor', 'pti'] },
];

describe.each(RUNS)('Debian 12 i386 $flavour kernel $title', ({ acceleration, flavour, flags: expectedFlags }) => {
  let guest: GuestConsole;
  const KERNEL = kernelPath(flavour);

  beforeAll(async () => {
    if (!existsSync(KERNEL)) {
      throw new Error(`${KERNEL} is missing: run scripts/fetch-debian-kernel.sh "" ${flavour} (CI does)`);
    }
    guest = GuestConsole.tinyLinux({ memoryMiB: 256, acceleration }, KERNEL);
    await guest.waitFor('POPEK-READY\r\n', 1500);
    await guest.waitFor(/\n# (\x1b\[6n)?$/, 120);
  }, 1_800_000);

  afterAll(() => {
    guest?.machine.pause();
  });

  it('boots the distribution kernel to the shell without oops, BUG or WARNING', () => {
    expect(guest.output).toMatch(new RegExp(`\\] Linux version 6\\.1\\.0-\\d+-${flavour} \\(debian-kernel@lists\\.debian\\.org\\)`));
    expect(guest.output).not.toMatch(/Oops|BUG|WARNING|Kernel panic|Call Trace/);
  });

  it('answers uname -a', async () => {
    expect(await guest.command('uname -a')).toMatch(
      new RegExp(`^Linux popek 6\\.1\\.0-\\d+-${flavour} #1 SMP PREEMPT_DYNAMIC Debian 6\\.1\\.\\d+-\\d+ \\([0-9-]+\\) i686 GNU/Linux\\n$`),
    );
  });

  it('uses NX with the PAE kernel, and says it cannot without PAE', () => {
    expect(guest.output).toContain(
      flavour === '686-pae' ? 'NX (Execute Disable) protection: active' : 'Notice: NX (Execute Disable) protection cannot be enabled: non-PAE kernel!',
    );
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
