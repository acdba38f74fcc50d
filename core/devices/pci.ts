/**
 * The platform's PCI subsystem: bus 0 with the 440FX host bridge at 00:00.0
 * and the PIIX3 ISA bridge at 00:01.0, reached through configuration
 * mechanism #1 (0xCF8/0xCFC). PCI INTx wires are swizzled to PIRQA-D and
 * routed to ISA IRQs by the PIIX3 route registers (0x60-0x63), which the
 * firmware/ACPI tables and Linux program; those IRQs should be level-triggered
 * in the ELCR.
 *
 * Wiring:
 *   const reset = new ResetControl({ onReset: (cause) => machine.requestReset(cause) });
 *   const pci = new Pci(bus, { setIsaIrq: (irq, level) => pic.setIrq(irq, level), cf9: reset });
 *   pci.bus.attach(new MyVirtioDevice(...), 3);     // a device at 00:03.0
 *
 * Device models build on PciFunction (pciFunction.ts): identity, BARs,
 * capabilities, INTx via setIntx(level).
 */
import type { MemoryBus } from '../memory/bus.ts';
import type { Device } from './device.ts';
import { PciBus } from './pciBus.ts';
import { PciConfigPorts, type Port0xCf9 } from './pciConfigPorts.ts';
import { I440fxHostBridge, Piix3IsaBridge } from './pciBridges.ts';
import type { PciFunctionState } from './pciFunction.ts';

export { PciBus } from './pciBus.ts';
export { PciConfigPorts, type Port0xCf9 } from './pciConfigPorts.ts';
export { I440fxHostBridge, Piix3IsaBridge } from './pciBridges.ts';
export * from './pciFunction.ts';

export interface PciOptions {
  /** Drives an ISA IRQ line (the PIC's setIrq) for routed PCI interrupts. */
  setIsaIrq?: (irq: number, level: boolean) => void;
  /** The byte register sharing port 0xCF9 (the reset control register). */
  cf9?: Port0xCf9;
}

export interface PciState {
  configAddress: { address: number };
  functions: { device: number; func: number; state: PciFunctionState }[];
}

export class Pci implements Device {
  readonly name = 'pci';
  readonly bus = new PciBus();
  readonly hostBridge = new I440fxHostBridge();
  readonly isaBridge = new Piix3IsaBridge();
  readonly configPorts: PciConfigPorts;

  constructor(memoryBus: MemoryBus, options: PciOptions = {}) {
    this.configPorts = new PciConfigPorts(memoryBus, this.bus, options.cf9 ?? null);
    if (options.setIsaIrq) this.isaBridge.setIsaIrq = options.setIsaIrq;
    this.bus.attach(this.hostBridge, 0, 0);
    this.bus.attach(this.isaBridge, 1, 0);
    this.bus.onIntx = (device, pin, level) => this.isaBridge.routeIntx(device, pin, level);
  }

  reset(): void {
    this.configPorts.reset();
    this.bus.reset();
  }

  /** Configuration of every attached function (device models keep their own extra state). */
  saveState(): PciState {
    return {
      configAddress: this.configPorts.saveState(),
      functions: this.bus.list().map(({ device, func, fn }) => ({ device, func, state: fn.saveState() })),
    };
  }

  loadState(state: unknown): void {
    const s = state as PciState;
    this.configPorts.loadState(s.configAddress);
    for (const f of s.functions) this.bus.get(f.device, f.func)?.loadState(f.state);
  }
}
