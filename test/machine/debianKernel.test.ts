/**
 * Guest-level test: Debian 12's unmodified i386 kernels (the images the
 * linux-image-686 and linux-image-686-pae metapackages depend on, fetched
 * from the Debian mirror by scripts/fetch-debian-kernel.sh, never committed)
 * boot with the bundled initramfs to the same shell: the 686 kernel
 * (two-level paging) on the bare emulated PC, the 686-pae kernel (PAE
 * paging with NX) as a domain of the hypervisor under VT-x with EPT, which
 * exercises the processor's PAE walk, the VMCS's guest PDPTEs and the
 * guest's EFER.NXE, and the 686 kernel under VT-x on shadow page tables and
 * under AMD-V with and without nested paging (the hypervisor's four memory
 * virtualization combinations), and the 686 kernel under binary translation
 * (acceleration 'bt': ring compression, the translator, shadow page tables on
 * the plain IA-32 processor). The PAE kernel also boots on the bare PC
 * (checked by hand; one boot per combination keeps the suite's budget).
 * Deterministic clock; the kernel's crypto self-tests are off
 * (DEBIAN_TEST_CMDLINE says why).
 */
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEBIAN_TEST_CMDLINE, GuestConsole } from '../../scripts/guestConsole.ts';
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
/** What the kernel says about NX: active with PAE, unusable without it, or absent from the CPU it sees. */
const NX_ACTIVE = 'NX (Execute Disable) protection: active';
const NX_NEEDS_PAE = 'Notice: NX (Execute Disable) protection cannot be enabled: non-PAE kernel!';
const NX_MISSING = 'Notice: NX (Execute Disable) protection missing in CPU!';
/**
 * On shadow page tables the hypervisor hides PAE (and with it NX), since its shadows are two-level; the AMD part
 * (Athlon 64, K8) is a 32-bit model without PAE, and Linux adds `rep_good` (fast string moves on K8) and, under a
 * hypervisor on AMD, `vmmcall`.
 */
const withoutPae = advertised.filter((f) => f !== 'pae');
const amdFlags = [...withoutPae, 'rep_good', 'cpuid', 'hypervisor', 'vmmcall'];
const RUNS: { acceleration: Acceleration; nestedPaging?: boolean; flavour: '686' | '686-pae'; title: string; nx: string; flags: string[] }[] = [
  { acceleration: 'none', flavour: '686', title: 'on the emulated PC', nx: NX_NEEDS_PAE, flags: [...advertised, 'nx', 'constant_tsc', 'cpuid', 'vmx', 'vnmi', 'ept', 'vpid'] },
  { acceleration: 'vtx', flavour: '686-pae', title: 'under the VT-x hypervisor (EPT)', nx: NX_ACTIVE, flags: [...advertised, 'nx', 'constant_tsc', 'cpuid', 'hypervisor', 'pti'] },
  { acceleration: 'vtx', nestedPaging: false, flavour: '686', title: 'under the VT-x hypervisor on shadow page tables', nx: NX_MISSING, flags: [...withoutPae, 'constant_tsc', 'cpuid', 'hypervisor'] },
  { acceleration: 'svm', flavour: '686', title: 'under the AMD-V hypervisor (NPT)', nx: NX_MISSING, flags: amdFlags },
  { acceleration: 'svm', nestedPaging: false, flavour: '686', title: 'under the AMD-V hypervisor on shadow page tables', nx: NX_MISSING, flags: amdFlags },
  // The software monitor's shadow page tables are two-level too: PAE and NX hidden, as under VT-x on shadows.
  { acceleration: 'bt', flavour: '686', title: 'under binary translation (the software monitor)', nx: NX_MISSING, flags: [...withoutPae, 'constant_tsc', 'cpuid', 'hypervisor'] },
];

describe.each(RUNS)('Debian 12 i386 $flavour kernel $title', ({ acceleration, nestedPaging, flavour, nx, flags: expectedFlags }) => {
  let guest: GuestConsole;
  const KERNEL = kernelPath(flavour);

  beforeAll(async () => {
    if (!existsSync(KERNEL)) {
      throw new Error(`${KERNEL} is missing: run scripts/fetch-debian-kernel.sh "" ${flavour} (CI does)`);
    }
    guest = GuestConsole.tinyLinux({ memoryMiB: 256, acceleration, nestedPaging, cmdline: DEBIAN_TEST_CMDLINE }, KERNEL);
    await guest.waitFor('POPEK-READY\r\n', 1500);
    await guest.waitFor(/\n# (\x1b\[6n)?$/, 120);
  }, 1_800_000);

  afterAll(() => {
    guest?.machine.pause();
  });

  it('boots the distribution kernel to the shell without oops, BUG or WARNING', () => {
    expect(guest.output).toMatch(new RegExp(`\\] Linux version 6\\.1\\.0-\\d+-${flavour} \\(debian-kernel@lists\\.debian\\.org\\)`));
    expect(guest.output).not.toMatch(/Oops|BUG|WARNING|Kernel panic|Call Trace/);
    expect(guest.output).toContain('alg: self-tests disabled');
  });

  it('answers uname -a', async () => {
    expect(await guest.command('uname -a')).toMatch(
      new RegExp(`^Linux popek 6\\.1\\.0-\\d+-${flavour} #1 SMP PREEMPT_DYNAMIC Debian 6\\.1\\.\\d+-\\d+ \\([0-9-]+\\) i686 GNU/Linux\\n$`),
    );
  });

  it('says what it can do with NX: use it with PAE, not without PAE, nothing where the CPU it sees has none', () => {
    expect(guest.output).toContain(nx);
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
