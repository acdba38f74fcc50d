import { describe, expect, it } from 'vitest';
import { MAX_TICK_BACKLOG, Pit, PIT_NS_PER_TICK } from '../../core/devices/pit.ts';
import { Pic } from '../../core/devices/pic.ts';
import { timerApicVector, timerIrqHeld } from '../../core/machine/timerIrqRoute.ts';
import { IOAPIC_BASE, LAPIC_BASE, LAPIC_REG } from '../../core/devices/apic/apicRegisters.ts';
import { PcApics } from '../../core/devices/apic/pcApics.ts';
import { makeTestBoard } from './testBoard.ts';

/** PIT channel 0 on the master 8259's IR0, wired as the chipset wires them (PIC-only board). */
function setup() {
  const b = makeTestBoard();
  let reschedules = 0;
  let pit: Pit | undefined;
  const pic = new Pic(b.bus, { onTaken: (irq) => { if (irq === 0) pit?.irq0Taken(); } });
  pit = new Pit(b.bus, b.clock, pic.irqLine(0), { onReschedule: () => reschedules++, irq0Held: () => timerIrqHeld(pic, undefined) });
  // ICW1-4: edge, cascade, vectors 0x20, slave on IR2, 8086 mode; all unmasked.
  b.outb(0x20, 0x11);
  b.outb(0x21, 0x20);
  b.outb(0x21, 0x04);
  b.outb(0x21, 0x01);
  b.outb(0x21, 0x00);
  const atTick = (t: number) => b.setTime(Math.ceil(t * PIT_NS_PER_TICK) + 1);
  const advance = () => pit!.advance(b.clock.nowNs());
  /** The processor takes the pending interrupt (INTA): its vector, or -1 when INTR is low. */
  const take = () => (pic.hasInterrupt() ? pic.acknowledge() : -1);
  const eoi = () => b.outb(0x20, 0x20);
  /** Channel 0, mode 2, period `n` PIT clocks: rising edges at 1 + n, 1 + 2n, ... */
  const periodic = (n: number) => {
    b.outb(0x43, 0x34);
    b.outb(0x40, n & 0xff);
    b.outb(0x40, n >>> 8);
  };
  return { ...b, pit, pic, atTick, advance, take, eoi, periodic, reschedules: () => reschedules };
}

describe('PIT tick reinjection (KVM reinject policy)', () => {
  it('five periods passed in one slice give five IRQ 0 deliveries, each after the guest EOIs the previous one', () => {
    const { pit, atTick, advance, take, eoi, periodic, reschedules, pic } = setup();
    periodic(100);
    expect(take()).toBe(0x20); // the control word raised OUT0: the 8259 saw that edge too
    eoi();
    advance();
    atTick(501); // the edges at 101, 201, 301, 401 and 501 all passed before the board looked
    advance();
    expect(pit.tickBacklog).toBe(4);
    const vectors: number[] = [];
    for (let i = 0; i < 5; i++) {
      const before = reschedules();
      vectors.push(take()); // INTA: the processor took this tick
      expect(reschedules()).toBe(before + (i < 4 ? 1 : 0)); // a waiting tick asks the board to advance again
      advance(); // the next tick is latched at once, but the 8259 delivers it only after the EOI
      expect(take()).toBe(-1);
      eoi();
    }
    expect(vectors).toEqual([0x20, 0x20, 0x20, 0x20, 0x20]);
    expect(pit.tickBacklog).toBe(0);
    expect(take()).toBe(-1);
    expect(pic.master.s.irr & 1).toBe(0);
  });

  it('edges reached while the guest has not taken the last tick wait instead of merging into it', () => {
    const { pit, atTick, advance, take, eoi, periodic } = setup();
    periodic(100);
    expect(take()).toBe(0x20); // the control word raised OUT0
    eoi();
    advance();
    for (const t of [101, 201, 301]) { // the guest runs with interrupts off across three edges
      atTick(t);
      advance();
    }
    expect(pit.tickBacklog).toBe(2);
    let taken = 0;
    while (take() === 0x20) {
      taken++;
      eoi();
      advance();
    }
    expect(taken).toBe(3);
    expect(pit.tickBacklog).toBe(0);
  });

  it('keeps at most MAX_TICK_BACKLOG waiting ticks and drops them when channel 0 is reprogrammed', () => {
    const { pit, atTick, advance, periodic, take } = setup();
    periodic(100);
    advance();
    atTick(1 + 100 * 500);
    advance();
    expect(pit.tickBacklog).toBe(MAX_TICK_BACKLOG);
    periodic(100);
    expect(pit.tickBacklog).toBe(0);
    expect(take()).toBe(0x20); // the tick already latched stays
  });

  it('a board that cannot tell whether IRQ 0 is held gets every edge pulsed at once (merged as on hardware)', () => {
    const b = makeTestBoard();
    const pic = new Pic(b.bus);
    const pit = new Pit(b.bus, b.clock, pic.irqLine(0));
    b.outb(0x20, 0x11); b.outb(0x21, 0x20); b.outb(0x21, 0x04); b.outb(0x21, 0x01); b.outb(0x21, 0x00);
    b.outb(0x43, 0x34); b.outb(0x40, 100); b.outb(0x40, 0);
    pit.advance(b.clock.nowNs());
    for (const t of [101, 201, 301]) {
      b.setTime(Math.ceil(t * PIT_NS_PER_TICK) + 1);
      pit.advance(b.clock.nowNs());
    }
    expect(pit.tickBacklog).toBe(0);
    expect(pic.acknowledge()).toBe(0x20);
    b.outb(0x20, 0x20);
    expect(pic.hasInterrupt()).toBe(false);
  });

  it('through the I/O APIC (pin 2 unmasked), waiting ticks follow the local APIC: held while the vector is in its IRR, next after INTA and EOI', () => {
    const b = makeTestBoard();
    let pit: Pit | undefined;
    let apics: PcApics | undefined;
    const pic = new Pic(b.bus, {
      onIntr: () => apics!.lapic.picChanged(),
      onIrq: (irq, level) => apics?.isaIrq(irq, level),
      onTaken: (irq) => { if (irq === 0) pit?.irq0Taken(); },
    });
    apics = new PcApics(b.bus, {
      clock: b.clock, pic, onIntr: () => {}, onNmi: () => {}, onReschedule: () => {},
      onTaken: (vector) => { if (vector === timerApicVector(apics)) pit?.irq0Taken(); },
    });
    pit = new Pit(b.bus, b.clock, pic.irqLine(0), { irq0Held: () => timerIrqHeld(pic, apics) });
    // The 8259 initialized and fully masked (as Linux leaves it with the I/O APIC); the local APIC software-enabled.
    b.outb(0x20, 0x11); b.outb(0x21, 0x20); b.outb(0x21, 0x04); b.outb(0x21, 0x01); b.outb(0x21, 0xff);
    b.bus.write32(LAPIC_BASE + LAPIC_REG.SVR, 0x1ff);
    b.bus.write32(IOAPIC_BASE, 0x10 + 2 * 2); // pin 2, low half: vector 0x30, fixed, edge, unmasked
    b.bus.write32(IOAPIC_BASE + 0x10, 0x30);
    expect(timerApicVector(apics)).toBe(0x30);
    const lapic = apics.lapic;
    b.outb(0x43, 0x34); b.outb(0x40, 100); b.outb(0x40, 0);
    expect(lapic.acknowledge()).toBe(0x30); // the control word's edge
    b.bus.write32(LAPIC_BASE + LAPIC_REG.EOI, 0);
    pit.advance(b.clock.nowNs());
    b.setTime(Math.ceil(301 * PIT_NS_PER_TICK) + 1); // edges at 101, 201, 301
    pit.advance(b.clock.nowNs());
    expect(pit.tickBacklog).toBe(2);
    expect(pic.master.s.irr & 1).toBe(1); // the masked 8259 latched IR0 too: it must not block the I/O APIC route
    let taken = 0;
    while (lapic.hasInterrupt()) {
      expect(lapic.acknowledge()).toBe(0x30);
      taken++;
      pit.advance(b.clock.nowNs());
      expect(lapic.hasInterrupt()).toBe(false); // the next tick waits for the EOI
      b.bus.write32(LAPIC_BASE + LAPIC_REG.EOI, 0);
    }
    expect(taken).toBe(3);
    expect(pit.tickBacklog).toBe(0);
  });
});
