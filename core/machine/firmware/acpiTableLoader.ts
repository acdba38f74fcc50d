/**
 * Popek's ACPI tables (acpiTables.ts) in the form QEMU hands them to its
 * firmware: two blobs and a script of linker commands ("etc/table-loader",
 * QEMU's hw/acpi/bios-linker-loader.c format) that the firmware runs to place
 * the blobs in guest memory, turn the offsets inside them into addresses,
 * and fix the checksums. SeaBIOS and OVMF both run it; that way the guest
 * sees the same FADT, DSDT and PM block description on a firmware boot as on
 * a direct kernel boot.
 *
 * Each command is 128 bytes, little-endian:
 *   u32 command, then
 *   1 ALLOCATE      char file[56], u32 align, u8 zone (1 = high memory, 2 = F segment)
 *   2 ADD_POINTER   char dest[56], char src[56], u32 offset, u8 size:
 *                   dest[offset..+size] += address of src
 *   3 ADD_CHECKSUM  char file[56], u32 offset, u32 start, u32 length:
 *                   file[offset] -= sum(file[start..+length])
 *
 * The tables are built for address 0, so every pointer in them is already
 * the offset the loader adds the allocation's address to.
 */
import { buildAcpiTables, type AcpiBoard } from './acpiTables.ts';

export const ACPI_TABLES_FILE = 'etc/acpi/tables';
export const ACPI_RSDP_FILE = 'etc/acpi/rsdp';
export const TABLE_LOADER_FILE = 'etc/table-loader';

export const LOADER_COMMAND = { ALLOCATE: 1, ADD_POINTER: 2, ADD_CHECKSUM: 3 } as const;
export const LOADER_ZONE = { HIGH: 1, FSEG: 2 } as const;
export const LOADER_ENTRY_BYTES = 128;
const FILE_NAME_BYTES = 56;
/** Offset of the checksum byte in every system description table header. */
const SDT_CHECKSUM = 9;

export interface AcpiLoaderFiles {
  tables: Uint8Array;
  rsdp: Uint8Array;
  loader: Uint8Array;
}

export function buildAcpiLoaderFiles(board: AcpiBoard = {}): AcpiLoaderFiles {
  const set = buildAcpiTables(0, 0, board);
  const { facs, dsdt, fadt, madt, rsdt, xsdt } = set.addresses;
  const cmds = new LoaderScript();
  // The FACS (first in the blob) must be 64-byte aligned; the RSDP must be in the BIOS area where OSes scan for it.
  cmds.allocate(ACPI_TABLES_FILE, 64, LOADER_ZONE.HIGH);
  cmds.allocate(ACPI_RSDP_FILE, 16, LOADER_ZONE.FSEG);
  if (facs !== 0) throw new Error('the FACS must start the ACPI blob (its alignment)');

  cmds.pointer(ACPI_RSDP_FILE, ACPI_TABLES_FILE, 16, 4); // RsdtAddress
  cmds.pointer(ACPI_RSDP_FILE, ACPI_TABLES_FILE, 24, 8); // XsdtAddress
  cmds.pointer(ACPI_TABLES_FILE, ACPI_TABLES_FILE, rsdt + 36, 4); // RSDT entry: FADT
  cmds.pointer(ACPI_TABLES_FILE, ACPI_TABLES_FILE, xsdt + 36, 8); // XSDT entry: FADT
  cmds.pointer(ACPI_TABLES_FILE, ACPI_TABLES_FILE, fadt + 36, 4); // FIRMWARE_CTRL
  cmds.pointer(ACPI_TABLES_FILE, ACPI_TABLES_FILE, fadt + 40, 4); // DSDT
  cmds.pointer(ACPI_TABLES_FILE, ACPI_TABLES_FILE, fadt + 140, 8); // X_DSDT
  if (madt !== 0) {
    cmds.pointer(ACPI_TABLES_FILE, ACPI_TABLES_FILE, rsdt + 40, 4); // RSDT entry: MADT
    cmds.pointer(ACPI_TABLES_FILE, ACPI_TABLES_FILE, xsdt + 44, 8); // XSDT entry: MADT
  }

  for (const table of madt !== 0 ? [dsdt, fadt, madt, rsdt, xsdt] : [dsdt, fadt, rsdt, xsdt]) {
    cmds.checksum(ACPI_TABLES_FILE, table + SDT_CHECKSUM, table, tableLength(set.tables, table));
  }
  cmds.checksum(ACPI_RSDP_FILE, 8, 0, 20); // ACPI 1.0 checksum
  cmds.checksum(ACPI_RSDP_FILE, 32, 0, set.rsdp.length); // extended checksum
  return { tables: set.tables, rsdp: set.rsdp, loader: cmds.bytes() };
}

function tableLength(blob: Uint8Array, offset: number): number {
  return new DataView(blob.buffer, blob.byteOffset + offset + 4, 4).getUint32(0, true);
}

class LoaderScript {
  private readonly entries: Uint8Array[] = [];

  allocate(file: string, align: number, zone: number): void {
    const e = this.entry(LOADER_COMMAND.ALLOCATE);
    name(e, 4, file);
    view(e).setUint32(4 + FILE_NAME_BYTES, align, true);
    e[4 + FILE_NAME_BYTES + 4] = zone;
  }

  pointer(dest: string, src: string, offset: number, size: 1 | 2 | 4 | 8): void {
    const e = this.entry(LOADER_COMMAND.ADD_POINTER);
    name(e, 4, dest);
    name(e, 4 + FILE_NAME_BYTES, src);
    view(e).setUint32(4 + 2 * FILE_NAME_BYTES, offset, true);
    e[4 + 2 * FILE_NAME_BYTES + 4] = size;
  }

  checksum(file: string, offset: number, start: number, length: number): void {
    const e = this.entry(LOADER_COMMAND.ADD_CHECKSUM);
    name(e, 4, file);
    const v = view(e);
    v.setUint32(4 + FILE_NAME_BYTES, offset, true);
    v.setUint32(4 + FILE_NAME_BYTES + 4, start, true);
    v.setUint32(4 + FILE_NAME_BYTES + 8, length, true);
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.entries.length * LOADER_ENTRY_BYTES);
    this.entries.forEach((e, i) => out.set(e, i * LOADER_ENTRY_BYTES));
    return out;
  }

  private entry(command: number): Uint8Array {
    const e = new Uint8Array(LOADER_ENTRY_BYTES);
    view(e).setUint32(0, command, true);
    this.entries.push(e);
    return e;
  }
}

function name(e: Uint8Array, at: number, text: string): void {
  if (text.length >= FILE_NAME_BYTES) throw new RangeError(`loader file name '${text}' is too long`);
  for (let i = 0; i < text.length; i++) e[at + i] = text.charCodeAt(i);
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}
