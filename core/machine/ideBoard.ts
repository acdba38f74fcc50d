/**
 * The board's IDE controller: the PIIX3 IDE function at 00:01.1 with its
 * two legacy channels (IRQ 14 and 15 on the PIC), the configured hard disks
 * and CD-ROM drives on them in order (primary master, primary slave,
 * secondary master, secondary slave: with Linux's ata_piix the disks are
 * /dev/sda, /dev/sdb, ... and the drives /dev/sr0, ...), and the PCI I/O
 * window its bus-master BAR is decoded in.
 *
 * The function is attached only when the VM has an IDE disk or CD-ROM drive,
 * so boards without one keep the PCI bus and the I/O ports they had.
 * DMA reaches guest memory only through dom0's grant check, like virtio's.
 */
import type { MemoryBus } from '../memory/bus.ts';
import type { Pci } from '../devices/pci.ts';
import type { Pic } from '../devices/pic.ts';
import { PciIoWindow } from '../devices/pciIoWindow.ts';
import { Piix3Ide } from '../devices/ide/piix3Ide.ts';
import { AtaDisk } from '../devices/ide/ataDisk.ts';
import { AtapiCdrom } from '../devices/ide/atapiCdrom.ts';
import { CD_SECTOR_BYTES } from '../devices/ide/mmcResponses.ts';
import { openDisk, type BlockBackend } from '../dom0/block/blockBackend.ts';
import { CheckedGuestMemory, type GuestRamMap } from '../dom0/grantCheck.ts';
import { BootError } from './boot/bootError.ts';
import type { MachineOptions } from './types.ts';

/** Two channels, two devices each. */
export const MAX_IDE_DEVICES = 4;
/** PCI address of the function: the PIIX3's IDE function. */
const IDE_PCI_DEVICE = 1;
const IDE_PCI_FUNCTION = 1;

export class IdeBoard {
  readonly controller: Piix3Ide | null = null;
  private readonly disks: BlockBackend[] = [];
  private readonly drives: AtapiCdrom[] = [];

  constructor(bus: MemoryBus, pci: Pci, pic: Pic, guestRam: GuestRamMap, options: MachineOptions) {
    const disks = options.ideDisks ?? [];
    const cdroms = options.cdroms ?? [];
    if (disks.length + cdroms.length === 0) return;
    if (disks.length + cdroms.length > MAX_IDE_DEVICES) {
      throw new BootError(`at most ${MAX_IDE_DEVICES} IDE devices (disks and CD-ROM drives together), got ${disks.length + cdroms.length}`);
    }
    // Images first: a bad one is refused before anything is on the bus.
    const devices: (AtaDisk | AtapiCdrom)[] = [];
    let slot = 0;
    const place = (device: AtaDisk | AtapiCdrom) => {
      devices.push(device);
      slot++;
    };
    try {
      disks.forEach((disk, i) => {
        let backend: BlockBackend;
        try {
          backend = openDisk(disk.path, { format: disk.format, readOnly: disk.readOnly });
        } catch (e) {
          throw new BootError(`IDE disk ${i + 1} (${disk.path}): ${(e as Error).message}`);
        }
        this.disks.push(backend);
        place(new AtaDisk(backend, { serial: `POPEK-IDE-${slot}` }));
      });
      cdroms.forEach((cd, i) => {
        let disc: BlockBackend | undefined;
        if (cd.path !== undefined) {
          try {
            disc = openDisk(cd.path, { format: 'raw', readOnly: true });
          } catch (e) {
            throw new BootError(`CD-ROM ${i + 1} (${cd.path}): ${(e as Error).message}`);
          }
          if (disc.sizeBytes < CD_SECTOR_BYTES) {
            disc.close();
            throw new BootError(`CD-ROM ${i + 1} (${cd.path}): not a CD image (smaller than one 2048-byte sector)`);
          }
        }
        const drive = new AtapiCdrom({ serial: `POPEK-CD-${slot}`, disc });
        this.drives.push(drive);
        place(drive);
      });
    } catch (e) {
      this.close();
      throw e;
    }
    const controller = new Piix3Ide(bus, new CheckedGuestMemory(guestRam), [pic.irqLine(14), pic.irqLine(15)]);
    devices.forEach((device, i) => controller.channels[i >> 1].attach((i & 1) as 0 | 1, device));
    pci.bus.attach(controller, IDE_PCI_DEVICE, IDE_PCI_FUNCTION);
    new PciIoWindow(bus).add(controller);
    this.controller = controller;
  }

  /** Closes the disk images and the discs still in the drives (the machine is done with them). */
  close(): void {
    for (const d of this.disks.splice(0)) d.close();
    for (const drive of this.drives.splice(0)) drive.removeMedia()?.close();
  }
}
