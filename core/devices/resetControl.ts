/**
 * The PIIX reset control register at port 0xCF9:
 *   bit 1  SRST: reset type, 1 = hard (system) reset, 0 = soft (CPU INIT)
 *   bit 2  RCPU: a 0 -> 1 transition starts the reset of the selected type
 *   bit 3  full reset (ICH; Linux sets it for cold reboots): stored
 * The register itself is cleared by the reset it triggers.
 *
 * 0xCF9 shares a dword with PCI CONFIG_ADDRESS (0xCF8), so with PCI the
 * config-port handler owns the port and forwards byte accesses here:
 *   const rc = new ResetControl({ onReset });  new Pci(bus, { cf9: rc, ... });
 * Without PCI, call `rc.attach(bus)` to own port 0xCF9 alone.
 */
import type { MemoryBus } from '../memory/bus.ts';
import type { Device } from './device.ts';
import type { Port0xCf9 } from './pciConfigPorts.ts';

export type ResetCause = 'cf9-hard' | 'cf9-soft';

export interface ResetControlOptions {
  onReset?: (cause: ResetCause) => void;
}

export class ResetControl implements Device, Port0xCf9 {
  readonly name = 'reset-control';
  private value = 0;
  private readonly onReset: (cause: ResetCause) => void;

  constructor(options: ResetControlOptions = {}) {
    this.onReset = options.onReset ?? (() => {});
  }

  /** Registers port 0xCF9 on its own (for a board without the PCI config ports). */
  attach(bus: MemoryBus): void {
    bus.addPorts(0xcf9, 1, { portRead: () => this.read(), portWrite: (_p, _s, v) => this.write(v) }, 'reset-control', [1]);
  }

  read(): number {
    return this.value;
  }

  write(v: number): void {
    const start = (v & 0x04) !== 0 && (this.value & 0x04) === 0;
    this.value = v & 0x0e;
    if (start) {
      const cause: ResetCause = (v & 0x02) !== 0 ? 'cf9-hard' : 'cf9-soft';
      this.value = 0;
      this.onReset(cause);
    }
  }

  reset(): void {
    this.value = 0;
  }

  saveState(): { value: number } {
    return { value: this.value };
  }

  loadState(state: unknown): void {
    this.value = (state as { value: number }).value & 0x0e;
  }
}
