/**
 * Whether a board gets the local APIC and I/O APIC (MachineOptions.apic):
 * one place, so the chipset, the kernel boot's MP table and MADT, and the
 * firmware's ACPI tables always agree.
 */
import type { MachineOptions } from './types.ts';

/** The default PC has the APICs; `apic: false` leaves a PIC-only board. */
export function boardHasApics(options: MachineOptions): boolean {
  return options.apic !== false;
}
