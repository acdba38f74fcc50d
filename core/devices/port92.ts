/**
 * System control port A (0x92, "fast A20"):
 *   bit 0  alternate fast reset: writing 1 when it was 0 pulses a CPU reset
 *   bit 1  A20 enable (ORed with the keyboard controller's A20 in A20Gate)
 *   other bits are stored (bit 3 is the power-on password lock on PS/2).
 *
 * Wiring: `new Port92(bus, a20Gate, { onReset: (cause) => machine.requestReset(cause) })`.
 */
import type { MemoryBus } from '../memory/bus.ts';
import type { Device } from './device.ts';
import { A20Gate } from './a20Gate.ts';

export interface Port92Options {
  onReset?: (cause: string) => void;
}

export class Port92 implements Device {
  readonly name = 'port92';
  private value = 0;
  private readonly a20: A20Gate;
  private readonly onReset: (cause: string) => void;

  constructor(bus: MemoryBus, a20: A20Gate | null = null, options: Port92Options = {}) {
    this.a20 = a20 ?? new A20Gate(bus);
    this.onReset = options.onReset ?? (() => {});
    this.value = this.a20.get('port92') ? 0x02 : 0;
    bus.addPorts(0x92, 1, {
      portRead: () => this.value,
      portWrite: (_port, _size, v) => this.write(v & 0xff),
    }, 'port92', [1]);
  }

  reset(): void {
    this.value = 0;
    this.a20.set('port92', false);
  }

  write(v: number): void {
    const old = this.value;
    this.value = v & ~0x01; // the reset bit is a pulse and reads back 0 once the reset is done
    if ((v & 0x02) !== (old & 0x02)) this.a20.set('port92', (v & 0x02) !== 0);
    if ((v & 0x01) !== 0) this.onReset('port92');
  }

  saveState(): { value: number } {
    return { value: this.value };
  }

  loadState(state: unknown): void {
    this.value = (state as { value: number }).value & 0xfe;
    this.a20.set('port92', (this.value & 0x02) !== 0);
  }
}
