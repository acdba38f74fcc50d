/**
 * The ACPI tables a directly booted kernel finds: RSDP (revision 2, pointing
 * at both an RSDT and an XSDT), FADT (revision 3, ACPI 2.0 layout) with the
 * board's PM1a event/control blocks, PM timer, SCI and reset register, a FACS,
 * and the DSDT compiled from dsdt.asl (dsdtAml.ts): the \_S5 sleep package (the
 * guest powers off by writing SLP_TYP|SLP_EN to PM1a_CNT), the PCI root bridge
 * with its windows, interrupt routing and PIRQ link devices, and the legacy
 * ISA devices as PNP devices.
 *
 * On a board with the APICs (core/devices/apic) a MADT (madt.ts) follows the
 * FADT; without them there is none, and the guest uses the 8259 PIC.
 * Deliberately absent: GPE blocks (the board raises no general-purpose events).
 *
 * Layout: the tables sit together in the ACPI data area at the top of RAM; the
 * RSDP goes in the BIOS area 0xE0000-0xFFFFF where OSes also scan for it.
 */
import type { GuestRam } from '../boot/guestRam.ts';
import { writeBytes, zeroBytes } from '../boot/guestRam.ts';
import { ACPI_AREA_SIZE, RSDP_ADDR, acpiAreaBase } from '../boot/memoryLayout.ts';
import {
  ACPI_PM1A_CNT_BLK,
  ACPI_PM1A_EVT_BLK,
  ACPI_PM1_CNT_LEN,
  ACPI_PM1_EVT_LEN,
  ACPI_PM_TMR_BLK,
  ACPI_PM_TMR_LEN,
  ACPI_SCI_IRQ,
  ACPI_RESET_PORT,
  ACPI_RESET_VALUE,
} from './acpiPmConstants.ts';
import { DSDT_AML } from './dsdtAml.ts';
import { madtBody } from './madt.ts';
export const OEM_ID = 'POPEK ';
export const OEM_TABLE_ID = 'POPEKVM ';
const CREATOR_ID = 'PPEK';
const SDT_HEADER_SIZE = 36;
const RSDP_SIZE = 36;
const FACS_SIZE = 64;
const FADT_SIZE = 244;
const FADT_REVISION = 3;

/** FADT Flags bits (ACPI 2.0, table 5-9). */
export const FADT_FLAG = {
  WBINVD: 1 << 0,
  PROC_C1: 1 << 2,
  SLP_BUTTON: 1 << 5, // 1 = no fixed-feature sleep button
  FIX_RTC: 1 << 6, // 1 = RTC wake status is not a fixed feature
  TMR_VAL_EXT: 1 << 8, // 1 = 32-bit PM timer
  RESET_REG_SUP: 1 << 10,
} as const;
/** IAPC_BOOT_ARCH bits: legacy ISA devices, an 8042, and no VGA. */
export const BOOT_ARCH = { LEGACY_DEVICES: 1 << 0, I8042: 1 << 1, VGA_NOT_PRESENT: 1 << 2 } as const;
/** The PM block's timer (core/devices/acpiPm.ts) counts 24 bits. */
const PM_TMR_IS_32BIT = false;
/** CMOS index of the RTC century byte. */
const RTC_CENTURY_INDEX = 0x32;

/**
 * The 32-bit memory window the DSDT gives the PCI root bridge for device BARs
 * (dsdt.asl, PCI0._CRS). Fixed rather than patched per machine: RAM must end
 * at or below its base, which the board's 1792 MiB limit guarantees.
 */
export const PCI_MEM_WINDOW = { base: 0x80000000, limit: 0xfebfffff } as const;

/** The DSDT's AML, without the header iasl gave it: sdt() writes the header every table here shares. */
export function dsdtBody(): Uint8Array {
  return DSDT_AML.subarray(SDT_HEADER_SIZE);
}

export interface AcpiTables {
  rsdpAddr: number;
  rsdp: Uint8Array;
  /** Physical address of `tables`, the other tables laid out back to back. */
  tablesAddr: number;
  tables: Uint8Array;
  /** madt: 0 when the board has no APIC. */
  addresses: { facs: number; dsdt: number; fadt: number; madt: number; rsdt: number; xsdt: number };
}

/** What the tables describe beyond the fixed board. */
export interface AcpiBoard {
  /** The local APIC and I/O APIC are there (a MADT describes them). */
  apic?: boolean;
}

/** Builds the table set for tables placed at `tablesAddr` (64-byte aligned) and the RSDP at `rsdpAddr`. */
export function buildAcpiTables(tablesAddr: number, rsdpAddr: number, board: AcpiBoard = {}): AcpiTables {
  if (tablesAddr % 64 !== 0 || rsdpAddr % 16 !== 0) throw new RangeError('ACPI table addresses must be aligned');
  const facsOff = 0;
  const dsdtOff = FACS_SIZE;
  const dsdt = sdt('DSDT', 2, dsdtBody()); // revision 2: 64-bit AML integers
  const fadtOff = align16(dsdtOff + dsdt.length);
  const madt = board.apic ? sdt('APIC', 1, madtBody()) : null;
  const madtOff = madt ? align16(fadtOff + FADT_SIZE) : 0;
  const rsdtOff = align16(madt ? madtOff + madt.length : fadtOff + FADT_SIZE);
  const listed = madt ? [fadtOff, madtOff] : [fadtOff];
  const rsdt = sdt('RSDT', 1, concat(listed.map((off) => u32le(tablesAddr + off))));
  const xsdtOff = align16(rsdtOff + rsdt.length);
  const xsdt = sdt('XSDT', 1, concat(listed.map((off) => u64le(tablesAddr + off))));
  const total = xsdtOff + xsdt.length;
  if (total > ACPI_AREA_SIZE) throw new RangeError('ACPI tables exceed the ACPI area');

  const addresses = {
    facs: tablesAddr + facsOff,
    dsdt: tablesAddr + dsdtOff,
    fadt: tablesAddr + fadtOff,
    madt: madt ? tablesAddr + madtOff : 0,
    rsdt: tablesAddr + rsdtOff,
    xsdt: tablesAddr + xsdtOff,
  };
  const tables = new Uint8Array(total);
  tables.set(facs(), facsOff);
  tables.set(dsdt, dsdtOff);
  tables.set(fadt(addresses.facs, addresses.dsdt), fadtOff);
  if (madt) tables.set(madt, madtOff);
  tables.set(rsdt, rsdtOff);
  tables.set(xsdt, xsdtOff);
  return { rsdpAddr, rsdp: rsdp(addresses.rsdt, addresses.xsdt), tablesAddr, tables, addresses };
}

/** Builds the tables for a machine with `ram.ramSize` bytes and writes them to their places. */
export function installAcpiTables(ram: GuestRam, board: AcpiBoard = {}): AcpiTables {
  if (ram.ramSize > PCI_MEM_WINDOW.base) {
    throw new RangeError(`RAM (${ram.ramSize} bytes) overlaps the DSDT's PCI memory window at 0x${PCI_MEM_WINDOW.base.toString(16)}`);
  }
  const base = acpiAreaBase(ram.ramSize);
  const set = buildAcpiTables(base, RSDP_ADDR, board);
  zeroBytes(ram, base, ACPI_AREA_SIZE, 'ACPI area');
  writeBytes(ram, base, set.tables, 'ACPI tables');
  writeBytes(ram, set.rsdpAddr, set.rsdp, 'ACPI RSDP');
  return set;
}

// ---- individual tables ---------------------------------------------------

function rsdp(rsdtAddr: number, xsdtAddr: number): Uint8Array {
  const b = new Uint8Array(RSDP_SIZE);
  const v = view(b);
  ascii(b, 0, 'RSD PTR ');
  ascii(b, 9, OEM_ID);
  b[15] = 2; // revision: ACPI 2.0+ (XSDT present)
  v.setUint32(16, rsdtAddr, true);
  v.setUint32(20, RSDP_SIZE, true);
  v.setBigUint64(24, BigInt(xsdtAddr), true);
  b[8] = checksum(b.subarray(0, 20));
  b[32] = checksum(b);
  return b;
}

function facs(): Uint8Array {
  const b = new Uint8Array(FACS_SIZE);
  ascii(b, 0, 'FACS');
  view(b).setUint32(4, FACS_SIZE, true);
  b[32] = 1; // version (ACPI 2.0 layout)
  return b;
}

function fadt(facsAddr: number, dsdtAddr: number): Uint8Array {
  const body = new Uint8Array(FADT_SIZE - SDT_HEADER_SIZE);
  const v = view(body);
  const at = (fadtOffset: number): number => fadtOffset - SDT_HEADER_SIZE;
  v.setUint32(at(36), facsAddr, true); // FIRMWARE_CTRL
  v.setUint32(at(40), dsdtAddr, true); // DSDT
  body[at(45)] = 1; // Preferred_PM_Profile: desktop
  v.setUint16(at(46), ACPI_SCI_IRQ, true); // SCI_INT
  v.setUint32(at(48), 0, true); // SMI_CMD: no SMM, ACPI is always enabled
  v.setUint32(at(56), ACPI_PM1A_EVT_BLK, true);
  v.setUint32(at(64), ACPI_PM1A_CNT_BLK, true);
  v.setUint32(at(76), ACPI_PM_TMR_BLK, true);
  body[at(88)] = ACPI_PM1_EVT_LEN;
  body[at(89)] = ACPI_PM1_CNT_LEN;
  body[at(91)] = ACPI_PM_TMR_LEN;
  v.setUint16(at(96), 101, true); // P_LVL2_LAT > 100: C2 not supported
  v.setUint16(at(98), 1001, true); // P_LVL3_LAT > 1000: C3 not supported
  body[at(108)] = RTC_CENTURY_INDEX;
  v.setUint16(at(109), BOOT_ARCH.LEGACY_DEVICES | BOOT_ARCH.I8042 | BOOT_ARCH.VGA_NOT_PRESENT, true);
  let flags = FADT_FLAG.WBINVD | FADT_FLAG.PROC_C1 | FADT_FLAG.SLP_BUTTON | FADT_FLAG.FIX_RTC | FADT_FLAG.RESET_REG_SUP;
  if (PM_TMR_IS_32BIT) flags |= FADT_FLAG.TMR_VAL_EXT;
  v.setUint32(at(112), flags, true);
  gas(body, at(116), ACPI_RESET_PORT, 8, 1); // RESET_REG
  body[at(128)] = ACPI_RESET_VALUE;
  // X_FIRMWARE_CTRL stays 0: the spec wants only one FACS pointer set, and a second one makes Linux install the FACS twice.
  v.setBigUint64(at(140), BigInt(dsdtAddr), true); // X_DSDT
  gas(body, at(148), ACPI_PM1A_EVT_BLK, ACPI_PM1_EVT_LEN * 8, 0);
  gas(body, at(172), ACPI_PM1A_CNT_BLK, ACPI_PM1_CNT_LEN * 8, 0);
  gas(body, at(208), ACPI_PM_TMR_BLK, ACPI_PM_TMR_LEN * 8, 0);
  return sdt('FACP', FADT_REVISION, body);
}

/** Generic Address Structure for a System I/O register. accessSize 0 = undefined (legacy), 1 = byte. */
function gas(b: Uint8Array, offset: number, port: number, bitWidth: number, accessSize: number): void {
  b[offset] = 1; // address space: System I/O
  b[offset + 1] = bitWidth;
  b[offset + 2] = 0;
  b[offset + 3] = accessSize;
  view(b).setBigUint64(offset + 4, BigInt(port), true);
}

/** A System Description Table: the common 36-byte header followed by `body`, checksummed. */
function sdt(signature: string, revision: number, body: Uint8Array): Uint8Array {
  const b = new Uint8Array(SDT_HEADER_SIZE + body.length);
  const v = view(b);
  ascii(b, 0, signature);
  v.setUint32(4, b.length, true);
  b[8] = revision;
  ascii(b, 10, OEM_ID);
  ascii(b, 16, OEM_TABLE_ID);
  v.setUint32(24, 1, true); // OEM revision
  ascii(b, 28, CREATOR_ID);
  v.setUint32(32, 1, true); // creator revision
  b.set(body, SDT_HEADER_SIZE);
  b[9] = checksum(b);
  return b;
}

// ---- helpers ----------------------------------------------------------------

/** The byte that makes `bytes` (with that byte currently 0) sum to 0 mod 256. */
function checksum(bytes: Uint8Array): number {
  let sum = 0;
  for (const x of bytes) sum = (sum + x) & 0xff;
  return (0x100 - sum) & 0xff;
}

function ascii(b: Uint8Array, offset: number, text: string): void {
  for (let i = 0; i < text.length; i++) b[offset + i] = text.charCodeAt(i);
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function u32le(value: number): Uint8Array {
  const b = new Uint8Array(4);
  view(b).setUint32(0, value, true);
  return b;
}

function u64le(value: number): Uint8Array {
  const b = new Uint8Array(8);
  view(b).setBigUint64(0, BigInt(value), true);
  return b;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function align16(n: number): number {
  return (n + 15) & ~15;
}
