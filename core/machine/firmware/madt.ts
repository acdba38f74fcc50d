/**
 * The ACPI MADT ("APIC" table) body for a board with the local APIC and I/O
 * APIC of core/devices/apic: the local APIC address with PCAT_COMPAT (the
 * 8259 pair is there too), the processor's local APIC, the I/O APIC with
 * GSIs 0-23, the interrupt source overrides (ISA IRQ 0, the timer, on GSI 2;
 * IRQ 9, the SCI, level-triggered and active high, as ACPI wants it and
 * QEMU's PC says), and LINT1 as the NMI input. The header is acpiTables.ts's.
 */
import { IOAPIC_BASE, IOAPIC_ID, LAPIC_BASE, isaIrqToPin } from '../../devices/apic/apicRegisters.ts';
import { ACPI_SCI_IRQ } from './acpiPmConstants.ts';

const MADT_PCAT_COMPAT = 1;
const ENTRY = { LOCAL_APIC: 0, IO_APIC: 1, SOURCE_OVERRIDE: 2, LOCAL_APIC_NMI: 4 } as const;
/** MPS INTI flags: polarity in bits 1:0 (1 = active high), trigger mode in bits 3:2 (3 = level). */
export const INTI_CONFORMING = 0;
export const INTI_LEVEL_ACTIVE_HIGH = 0x0d;

export function madtBody(): Uint8Array {
  const parts: number[] = [];
  const u8 = (x: number) => parts.push(x & 0xff);
  const u16 = (x: number) => { u8(x); u8(x >>> 8); };
  const u32 = (x: number) => { u16(x); u16(x >>> 16); };
  u32(LAPIC_BASE);
  u32(MADT_PCAT_COMPAT);
  // Processor local APIC: ACPI processor UID 0, APIC ID 0, enabled.
  u8(ENTRY.LOCAL_APIC); u8(8); u8(0); u8(0); u32(1);
  // I/O APIC: its ID, the address, GSI base 0.
  u8(ENTRY.IO_APIC); u8(12); u8(IOAPIC_ID); u8(0); u32(IOAPIC_BASE); u32(0);
  // Interrupt source overrides: bus 0 (ISA), source IRQ, GSI, flags.
  u8(ENTRY.SOURCE_OVERRIDE); u8(10); u8(0); u8(0); u32(isaIrqToPin(0)); u16(INTI_CONFORMING);
  u8(ENTRY.SOURCE_OVERRIDE); u8(10); u8(0); u8(ACPI_SCI_IRQ); u32(ACPI_SCI_IRQ); u16(INTI_LEVEL_ACTIVE_HIGH);
  // Local APIC NMI: all processors (UID 0xFF), conforming, LINT1.
  u8(ENTRY.LOCAL_APIC_NMI); u8(6); u8(0xff); u16(INTI_CONFORMING); u8(1);
  return Uint8Array.from(parts);
}
