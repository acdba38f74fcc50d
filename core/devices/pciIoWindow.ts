/**
 * The host bridge's PCI I/O window (ports 0x0D00-0xFFFF, the second WordIO
 * range of the DSDT's _CRS for bus 0): I/O cycles there go to whichever
 * function's I/O BAR decodes the port, looked up on every access so firmware
 * or the OS may (re)program BARs at any time. A function decodes only while
 * I/O Space is enabled in its COMMAND register; a port no BAR claims reads
 * all ones and drops writes (a master abort).
 *
 * The I/O counterpart of pciMemoryWindow.ts. It is created only on boards
 * with a function that has an I/O BAR, so the ports stay free otherwise.
 */
import type { AccessSize, MemoryBus } from '../memory/bus.ts';
import { PCI_COMMAND_IO, type PciFunction } from './pciFunction.ts';

export const PCI_IO_WINDOW_BASE = 0x0d00;
export const PCI_IO_WINDOW_END = 0x1_0000; // exclusive

/** A function whose I/O BARs are served by its model. */
export interface PciIoBarDevice {
  readonly fn: PciFunction;
  /** Access at `offset` into I/O BAR `bar`. */
  ioBarRead(bar: number, offset: number, size: AccessSize): number;
  ioBarWrite(bar: number, offset: number, size: AccessSize, value: number): void;
}

export class PciIoWindow {
  private readonly devices: PciIoBarDevice[] = [];

  constructor(bus: MemoryBus) {
    bus.addPorts(PCI_IO_WINDOW_BASE, PCI_IO_WINDOW_END - PCI_IO_WINDOW_BASE, {
      portRead: (port, size) => this.read(port, size),
      portWrite: (port, size, value) => this.write(port, size, value),
    }, 'pci-io-window');
  }

  add(device: PciIoBarDevice): void {
    this.devices.push(device);
  }

  read(port: number, size: AccessSize): number {
    const hit = this.decode(port, size);
    if (!hit) return size === 4 ? 0xffff_ffff : (1 << (8 * size)) - 1;
    return hit.device.ioBarRead(hit.bar, hit.offset, size);
  }

  write(port: number, size: AccessSize, value: number): void {
    const hit = this.decode(port, size);
    if (hit) hit.device.ioBarWrite(hit.bar, hit.offset, size, value);
  }

  private decode(port: number, size: number): { device: PciIoBarDevice; bar: number; offset: number } | null {
    for (const device of this.devices) {
      const fn = device.fn;
      if ((fn.command & PCI_COMMAND_IO) === 0) continue;
      for (let bar = 0; bar < 6; bar++) {
        const def = fn.barDefinition(bar);
        if (!def || def.kind !== 'io') continue;
        const base = fn.barAddress(bar);
        if (base === 0) continue; // unassigned
        if (port >= base && port + size <= base + def.size) return { device, bar, offset: port - base };
      }
    }
    return null;
  }
}
