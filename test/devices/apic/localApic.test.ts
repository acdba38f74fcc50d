/**
 * Local APIC device model: registers, software enable and the spurious
 * vector, the timer in one-shot and periodic mode with the divider, EOI,
 * TPR priority classes, self-IPIs through the ICR, the error status
 * register, the virtual-wire path of the 8259 through LINT0, and the
 * IA32_APIC_BASE MSR. Deterministic clock, time moved by the test.
 */
import { describe, expect, it } from 'vitest';
import { LAPIC_REG as R, LAPIC_BASE, MSR_APIC_BASE } from '../../../core/devices/apic/apicRegisters.ts';
import { makeApicTestBoard } from './apicTestBoard.ts';

const ENABLE = 0x100;
const MASKED = 1 << 16;
const PERIODIC = 1 << 17;

/** ICR: fixed delivery, edge, shorthand self. */
const selfIpi = (t: ReturnType<typeof makeApicTestBoard>, vector: number) => t.lapicWrite(R.ICR_LOW, (1 << 18) | vector);

function enabledBoard() {
  const t = makeApicTestBoard();
  t.lapicWrite(R.SVR, ENABLE | 0xff);
  return t;
}

describe('local APIC registers', () => {
  it('reads its ID, version and reset state', () => {
    const t = makeApicTestBoard();
    expect(t.lapicRead(R.ID)).toBe(0);
    expect(t.lapicRead(R.VERSION)).toBe(0x0005_0014);
    expect(t.lapicRead(R.SVR)).toBe(0xff);
    expect(t.lapicRead(R.DFR)).toBe(0xffff_ffff);
    expect(t.lapicRead(R.LVT_TIMER)).toBe(MASKED);
    expect(t.lapicRead(R.LVT_LINT0)).toBe(0x700); // virtual wire: ExtINT, unmasked
    expect(t.lapicRead(R.LVT_LINT1)).toBe(MASKED);
    expect(t.lapicRead(R.LVT_ERROR)).toBe(MASKED);
    expect(t.apics.lapic.readMsr(MSR_APIC_BASE)).toEqual([LAPIC_BASE | 0x900, 0]);
    expect(t.apics.lapic.readMsr(0x10)).toBeNull();
  });

  it('keeps LDR, DFR and ID writes', () => {
    const t = makeApicTestBoard();
    t.lapicWrite(R.LDR, 0x0100_0000);
    t.lapicWrite(R.DFR, 0x0fff_ffff);
    t.lapicWrite(R.ID, 0x0300_0000);
    expect(t.lapicRead(R.LDR)).toBe(0x0100_0000);
    expect(t.lapicRead(R.DFR)).toBe(0x0fff_ffff);
    expect(t.lapicRead(R.ID)).toBe(0x0300_0000);
  });

  it('cannot unmask an LVT entry while software-disabled, and masks them all on disable', () => {
    const t = makeApicTestBoard();
    t.lapicWrite(R.LVT_TIMER, 0x30);
    expect(t.lapicRead(R.LVT_TIMER)).toBe(MASKED | 0x30);
    t.lapicWrite(R.SVR, ENABLE | 0xff);
    t.lapicWrite(R.LVT_TIMER, 0x30);
    expect(t.lapicRead(R.LVT_TIMER)).toBe(0x30);
    t.lapicWrite(R.SVR, 0xff);
    expect(t.lapicRead(R.LVT_TIMER)).toBe(MASKED | 0x30);
    expect(t.lapicRead(R.LVT_LINT0)).toBe(MASKED | 0x700);
  });
});

describe('local APIC timer', () => {
  it('one-shot: counts down at bus clock / divide, fires once, then reads 0', () => {
    const t = enabledBoard();
    t.lapicWrite(R.TIMER_DIVIDE, 0b0011); // divide by 16
    t.lapicWrite(R.LVT_TIMER, 0x40);
    t.lapicWrite(R.TIMER_INITIAL, 1000); // 1000 * 16 ns
    expect(t.advanceTo(0)).toBe(16_000);
    expect(t.advanceTo(8_000)).toBe(16_000);
    expect(t.lapicRead(R.TIMER_CURRENT)).toBe(500);
    expect(t.intr()).toBe(false);
    expect(t.advanceTo(16_000)).toBe(Infinity);
    expect(t.lapicRead(R.TIMER_CURRENT)).toBe(0);
    expect(t.intr()).toBe(true);
    expect(t.lapicRead(R.IRR + 0x20)).toBe(1); // vector 0x40: IRR word 2, bit 0
    expect(t.inta()).toBe(0x40);
    expect(t.lapicRead(R.ISR + 0x20)).toBe(1);
    t.lapicWrite(R.EOI, 0);
    expect(t.advanceTo(100_000)).toBe(Infinity);
    expect(t.intr()).toBe(false);
  });

  it('periodic: reloads every initial * divide ns', () => {
    const t = enabledBoard();
    t.lapicWrite(R.TIMER_DIVIDE, 0b1011); // divide by 1
    t.lapicWrite(R.LVT_TIMER, PERIODIC | 0x41);
    t.lapicWrite(R.TIMER_INITIAL, 250);
    const fired: number[] = [];
    let next = t.advanceTo(0);
    for (let i = 0; i < 4; i++) {
      next = t.advanceTo(next);
      if (t.intr()) {
        fired.push(t.board.clock.nowNs());
        expect(t.inta()).toBe(0x41);
        t.lapicWrite(R.EOI, 0);
      }
    }
    expect(fired).toEqual([250, 500, 750, 1000]);
    t.advanceTo(1100);
    expect(t.lapicRead(R.TIMER_CURRENT)).toBe(150);
    expect(t.lapicRead(R.LVT_TIMER)).toBe(PERIODIC | 0x41);
  });

  it('a divider change goes on from the current count at the new rate', () => {
    const t = enabledBoard();
    t.lapicWrite(R.TIMER_DIVIDE, 0b0000); // divide by 2
    t.lapicWrite(R.TIMER_INITIAL, 100);
    t.advanceTo(100); // 50 ticks
    expect(t.lapicRead(R.TIMER_CURRENT)).toBe(50);
    t.lapicWrite(R.TIMER_DIVIDE, 0b1010); // divide by 128
    expect(t.lapicRead(R.TIMER_DIVIDE)).toBe(0b1010);
    expect(t.advanceTo(100 + 128 * 10)).toBe(100 + 128 * 50);
    expect(t.lapicRead(R.TIMER_CURRENT)).toBe(40);
  });

  it('a masked timer expires without an interrupt; initial count 0 stops it', () => {
    const t = enabledBoard();
    t.lapicWrite(R.LVT_TIMER, MASKED | 0x40);
    t.lapicWrite(R.TIMER_INITIAL, 10);
    expect(t.advanceTo(1000)).toBe(Infinity);
    expect(t.intr()).toBe(false);
    t.lapicWrite(R.TIMER_INITIAL, 10);
    t.lapicWrite(R.TIMER_INITIAL, 0);
    expect(t.advanceTo(5000)).toBe(Infinity);
    expect(t.reschedules()).toBeGreaterThan(0);
  });
});

describe('local APIC priorities, EOI, IPIs and errors', () => {

  it('delivers a self-IPI, highest vector first, and EOI retires the highest in service', () => {
    const t = enabledBoard();
    selfIpi(t, 0x31);
    selfIpi(t, 0x52);
    expect(t.lapicRead(R.ICR_LOW)).toBe((1 << 18) | 0x52); // delivery status idle
    expect(t.inta()).toBe(0x52);
    expect(t.lapicRead(R.PPR)).toBe(0x50);
    expect(t.intr()).toBe(false); // 0x31 is below the in-service class
    t.lapicWrite(R.EOI, 0);
    expect(t.intr()).toBe(true);
    expect(t.inta()).toBe(0x31);
    t.lapicWrite(R.EOI, 0);
    expect(t.lapicRead(R.ISR + 0x10)).toBe(0);
    expect(t.intr()).toBe(false);
  });

  it('TPR holds back vectors of its class and below', () => {
    const t = enabledBoard();
    t.lapicWrite(R.TPR, 0x45);
    selfIpi(t, 0x4f);
    expect(t.lapicRead(R.PPR)).toBe(0x45);
    expect(t.intr()).toBe(false);
    selfIpi(t, 0x50);
    expect(t.intr()).toBe(true);
    expect(t.inta()).toBe(0x50);
    t.lapicWrite(R.EOI, 0);
    expect(t.intr()).toBe(false);
    t.lapicWrite(R.TPR, 0x30);
    expect(t.intr()).toBe(true);
    expect(t.inta()).toBe(0x4f);
  });

  it('answers INTA with the spurious vector when the request went away (LINT0 masked; open, the 8259 answers)', () => {
    const t = enabledBoard();
    t.lapicWrite(R.SVR, ENABLE | 0xef);
    selfIpi(t, 0x60);
    t.lapicWrite(R.TPR, 0xf0);
    expect(t.inta()).toBe(0x20); // LINT0 in ExtINT mode: the INTA cycle is the 8259's (its IR7 when it has nothing)
    expect(t.pic.acks).toBe(1);
    t.lapicWrite(R.LVT_LINT0, MASKED | 0x700);
    expect(t.inta()).toBe(0xef);
    expect(t.lapicRead(R.ISR + 0x30)).toBe(0);
    expect(t.pic.acks).toBe(1);
  });

  it('holds fixed interrupts while software-disabled', () => {
    const t = makeApicTestBoard();
    selfIpi(t, 0x60);
    expect(t.intr()).toBe(false);
    t.lapicWrite(R.SVR, ENABLE | 0xff);
    expect(t.intr()).toBe(true);
  });

  it('sends to itself by destination ID, broadcast or logical match, not to all-excluding-self', () => {
    const t = enabledBoard();
    t.lapicWrite(R.ICR_HIGH, 0x0500_0000);
    t.lapicWrite(R.ICR_LOW, 0x61); // physical ID 5: nobody
    t.lapicWrite(R.ICR_LOW, (3 << 18) | 0x62); // all excluding self
    expect(t.lapicRead(R.IRR + 0x30)).toBe(0);
    t.lapicWrite(R.ICR_HIGH, 0xff00_0000);
    t.lapicWrite(R.ICR_LOW, 0x63); // physical broadcast
    t.lapicWrite(R.LDR, 0x0200_0000);
    t.lapicWrite(R.ICR_HIGH, 0x0200_0000);
    t.lapicWrite(R.ICR_LOW, (1 << 11) | 0x64); // logical, flat model, bit 1
    t.lapicWrite(R.ICR_LOW, (2 << 18) | 0x65); // all including self
    expect(t.lapicRead(R.IRR + 0x30)).toBe((1 << 3) | (1 << 4) | (1 << 5));
  });

  it('delivers an NMI IPI to the processor', () => {
    const t = enabledBoard();
    t.lapicWrite(R.ICR_LOW, (1 << 18) | (4 << 8));
    expect(t.nmis()).toBe(1);
    expect(t.intr()).toBe(false);
  });

  it('reports illegal vectors and registers in ESR, latched by a write, through the error LVT', () => {
    const t = enabledBoard();
    t.lapicWrite(R.LVT_ERROR, 0xfe);
    selfIpi(t, 0x05);
    expect(t.lapicRead(R.ESR)).toBe(0);
    t.lapicWrite(R.ESR, 0);
    expect(t.lapicRead(R.ESR)).toBe(0x20); // send illegal vector
    t.lapicWrite(0x3f0, 1); // no register there
    t.lapicWrite(R.ESR, 0);
    expect(t.lapicRead(R.ESR)).toBe(0x80);
    t.lapicWrite(R.ESR, 0);
    expect(t.lapicRead(R.ESR)).toBe(0);
    expect(t.inta()).toBe(0xfe);
  });
});

describe('local APIC and the 8259', () => {
  it('passes the 8259 through LINT0 in ExtINT mode, after its own vectors', () => {
    const t = enabledBoard();
    t.lapicWrite(R.LVT_LINT0, 0x700);
    t.pic.intr = true;
    t.apics.lapic.picChanged();
    expect(t.intr()).toBe(true);
    selfIpi(t, 0x80);
    expect(t.inta()).toBe(0x80);
    expect(t.inta()).toBe(0x20); // ExtINT ignores the in-service priority
    expect(t.pic.acks).toBe(1);
  });

  it('masking LINT0 cuts the 8259 off', () => {
    const t = enabledBoard();
    t.lapicWrite(R.LVT_LINT0, MASKED | 0x700);
    t.pic.intr = true;
    t.apics.lapic.picChanged();
    expect(t.intr()).toBe(false);
    expect(t.inta()).toBe(0xff);
    expect(t.pic.acks).toBe(0);
  });

  it('with IA32_APIC_BASE.EN clear, the 8259 goes straight to the processor', () => {
    const t = enabledBoard();
    t.lapicWrite(R.LVT_LINT0, MASKED | 0x700);
    expect(t.apics.lapic.writeMsr(MSR_APIC_BASE, LAPIC_BASE | 0x100, 0)).toBe(true);
    t.pic.intr = true;
    t.apics.lapic.picChanged();
    expect(t.intr()).toBe(true);
    expect(t.inta()).toBe(0x20);
    expect(t.apics.lapic.readMsr(MSR_APIC_BASE)).toEqual([LAPIC_BASE | 0x100, 0]);
    expect(t.apics.lapic.writeMsr(MSR_APIC_BASE, 0xfed0_0900, 0)).toBe(false); // relocation is refused (#GP)
  });
});
