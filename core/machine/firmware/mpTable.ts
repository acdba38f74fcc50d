/**
 * The Intel MultiProcessor Specification 1.4 tables for a directly booted
 * kernel on a board with the APICs (core/devices/apic): a floating pointer
 * structure in the BIOS area (where an OS scans for "_MP_", beside the ACPI
 * RSDP) and the configuration table after it: the processor, the PCI and
 * ISA buses, the I/O APIC, an I/O interrupt entry for each ISA IRQ (IRQ 0 on
 * pin 2, IRQ 9, the SCI, level-triggered), and LINT0 as ExtINT and LINT1 as
 * NMI (virtual wire mode: the floating pointer's IMCR bit is clear).
 *
 * An OS with ACPI takes the MADT instead (madt.ts); the MP table is for
 * kernels without ACPI. PCI interrupts are not listed: the PIIX3 routes them
 * onto ISA IRQs the OS programs through the DSDT's link devices, which an OS
 * without ACPI does not see either.
 */
import { IOAPIC_BASE, IOAPIC_ID, IOAPIC_VERSION, LAPIC_BASE, LAPIC_VERSION, isaIrqToPin } from '../../devices/apic/apicRegisters.ts';
import { ACPI_SCI_IRQ } from './acpiPmConstants.ts';
import { INTI_CONFORMING, INTI_LEVEL_ACTIVE_HIGH } from './madt.ts';

const FLOATING_SIZE = 16;
const HEADER_SIZE = 44;
const SPEC_REV_1_4 = 4;
const BUS = { PCI: 0, ISA: 1 } as const;
const ENTRY = { PROCESSOR: 0, BUS: 1, IO_APIC: 2, IO_INTERRUPT: 3, LOCAL_INTERRUPT: 4 } as const;
const INT_TYPE = { INT: 0, NMI: 1, EXTINT: 3 } as const;

export interface MpTables {
  floatingAddr: number;
  floating: Uint8Array;
  configAddr: number;
  config: Uint8Array;
}

/** Builds the floating pointer for `floatingAddr` and the configuration table right after it. */
export function buildMpTables(floatingAddr: number, cpuSignature: number, cpuFeatures: number): MpTables {
  if (floatingAddr % 16 !== 0) throw new RangeError('the MP floating pointer must be 16-byte aligned');
  const configAddr = floatingAddr + FLOATING_SIZE;
  const entries: number[] = [];
  const u8 = (x: number) => entries.push(x & 0xff);
  const u16 = (x: number) => { u8(x); u8(x >>> 8); };
  const u32 = (x: number) => { u16(x); u16(x >>> 16); };
  const text = (s: string, n: number) => { for (let i = 0; i < n; i++) u8(i < s.length ? s.charCodeAt(i) : 0x20); };
  let count = 0;

  // The processor: local APIC 0, its version, enabled and the bootstrap processor.
  u8(ENTRY.PROCESSOR); u8(0); u8(LAPIC_VERSION & 0xff); u8(0b11); u32(cpuSignature); u32(cpuFeatures); u32(0); u32(0); count++;
  u8(ENTRY.BUS); u8(BUS.PCI); text('PCI', 6); count++;
  u8(ENTRY.BUS); u8(BUS.ISA); text('ISA', 6); count++;
  u8(ENTRY.IO_APIC); u8(IOAPIC_ID); u8(IOAPIC_VERSION & 0xff); u8(1); u32(IOAPIC_BASE); count++;
  for (let irq = 0; irq < 16; irq++) {
    const pin = isaIrqToPin(irq);
    if (pin < 0) continue;
    const flags = irq === ACPI_SCI_IRQ ? INTI_LEVEL_ACTIVE_HIGH : INTI_CONFORMING;
    u8(ENTRY.IO_INTERRUPT); u8(INT_TYPE.INT); u16(flags); u8(BUS.ISA); u8(irq); u8(IOAPIC_ID); u8(pin); count++;
  }
  // LINT0: the 8259's INTR (ExtINT); LINT1: NMI. Destination 0xFF: every local APIC.
  u8(ENTRY.LOCAL_INTERRUPT); u8(INT_TYPE.EXTINT); u16(INTI_CONFORMING); u8(BUS.ISA); u8(0); u8(0xff); u8(0); count++;
  u8(ENTRY.LOCAL_INTERRUPT); u8(INT_TYPE.NMI); u16(INTI_CONFORMING); u8(BUS.ISA); u8(0); u8(0xff); u8(1); count++;

  const config = new Uint8Array(HEADER_SIZE + entries.length);
  const v = new DataView(config.buffer);
  ascii(config, 0, 'PCMP');
  v.setUint16(4, config.length, true);
  config[6] = SPEC_REV_1_4;
  ascii(config, 8, 'POPEK   ');
  ascii(config, 16, 'POPEK PC    ');
  v.setUint16(34, count, true);
  v.setUint32(36, LAPIC_BASE, true);
  config.set(entries, HEADER_SIZE);
  config[7] = checksum(config);

  const floating = new Uint8Array(FLOATING_SIZE);
  ascii(floating, 0, '_MP_');
  new DataView(floating.buffer).setUint32(4, configAddr, true);
  floating[8] = 1; // length in 16-byte units
  floating[9] = SPEC_REV_1_4;
  // Feature bytes 1-5 zero: a configuration table is present; IMCR absent (virtual wire mode).
  floating[10] = checksum(floating);
  return { floatingAddr, floating, configAddr, config };
}

function checksum(bytes: Uint8Array): number {
  let sum = 0;
  for (const x of bytes) sum = (sum + x) & 0xff;
  return (0x100 - sum) & 0xff;
}

function ascii(b: Uint8Array, offset: number, text: string): void {
  for (let i = 0; i < text.length; i++) b[offset + i] = text.charCodeAt(i);
}
