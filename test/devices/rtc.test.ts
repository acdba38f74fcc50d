import { describe, expect, it } from 'vitest';
import { Rtc } from '../../core/devices/rtc.ts';
import { irqRecorder, makeTestBoard } from './testBoard.ts';

const S = 1e9;

function setup(epochMs = Date.UTC(2024, 1, 29, 23, 59, 58), ramBytes?: number) {
  const b = makeTestBoard();
  const irq = irqRecorder();
  const rtc = new Rtc(b.bus, b.clock, irq.line, { epochMs, ramBytes });
  const read = (reg: number) => {
    b.outb(0x70, reg);
    return b.inb(0x71);
  };
  const write = (reg: number, v: number) => {
    b.outb(0x70, reg);
    b.outb(0x71, v);
  };
  const timeRegs = () => [0, 2, 4, 6, 7, 8, 9, 0x32].map(read);
  return { ...b, rtc, irq, read, write, timeRegs };
}

describe('MC146818 RTC', () => {
  it('starts at the given wall-clock time in BCD 24-hour format', () => {
    const { timeRegs, read } = setup();
    // Thursday 2024-02-29 23:59:58 (day of week: Sunday = 1)
    expect(timeRegs()).toEqual([0x58, 0x59, 0x23, 0x05, 0x29, 0x02, 0x24, 0x20]);
    expect(read(0x0a)).toBe(0x26);
    expect(read(0x0b)).toBe(0x02);
    expect(read(0x0d)).toBe(0x80);
  });

  it('advances with guest time across a leap day and month', () => {
    const { timeRegs, setTime } = setup();
    setTime(2 * S);
    expect(timeRegs()).toEqual([0x00, 0x00, 0x00, 0x06, 0x01, 0x03, 0x24, 0x20]);
    setTime(2 * S + 3600 * S + 61 * S);
    expect(timeRegs().slice(0, 3)).toEqual([0x01, 0x01, 0x01]);
  });

  it('shows binary and 12-hour formats with the PM bit', () => {
    const { read, write, setTime } = setup();
    write(0x0b, 0x06); // binary, 24h
    expect(read(4)).toBe(23);
    expect(read(0)).toBe(58);
    write(0x0b, 0x00); // BCD, 12h
    expect(read(4)).toBe(0x91); // 11 PM
    write(0x0b, 0x04); // binary, 12h
    expect(read(4)).toBe(0x80 | 11);
    setTime(2 * S); // midnight
    write(0x0b, 0x00);
    expect(read(4)).toBe(0x12); // 12 AM
    setTime(2 * S + 12 * 3600 * S); // noon
    expect(read(4)).toBe(0x92); // 12 PM
  });

  it('UIP is set from 244 us before the 1984 us update cycle until the second boundary', () => {
    const { read, setTime } = setup(Date.UTC(2020, 0, 1, 0, 0, 0));
    setTime(S - 2_228_000 - 1);
    expect(read(0x0a) & 0x80).toBe(0);
    expect(read(0)).toBe(0x00);
    setTime(S - 2_228_000);
    expect(read(0x0a) & 0x80).toBe(0x80);
    setTime(S - 1);
    expect(read(0x0a) & 0x80).toBe(0x80);
    expect(read(0)).toBe(0x00);
    setTime(S);
    expect(read(0x0a) & 0x80).toBe(0);
    expect(read(0)).toBe(0x01);
  });

  it('update-ended interrupt on IRQ 8; register C read returns IRQF|UF and clears it', () => {
    const { rtc, read, write, irq, clock, setTime } = setup(Date.UTC(2020, 0, 1, 0, 0, 0, 250));
    write(0x0a, 0x20); // no periodic rate, so PF stays clear
    write(0x0b, 0x12); // UIE, 24h
    expect(rtc.advance(clock.nowNs())).toBe(0.75 * S);
    expect(irq.level()).toBe(false);
    setTime(0.75 * S);
    rtc.advance(clock.nowNs());
    expect(irq.level()).toBe(true);
    expect(rtc.advance(clock.nowNs())).toBe(Infinity); // nothing new until C is read
    expect(read(0x0c)).toBe(0x90);
    expect(irq.level()).toBe(false);
    expect(read(0x0c)).toBe(0x00);
    expect(rtc.advance(clock.nowNs())).toBe(1.75 * S);
  });

  it('periodic interrupt at the rate selected in register A; PF is set even when PIE is off', () => {
    const { rtc, read, write, irq, clock, setTime } = setup(Date.UTC(2020, 0, 1));
    write(0x0a, 0x26); // 1024 Hz
    setTime(1_000_000);
    expect(read(0x0c)).toBe(0x40); // PF without IRQF
    expect(irq.level()).toBe(false);
    write(0x0a, 0x2f); // 2 Hz
    write(0x0b, 0x42); // PIE
    expect(rtc.advance(clock.nowNs())).toBe(0.5 * S);
    setTime(0.5 * S);
    rtc.advance(clock.nowNs());
    expect(irq.level()).toBe(true);
    expect(read(0x0c)).toBe(0xc0);
    write(0x0a, 0x23); // 8192 Hz
    expect(rtc.advance(clock.nowNs())).toBe(0.5 * S + 122_070.3125);
    write(0x0a, 0x21); // rate 1 = 256 Hz with a 32.768 kHz base
    expect(rtc.advance(clock.nowNs())).toBe(0.5 * S + 3_906_250);
    write(0x0a, 0x20); // rate 0: none
    expect(rtc.advance(clock.nowNs())).toBe(Infinity);
  });

  it('alarm fires when seconds/minutes/hours match, with 0xC0 as do-not-care', () => {
    const { rtc, read, write, irq, clock, setTime } = setup(Date.UTC(2020, 0, 1, 10, 20, 30));
    write(0x0a, 0x20);
    write(1, 0x33);
    write(3, 0x20);
    write(5, 0x10);
    write(0x0b, 0x22); // AIE
    setTime(2 * S);
    rtc.advance(clock.nowNs());
    expect(irq.level()).toBe(false);
    expect(read(0x0c)).toBe(0x10); // updates happened, no alarm
    setTime(3 * S);
    rtc.advance(clock.nowNs());
    expect(irq.level()).toBe(true);
    expect(read(0x0c)).toBe(0xb0);
    write(1, 0xff);
    write(3, 0xc0);
    write(5, 0xc0); // every second
    setTime(4 * S);
    rtc.advance(clock.nowNs());
    expect(read(0x0c)).toBe(0xb0);
  });

  it('SET stops updates and clears UIE; clearing it runs the clock from the written registers', () => {
    const { read, write, setTime, rtc } = setup(Date.UTC(2020, 0, 1, 0, 0, 0));
    write(0x0b, 0x12);
    write(0x0b, 0x92); // SET (UIE forced off)
    expect(read(0x0b)).toBe(0x82);
    write(0, 0x45);
    write(2, 0x30);
    write(4, 0x12);
    write(7, 0x15);
    write(8, 0x06);
    write(9, 0x99);
    write(0x32, 0x19);
    setTime(5 * S);
    expect(read(0)).toBe(0x45); // frozen while SET
    expect(read(0x0a) & 0x80).toBe(0);
    write(0x0b, 0x02);
    expect(rtc.timeSeconds()).toBe(Date.UTC(1999, 5, 15, 12, 30, 45) / 1000);
    expect(read(6)).toBe(0x03); // derived weekday: Tuesday
    setTime(6 * S);
    expect(read(0)).toBe(0x46);
  });

  it('a time register written while running re-bases the clock', () => {
    const { read, write, setTime } = setup(Date.UTC(2020, 0, 1, 0, 0, 0));
    setTime(0.5 * S);
    write(2, 0x42);
    expect(read(2)).toBe(0x42);
    setTime(1 * S); // the divider phase is unchanged: the next update is at 1 s
    expect(read(0)).toBe(0x01);
  });

  it('divider reset stops the clock; the first update comes 500 ms after leaving reset', () => {
    const { read, write, setTime } = setup(Date.UTC(2020, 0, 1, 0, 0, 0));
    write(0x0a, 0x76);
    setTime(10 * S);
    expect(read(0)).toBe(0x00);
    write(0x0a, 0x26);
    setTime(10.5 * S - 1);
    expect(read(0)).toBe(0x00);
    setTime(10.5 * S);
    expect(read(0)).toBe(0x01);
  });

  it('NVRAM stores bytes 0x0E-0x7F, stores the NMI-disable bit, ignores writes to C and D', () => {
    const { read, write, outb, inb, rtc } = setup();
    for (let i = 0x0e; i < 0x80; i++) if (i !== 0x32) write(i, i ^ 0x5a);
    for (let i = 0x0e; i < 0x80; i++) if (i !== 0x32) expect(read(i)).toBe(i ^ 0x5a);
    outb(0x70, 0x80 | 0x20);
    expect(rtc.nmiDisabled).toBe(true);
    expect(inb(0x71)).toBe(0x20 ^ 0x5a);
    expect(inb(0x70)).toBe(0xa0);
    outb(0x70, 0x0f);
    expect(rtc.nmiDisabled).toBe(false);
    write(0x0c, 0xff);
    write(0x0d, 0x00);
    expect(read(0x0d)).toBe(0x80);
    expect(read(0x0c)).toBe(0x00);
  });

  it('memory size bytes and checksum for 128 MiB and 32 MiB', () => {
    const big = setup(0, 128 * 1024 * 1024);
    expect([0x15, 0x16, 0x17, 0x18, 0x30, 0x31, 0x34, 0x35].map(big.read)).toEqual([0x80, 0x02, 0xff, 0xff, 0xff, 0xff, 0x00, 0x07]);
    let sum = 0;
    for (let i = 0x10; i <= 0x2d; i++) sum += big.read(i);
    expect((big.read(0x2e) << 8) | big.read(0x2f)).toBe(sum);
    const small = setup(0, 32 * 1024 * 1024);
    expect([0x17, 0x18, 0x34, 0x35].map(small.read)).toEqual([0x00, 0x7c, 0x00, 0x01]);
  });

  it('survives a JSON state round trip and tolerates garbage time registers', () => {
    const { rtc, write, clock, read } = setup(Date.UTC(2021, 6, 4, 12, 0, 0));
    write(0x40, 0x77);
    const saved = JSON.parse(JSON.stringify(rtc.saveState()));
    const b2 = makeTestBoard();
    b2.clock.loadState(clock.saveState());
    const other = new Rtc(b2.bus, b2.clock, () => {}, { epochMs: 0 });
    other.loadState(saved);
    b2.outb(0x70, 0x40);
    expect(b2.inb(0x71)).toBe(0x77);
    b2.outb(0x70, 0x04);
    expect(b2.inb(0x71)).toBe(0x12);
    write(0x0b, 0x82);
    for (const r of [0, 2, 4, 7, 8, 9, 0x32]) write(r, 0xff);
    write(0x0b, 0x02);
    expect(Number.isFinite(rtc.timeSeconds())).toBe(true);
    expect(read(0x0d)).toBe(0x80);
  });
});
