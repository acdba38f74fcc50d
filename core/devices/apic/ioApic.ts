/**
 * The board's I/O APIC (an 82093AA: version 0x11, 24 pins) at 0xFEC00000:
 * IOREGSEL at +0x00 selects an indirect register, IOWIN at +0x10 reads or
 * writes it (ID, version, arbitration ID, and the redirection table, two
 * 32-bit halves per pin).
 *
 * Pins 0-15 carry the ISA IRQs (IRQ 0, the timer, on pin 2: apicRegisters.ts
 * isaIrqToPin) and the PCI interrupts the PIIX3 routes onto them; 16-23 are
 * not connected. A pin's input is the line's logical state (asserted or
 * not); the polarity bit is kept for the guest to read but does not invert
 * it, since the board models every line by its assertion and the firmware
 * tables describe the electrical polarity (QEMU's I/O APIC does the same).
 *
 * Edge-triggered pins send a message on each assertion while unmasked.
 * Level-triggered pins send one while asserted and unmasked and set remote
 * IRR; the local APIC's EOI for that vector (its EOI broadcast) clears it,
 * and a line still asserted then sends again.
 */
import type { AccessSize, MemoryBus } from '../../memory/bus.ts';
import type { Device } from '../device.ts';
import {
  DELIVERY, IOAPIC_BASE, IOAPIC_ID, IOAPIC_IOREGSEL, IOAPIC_IOWIN, IOAPIC_MMIO_SIZE, IOAPIC_PINS, IOAPIC_REG, IOAPIC_VERSION,
  REDIR_LEVEL, REDIR_LOGICAL, REDIR_MASKED, REDIR_REMOTE_IRR,
} from './apicRegisters.ts';
import type { ApicMessage } from './localApic.ts';

/** Where the I/O APIC's messages go: the local APIC(s); true if one accepted it. */
export type ApicBus = (message: ApicMessage) => boolean;

export interface IoApicState {
  id: number;
  ioregsel: number;
  /** Redirection entries, low and high halves (low: vector, mode, flags; high: destination in bits 31:24). */
  low: number[];
  high: number[];
  /** Input line levels. */
  pins: boolean[];
}

/** Bits of a redirection entry's low half the guest writes (delivery status and remote IRR are read-only). */
const LOW_WRITABLE = 0x0001_afff;

export class IoApic implements Device {
  readonly name = 'ioapic';
  s: IoApicState = IoApic.powerOnState();
  private readonly bus: ApicBus;

  constructor(memory: MemoryBus, bus: ApicBus) {
    this.bus = bus;
    memory.addMmio(IOAPIC_BASE, IOAPIC_MMIO_SIZE, {
      read: (offset, size) => this.mmioRead(offset, size),
      write: (offset, size, value) => this.mmioWrite(offset, size, value),
    }, 'ioapic');
  }

  private static powerOnState(): IoApicState {
    return {
      id: IOAPIC_ID,
      ioregsel: 0,
      low: new Array<number>(IOAPIC_PINS).fill(REDIR_MASKED),
      high: new Array<number>(IOAPIC_PINS).fill(0),
      pins: new Array<boolean>(IOAPIC_PINS).fill(false),
    };
  }

  reset(): void {
    const pins = this.s.pins;
    this.s = IoApic.powerOnState();
    this.s.pins = pins; // the lines keep their levels: they are the devices'
  }

  /** Drives input pin `pin` (0-23). */
  setPin(pin: number, level: boolean): void {
    if (pin < 0 || pin >= IOAPIC_PINS) return;
    const was = this.s.pins[pin];
    this.s.pins[pin] = level;
    const low = this.s.low[pin];
    if ((low & REDIR_LEVEL) !== 0) {
      if (level) this.service(pin);
    } else if (level && !was && (low & REDIR_MASKED) === 0) {
      this.send(pin);
    }
  }

  /** The local APIC's EOI broadcast for a level-triggered `vector`. */
  endOfInterrupt(vector: number): void {
    for (let pin = 0; pin < IOAPIC_PINS; pin++) {
      const low = this.s.low[pin];
      if ((low & 0xff) !== vector || (low & REDIR_REMOTE_IRR) === 0) continue;
      this.s.low[pin] = low & ~REDIR_REMOTE_IRR;
      this.service(pin);
    }
  }

  /** Register read through IOWIN. */
  readRegister(index: number): number {
    const s = this.s;
    if (index === IOAPIC_REG.ID || index === IOAPIC_REG.ARBITRATION) return (s.id & 0xf) << 24;
    if (index === IOAPIC_REG.VERSION) return IOAPIC_VERSION;
    const entry = index - IOAPIC_REG.REDIRECTION;
    if (entry >= 0 && entry < IOAPIC_PINS * 2) return (entry & 1) === 0 ? s.low[entry >> 1] : s.high[entry >> 1];
    return 0;
  }

  writeRegister(index: number, value: number): void {
    const s = this.s;
    if (index === IOAPIC_REG.ID) {
      s.id = (value >>> 24) & 0xf;
      return;
    }
    const entry = index - IOAPIC_REG.REDIRECTION;
    if (entry < 0 || entry >= IOAPIC_PINS * 2) return;
    const pin = entry >> 1;
    if ((entry & 1) === 1) {
      s.high[pin] = value & 0xff00_0000;
      return;
    }
    let low = (s.low[pin] & REDIR_REMOTE_IRR) | (value & LOW_WRITABLE);
    if ((low & REDIR_LEVEL) === 0) low &= ~REDIR_REMOTE_IRR; // only level-triggered pins hold remote IRR
    s.low[pin] = low;
    // Unmasking (or retriggering as level) a level pin whose line is asserted delivers it now.
    if ((low & REDIR_LEVEL) !== 0) this.service(pin);
  }

  /** A level-triggered pin: sends if asserted, unmasked and not waiting for its EOI. */
  private service(pin: number): void {
    const low = this.s.low[pin];
    if (!this.s.pins[pin] || (low & (REDIR_MASKED | REDIR_REMOTE_IRR)) !== 0) return;
    if (this.send(pin)) this.s.low[pin] = low | REDIR_REMOTE_IRR;
  }

  private send(pin: number): boolean {
    const low = this.s.low[pin];
    return this.bus({
      vector: low & 0xff,
      deliveryMode: (low >>> 8) & 7,
      logical: (low & REDIR_LOGICAL) !== 0,
      destination: this.s.high[pin] >>> 24,
      level: (low & REDIR_LEVEL) !== 0 && ((low >>> 8) & 7) !== DELIVERY.EXTINT,
    });
  }

  private mmioRead(offset: number, size: AccessSize): number {
    if ((offset & ~3) === IOAPIC_IOREGSEL) return this.s.ioregsel;
    if ((offset & ~3) === IOAPIC_IOWIN) {
      const value = this.readRegister(this.s.ioregsel);
      const shift = (offset & 3) * 8;
      return size === 4 ? value >>> 0 : (value >>> shift) & (size === 1 ? 0xff : 0xffff);
    }
    return 0;
  }

  private mmioWrite(offset: number, _size: AccessSize, value: number): void {
    if ((offset & ~3) === IOAPIC_IOREGSEL) this.s.ioregsel = value & 0xff;
    else if ((offset & ~3) === IOAPIC_IOWIN) this.writeRegister(this.s.ioregsel, value >>> 0);
  }

  saveState(): IoApicState {
    return { ...this.s, low: [...this.s.low], high: [...this.s.high], pins: [...this.s.pins] };
  }

  loadState(state: unknown): void {
    const st = state as IoApicState;
    this.s = { ...st, low: [...st.low], high: [...st.high], pins: [...st.pins] };
  }
}
