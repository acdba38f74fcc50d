/**
 * Whether a board gets the local APIC and I/O APIC (MachineOptions.apic):
 * one place, so the chipset, the kernel boot's MP table and MADT, and the
 * firmware's ACPI tables always agree.
 */
import type { MachineOptions } from './types.ts';

/**
 * Opt-in for now (`apic: true`: `popek run --apic`, and a VM's I/O APIC
 * setting, VmConfig.apic, off for new VMs). Seen working: firmware (SeaBIOS on the bare
 * PC, VT-x and AMD-V); the bundled Tiny Linux, built with X86_UP_APIC and
 * X86_UP_IOAPIC, which takes them over (its tick from the LAPIC timer, every
 * ISA IRQ through the I/O APIC, poweroff) on the bare PC and under VT-x and
 * AMD-V, with nested paging and on shadow tables, and booted by SeaBIOS
 * through SYSLINUX from the IDE disk
 * (test/machine/syslinuxBoot.test.ts); and Debian's 686 kernel on the bare PC
 * and under VT-x with EPT (checked by hand). Not the default yet: the guest
 * tests that boot Debian's kernels and Tiny Linux's other tests expect the
 * 8259 ("XT-PIC" in /proc/interrupts, no `apic` CPU flag).
 */
export function boardHasApics(options: MachineOptions): boolean {
  return options.apic === true;
}
