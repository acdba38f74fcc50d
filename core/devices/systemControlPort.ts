/**
 * Port 0x61, the PC/AT system control port B.
 *
 *   bit 0  RW  timer 2 gate (PIT channel 2 GATE)
 *   bit 1  RW  speaker data enable (OUT2 reaches the speaker)
 *   bit 2  RW  parity check enable (stored, no parity errors are ever raised)
 *   bit 3  RW  I/O channel check enable (stored, never raised)
 *   bit 4  RO  refresh request toggle: flips every 15.085 us of guest time
 *   bit 5  RO  PIT channel 2 OUT (Linux calibrates the TSC by polling it)
 *   bit 6  RO  I/O channel check status (0)
 *   bit 7  RO  parity error status (0)
 *
 * Wiring: `new SystemControlPort(bus, clock, pit, { onSpeaker })` after the PIT.
 */
import type { MemoryBus } from '../memory/bus.ts';
import type { GuestClock } from '../cpu/clock.ts';
import type { Device } from './device.ts';
import type { Pit } from './pit.ts';

/** Half-period of the DRAM refresh toggle seen in bit 4. */
const REFRESH_TOGGLE_NS = 15_085;

export interface SystemControlPortOptions {
  /** Called when the speaker enable or timer-2 gate changes (sound output is the board's business). */
  onSpeaker?: (enabled: boolean) => void;
}

export interface SystemControlPortState {
  /** Bits 1-3 as written (bit 0 lives in the PIT as channel 2's gate). */
  control: number;
}

export class SystemControlPort implements Device {
  readonly name = 'port61';
  private control = 0;
  private readonly clock: GuestClock;
  private readonly pit: Pit;
  private readonly onSpeaker: (enabled: boolean) => void;

  constructor(bus: MemoryBus, clock: GuestClock, pit: Pit, options: SystemControlPortOptions = {}) {
    this.clock = clock;
    this.pit = pit;
    this.onSpeaker = options.onSpeaker ?? (() => {});
    bus.addPorts(0x61, 1, {
      portRead: () => this.read(),
      portWrite: (_port, _size, value) => this.write(value),
    }, 'system-control-b', [1]);
  }

  reset(): void {
    this.control = 0;
    this.pit.setGate(2, false);
  }

  read(): number {
    const refresh = Math.floor(this.clock.nowNs() / REFRESH_TOGGLE_NS) & 1;
    return (this.pit.gate(2) ? 1 : 0) | this.control | (refresh << 4) | (this.pit.out(2) ? 0x20 : 0);
  }

  write(value: number): void {
    const wasSpeaker = this.speakerOn();
    this.control = value & 0x0e;
    this.pit.setGate(2, (value & 1) !== 0);
    const on = this.speakerOn();
    if (on !== wasSpeaker) this.onSpeaker(on);
  }

  saveState(): SystemControlPortState {
    return { control: this.control };
  }

  loadState(state: unknown): void {
    this.control = (state as SystemControlPortState).control & 0x0e;
  }

  private speakerOn(): boolean {
    return (this.control & 2) !== 0 && this.pit.gate(2);
  }
}
