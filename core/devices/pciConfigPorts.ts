/**
 * PCI configuration mechanism #1 at 0xCF8-0xCFF.
 *
 * 0xCF8 (CONFIG_ADDRESS, 32-bit accesses only): bit 31 enable, bits 23-16
 * bus, 15-11 device, 10-8 function, 7-2 dword register; bits 30-24 and 1-0
 * read as 0. 0xCFC-0xCFF (CONFIG_DATA): byte, word or dword accesses at any
 * offset reach register (address & 0xFC) + (port - 0xCFC). With the enable
 * bit clear, data reads return all ones and writes are dropped.
 *
 * Narrower accesses to 0xCF8-0xCFB do not touch CONFIG_ADDRESS: on the PIIX
 * a byte access to 0xCF9 is the reset control register, which is handed in
 * here (`cf9`) because one bus handler must own the whole 0xCF8-0xCFF range.
 */
import type { MemoryBus, AccessSize } from '../memory/bus.ts';
import type { PciBus } from './pciBus.ts';

/** The byte register that shares 0xCF9 with CONFIG_ADDRESS (see resetControl.ts). */
export interface Port0xCf9 {
  read(): number;
  write(value: number): void;
}

export class PciConfigPorts {
  readonly name = 'pci-config';
  private address = 0;
  private readonly pci: PciBus;
  private readonly cf9: Port0xCf9 | null;

  constructor(bus: MemoryBus, pci: PciBus, cf9: Port0xCf9 | null = null) {
    this.pci = pci;
    this.cf9 = cf9;
    bus.addPorts(0xcf8, 8, {
      portRead: (port, size) => this.portRead(port, size),
      portWrite: (port, size, value) => this.portWrite(port, size, value),
    }, 'pci-config');
  }

  reset(): void {
    this.address = 0;
  }

  get configAddress(): number {
    return this.address >>> 0;
  }

  portRead(port: number, size: AccessSize): number {
    if (port < 0xcfc) {
      if (port === 0xcf8 && size === 4) return this.address >>> 0;
      if (port === 0xcf9 && size === 1 && this.cf9) return this.cf9.read() & 0xff;
      return size === 4 ? 0xffff_ffff : (1 << (8 * size)) - 1;
    }
    const a = this.address;
    if ((a & 0x8000_0000) === 0) return size === 4 ? 0xffff_ffff : (1 << (8 * size)) - 1;
    return this.pci.configRead((a >>> 16) & 0xff, (a >>> 11) & 0x1f, (a >>> 8) & 7, (a & 0xfc) + (port - 0xcfc), size);
  }

  portWrite(port: number, size: AccessSize, value: number): void {
    if (port < 0xcfc) {
      if (port === 0xcf8 && size === 4) this.address = (value & 0x80ff_fffc) >>> 0;
      else if (port === 0xcf9 && size === 1 && this.cf9) this.cf9.write(value & 0xff);
      return;
    }
    const a = this.address;
    if ((a & 0x8000_0000) === 0) return;
    this.pci.configWrite((a >>> 16) & 0xff, (a >>> 11) & 0x1f, (a >>> 8) & 7, (a & 0xfc) + (port - 0xcfc), size, value);
  }

  saveState(): { address: number } {
    return { address: this.address >>> 0 };
  }

  loadState(state: unknown): void {
    this.address = ((state as { address: number }).address & 0x80ff_fffc) >>> 0;
  }
}
