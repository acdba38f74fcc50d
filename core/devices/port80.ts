/**
 * The POST diagnostic port 0x80: firmware writes progress codes, Linux uses
 * it for I/O delays (outb to 0x80). Reads return the last byte written.
 *
 * Wiring: `new Port80(bus, { onWrite: (code) => hooks.onPortByte?.(0x80, code) })`.
 */
import type { MemoryBus } from '../memory/bus.ts';
import type { Device } from './device.ts';

export interface Port80Options {
  onWrite?: (code: number) => void;
}

export class Port80 implements Device {
  readonly name = 'port80';
  private last = 0;
  private readonly onWrite: (code: number) => void;

  constructor(bus: MemoryBus, options: Port80Options = {}) {
    this.onWrite = options.onWrite ?? (() => {});
    bus.addPorts(0x80, 1, {
      portRead: () => this.last,
      portWrite: (_port, _size, v) => {
        this.last = v & 0xff;
        this.onWrite(this.last);
      },
    }, 'port80', [1]);
  }

  get lastCode(): number {
    return this.last;
  }

  reset(): void {
    this.last = 0;
  }

  saveState(): { last: number } {
    return { last: this.last };
  }

  loadState(state: unknown): void {
    this.last = (state as { last: number }).last & 0xff;
  }
}
