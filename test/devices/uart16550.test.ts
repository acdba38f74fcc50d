import { describe, expect, it } from 'vitest';
import { Uart16550, UART_HOST_BUFFER_BYTES } from '../../core/devices/uart16550.ts';
import { irqRecorder, makeTestBoard } from './testBoard.ts';

const BASE = 0x3f8;
const RBR = BASE, IER = BASE + 1, IIR = BASE + 2, FCR = BASE + 2, LCR = BASE + 3, MCR = BASE + 4, LSR = BASE + 5, MSR = BASE + 6, SCR = BASE + 7;

function setup() {
  const b = makeTestBoard();
  const irq = irqRecorder();
  const sent: number[] = [];
  const uart = new Uart16550(b.bus, b.clock, BASE, irq.line, { name: 'com1', onTransmit: (x) => sent.push(x) });
  return { ...b, uart, irq, sent };
}

/** 115200 8N1: one frame is 10 bits x 16 clocks at 1.8432 MHz = 86805.5 ns. */
const CHAR_NS = (10 * 16 * 1e9) / 1_843_200;

describe('16550A UART', () => {
  it('passes Linux autoconfig: IER mask, scratch, FIFO detection, loopback MSR 0x90', () => {
    const { inb, outb } = setup();
    outb(IER, 0x00);
    expect(inb(IER) & 0x0f).toBe(0);
    outb(IER, 0xff);
    expect(inb(IER)).toBe(0x0f); // upper bits (e.g. Xscale UUE) are not implemented
    outb(IER, 0);
    outb(SCR, 0xa5);
    expect(inb(SCR)).toBe(0xa5);
    expect(inb(IIR)).toBe(0x01);
    outb(FCR, 0x01);
    expect(inb(IIR) & 0xc0).toBe(0xc0);
    outb(FCR, 0x21); // 16750 64-byte probe bit: not a 16750
    expect(inb(IIR) & 0xe0).toBe(0xc0);
    outb(MCR, 0x10 | 0x0a);
    expect(inb(MSR) & 0xf0).toBe(0x90);
    outb(MCR, 0x00);
    expect(inb(MSR) & 0xf0).toBe(0xb0); // a terminal: CTS, DSR, DCD
  });

  it('divisor latch is reached through DLAB and does not disturb IER/RBR', () => {
    const { inb, outb } = setup();
    outb(IER, 0x05);
    outb(LCR, 0x83);
    outb(BASE, 0x01);
    outb(IER, 0x00);
    expect(inb(BASE)).toBe(0x01);
    expect(inb(IER)).toBe(0x00);
    outb(LCR, 0x03);
    expect(inb(IER)).toBe(0x05);
    expect(inb(LCR)).toBe(0x03);
  });

  it('transmits instantly: THR bytes reach onTransmit and LSR shows THRE|TEMT', () => {
    const { inb, outb, sent } = setup();
    expect(inb(LSR)).toBe(0x60);
    for (const c of 'hi\n') outb(BASE, c.charCodeAt(0));
    expect(sent).toEqual([0x68, 0x69, 0x0a]);
    expect(inb(LSR)).toBe(0x60);
  });

  it('THRE interrupt: raised when enabled with THR empty, cleared by IIR read, re-raised by re-enabling (Linux THRE test)', () => {
    const { inb, outb, irq } = setup();
    outb(MCR, 0x08); // OUT2
    outb(IER, 0x02);
    expect(irq.level()).toBe(true);
    expect(inb(IIR)).toBe(0x02);
    expect(irq.level()).toBe(false);
    expect(inb(IIR)).toBe(0x01);
    outb(IER, 0x00);
    outb(IER, 0x02);
    expect(inb(IIR)).toBe(0x02);
    outb(IER, 0x02); // rewriting with THRE already enabled does not re-raise it
    expect(inb(IIR)).toBe(0x01);
    outb(BASE, 0x41); // THR write: holding register empties again -> new THRE interrupt
    expect(irq.level()).toBe(true);
    expect(inb(IIR)).toBe(0x02);
  });

  it('OUT2 gates the IRQ line', () => {
    const { outb, irq } = setup();
    outb(IER, 0x02);
    expect(irq.level()).toBe(false);
    outb(MCR, 0x08);
    expect(irq.level()).toBe(true);
    outb(MCR, 0x00);
    expect(irq.level()).toBe(false);
  });

  it('without FIFOs: one received byte raises RDA, RBR read clears it and pulls the next host byte', () => {
    const { uart, inb, outb, irq } = setup();
    outb(MCR, 0x08);
    outb(IER, 0x01);
    expect(uart.receive(new Uint8Array([1, 2, 3]))).toBe(3);
    expect(irq.level()).toBe(true);
    expect(inb(IIR)).toBe(0x04);
    expect(inb(LSR) & 0x01).toBe(1);
    expect(inb(RBR)).toBe(1);
    expect(uart.hostPending).toBe(1);
    expect(inb(RBR)).toBe(2);
    expect(inb(RBR)).toBe(3);
    expect(inb(LSR) & 0x01).toBe(0);
    expect(irq.level()).toBe(false);
    expect(inb(IIR)).toBe(0x01);
  });

  it('FIFO trigger level: RDA only once the FIFO holds the programmed number of bytes', () => {
    const { uart, inb, outb } = setup();
    outb(IER, 0x01);
    outb(FCR, 0x81); // FIFO on, trigger 8
    uart.receive(new Uint8Array(7).fill(0x61));
    expect(inb(IIR)).toBe(0xc1);
    uart.receive(Uint8Array.of(0x62));
    expect(inb(IIR)).toBe(0xc4);
    inb(RBR);
    expect(inb(IIR)).toBe(0xc1); // back below the trigger
    outb(FCR, 0xc1); // trigger 14
    expect(inb(IIR)).toBe(0xc1);
    outb(FCR, 0x41); // trigger 4
    expect(inb(IIR)).toBe(0xc4);
  });

  it('FIFO holds 16 bytes; the rest of the host input waits and flows in as the guest drains', () => {
    const { uart, inb, outb } = setup();
    outb(FCR, 0x07);
    const data = new Uint8Array(40).map((_, i) => i);
    expect(uart.receive(data)).toBe(40);
    expect(uart.hostPending).toBe(24);
    const got: number[] = [];
    while (inb(LSR) & 1) got.push(inb(RBR));
    expect(got).toEqual(Array.from(data));
    expect(inb(LSR) & 0x02).toBe(0); // never an overrun from host input
  });

  it('host buffer is capped and reports how many bytes it accepted', () => {
    const { uart } = setup();
    const big = new Uint8Array(UART_HOST_BUFFER_BYTES + 100);
    expect(uart.receive(big)).toBe(UART_HOST_BUFFER_BYTES);
    expect(uart.hostPending).toBe(UART_HOST_BUFFER_BYTES - 1); // one byte already moved into RBR
    expect(uart.receive(new Uint8Array(10))).toBe(1);
    expect(uart.receive(new Uint8Array(10))).toBe(0);
  });

  it('character timeout: data below the trigger level interrupts after 4 character times', () => {
    const { uart, inb, outb, irq, setTime, clock } = setup();
    outb(LCR, 0x83);
    outb(BASE, 0x01);
    outb(IER, 0x00);
    outb(LCR, 0x03); // 115200 8N1
    outb(MCR, 0x08);
    outb(IER, 0x01);
    outb(FCR, 0x81); // trigger 8
    setTime(1000);
    uart.receive(Uint8Array.of(0x71, 0x72));
    expect(irq.level()).toBe(false);
    const deadline = uart.advance(clock.nowNs());
    expect(deadline).toBeCloseTo(1000 + 4 * CHAR_NS, 6);
    setTime(deadline - 1);
    expect(uart.advance(clock.nowNs())).toBe(deadline);
    expect(irq.level()).toBe(false);
    setTime(deadline);
    expect(uart.advance(clock.nowNs())).toBe(Infinity);
    expect(irq.level()).toBe(true);
    expect(inb(IIR)).toBe(0xcc);
    expect(inb(RBR)).toBe(0x71); // reading clears the timeout and restarts the timer
    expect(inb(IIR)).toBe(0xc1);
    expect(irq.level()).toBe(false);
    expect(uart.advance(clock.nowNs())).toBeCloseTo(deadline + 4 * CHAR_NS, 6);
  });

  it('receiver line status: loopback overrun sets OE, raises RLS first, LSR read clears it', () => {
    const { inb, outb } = setup();
    outb(IER, 0x05);
    outb(MCR, 0x10);
    outb(BASE, 0x11);
    outb(BASE, 0x22); // no FIFO: overruns RBR
    expect(inb(IIR)).toBe(0x06);
    expect(inb(LSR)).toBe(0x63);
    expect(inb(LSR)).toBe(0x61);
    expect(inb(IIR)).toBe(0x04);
    expect(inb(RBR)).toBe(0x22);
  });

  it('loopback feeds THR to the receiver (16 in FIFO mode) and keeps the line quiet', () => {
    const { inb, outb, sent, irq } = setup();
    outb(FCR, 0x01);
    outb(IER, 0x01);
    outb(MCR, 0x18); // loopback + OUT2
    for (let i = 0; i < 17; i++) outb(BASE, i);
    expect(sent).toEqual([]);
    expect(inb(IIR)).toBe(0xc4); // RLS is not enabled, so RDA is reported
    expect(irq.level()).toBe(false); // loopback keeps the IRQ pin inactive
    expect(inb(LSR)).toBe(0x63); // the 17th byte overran
    const got: number[] = [];
    while (inb(LSR) & 1) got.push(inb(RBR));
    expect(got).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
  });

  it('loopback data that starts a receiver timeout asks the board to reschedule', () => {
    const b = makeTestBoard();
    let reschedules = 0;
    const uart = new Uart16550(b.bus, b.clock, BASE, () => {}, { onReschedule: () => reschedules++ });
    b.outb(FCR, 0x81);
    b.outb(MCR, 0x10);
    const before = reschedules;
    b.outb(BASE, 0x33);
    expect(reschedules).toBe(before + 1);
    expect(uart.advance(b.clock.nowNs())).toBeCloseTo((4 * (7 * 12 * 16 * 1e9)) / 1_843_200, 3); // reset format 5N1 = 7 bits, divisor 12
  });

  it('modem status: loopback outputs change inputs, deltas raise MS and clear on MSR read', () => {
    const { inb, outb, irq } = setup();
    outb(IER, 0x08);
    outb(MCR, 0x18);
    expect(inb(MSR)).toBe(0x83); // DCD from OUT2; CTS and DSR dropped from the terminal levels
    outb(MCR, 0x1f);
    expect(inb(IIR)).toBe(0x00);
    expect(inb(MSR)).toBe(0xf3); // CTS, DSR came back; RI rose (no TERI on a rising edge)
    outb(MCR, 0x1b);
    expect(inb(MSR)).toBe(0xb4); // RI fell: TERI
    expect(inb(IIR)).toBe(0x01);
    expect(irq.level()).toBe(false);
  });

  it('FCR bit 1 clears the receive FIFO; disabling FIFOs clears them too', () => {
    const { uart, inb, outb } = setup();
    outb(FCR, 0x01);
    uart.receive(Uint8Array.of(1, 2, 3));
    outb(FCR, 0x03);
    expect(inb(LSR) & 1).toBe(0);
    uart.receive(Uint8Array.of(4));
    outb(FCR, 0x00);
    expect(inb(LSR) & 1).toBe(0);
    expect(inb(IIR)).toBe(0x01);
  });

  it('state survives a JSON round trip', () => {
    const { uart, outb } = setup();
    outb(FCR, 0x81);
    outb(SCR, 0x5a);
    uart.receive(new Uint8Array(20).map((_, i) => 100 + i));
    const saved = JSON.parse(JSON.stringify(uart.saveState()));
    const b2 = makeTestBoard();
    const other = new Uart16550(b2.bus, b2.clock, BASE, () => {});
    other.loadState(saved);
    expect(b2.inb(SCR)).toBe(0x5a);
    expect(b2.inb(IIR)).toBe(0xc1);
    const got: number[] = [];
    while (b2.inb(LSR) & 1) got.push(b2.inb(RBR));
    expect(got.length).toBe(20);
    expect(got[19]).toBe(119);
  });
});
