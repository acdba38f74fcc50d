/**
 * I/O APIC device model: IOREGSEL/IOWIN, ID and version, the redirection
 * table, routing of ISA IRQs (IRQ 0 on pin 2) to the local APIC, masking,
 * edge and level triggering, remote IRR cleared by the local APIC's EOI
 * broadcast, and destinations that name no processor.
 */
import { describe, expect, it } from 'vitest';
import { LAPIC_REG as R } from '../../../core/devices/apic/apicRegisters.ts';
import { makeApicTestBoard } from './apicTestBoard.ts';

const MASKED = 1 << 16;
const LEVEL = 1 << 15;
const REMOTE_IRR = 1 << 14;
const redirLow = (pin: number) => 0x10 + 2 * pin;

function board() {
  const t = makeApicTestBoard();
  t.lapicWrite(R.SVR, 0x1ff);
  return t;
}

describe('I/O APIC', () => {
  it('reads its ID, version (24 entries) and masked reset entries', () => {
    const t = makeApicTestBoard();
    expect(t.ioapicRead(0)).toBe(0x0100_0000);
    expect(t.ioapicRead(1)).toBe(0x0017_0011);
    expect(t.ioapicRead(2)).toBe(0x0100_0000);
    for (let pin = 0; pin < 24; pin++) expect(t.ioapicRead(redirLow(pin))).toBe(MASKED);
    t.ioapicWrite(0, 0x0200_0000);
    expect(t.ioapicRead(0)).toBe(0x0200_0000);
    t.ioapicWrite(redirLow(5) + 1, 0xff00_0000);
    expect(t.ioapicRead(redirLow(5) + 1)).toBe(0xff00_0000);
  });

  it('routes ISA IRQ 0 to pin 2 and IRQ 4 to pin 4, edge-triggered, one message per rising edge', () => {
    const t = board();
    t.ioapicWrite(redirLow(2), 0x30);
    t.ioapicWrite(redirLow(4), 0x34);
    t.apics.isaIrq(0, true);
    expect(t.intr()).toBe(true);
    expect(t.inta()).toBe(0x30);
    t.lapicWrite(R.EOI, 0);
    t.apics.isaIrq(0, true); // still high: no new edge
    expect(t.intr()).toBe(false);
    t.apics.isaIrq(0, false);
    t.apics.isaIrq(0, true);
    t.apics.isaIrq(4, true);
    expect(t.inta()).toBe(0x34);
    t.lapicWrite(R.EOI, 0);
    expect(t.inta()).toBe(0x30);
    t.lapicWrite(R.EOI, 0);
    expect(t.intr()).toBe(false);
    expect(t.ioapicRead(redirLow(2)) & REMOTE_IRR).toBe(0);
  });

  it('drops edges on a masked pin, and the cascade IRQ 2 reaches no pin', () => {
    const t = board();
    t.ioapicWrite(redirLow(3), MASKED | 0x33);
    t.apics.isaIrq(3, true);
    t.ioapicWrite(redirLow(3), 0x33); // unmasking an edge pin does not replay the edge
    expect(t.intr()).toBe(false);
    t.ioapicWrite(redirLow(2), 0x32);
    t.apics.isaIrq(2, true);
    expect(t.intr()).toBe(false);
  });

  it('level-triggered: remote IRR holds the pin until the EOI broadcast; a line still asserted is sent again', () => {
    const t = board();
    t.ioapicWrite(redirLow(11), LEVEL | 0x3b);
    t.apics.isaIrq(11, true);
    expect(t.ioapicRead(redirLow(11))).toBe(LEVEL | REMOTE_IRR | 0x3b);
    expect(t.inta()).toBe(0x3b);
    expect(t.lapicRead(R.TMR + 0x10)).toBe(1 << 27); // vector 0x3b is level-triggered
    t.apics.isaIrq(11, true);
    expect(t.lapicRead(R.IRR + 0x10)).toBe(0); // not sent again while remote IRR is set
    t.lapicWrite(R.EOI, 0); // still asserted: sent again
    expect(t.ioapicRead(redirLow(11)) & REMOTE_IRR).toBe(REMOTE_IRR);
    expect(t.inta()).toBe(0x3b);
    t.apics.isaIrq(11, false);
    t.lapicWrite(R.EOI, 0);
    expect(t.ioapicRead(redirLow(11))).toBe(LEVEL | 0x3b);
    expect(t.intr()).toBe(false);
  });

  it('unmasking a level pin whose line is asserted sends it', () => {
    const t = board();
    t.ioapicWrite(redirLow(9), LEVEL | MASKED | 0x39);
    t.apics.isaIrq(9, true);
    expect(t.intr()).toBe(false);
    t.ioapicWrite(redirLow(9), LEVEL | 0x39);
    expect(t.inta()).toBe(0x39);
  });

  it('an EOI of an edge-triggered vector is not broadcast: a level pin with another vector keeps remote IRR', () => {
    const t = board();
    t.ioapicWrite(redirLow(10), LEVEL | 0x3a);
    t.ioapicWrite(redirLow(1), 0x41);
    t.apics.isaIrq(10, true);
    t.apics.isaIrq(1, true);
    expect(t.inta()).toBe(0x41);
    t.lapicWrite(R.EOI, 0);
    expect(t.ioapicRead(redirLow(10)) & REMOTE_IRR).toBe(REMOTE_IRR);
  });

  it('sends to the local APIC by physical ID or logical destination, and to nobody otherwise', () => {
    const t = board();
    t.ioapicWrite(redirLow(5) + 1, 0x0300_0000); // physical APIC 3: not on this board
    t.ioapicWrite(redirLow(5), 0x35);
    t.apics.isaIrq(5, true);
    expect(t.intr()).toBe(false);
    t.lapicWrite(R.LDR, 0x0100_0000);
    t.ioapicWrite(redirLow(6) + 1, 0x0100_0000);
    t.ioapicWrite(redirLow(6), (1 << 11) | (1 << 8) | 0x36); // logical, lowest priority
    t.apics.isaIrq(6, true);
    expect(t.inta()).toBe(0x36);
  });

  it('an ExtINT entry hands the next INTA to the 8259', () => {
    const t = board();
    t.lapicWrite(R.LVT_LINT0, MASKED | 0x700);
    t.pic.intr = true;
    t.pic.vector = 0x08;
    t.apics.lapic.picChanged();
    expect(t.intr()).toBe(false);
    t.ioapicWrite(redirLow(0), 7 << 8);
    t.apics.ioapic.setPin(0, true);
    expect(t.intr()).toBe(true);
    expect(t.inta()).toBe(0x08);
    expect(t.intr()).toBe(false);
  });
});
