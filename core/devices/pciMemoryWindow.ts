/**
 * The host bridge's PCI memory window (0x80000000-0xFEBFFFFF, the range the
 * DSDT's _CRS gives bus 0): memory cycles in it go to whichever function's
 * memory BAR decodes the address, as on a real bus. The BAR is looked up on
 * every access, so firmware or the OS may (re)program BARs at any time; a
 * function decodes only while Memory Space is enabled in its COMMAND
 * register. An address no BAR claims reads all ones and drops writes
 * (a master abort).
 *
 * Only functions with memory BARs served by the model register here.
 */
import type { AccessSize, MemoryBus, MmioHandler } from '../memory/bus.ts';
import { PCI_COMMAND_MEMORY, type PciFunction } from './pciFunction.ts';

export const PCI_MEMORY_WINDOW_BASE = 0x8000_0000;
export const PCI_MEMORY_WINDOW_END = 0xfec0_0000; // exclusive

/** A function whose memory BARs are served by its model. */
export interface PciMemoryBarDevice {
  readonly fn: PciFunction;
  /** Access at `offset` into memory BAR `bar`. */
  barRead(bar: number, offset: number, size: AccessSize): number;
  barWrite(bar: number, offset: number, size: AccessSize, value: number): void;
}

export class PciMemoryWindow implements MmioHandler {
  private readonly devices: PciMemoryBarDevice[] = [];

  constructor(bus: MemoryBus) {
    bus.addMmio(PCI_MEMORY_WINDOW_BASE, PCI_MEMORY_WINDOW_END - PCI_MEMORY_WINDOW_BASE, this, 'pci-memory-window');
  }

  add(device: PciMemoryBarDevice): void {
    this.devices.push(device);
  }

  read(offset: number, size: AccessSize): number {
    const hit = this.decode(PCI_MEMORY_WINDOW_BASE + offset, size);
    if (!hit) return size === 4 ? 0xffff_ffff : (1 << (8 * size)) - 1;
    return hit.device.barRead(hit.bar, hit.offset, size);
  }

  write(offset: number, size: AccessSize, value: number): void {
    const hit = this.decode(PCI_MEMORY_WINDOW_BASE + offset, size);
    if (hit) hit.device.barWrite(hit.bar, hit.offset, size, value);
  }

  private decode(address: number, size: number): { device: PciMemoryBarDevice; bar: number; offset: number } | null {
    for (const device of this.devices) {
      const fn = device.fn;
      if ((fn.command & PCI_COMMAND_MEMORY) === 0) continue;
      for (let bar = 0; bar < 6; bar++) {
        const def = fn.barDefinition(bar);
        if (!def || def.kind === 'io') continue;
        const base = fn.barAddress(bar);
        if (base === 0) continue; // unassigned
        if (address >= base && address + size <= base + def.size) return { device, bar, offset: address - base };
      }
    }
    return null;
  }
}
