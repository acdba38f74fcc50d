/**
 * The fw_cfg device of a PC board that boots firmware: its contents
 * (fwCfgContent.ts) from the board as built (RAM size, the virtio-blk disks
 * in PCI slot order as the boot order, COM1 as the firmware's console,
 * Popek's ACPI tables, the VGA BIOS when the board has a VGA and the driver
 * gave one), and guest memory for its DMA interface through dom0's grant
 * check, as every other DMA-capable device model.
 */
import { FwCfg } from '../../devices/fwCfg.ts';
import type { Pci } from '../../devices/pci.ts';
import { CheckedGuestMemory, type GuestRamMap } from '../../dom0/grantCheck.ts';
import type { MemoryBus } from '../../memory/bus.ts';
import { buildAcpiLoaderFiles } from './acpiTableLoader.ts';
import { bootPaths, buildFirmwareConfig } from './fwCfgContent.ts';

const VIRTIO_VENDOR = 0x1af4;
/** virtio-blk's PCI device ids: transitional (legacy) and modern (virtio 1.0). */
const VIRTIO_BLK_IDS = new Set([0x1001, 0x1042]);
const COM1 = 0x3f8;

export function attachFirmwareConfig(bus: MemoryBus, pci: Pci, guestRam: GuestRamMap, ramBytes: number, vgaBios?: Uint8Array): FwCfg {
  const bootOrder: string[] = [];
  for (const { device, func, fn } of pci.bus.list()) {
    const vendor = fn.config[0] | (fn.config[1] << 8);
    const id = fn.config[2] | (fn.config[3] << 8);
    if (func === 0 && vendor === VIRTIO_VENDOR && VIRTIO_BLK_IDS.has(id)) bootOrder.push(bootPaths.virtioDisk(device));
  }
  const items = buildFirmwareConfig({ ramBytes, cpus: 1, bootOrder, serialConsolePort: COM1, acpi: buildAcpiLoaderFiles(), vgaBios, dma: true });
  return new FwCfg(bus, items, new CheckedGuestMemory(guestRam));
}
