import { describe, expect, it } from 'vitest';
import { AcpiPm, ACPI_PM_BASE, ACPI_PM1A_CNT_BLK, ACPI_PM_TMR_BLK, ACPI_S5_SLP_TYP, ACPI_SCI_IRQ, ACPI_PM_TIMER_HZ } from '../../core/devices/acpiPm.ts';
import { irqRecorder, makeTestBoard } from './testBoard.ts';

function setup() {
  const b = makeTestBoard();
  const sci = irqRecorder();
  const events: string[] = [];
  const pm = new AcpiPm(b.bus, b.clock, sci.line, {
    onPowerOff: () => events.push('off'),
    onSleepRequest: (t) => events.push(`sleep${t}`),
  });
  return { ...b, pm, sci, events };
}

const NS_PER_TICK = 1e9 / ACPI_PM_TIMER_HZ;

describe('ACPI PM1 block', () => {
  it('exports the constants the firmware tables are built from', () => {
    expect(ACPI_PM_BASE).toBe(0x600);
    expect(ACPI_PM1A_CNT_BLK).toBe(0x604);
    expect(ACPI_PM_TMR_BLK).toBe(0x608);
    expect(ACPI_S5_SLP_TYP).toBe(5);
    expect(ACPI_SCI_IRQ).toBe(9);
  });

  it('PM1_CNT reads SCI_EN = 1 from reset and keeps it; SLP_EN reads 0', () => {
    const { inw, outw } = setup();
    expect(inw(0x604)).toBe(0x0001);
    outw(0x604, 0x0000);
    expect(inw(0x604)).toBe(0x0001);
    outw(0x604, 0x0c02); // SLP_TYP = 3, BM_RLD
    expect(inw(0x604)).toBe(0x0c03);
  });

  it('SLP_EN with SLP_TYP = 5 powers off; other types are reported as sleep requests', () => {
    const { outw, events } = setup();
    outw(0x604, (3 << 10) | 0x2000);
    expect(events).toEqual(['sleep3']);
    outw(0x604, (ACPI_S5_SLP_TYP << 10) | 0x2001);
    expect(events).toEqual(['sleep3', 'off']);
    outw(0x604, ACPI_S5_SLP_TYP << 10); // without SLP_EN nothing happens
    expect(events).toEqual(['sleep3', 'off']);
  });

  it('power button: PWRBTN_STS raises the SCI only when enabled; status is write-1-to-clear', () => {
    const { pm, inw, outw, sci } = setup();
    pm.pressPowerButton();
    expect(inw(0x600)).toBe(0x0100);
    expect(sci.level()).toBe(false);
    outw(0x602, 0x0100);
    expect(sci.level()).toBe(true);
    outw(0x600, 0x0001); // clearing another bit leaves it
    expect(inw(0x600)).toBe(0x0100);
    outw(0x600, 0x0100);
    expect(inw(0x600)).toBe(0x0000);
    expect(sci.level()).toBe(false);
    outw(0x602, 0xffff);
    expect(inw(0x602)).toBe(0x0521); // TMR, GBL, PWRBTN, RTC enables
  });

  it('PM timer counts at 3.579545 MHz of guest time, 24 bits wide, read as one dword', () => {
    const { inl, inw, setTime } = setup();
    expect(inl(0x608)).toBe(0);
    setTime(1e9);
    expect(inl(0x608)).toBe(3_579_545);
    setTime(1e9 + 1000 * NS_PER_TICK + 1);
    expect(inl(0x608)).toBe(3_580_545);
    setTime(Math.ceil((1 << 24) * NS_PER_TICK) + 1); // wraps at 2^24
    expect(inl(0x608)).toBe(0);
    expect(inw(0x60a)).toBe(0);
  });

  it('TMR_STS sets when timer bit 23 changes; with TMR_EN that raises the SCI at the time advance() announced', () => {
    const { pm, inw, outw, sci, clock, setTime } = setup();
    outw(0x602, 0x0001);
    const due = pm.advance(clock.nowNs());
    expect(Math.floor(due / NS_PER_TICK)).toBe(1 << 23);
    setTime(due - 2);
    pm.advance(clock.nowNs());
    expect(sci.level()).toBe(false);
    setTime(due);
    expect(pm.advance(clock.nowNs())).toBe(Infinity); // status pending: nothing new until cleared
    expect(sci.level()).toBe(true);
    expect(inw(0x600) & 1).toBe(1);
    outw(0x600, 0x0001);
    expect(sci.level()).toBe(false);
    expect(Math.floor(pm.advance(clock.nowNs()) / NS_PER_TICK)).toBe(2 << 23);
  });

  it('byte accesses reach the same registers; state round-trips', () => {
    const { pm, inb, outb, inw } = setup();
    outb(0x603, 0x01);
    expect(inw(0x602)).toBe(0x0100);
    pm.pressPowerButton();
    expect(inb(0x601)).toBe(0x01);
    const saved = JSON.parse(JSON.stringify(pm.saveState()));
    pm.reset();
    expect(inw(0x602)).toBe(0);
    pm.loadState(saved);
    expect(inw(0x600)).toBe(0x0100);
    expect(inw(0x602)).toBe(0x0100);
    expect(inb(0x606)).toBe(0);
  });
});
