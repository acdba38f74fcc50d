import { describe, expect, it } from 'vitest';
import { I8042 } from '../../core/devices/i8042.ts';
import { A20Gate } from '../../core/devices/a20Gate.ts';
import { irqRecorder, makeTestBoard } from './testBoard.ts';

function setup() {
  const b = makeTestBoard();
  const irq1 = irqRecorder();
  const irq12 = irqRecorder();
  const resets: string[] = [];
  const a20 = new A20Gate(b.bus);
  const kbc = new I8042(b.bus, irq1.line, irq12.line, { a20, onReset: (c) => resets.push(c) });
  /** A controller command with an optional data byte; returns the bytes the controller answers. */
  const command = (cmd: number, data?: number) => {
    b.outb(0x64, cmd);
    if (data !== undefined) b.outb(0x60, data);
    return drain();
  };
  const drain = () => {
    const out: number[] = [];
    for (let i = 0; i < 64 && (b.inb(0x64) & 1); i++) out.push(b.inb(0x60));
    return out;
  };
  const toKeyboard = (byte: number) => {
    b.outb(0x60, byte);
    return drain();
  };
  return { ...b, kbc, irq1, irq12, resets, a20, command, drain, toKeyboard };
}

describe('i8042 keyboard controller', () => {
  it('status: unlocked, system flag, nothing to read at power-on', () => {
    const { inb } = setup();
    expect(inb(0x64)).toBe(0x14);
  });

  it('self-test answers 0x55 and interface tests 0x00; the A2 bit tracks the last port written', () => {
    const { command, inb, outb } = setup();
    outb(0x64, 0xaa);
    expect(inb(0x64) & 0x09).toBe(0x09);
    expect(inb(0x60)).toBe(0x55);
    expect(command(0xab)).toEqual([0x00]);
    expect(command(0xa9)).toEqual([0x00]);
    outb(0x60, 0xf4);
    expect(inb(0x64) & 0x08).toBe(0);
  });

  it('command byte read/write and port enable/disable bits', () => {
    const { command } = setup();
    expect(command(0x20)).toEqual([0x47]);
    command(0x60, 0x65);
    expect(command(0x20)).toEqual([0x65]);
    command(0xa8);
    command(0xae);
    expect(command(0x20)).toEqual([0x45]);
    command(0xa7);
    command(0xad);
    expect(command(0x20)).toEqual([0x75]);
    command(0x7f, 0x99); // internal RAM byte 31
    expect(command(0x3f)).toEqual([0x99]);
  });

  it('the system flag in the status follows command byte bit 2', () => {
    const { command, inb } = setup();
    command(0x60, 0x40);
    expect(inb(0x64) & 0x04).toBe(0);
    command(0x60, 0x44);
    expect(inb(0x64) & 0x04).toBe(0x04);
  });

  it('output port: A20 through 0xD1 and 0xDD/0xDF, read back with 0xD0; bit 0 clear resets the CPU', () => {
    const { command, bus, resets } = setup();
    expect(command(0xd0)[0] & 0x03).toBe(0x03);
    command(0xd1, 0xdd);
    expect(bus.a20Enabled).toBe(false);
    expect(command(0xd0)[0] & 0x03).toBe(0x01);
    command(0xd1, 0xdf);
    expect(bus.a20Enabled).toBe(true);
    command(0xdd);
    expect(bus.a20Enabled).toBe(false);
    command(0xdf);
    expect(bus.a20Enabled).toBe(true);
    expect(resets).toEqual([]);
    command(0xd1, 0xde);
    expect(resets).toEqual(['i8042']);
  });

  it('0xFE pulses the reset line; 0xFF (no line) does not', () => {
    const { command, resets } = setup();
    command(0xff);
    expect(resets).toEqual([]);
    command(0xfe);
    expect(resets).toEqual(['i8042']);
  });

  it('controller replies raise IRQ 1 when enabled; reading clears it', () => {
    const { outb, inb, irq1, command } = setup();
    outb(0x64, 0xaa);
    expect(irq1.level()).toBe(true);
    inb(0x60);
    expect(irq1.level()).toBe(false);
    command(0x60, 0x44); // interrupts off
    outb(0x64, 0xaa);
    expect(irq1.level()).toBe(false);
    expect(inb(0x60)).toBe(0x55);
  });

  it('keyboard answers Linux atkbd: identify (translated), LEDs, typematic, enable, reset, echo', () => {
    const { toKeyboard, command } = setup();
    expect(toKeyboard(0xf2)).toEqual([0xfa, 0xab, 0x41]);
    command(0x60, 0x07); // translation off
    expect(toKeyboard(0xf2)).toEqual([0xfa, 0xab, 0x83]);
    expect(toKeyboard(0xed)).toEqual([0xfa]);
    expect(toKeyboard(0x07)).toEqual([0xfa]);
    expect(toKeyboard(0xf3)).toEqual([0xfa]);
    expect(toKeyboard(0x20)).toEqual([0xfa]);
    expect(toKeyboard(0xf0)).toEqual([0xfa]);
    expect(toKeyboard(0x00)).toEqual([0xfa, 0x02]);
    expect(toKeyboard(0xf0)).toEqual([0xfa]);
    expect(toKeyboard(0x03)).toEqual([0xfa]);
    expect(toKeyboard(0xf5)).toEqual([0xfa]);
    expect(toKeyboard(0xf4)).toEqual([0xfa]);
    expect(toKeyboard(0xee)).toEqual([0xee]);
    expect(toKeyboard(0xff)).toEqual([0xfa, 0xaa]);
    expect(toKeyboard(0x12)).toEqual([0xfe]);
  });

  it('typed scancodes reach the guest through IRQ 1, one byte per read, unless the port is disabled', () => {
    const { kbc, inb, outb, irq1, command, drain } = setup();
    command(0xad);
    expect(kbc.typeKeys(Uint8Array.of(0x1e, 0x9e))).toBe(2);
    expect(inb(0x64) & 1).toBe(0);
    outb(0x64, 0xae);
    expect(irq1.level()).toBe(true);
    const before = irq1.rises();
    expect(inb(0x60)).toBe(0x1e);
    expect(irq1.rises()).toBe(before + 1); // the second byte is a new edge
    expect(drain()).toEqual([0x9e]);
    expect(irq1.level()).toBe(false);
  });

  it('AUX port passes Linux i8042_check_aux: loopback with IRQ 12 and AUXDATA, AUXDIS bit follows A7/A8', () => {
    const { command, outb, inb, irq12 } = setup();
    outb(0x64, 0xd3);
    outb(0x60, 0x5a);
    expect(inb(0x64) & 0x21).toBe(0x21);
    expect(irq12.level()).toBe(true);
    expect(inb(0x60)).toBe(0x5a);
    expect(irq12.level()).toBe(false);
    command(0xa7);
    expect(command(0x20)[0] & 0x20).toBe(0x20);
    command(0xa8);
    expect(command(0x20)[0] & 0x20).toBe(0);
  });

  it('mouse on the AUX port answers psmouse: reset, ID 0, sample-rate knock, status, enable, packets', () => {
    const { command, kbc, irq12, inb, drain } = setup();
    expect(command(0xd4, 0xff)).toEqual([0xfa, 0xaa, 0x00]);
    expect(command(0xd4, 0xf2)).toEqual([0xfa, 0x00]);
    for (const rate of [200, 100, 80]) {
      expect(command(0xd4, 0xf3)).toEqual([0xfa]);
      expect(command(0xd4, rate)).toEqual([0xfa]);
    }
    expect(command(0xd4, 0xf2)).toEqual([0xfa, 0x00]); // no wheel extension
    expect(command(0xd4, 0xe8)).toEqual([0xfa]);
    expect(command(0xd4, 0x03)).toEqual([0xfa]);
    expect(command(0xd4, 0xe9)).toEqual([0xfa, 0x00, 0x03, 80]);
    kbc.mouseMove(5, -3, 1);
    expect(irq12.level()).toBe(false); // reporting not enabled yet
    expect(command(0xd4, 0xf4)).toEqual([0xfa]);
    kbc.mouseMove(5, -3, 1);
    expect(irq12.level()).toBe(true);
    expect(inb(0x64) & 0x21).toBe(0x21);
    expect(drain()).toEqual([0x29, 0x05, 0xfd]); // left button, y negative
    expect(irq12.level()).toBe(false);
  });

  it('state round-trips and reset restores the power-on command byte', () => {
    const { kbc, command, bus } = setup();
    command(0x60, 0x25);
    command(0xd1, 0x01); // A20 off
    const saved = JSON.parse(JSON.stringify(kbc.saveState()));
    kbc.reset();
    expect(command(0x20)).toEqual([0x47]);
    expect(bus.a20Enabled).toBe(true);
    kbc.loadState(saved);
    expect(command(0x20)).toEqual([0x25]);
    expect(bus.a20Enabled).toBe(false);
  });
});
