/**
 * Guest-level test: the bundled Tiny Linux kernel and initramfs boot on the
 * emulated PC to a root shell on COM1, and the shell answers exactly.
 * Deterministic clock, so every run is the same run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GuestConsole, PROMPT } from '../../scripts/guestConsole.ts';
import { CPUID_FEATURES, CPUID_SIGNATURE } from '../../core/cpu/system.ts';

describe('Tiny Linux on the emulated PC', () => {
  let guest: GuestConsole;

  beforeAll(async () => {
    guest = GuestConsole.tinyLinux();
    await guest.waitFor('POPEK-READY\r\n', 240);
    await guest.waitFor(/\n# (\x1b\[6n)?$/, 60);
  }, 300_000);

  afterAll(() => {
    guest?.machine.pause();
  });

  it('boots through the 32-bit boot protocol with the e820 map, command line and ACPI tables', () => {
    expect(guest.output).toContain('BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable');
    expect(guest.output).toContain('BIOS-e820: [mem 0x0000000000100000-0x0000000007feffff] usable');
    expect(guest.output).toContain('BIOS-e820: [mem 0x0000000007ff0000-0x0000000007ffffff] ACPI data');
    expect(guest.output).toContain('Kernel command line: console=ttyS0');
    expect(guest.output).toContain('ACPI: RSDP 0x00000000000F0000 000024 (v02 POPEK )');
    expect(guest.output).toContain('ACPI: PM: (supports S0 S5)');
  });

  it('prints the kernel banner and the ready line without oops, BUG or WARNING', () => {
    expect(guest.output).toMatch(/^\[ *[0-9.]+\] Linux version 6\.1\.192 /m);
    expect(guest.output).toContain('POPEK-READY\r\n');
    expect(guest.output).not.toMatch(/Oops|BUG|WARNING|Kernel panic/);
  });

  it('answers uname -a', async () => {
    expect(await guest.command('uname -a')).toBe('Linux popek 6.1.192 #1 Mon Jan  1 00:00:00 UTC 2024 i686 GNU/Linux\n');
  });

  it('shows in /proc/cpuinfo exactly what CPUID advertises', async () => {
    const info = await guest.command('cat /proc/cpuinfo');
    const field = (name: string) => info.match(new RegExp(`^${name}\\s*: (.*)$`, 'm'))?.[1];
    expect(field('vendor_id')).toBe('GenuineIntel');
    expect(field('cpu family')).toBe(String((CPUID_SIGNATURE >> 8) & 0xf));
    expect(field('model')).toBe(String((CPUID_SIGNATURE >> 4) & 0xf));
    expect(field('stepping')).toBe(String(CPUID_SIGNATURE & 0xf));
    expect(field('fpu')).toBe('yes');
    expect(field('wp')).toBe('yes');
    // Linux lists the CPUID.1:EDX bits it knows by name, then 8000_0001h:EDX's NX (shown by this non-PAE
    // kernel too, which says it cannot use it), then its own `constant_tsc` (set for every Intel family-6
    // part from model 0Eh on: the TSC counts at a constant rate, as this processor's does) and `cpuid`.
    const advertised = Object.keys(CPUID_FEATURES).map((f) => f.toLowerCase());
    expect(field('flags')).toBe([...advertised, 'nx', 'constant_tsc', 'cpuid'].join(' '));
    expect(field('model name')).toBe('Genuine Intel(R) CPU           T1300  @ 1.66GHz');
    expect(field('cache size')).toBe('2048 KB');
  });

  it('counts timer and serial interrupts in /proc/interrupts', async () => {
    const parse = (text: string, name: string) => Number(text.match(new RegExp(`^\\s*\\d+:\\s+(\\d+)\\s+XT-PIC\\s+${name}\\s*$`, 'm'))?.[1]);
    const first = await guest.command('cat /proc/interrupts');
    const second = await guest.command('cat /proc/interrupts');
    expect(first).toMatch(/^\s+CPU0\s*$/m);
    expect(parse(first, 'timer')).toBeGreaterThan(0);
    expect(parse(second, 'timer')).toBeGreaterThan(parse(first, 'timer'));
    expect(parse(first, 'ttyS0')).toBeGreaterThan(0);
    expect(parse(second, 'ttyS0')).toBeGreaterThan(parse(first, 'ttyS0'));
  });

  it('lists the root directory', async () => {
    expect(await guest.command('ls /')).toBe(
      'bin      etc      linuxrc  proc     run      sys      usr\n' + 'dev      init     mnt      root     sbin     tmp      var\n',
    );
  });

  it('has a clean kernel log', async () => {
    const log = await guest.command('dmesg');
    expect(log).toMatch(/Run \/init as init process/);
    expect(log).not.toMatch(/Oops|BUG|WARNING|Call Trace|Kernel panic/);
  });

  it('sleeps two seconds of guest time for sleep 2', async () => {
    const before = guest.guestSeconds;
    const out = await guest.command('cat /proc/uptime; sleep 2; cat /proc/uptime');
    const [t0, t1] = out.trim().split('\n').map((line) => Number(line.split(' ')[0]));
    // Measured by the guest's own clock, and by the machine's guest clock around the whole command.
    expect(t1 - t0).toBeGreaterThanOrEqual(2);
    expect(t1 - t0).toBeLessThan(2.1);
    expect(guest.guestSeconds - before).toBeGreaterThanOrEqual(2);
  });

  it('enumerates the PCI host and ISA bridges below the DSDT\'s PCI root bridge', async () => {
    expect(guest.output).toContain('ACPI: PCI Root Bridge [PCI0] (domain 0000 [bus 00-ff])');
    expect(guest.output).toContain('pci_bus 0000:00: root bus resource [io  0x0000-0x0cf7 window]');
    expect(guest.output).toContain('pci_bus 0000:00: root bus resource [io  0x0d00-0xffff window]');
    expect(guest.output).toContain('pci_bus 0000:00: root bus resource [mem 0x000a0000-0x000bffff window]');
    expect(guest.output).toContain('pci_bus 0000:00: root bus resource [mem 0x80000000-0xfebfffff window]');
    expect(guest.output).toContain('pci 0000:00:00.0: [8086:1237] type 00 class 0x060000');
    expect(guest.output).toContain('pci 0000:00:01.0: [8086:7000] type 00 class 0x060100');
    // No PCI device needs an interrupt yet, so the PIIX3 links stay unrouted.
    for (const link of ['LNKA', 'LNKB', 'LNKC', 'LNKD']) expect(guest.output).toContain(`ACPI: PCI: Interrupt link ${link} disabled`);
    expect(await guest.command('ls /sys/bus/pci/devices')).toBe('0000:00:00.0  0000:00:01.0\n');
    // A subshell cd keeps the line short enough for the shell not to wrap its echo.
    const ids = (dev: string) => guest.command(`(cd /sys/bus/pci/devices/${dev}; cat vendor device class)`);
    expect(await ids('0000:00:00.0')).toBe('0x8086\n0x1237\n0x060000\n');
    expect(await ids('0000:00:01.0')).toBe('0x8086\n0x7000\n0x060100\n');
  });

  it('finds the keyboard controller, RTC and serial ports as ACPI PNP devices', async () => {
    expect(guest.output).toContain('i8042: PNP: PS/2 Controller [PNP0303:KBD,PNP0f13:MOU] at 0x60,0x64 irq 1,12');
    expect(guest.output).toContain('rtc_cmos 00:02: registered as rtc0');
    expect(guest.output).toContain('00:03: ttyS0 at I/O 0x3f8 (irq = 4, base_baud = 115200) is a 16550A');
    expect(guest.output).toContain('00:04: ttyS1 at I/O 0x2f8 (irq = 3, base_baud = 115200) is a 16550A');
    expect(guest.output).toContain('system 00:05: [io  0x0600-0x060f] has been reserved');
    expect(await guest.command('cat /sys/bus/pnp/devices/*/id')).toBe('PNP0303\nPNP0f13\nPNP0b00\nPNP0501\nPNP0501\nPNP0c02\n');
  });

  it('reports no ACPI or firmware errors: the only match for error|bug|warn is the pci=nocrs notice', async () => {
    const log = await guest.command("dmesg | grep -iE 'error|bug|warn'");
    expect(log.replace(/^\[ *[0-9.]+\] /gm, '')).toBe('PCI: Using host bridge windows from ACPI; if necessary, use "pci=nocrs" and report a bug\n');
  });

  it('Ctrl-C interrupts a foreground command', async () => {
    const from = guest.output.length;
    const before = guest.guestSeconds;
    guest.type('sleep 100\n');
    await guest.waitFor('sleep 100\r\n', 60, from);
    // One second of guest time so sleep runs in the console's foreground
    // process group before the interrupt character arrives.
    const sleeping = guest.guestSeconds + 1;
    while (guest.guestSeconds < sleeping && !guest.stopped) {
      const result = guest.machine.run(20);
      if (result.kind === 'stopped') guest.stopped = result.reason;
      await new Promise((resolve) => setImmediate(resolve));
    }
    guest.type('\x03');
    // The tty echoes ^C (ECHOCTL) and the shell prompts again.
    expect(await guest.waitFor(PROMPT, 60, from)).toMatch(/^sleep 100\r\n\^C\r\n# (\x1b\[6n)?$/);
    expect(guest.guestSeconds - before).toBeGreaterThanOrEqual(1);
    expect(guest.guestSeconds - before).toBeLessThan(5);
    // 128 + SIGINT: sleep died of the signal instead of ignoring it.
    expect(await guest.command('echo $?')).toBe('130\n');
  });

  it('powers off with poweroff -f', async () => {
    guest.type('poweroff -f\n');
    expect(await guest.waitForStop(120)).toEqual({ kind: 'poweroff' });
    expect(guest.output).toContain('reboot: Power down');
  });
});
