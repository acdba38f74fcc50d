import { describe, expect, it } from 'vitest';
import { Pit, PIT_NS_PER_TICK } from '../../core/devices/pit.ts';
import { SystemControlPort } from '../../core/devices/systemControlPort.ts';
import { irqRecorder, makeTestBoard } from './testBoard.ts';

function setup() {
  const b = makeTestBoard();
  const irq = irqRecorder();
  let reschedules = 0;
  const pit = new Pit(b.bus, b.clock, irq.line, { onReschedule: () => reschedules++ });
  const port61 = new SystemControlPort(b.bus, b.clock, pit);
  /** Moves guest time to the start of PIT tick `t` (plus a fraction inside it). */
  const atTick = (t: number) => b.setTime(Math.ceil(t * PIT_NS_PER_TICK) + 1);
  const readCounter = (ch: number) => {
    b.outb(0x43, ch << 6); // counter latch
    const lo = b.inb(0x40 + ch);
    return lo | (b.inb(0x40 + ch) << 8);
  };
  return { ...b, pit, port61, irq, atTick, readCounter, reschedules: () => reschedules };
}

describe('8254 PIT', () => {
  it('mode 0 on channel 2 raises OUT2 in port 0x61 exactly N+1 clocks after the count write (TSC calibration)', () => {
    const { inb, outb, atTick } = setup();
    outb(0x61, (inb(0x61) & ~0x02) | 0x01); // gate on, speaker off
    outb(0x43, 0xb0); // channel 2, LSB/MSB, mode 0, binary
    atTick(100);
    outb(0x42, 11932 & 0xff);
    outb(0x42, 11932 >> 8); // count written at tick 100, loaded at 101
    expect(inb(0x61) & 0x21).toBe(0x01);
    atTick(100 + 11932);
    expect(inb(0x61) & 0x20).toBe(0);
    atTick(101 + 11932);
    expect(inb(0x61) & 0x20).toBe(0x20);
    atTick(200 + 70000); // stays high after the counter wraps
    expect(inb(0x61) & 0x20).toBe(0x20);
  });

  it('mode 0 counts down one per clock and wraps through 0xFFFF', () => {
    const { outb, atTick, readCounter } = setup();
    outb(0x43, 0x30);
    outb(0x40, 0x10);
    outb(0x40, 0x00); // N = 16 at tick 0 -> CE = 16 at tick 1
    atTick(1);
    expect(readCounter(0)).toBe(16);
    atTick(11);
    expect(readCounter(0)).toBe(6);
    atTick(17);
    expect(readCounter(0)).toBe(0);
    atTick(19);
    expect(readCounter(0)).toBe(0xfffe);
  });

  it('a latched count holds until both bytes are read; unlatched LSB/MSB reads sample the live counter each time', () => {
    const { outb, inb, atTick } = setup();
    outb(0x43, 0x34); // ch0 mode 2
    outb(0x40, 0x00);
    outb(0x40, 0x10); // N = 0x1000 loaded at tick 1
    atTick(0x11);
    outb(0x43, 0x00); // latch: 0x1000 - 0x10 = 0x0ff0
    atTick(0x300);
    outb(0x43, 0x00); // a second latch before reading is ignored
    expect(inb(0x40)).toBe(0xf0);
    atTick(0x400);
    expect(inb(0x40)).toBe(0x0f);
    // live: LSB at tick 0x501 -> 0x1000 - 0x500 = 0x0b00; MSB at tick 0x602 -> 0x09ff
    atTick(0x501);
    expect(inb(0x40)).toBe(0x00);
    atTick(0x602);
    expect(inb(0x40)).toBe(0x09);
  });

  it('LSB-only and MSB-only access modes read and write one byte', () => {
    const { outb, inb, atTick } = setup();
    outb(0x43, 0x54); // ch1, LSB only, mode 2
    outb(0x41, 0x20); // N = 0x20
    atTick(5); // d = 4
    outb(0x43, 0x40);
    expect(inb(0x41)).toBe(0x1c);
    outb(0x43, 0x64); // ch1, MSB only, mode 2
    outb(0x41, 0x02); // N = 0x200 at tick 5 -> loaded 6
    atTick(6 + 0x80);
    expect(inb(0x41)).toBe(0x01); // 0x180 >> 8
  });

  it('mode 2 pulses IRQ0 once per period and advance() returns the next edge', () => {
    const { outb, atTick, pit, irq, clock } = setup();
    outb(0x43, 0x34);
    outb(0x40, 100);
    outb(0x40, 0); // N = 100, loaded at tick 1 -> rising edges at 101, 201, ...
    const next = pit.advance(clock.nowNs());
    expect(Math.floor(next / PIT_NS_PER_TICK)).toBe(101);
    expect(irq.rises()).toBe(1); // OUT went high at programming time (mode 2 initial level)
    atTick(100); // OUT low during the last clock of the period
    expect(pit.out(0)).toBe(false);
    pit.advance(clock.nowNs());
    expect(irq.level()).toBe(false);
    atTick(101);
    expect(Math.floor(pit.advance(clock.nowNs()) / PIT_NS_PER_TICK)).toBe(201);
    expect(irq.rises()).toBe(2);
    atTick(150);
    pit.advance(clock.nowNs());
    atTick(201);
    pit.advance(clock.nowNs());
    expect(irq.rises()).toBe(3);
  });

  it('an on-time machine never builds a backlog', () => {
    const { outb, pit, irq, clock, setTime } = setup();
    outb(0x43, 0x34);
    outb(0x40, 0x9c);
    outb(0x40, 0x2e); // 11932 (10 ms)
    let next = pit.advance(clock.nowNs());
    const base = irq.rises();
    for (let i = 0; i < 50; i++) {
      setTime(next);
      next = pit.advance(clock.nowNs());
    }
    expect(irq.rises()).toBe(base + 50);
    expect(pit.tickBacklog).toBe(0);
  });

  it('mode 2 takes a count rewritten while counting only at the end of the current period', () => {
    const { outb, atTick, pit, clock, readCounter } = setup();
    outb(0x43, 0x34);
    outb(0x40, 100);
    outb(0x40, 0); // period 1..101
    atTick(31);
    outb(0x40, 10);
    outb(0x40, 0);
    expect(readCounter(0)).toBe(70); // old count keeps running
    outb(0x43, 0xe2); // read-back status of ch0
    expect(pit.channels[0].readData(pit.now()) & 0x40).toBe(0x40); // null count: new CR not loaded yet
    atTick(101);
    expect(readCounter(0)).toBe(10);
    atTick(105);
    expect(readCounter(0)).toBe(6);
    expect(Math.floor(pit.advance(clock.nowNs()) / PIT_NS_PER_TICK)).toBe(111);
  });

  it('mode 3 square wave: even count high N/2, low N/2, counting down by two', () => {
    const { outb, atTick, pit, readCounter } = setup();
    outb(0x43, 0x36);
    outb(0x40, 8);
    outb(0x40, 0); // loaded at 1
    const outs: boolean[] = [];
    const counts: number[] = [];
    for (let t = 1; t <= 9; t++) {
      atTick(t);
      outs.push(pit.out(0));
      counts.push(readCounter(0));
    }
    expect(outs).toEqual([true, true, true, true, false, false, false, false, true]);
    expect(counts).toEqual([8, 6, 4, 2, 8, 6, 4, 2, 8]);
  });

  it('mode 3 with an odd count is high (N+1)/2 and low (N-1)/2 clocks', () => {
    const { outb, atTick, pit, readCounter } = setup();
    outb(0x43, 0x36);
    outb(0x40, 5);
    outb(0x40, 0);
    const outs: boolean[] = [];
    const counts: number[] = [];
    for (let t = 1; t <= 6; t++) {
      atTick(t);
      outs.push(pit.out(0));
      counts.push(readCounter(0));
    }
    expect(outs).toEqual([true, true, true, false, false, true]);
    expect(counts).toEqual([4, 2, 0, 4, 2, 4]); // N-1 loaded, counted down by two (Intel 8254 datasheet)
  });

  it('mode 3 takes a new count at the end of the current half-cycle', () => {
    const { outb, atTick, pit, clock } = setup();
    outb(0x43, 0x36);
    outb(0x40, 100);
    outb(0x40, 0); // high 1..50, low 51..100
    atTick(20);
    outb(0x40, 20);
    outb(0x40, 0);
    atTick(50);
    expect(pit.out(0)).toBe(true);
    atTick(51); // the new count starts with its low half: 10 clocks
    expect(pit.out(0)).toBe(false);
    expect(Math.floor(pit.advance(clock.nowNs()) / PIT_NS_PER_TICK)).toBe(61);
    atTick(61);
    expect(pit.out(0)).toBe(true);
    atTick(71);
    expect(pit.out(0)).toBe(false);
  });

  it('read-back returns status first (OUT, null count, control) and then the latched count', () => {
    const { outb, inb, atTick } = setup();
    outb(0x43, 0xb0); // ch2 mode 0 LSB/MSB
    outb(0xc2 & 0xff, 0); // unassigned port: no effect
    outb(0x43, 0xe8); // read-back status of ch2 (count bit set = don't latch count)
    expect(inb(0x42)).toBe(0x40 | 0x30); // OUT low, null count, RW=3 mode 0 binary
    outb(0x61, 0x01);
    outb(0x42, 0x05);
    outb(0x42, 0x00);
    atTick(3); // loaded at tick 1, d = 2 -> CE 3
    outb(0x43, 0xc8); // latch count and status of ch2
    expect(inb(0x42)).toBe(0x30); // null count cleared once loaded
    expect(inb(0x42)).toBe(0x03);
    expect(inb(0x42)).toBe(0x00);
    atTick(10);
    outb(0x43, 0xe8);
    expect(inb(0x42)).toBe(0x80 | 0x30); // OUT high after terminal count
  });

  it('counts in BCD when the control word asks for it', () => {
    const { outb, atTick, readCounter } = setup();
    outb(0x43, 0x31); // ch0 mode 0 BCD
    outb(0x40, 0x00);
    outb(0x40, 0x10); // 1000 decimal
    atTick(1 + 11);
    expect(readCounter(0)).toBe(0x0989);
    outb(0x43, 0x31);
    outb(0x40, 0x00);
    outb(0x40, 0x00); // 0 = 10000 in BCD
    atTick(13 + 1);
    expect(readCounter(0)).toBe(0x9999);
  });

  it('mode 0: the first byte of a new count stops counting and drives OUT low; the second restarts it', () => {
    const { outb, atTick, pit, readCounter } = setup();
    outb(0x43, 0x30);
    outb(0x40, 10);
    outb(0x40, 0);
    atTick(20);
    expect(pit.out(0)).toBe(true);
    outb(0x40, 50);
    expect(pit.out(0)).toBe(false);
    const held = readCounter(0);
    atTick(30);
    expect(readCounter(0)).toBe(held);
    outb(0x40, 0); // N = 50 at tick 30, loaded at 31
    atTick(41);
    expect(readCounter(0)).toBe(40);
    atTick(81);
    expect(pit.out(0)).toBe(true);
  });

  it('mode 0: gate low suspends counting on channel 2', () => {
    const { outb, atTick, readCounter } = setup();
    outb(0x61, 0x01);
    outb(0x43, 0xb0);
    outb(0x42, 100);
    outb(0x42, 0);
    atTick(11);
    expect(readCounter(2)).toBe(90);
    outb(0x61, 0x00);
    atTick(500);
    expect(readCounter(2)).toBe(90);
    outb(0x61, 0x01); // resumes on the next clock
    atTick(511);
    expect(readCounter(2)).toBe(80);
  });

  it('mode 1: one-shot started by the gate rising edge', () => {
    const { outb, inb, atTick, readCounter } = setup();
    outb(0x43, 0xb2); // ch2 mode 1
    outb(0x42, 20);
    outb(0x42, 0);
    atTick(50);
    expect(inb(0x61) & 0x20).toBe(0x20); // waits for a trigger with OUT high
    outb(0x61, 0x01); // trigger at 50, loaded at 51
    atTick(51);
    expect(inb(0x61) & 0x20).toBe(0);
    expect(readCounter(2)).toBe(20);
    atTick(71);
    expect(inb(0x61) & 0x20).toBe(0x20);
    outb(0x61, 0x00);
    outb(0x61, 0x01); // retrigger at 71 reloads at 72
    atTick(72);
    expect(inb(0x61) & 0x20).toBe(0);
    atTick(80);
    outb(0x61, 0x00);
    outb(0x61, 0x01); // retrigger while the pulse is low: OUT stays low, the count restarts
    expect(inb(0x61) & 0x20).toBe(0);
    atTick(81 + 19);
    expect(readCounter(2)).toBe(1);
    expect(inb(0x61) & 0x20).toBe(0);
    atTick(81 + 20);
    expect(inb(0x61) & 0x20).toBe(0x20);
  });

  it('mode 4 strobes OUT low for one clock at terminal count; mode 5 waits for the gate', () => {
    const { outb, inb, atTick, pit } = setup();
    outb(0x43, 0x38); // ch0 mode 4
    outb(0x40, 5);
    outb(0x40, 0); // loaded at 1, strobe at 6
    atTick(5);
    expect(pit.out(0)).toBe(true);
    atTick(6);
    expect(pit.out(0)).toBe(false);
    atTick(7);
    expect(pit.out(0)).toBe(true);
    outb(0x43, 0xba); // ch2 mode 5
    outb(0x42, 3);
    outb(0x42, 0);
    atTick(20);
    expect(inb(0x61) & 0x20).toBe(0x20);
    outb(0x61, 0x01); // trigger at 20, loaded 21, strobe at 24
    atTick(24);
    expect(inb(0x61) & 0x20).toBe(0);
    atTick(25);
    expect(inb(0x61) & 0x20).toBe(0x20);
  });

  it('reload while counting: mode 4 restarts on the next clock, mode 1 waits for the next trigger', () => {
    const { outb, inb, atTick, pit, readCounter } = setup();
    outb(0x43, 0x38); // ch0 mode 4
    outb(0x40, 50);
    outb(0x40, 0); // loaded at 1
    atTick(11);
    outb(0x40, 20); // first byte: no effect on counting in mode 4
    expect(readCounter(0)).toBe(40);
    outb(0x40, 0); // written at 11, loaded at 12, strobe at 32
    atTick(31);
    expect(pit.out(0)).toBe(true);
    atTick(32);
    expect(pit.out(0)).toBe(false);
    outb(0x61, 0x00);
    outb(0x43, 0xb2); // ch2 mode 1
    outb(0x42, 30);
    outb(0x42, 0);
    outb(0x61, 0x01); // trigger at 32, loaded at 33, pulse ends at 63
    atTick(40);
    outb(0x42, 5);
    outb(0x42, 0); // new count: the running one-shot is not disturbed
    expect(readCounter(2)).toBe(23);
    atTick(62);
    expect(inb(0x61) & 0x20).toBe(0);
    atTick(63);
    expect(inb(0x61) & 0x20).toBe(0x20);
    outb(0x61, 0x00);
    outb(0x61, 0x01); // the next trigger uses it: loaded at 64, ends at 69
    atTick(68);
    expect(inb(0x61) & 0x20).toBe(0);
    atTick(69);
    expect(inb(0x61) & 0x20).toBe(0x20);
  });

  it('mode 2: gate low forces OUT high and the rising gate reloads the count', () => {
    const { outb, atTick, pit, readCounter } = setup();
    outb(0x61, 0x01);
    outb(0x43, 0xb4); // ch2 mode 2
    outb(0x42, 10);
    outb(0x42, 0);
    atTick(10); // d = 9: OUT low
    expect(pit.out(2)).toBe(false);
    outb(0x61, 0x00);
    expect(pit.out(2)).toBe(true);
    atTick(40);
    outb(0x61, 0x01); // reload at 41
    atTick(44);
    expect(readCounter(2)).toBe(7);
  });

  it('port 0x61 stores bits 0-3, reflects OUT2 and toggles the refresh bit every 15.085 us', () => {
    const { outb, inb, setTime } = setup();
    outb(0x61, 0xff);
    expect(inb(0x61) & 0xcf).toBe(0x0f);
    setTime(15_084);
    const a = inb(0x61) & 0x10;
    setTime(15_086);
    const b = inb(0x61) & 0x10;
    expect(a).toBe(0);
    expect(b).toBe(0x10);
  });

  it('reports a moved channel-0 deadline and survives a JSON state round trip', () => {
    const { outb, atTick, pit, reschedules, clock } = setup();
    outb(0x43, 0x34);
    outb(0x40, 0x00);
    outb(0x40, 0x01); // 256
    expect(reschedules()).toBe(1);
    atTick(40);
    const saved = JSON.parse(JSON.stringify(pit.saveState()));
    const b2 = makeTestBoard();
    b2.clock.loadState(clock.saveState());
    const other = new Pit(b2.bus, b2.clock, () => {});
    other.loadState(saved);
    outb(0x43, 0x00);
    b2.outb(0x43, 0x00);
    expect(b2.inb(0x40) | (b2.inb(0x40) << 8)).toBe(256 - 39);
    expect(Math.floor(other.advance(b2.clock.nowNs()) / PIT_NS_PER_TICK)).toBe(257);
  });

  it('ignores reads of the control port and hostile control words', () => {
    const { outb, inb, pit } = setup();
    expect(inb(0x43)).toBe(0xff);
    for (let v = 0; v < 256; v++) outb(0x43, v);
    for (let v = 0; v < 256; v++) outb(0x40 + (v & 3), v);
    for (let p = 0x40; p <= 0x43; p++) inb(p);
    const next = pit.advance(1e9);
    expect(Number.isNaN(next)).toBe(false);
    expect(next).toBeGreaterThan(1e9);
  });
});
