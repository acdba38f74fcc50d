/**
 * Whether a board gets the local APIC and I/O APIC (MachineOptions.apic):
 * one place, so the chipset, the kernel boot's MP table and MADT, and the
 * firmware's ACPI tables always agree.
 */
import type { MachineOptions } from './types.ts';

/**
 * Opt-in for now (`apic: true`): the APICs work with firmware (SeaBIOS on the
 * bare PC, VT-x and AMD-V) and with kernels that leave them alone (Tiny
 * Linux), but a kernel that takes them over (Debian's) has not been seen
 * booting with them yet, and the guest tests that boot one expect the 8259.
 */
export function boardHasApics(options: MachineOptions): boolean {
  return options.apic === true;
}
