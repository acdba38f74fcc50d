/**
 * PCI bus 0: 32 device slots x 8 functions. Config accesses to empty slots
 * read all ones (a master abort), which is how software finds what exists.
 *
 * Function 0 of a slot gets the multifunction bit (header type bit 7) as soon
 * as another function is attached to the same slot, since software only scans
 * functions 1-7 when it is set.
 *
 * INTx: a function's pin drives a wire; the bus ORs all functions of all
 * slots per wire and reports wire levels through `onIntx(device, pin, level)`
 * (pin 1-4 = INTA#-INTD# of that device) to whatever routes them (the PIIX3
 * ISA bridge's PIRQ router in this platform).
 */
import { PCI_HEADER_TYPE, PCI_INTERRUPT_PIN, type PciFunction } from './pciFunction.ts';

export class PciBus {
  private readonly functions: (PciFunction | null)[] = new Array(256).fill(null);
  /** Called with the device number and pin (1-4) whenever that pin's wired-OR level may have changed. */
  onIntx: (device: number, pin: number, level: boolean) => void = () => {};

  attach(fn: PciFunction, device: number, func = 0): void {
    if (device < 0 || device > 31 || func < 0 || func > 7) throw new RangeError(`no PCI slot ${device}.${func}`);
    const index = device * 8 + func;
    if (this.functions[index]) throw new Error(`PCI ${device}.${func} is already taken by ${this.functions[index]!.name}`);
    this.functions[index] = fn;
    fn.intxSink = (source, level) => this.intxChanged(device, source, level);
    if (func !== 0 || this.hasOtherFunctions(device)) {
      const f0 = this.functions[device * 8];
      if (f0) f0.config[PCI_HEADER_TYPE] |= 0x80;
    }
  }

  /** The function at device.func on bus 0, or null. */
  get(device: number, func: number): PciFunction | null {
    if (device < 0 || device > 31 || func < 0 || func > 7) return null;
    return this.functions[device * 8 + func];
  }

  /** All attached functions with their addresses. */
  list(): { device: number; func: number; fn: PciFunction }[] {
    const out: { device: number; func: number; fn: PciFunction }[] = [];
    this.functions.forEach((fn, i) => fn && out.push({ device: i >>> 3, func: i & 7, fn }));
    return out;
  }

  configRead(bus: number, device: number, func: number, offset: number, size: 1 | 2 | 4): number {
    const fn = bus === 0 ? this.get(device, func) : null;
    if (!fn) return size === 4 ? 0xffff_ffff : (1 << (8 * size)) - 1;
    return fn.readConfig(offset, size);
  }

  configWrite(bus: number, device: number, func: number, offset: number, size: 1 | 2 | 4, value: number): void {
    const fn = bus === 0 ? this.get(device, func) : null;
    if (fn) fn.writeConfig(offset, size, value);
  }

  reset(): void {
    for (const fn of this.functions) fn?.reset();
  }

  private hasOtherFunctions(device: number): boolean {
    for (let f = 1; f < 8; f++) if (this.functions[device * 8 + f]) return true;
    return false;
  }

  /** Recomputes the wired-OR level of the pin `source` uses on `device`. */
  private intxChanged(device: number, source: PciFunction, _level: boolean): void {
    const pin = source.config[PCI_INTERRUPT_PIN];
    if (pin < 1 || pin > 4) return;
    let level = false;
    for (let f = 0; f < 8 && !level; f++) {
      const fn = this.functions[device * 8 + f];
      if (fn && fn.config[PCI_INTERRUPT_PIN] === pin && fn.intxOutput) level = true;
    }
    this.onIntx(device, pin, level);
  }
}
