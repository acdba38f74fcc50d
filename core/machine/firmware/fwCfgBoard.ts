/**
 * The fw_cfg device of a PC board that boots firmware: its contents
 * (fwCfgContent.ts) from the board as built (RAM size, the boot order, COM1
 * as the firmware's console, Popek's ACPI tables, the VGA BIOS when the board
 * has a VGA and the driver gave one), and guest memory for its DMA interface
 * through dom0's grant check, as every other DMA-capable device model.
 *
 * The boot order (`bootorder`) lists the boot devices of each class in the
 * order MachineOptions.bootOrder gives the classes: 'disk' is the virtio-blk
 * functions in PCI slot order, then the IDE hard disks; 'cdrom' the IDE
 * CD-ROM drives ('network' has no devices: there is no network boot ROM).
 * With an explicit order the list ends in HALT, so a class left out does not
 * boot at all, as the VM's Boot order setting says; without one the firmware
 * tries the rest after the list, as QEMU's PC does.
 */
import { FwCfg } from '../../devices/fwCfg.ts';
import type { Pci } from '../../devices/pci.ts';
import { CheckedGuestMemory, type GuestRamMap } from '../../dom0/grantCheck.ts';
import type { MemoryBus } from '../../memory/bus.ts';
import type { MachineOptions } from '../types.ts';
import { buildAcpiLoaderFiles } from './acpiTableLoader.ts';
import { boardHasApics } from '../apicOption.ts';
import { bootPaths, buildFirmwareConfig } from './fwCfgContent.ts';

const VIRTIO_VENDOR = 0x1af4;
/** virtio-blk's PCI device ids: transitional (legacy) and modern (virtio 1.0). */
const VIRTIO_BLK_IDS = new Set([0x1001, 0x1042]);
const COM1 = 0x3f8;
const DEFAULT_ORDER: NonNullable<MachineOptions['bootOrder']> = ['disk', 'cdrom'];

export function attachFirmwareConfig(bus: MemoryBus, pci: Pci, guestRam: GuestRamMap, ramBytes: number, options: MachineOptions): FwCfg {
  const items = buildFirmwareConfig({
    ramBytes,
    cpus: 1,
    bootOrder: firmwareBootOrder(pci, options),
    serialConsolePort: COM1,
    acpi: buildAcpiLoaderFiles({ apic: boardHasApics(options) }),
    ...(options.vga && options.vgaBios ? { vgaBios: options.vgaBios } : {}),
    dma: true,
  });
  return new FwCfg(bus, items, new CheckedGuestMemory(guestRam));
}

/** The `bootorder` lines for the board as built. */
export function firmwareBootOrder(pci: Pci, options: MachineOptions): string[] {
  const virtioDisks: string[] = [];
  for (const { device, func, fn } of pci.bus.list()) {
    const vendor = fn.config[0] | (fn.config[1] << 8);
    const id = fn.config[2] | (fn.config[3] << 8);
    if (func === 0 && vendor === VIRTIO_VENDOR && VIRTIO_BLK_IDS.has(id)) virtioDisks.push(bootPaths.virtioDisk(device));
  }
  // IDE positions as core/machine/ideBoard.ts fills them: the disks, then the CD-ROM drives, from the primary master on.
  const ideDisks = options.ideDisks?.length ?? 0;
  const ideCdroms = options.cdroms?.length ?? 0;
  const ide = (position: number) => bootPaths.ideDrive(position >> 1, position & 1);
  const byClass: Record<NonNullable<MachineOptions['bootOrder']>[number], string[]> = {
    disk: [...virtioDisks, ...Array.from({ length: ideDisks }, (_, i) => ide(i))],
    cdrom: Array.from({ length: ideCdroms }, (_, i) => ide(ideDisks + i)),
    network: [],
  };
  const lines = (options.bootOrder ?? DEFAULT_ORDER).flatMap((cls) => byClass[cls]);
  if (options.bootOrder) lines.push('HALT');
  return lines;
}
