/**
 * What every device model on the platform bus shares. Devices attach
 * themselves to the bus (ports and/or MMIO) and keep their registers in plain,
 * serializable state so a machine can be saved and restored.
 */
import type { MemoryBus } from '../memory/bus.ts';
import type { GuestClock } from '../cpu/clock.ts';

/** An interrupt request line into the interrupt controller. `level` true = asserted. */
export type IrqLine = (level: boolean) => void;

/** What the board hands a device when it is created. */
export interface DeviceContext {
  bus: MemoryBus;
  clock: GuestClock;
}

export interface Device {
  readonly name: string;
  /** Back to power-on state. */
  reset(): void;
  saveState(): unknown;
  loadState(state: unknown): void;
}

/**
 * A device with its own notion of time (PIT, RTC, UART transmit pacing).
 * The machine calls `advance` with the current guest time; the device fires
 * whatever became due and returns the guest time of its next event
 * (Infinity when none), so the machine knows how long the CPU may run.
 */
export interface TimedDevice extends Device {
  advance(nowNs: number): number;
}
