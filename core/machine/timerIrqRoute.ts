/**
 * Where the PIT's IRQ 0 request waits on this board, for the PIT's
 * reinjection of waiting ticks (pit.ts): in the local APIC's IRR when the
 * I/O APIC routes pin 2 (IRQ 0) as a fixed or lowest-priority message, else
 * in the master 8259's IRR (also when the I/O APIC passes it as ExtINT).
 */
import { DELIVERY, REDIR_MASKED, isaIrqToPin } from '../devices/apic/apicRegisters.ts';
import type { PcApics } from '../devices/apic/pcApics.ts';
import type { Pic } from '../devices/pic.ts';

const TIMER_PIN = isaIrqToPin(0);

/** The vector IRQ 0 arrives with at the local APIC, or -1 when it goes through the 8259. */
export function timerApicVector(apics: PcApics | undefined): number {
  if (!apics) return -1;
  const low = apics.ioapic.s.low[TIMER_PIN];
  if ((low & REDIR_MASKED) !== 0 || ((low >>> 8) & 7) === DELIVERY.EXTINT) return -1;
  return low & 0xff;
}

/** The interrupt controller still holds the last IRQ 0 request: the processor has not taken it yet. */
export function timerIrqHeld(pic: Pic, apics: PcApics | undefined): boolean {
  const vector = timerApicVector(apics);
  if (vector >= 0) return apics!.lapic.holdsVector(vector);
  return (pic.master.s.irr & 1) !== 0;
}
