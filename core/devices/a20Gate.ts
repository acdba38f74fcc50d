/**
 * The A20 gate as the chipset computes it: address line 20 is enabled when
 * either the keyboard controller's output port (bit 1) or the fast A20 bit of
 * port 0x92 asks for it. Share one instance between I8042 and Port92.
 *
 * Wiring: `const a20 = new A20Gate(bus)`, then pass it to both devices.
 */
import type { MemoryBus } from '../memory/bus.ts';

export type A20Source = 'kbc' | 'port92';

export class A20Gate {
  private readonly bus: MemoryBus;
  private kbc: boolean;
  private port92 = false;

  /** Starts with the keyboard controller's request equal to the bus's current state. */
  constructor(bus: MemoryBus) {
    this.bus = bus;
    this.kbc = bus.a20Enabled;
  }

  set(source: A20Source, enabled: boolean): void {
    if (source === 'kbc') this.kbc = enabled;
    else this.port92 = enabled;
    this.bus.setA20(this.kbc || this.port92);
  }

  get(source: A20Source): boolean {
    return source === 'kbc' ? this.kbc : this.port92;
  }

  get enabled(): boolean {
    return this.bus.a20Enabled;
  }
}
