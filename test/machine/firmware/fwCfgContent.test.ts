import { describe, expect, it } from 'vitest';
import { FW_CFG_KEY } from '../../../core/devices/fwCfgItems.ts';
import { buildAcpiTables } from '../../../core/machine/firmware/acpiTables.ts';
import { LOADER_COMMAND, LOADER_ENTRY_BYTES, LOADER_ZONE, buildAcpiLoaderFiles } from '../../../core/machine/firmware/acpiTableLoader.ts';
import { bootPaths, buildFirmwareConfig } from '../../../core/machine/firmware/fwCfgContent.ts';

const MiB = 1024 * 1024;
const cstr = (b: Uint8Array) => String.fromCharCode(...b).replace(/\0.*$/s, '');

function file(items: ReturnType<typeof buildFirmwareConfig>, name: string): Uint8Array {
  const f = items.listFiles().find((x) => x.name === name);
  if (!f) throw new Error(`no ${name}`);
  return items.item(f.key);
}

/**
 * Runs an etc/table-loader script the way SeaBIOS's romfile_loader does:
 * files are placed at the given addresses, pointers get the pointee's address
 * added, checksum bytes are adjusted so their range sums to zero.
 */
function runLoader(loader: Uint8Array, blobs: Record<string, Uint8Array>, placeAt: Record<string, number>) {
  const placed: Record<string, { data: Uint8Array; address: number; zone: number; align: number }> = {};
  for (let at = 0; at < loader.length; at += LOADER_ENTRY_BYTES) {
    const e = loader.subarray(at, at + LOADER_ENTRY_BYTES);
    const v = new DataView(e.buffer, e.byteOffset, LOADER_ENTRY_BYTES);
    const cmd = v.getUint32(0, true);
    if (cmd === LOADER_COMMAND.ALLOCATE) {
      const name = cstr(e.subarray(4, 60));
      placed[name] = { data: blobs[name].slice(), address: placeAt[name], align: v.getUint32(60, true), zone: e[64] };
    } else if (cmd === LOADER_COMMAND.ADD_POINTER) {
      const dest = placed[cstr(e.subarray(4, 60))];
      const src = placed[cstr(e.subarray(60, 116))];
      const offset = v.getUint32(116, true);
      const size = e[120];
      const dv = new DataView(dest.data.buffer, dest.data.byteOffset + offset, size);
      if (size === 4) dv.setUint32(0, dv.getUint32(0, true) + src.address, true);
      else dv.setBigUint64(0, dv.getBigUint64(0, true) + BigInt(src.address), true);
    } else if (cmd === LOADER_COMMAND.ADD_CHECKSUM) {
      const f = placed[cstr(e.subarray(4, 60))];
      const [offset, start, length] = [v.getUint32(60, true), v.getUint32(64, true), v.getUint32(68, true)];
      let sum = 0;
      for (let i = start; i < start + length; i++) sum += f.data[i];
      f.data[offset] = (f.data[offset] - sum) & 0xff;
    } else {
      throw new Error(`unexpected loader command ${cmd}`);
    }
  }
  return placed;
}

describe('fw_cfg contents for the firmware', () => {
  it('gives the RAM as etc/e820 and RAM_SIZE, one CPU, the boot order and the serial console port', () => {
    const items = buildFirmwareConfig({
      ramBytes: 128 * MiB, cpus: 1, bootOrder: [bootPaths.virtioDisk(3), bootPaths.virtioDisk(0x0b)], serialConsolePort: 0x3f8, dma: true,
    });
    expect(items.listFiles().map((f) => f.name)).toEqual(['bootorder', 'etc/e820', 'etc/sercon-port']);
    expect(Array.from(file(items, 'etc/e820'))).toEqual([
      0, 0, 0, 0, 0, 0, 0, 0, // address 0
      0, 0, 0, 8, 0, 0, 0, 0, // length 128 MiB
      1, 0, 0, 0, // RAM
    ]);
    expect(cstr(file(items, 'bootorder'))).toBe('/pci@i0cf8/scsi@3/disk@0,0\n/pci@i0cf8/scsi@b/disk@0,0\n');
    expect(Array.from(file(items, 'etc/sercon-port'))).toEqual([0xf8, 0x03]);
    expect(Array.from(items.item(FW_CFG_KEY.RAM_SIZE))).toEqual([0, 0, 0, 8, 0, 0, 0, 0]);
    expect(Array.from(items.item(FW_CFG_KEY.NB_CPUS))).toEqual([1, 0]);
    expect(Array.from(items.item(FW_CFG_KEY.MAX_CPUS))).toEqual([1, 0]);
    expect(Array.from(items.item(FW_CFG_KEY.BOOT_MENU))).toEqual([0, 0]);
    expect(Array.from(items.item(FW_CFG_KEY.ID))).toEqual([3, 0, 0, 0]);
  });

  it('turns the boot menu on with its wait time', () => {
    const items = buildFirmwareConfig({ ramBytes: 16 * MiB, cpus: 1, bootOrder: [], bootMenuWaitMs: 2500, dma: false });
    expect(Array.from(items.item(FW_CFG_KEY.BOOT_MENU))).toEqual([1, 0]);
    expect(Array.from(file(items, 'etc/boot-menu-wait'))).toEqual([0xc4, 0x09]);
    expect(file(items, 'bootorder').length).toBe(0);
    expect(Array.from(items.item(FW_CFG_KEY.ID))).toEqual([1, 0, 0, 0]);
  });

  it('hands a VGA BIOS over as a vgaroms/ file, where SeaBIOS looks for VGA option ROMs', () => {
    const vgaBios = Uint8Array.of(0x55, 0xaa, 1, 0xcb);
    const items = buildFirmwareConfig({ ramBytes: 16 * MiB, cpus: 1, bootOrder: [], vgaBios, dma: true });
    expect(items.listFiles().map((f) => f.name)).toEqual(['bootorder', 'etc/e820', 'vgaroms/vgabios.bin']);
    expect(file(items, 'vgaroms/vgabios.bin')).toEqual(vgaBios);
  });

  it('names boot devices as SeaBIOS matches them (QEMU\'s OpenFirmware paths)', () => {
    expect(bootPaths.virtioDisk(0x12)).toBe('/pci@i0cf8/scsi@12/disk@0,0');
    expect(bootPaths.ideDrive(0, 0)).toBe('/pci@i0cf8/ide@1,1/drive@0/disk@0');
    expect(bootPaths.ideDrive(1, 1)).toBe('/pci@i0cf8/ide@1,1/drive@1/disk@1');
  });

  it('refuses a RAM size that is not below 4 GiB', () => {
    expect(() => buildFirmwareConfig({ ramBytes: 0, cpus: 1, bootOrder: [], dma: true })).toThrow(/not a size below 4 GiB/);
  });
});

describe('ACPI tables through etc/table-loader', () => {
  it('allocates the tables in high memory (64-byte aligned) and the RSDP in the F segment', () => {
    const acpi = buildAcpiLoaderFiles();
    const placed = runLoader(acpi.loader, { 'etc/acpi/tables': acpi.tables, 'etc/acpi/rsdp': acpi.rsdp }, { 'etc/acpi/tables': 0, 'etc/acpi/rsdp': 0 });
    expect(placed['etc/acpi/tables']).toMatchObject({ zone: LOADER_ZONE.HIGH, align: 64 });
    expect(placed['etc/acpi/rsdp']).toMatchObject({ zone: LOADER_ZONE.FSEG, align: 16 });
  });

  it('linked at any address, gives exactly the tables Popek builds for that address', () => {
    const acpi = buildAcpiLoaderFiles();
    for (const [tablesAt, rsdpAt] of [[0x7ffe000, 0xf6a40], [0x1fff0040, 0xf0000]]) {
      const placed = runLoader(acpi.loader, { 'etc/acpi/tables': acpi.tables, 'etc/acpi/rsdp': acpi.rsdp }, { 'etc/acpi/tables': tablesAt, 'etc/acpi/rsdp': rsdpAt });
      const direct = buildAcpiTables(tablesAt, rsdpAt);
      expect(placed['etc/acpi/tables'].data).toEqual(direct.tables);
      expect(placed['etc/acpi/rsdp'].data).toEqual(direct.rsdp);
    }
  });

  it('is handed over in the fw_cfg files the firmware looks for', () => {
    const acpi = buildAcpiLoaderFiles();
    const items = buildFirmwareConfig({ ramBytes: 64 * MiB, cpus: 1, bootOrder: [], acpi, dma: true });
    expect(items.listFiles().map((f) => f.name)).toEqual(['bootorder', 'etc/acpi/rsdp', 'etc/acpi/tables', 'etc/e820', 'etc/table-loader']);
    expect(file(items, 'etc/table-loader')).toEqual(acpi.loader);
    expect(acpi.loader.length).toBe(15 * LOADER_ENTRY_BYTES);
  });
});
