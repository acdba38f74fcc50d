/**
 * The APICs of a PC board: the processor's local APIC and the I/O APIC,
 * wired as on a real PC (and QEMU's): the I/O APIC's messages go to the
 * local APIC, whose EOI of a level-triggered vector is broadcast back to
 * it; the 8259 pair's INTR reaches the local APIC's LINT0; and every ISA IRQ
 * the 8259 sees also reaches an I/O APIC pin (IRQ 0 on pin 2).
 */
import type { GuestClock } from '../../cpu/clock.ts';
import type { MemoryBus } from '../../memory/bus.ts';
import { isaIrqToPin } from './apicRegisters.ts';
import { IoApic } from './ioApic.ts';
import { LocalApic, type LegacyPicOutput } from './localApic.ts';

export interface PcApicsWiring {
  clock: GuestClock;
  pic: LegacyPicOutput;
  /** The local APIC's INTR output to the processor. */
  onIntr(level: boolean): void;
  /** An NMI for the processor. */
  onNmi(): void;
  /** The LAPIC timer's next expiry moved. */
  onReschedule(): void;
  /** The processor took fixed `vector` from the local APIC. */
  onTaken?(vector: number): void;
}

export class PcApics {
  readonly lapic: LocalApic;
  readonly ioapic: IoApic;

  constructor(bus: MemoryBus, w: PcApicsWiring) {
    this.lapic = new LocalApic(bus, {
      clock: w.clock,
      pic: w.pic,
      onIntr: w.onIntr,
      onNmi: w.onNmi,
      onLevelEoi: (vector) => this.ioapic.endOfInterrupt(vector),
      onReschedule: w.onReschedule,
      onTaken: (vector) => w.onTaken?.(vector),
    });
    this.ioapic = new IoApic(bus, (message) => this.lapic.receive(message));
  }

  /** ISA IRQ `irq` (0-15) changed level: its I/O APIC pin follows. */
  isaIrq(irq: number, level: boolean): void {
    const pin = isaIrqToPin(irq);
    if (pin >= 0) this.ioapic.setPin(pin, level);
  }
}
