/**
 * What the board tells its firmware through fw_cfg (core/devices/fwCfg.ts),
 * in the form QEMU's PC gives it, so Debian's SeaBIOS reads it unchanged:
 *
 *   RAM_SIZE (0x03)      u64 LE, the RAM below 4 GiB
 *   NB_CPUS, MAX_CPUS    u16 LE
 *   BOOT_MENU (0x0e)     u16 LE: 1 shows "Press ESC for boot menu" (SeaBIOS's etc/show-boot-menu)
 *   etc/e820             the RAM as e820 entries (u64 address, u64 length, u32 type; LE)
 *   bootorder            OpenFirmware device paths, one per line, first boots first
 *                        (a line HALT: nothing after it boots)
 *   etc/sercon-port      u16 LE I/O port: SeaBIOS mirrors its screen output to
 *                        that UART (and reads keys from it), so firmware text
 *                        reaches COM1 on a board without a screen
 *   etc/boot-menu-wait   u16 LE milliseconds the menu prompt waits, with the menu on
 *   etc/table-loader, etc/acpi/tables, etc/acpi/rsdp
 *                        Popek's own ACPI tables (acpiTableLoader.ts), which
 *                        the firmware places and links instead of building its own
 *   vgaroms/vgabios.bin  the VGA BIOS of a board whose VGA has no PCI option ROM
 *                        (SeaBIOS runs the vgaroms/ files as VGA option ROMs)
 */
import { FW_CFG_KEY, FwCfgItems, ascii, le, type FwCfgFile } from '../../devices/fwCfgItems.ts';
import type { AcpiLoaderFiles } from './acpiTableLoader.ts';

/** e820 type of usable RAM. */
const E820_RAM = 1;
const E820_ENTRY_BYTES = 20;

export interface FirmwareConfig {
  ramBytes: number;
  cpus: number;
  /** OpenFirmware paths in boot priority order (see bootPaths below). */
  bootOrder: string[];
  /** UART base the firmware mirrors its console to (0x3f8 for COM1); absent: none. */
  serialConsolePort?: number;
  /** Show the firmware's boot menu prompt for this many ms; absent: no menu. */
  bootMenuWaitMs?: number;
  /** The ACPI tables to hand over; absent: the firmware builds its own. */
  acpi?: AcpiLoaderFiles;
  /** The VGA BIOS (an option ROM image) for the board's VGA; absent: no VGA BIOS. */
  vgaBios?: Uint8Array;
  /** Whether the DMA interface is offered (the ID item says so). */
  dma: boolean;
}

/** OpenFirmware device paths SeaBIOS matches its devices against (QEMU's naming). */
export const bootPaths = {
  /** A virtio-blk function in PCI slot `slot` of bus 0. */
  virtioDisk: (slot: number): string => `/pci@i0cf8/scsi@${slot.toString(16)}/disk@0,0`,
  /** An IDE disk or CD-ROM drive on the PIIX3 IDE function (00:01.1): channel 0/1, unit 0 (master) or 1 (slave). */
  ideDrive: (channel: number, unit: number): string => `/pci@i0cf8/ide@1,1/drive@${channel}/disk@${unit}`,
};

export function buildFirmwareConfig(config: FirmwareConfig): FwCfgItems {
  if (!Number.isInteger(config.ramBytes) || config.ramBytes <= 0 || config.ramBytes > 0xffff_f000) {
    throw new RangeError(`firmware RAM size ${config.ramBytes} is not a size below 4 GiB`);
  }
  const legacy = new Map<number, Uint8Array>([
    [FW_CFG_KEY.RAM_SIZE, le(config.ramBytes, 8)],
    [FW_CFG_KEY.NB_CPUS, le(config.cpus, 2)],
    [FW_CFG_KEY.MAX_CPUS, le(config.cpus, 2)],
    [FW_CFG_KEY.BOOT_MENU, le(config.bootMenuWaitMs !== undefined ? 1 : 0, 2)],
  ]);
  const files: FwCfgFile[] = [
    { name: 'etc/e820', data: e820([{ address: 0, length: config.ramBytes, type: E820_RAM }]) },
    { name: 'bootorder', data: ascii(config.bootOrder.map((p) => `${p}\n`).join('')) },
  ];
  if (config.serialConsolePort !== undefined) files.push({ name: 'etc/sercon-port', data: le(config.serialConsolePort, 2) });
  if (config.bootMenuWaitMs !== undefined) files.push({ name: 'etc/boot-menu-wait', data: le(config.bootMenuWaitMs, 2) });
  if (config.acpi) {
    files.push(
      { name: 'etc/table-loader', data: config.acpi.loader },
      { name: 'etc/acpi/tables', data: config.acpi.tables },
      { name: 'etc/acpi/rsdp', data: config.acpi.rsdp },
    );
  }
  if (config.vgaBios) files.push({ name: 'vgaroms/vgabios.bin', data: config.vgaBios });
  return new FwCfgItems(legacy, files, config.dma);
}

function e820(entries: { address: number; length: number; type: number }[]): Uint8Array {
  const out = new Uint8Array(entries.length * E820_ENTRY_BYTES);
  entries.forEach((e, i) => {
    const at = i * E820_ENTRY_BYTES;
    out.set(le(e.address, 8), at);
    out.set(le(e.length, 8), at + 8);
    out.set(le(e.type, 4), at + 16);
  });
  return out;
}
