/**
 * National Semiconductor 16550A UART (the PC's COM ports).
 *
 * Wiring (the board creates COM1 and COM2):
 *   const com1 = new Uart16550(bus, clock, 0x3f8, pic.irqLine(4), {
 *     name: 'com1', onTransmit: (byte) => hooks.onSerialOutput?.(0, Uint8Array.of(byte)),
 *     onReschedule: () => machine.rescheduleTimers(),
 *   });
 *   const com2 = new Uart16550(bus, clock, 0x2f8, pic.irqLine(3), { name: 'com2', ... });
 *   host input: const accepted = com1.receive(bytes);  // apply backpressure on the rest
 *   machine loop: next = com1.advance(clock.nowNs());   // receiver timeout interrupts
 *
 * Design decisions:
 * - Transmit is instantaneous: a byte written to THR is handed to `onTransmit`
 *   at once and THR/TSR are empty again immediately (LSR.THRE and TEMT always
 *   read 1), so a guest printing to the console is never throttled by a
 *   simulated baud rate. The THRE interrupt is therefore re-armed by every THR
 *   write (the holding register empties right after it is written).
 * - Receive: host bytes wait in a host-side ring (64 KiB) and move into the RX
 *   FIFO (16 bytes, or the single RBR with FIFOs off) whenever it has room, so
 *   the guest never overruns on host input. The character-timeout interrupt
 *   fires 4 character times (at the programmed divisor and frame format) after
 *   the last FIFO input or read, measured in guest time.
 * - Overruns only happen in loopback mode, where THR feeds the receiver.
 * - Modem inputs outside loopback: CTS, DSR and DCD asserted, RI not (a
 *   connected terminal). In loopback, DTR->DSR, RTS->CTS, OUT1->RI, OUT2->DCD,
 *   and (as on a PC, where the OUT2 pin gates the IRQ buffer and loopback
 *   forces the pins inactive) the IRQ line is not driven.
 * - IRQ line level = (an enabled interrupt is pending) AND MCR.OUT2 AND NOT loopback.
 */
import type { MemoryBus } from '../memory/bus.ts';
import type { GuestClock } from '../cpu/clock.ts';
import type { IrqLine, TimedDevice } from './device.ts';

export const UART_HOST_BUFFER_BYTES = 64 * 1024;
const FIFO_SIZE = 16;
const UART_CLOCK_HZ = 1_843_200;
const TRIGGER_LEVELS = [1, 4, 8, 14];

// IER
const IER_RDA = 0x01;
const IER_THRE = 0x02;
const IER_RLS = 0x04;
const IER_MS = 0x08;
// IIR identifications
const IIR_NONE = 0x01;
const IIR_RLS = 0x06;
const IIR_RDA = 0x04;
const IIR_TIMEOUT = 0x0c;
const IIR_THRE = 0x02;
const IIR_MS = 0x00;
// LSR
const LSR_DR = 0x01;
const LSR_OE = 0x02;
const LSR_ERRORS = 0x1e;
const LSR_THRE = 0x20;
const LSR_TEMT = 0x40;
// MCR
const MCR_OUT2 = 0x08;
const MCR_LOOP = 0x10;
/** Modem inputs seen outside loopback: CTS, DSR, DCD. */
const EXTERNAL_MODEM_INPUTS = 0xb0;

export interface UartOptions {
  name?: string;
  /** Each byte the guest transmits (outside loopback). */
  onTransmit?: (byte: number) => void;
  /** Called when guest I/O or host input moved the receiver-timeout deadline: call advance() again soon. */
  onReschedule?: () => void;
}

export interface UartState {
  ier: number;
  lcr: number;
  mcr: number;
  /** Sticky LSR error bits (OE/PE/FE/BI). */
  lsrErrors: number;
  /** MSR delta bits 0-3 and current inputs 4-7. */
  msr: number;
  scr: number;
  divisor: number;
  fifoEnabled: boolean;
  triggerLevel: number;
  rx: number[];
  lastRbr: number;
  thrInterrupt: boolean;
  timeoutPending: boolean;
  /** Guest ns at which the character timeout fires (when the FIFO holds data). */
  timeoutAt: number;
  hostBuffer: number[];
}

export class Uart16550 implements TimedDevice {
  readonly name: string;
  readonly base: number;
  private readonly clock: GuestClock;
  private readonly irq: IrqLine;
  private readonly onTransmit: (byte: number) => void;
  private readonly onReschedule: () => void;

  private ier = 0;
  private lcr = 0;
  private mcr = 0;
  private lsrErrors = 0;
  private msr = EXTERNAL_MODEM_INPUTS;
  private scr = 0;
  private divisor = 12;
  private fifoEnabled = false;
  private triggerLevel = 1;
  private readonly rx = new Uint8Array(FIFO_SIZE);
  private rxHead = 0;
  private rxCount = 0;
  private lastRbr = 0;
  private thrInterrupt = false;
  private timeoutPending = false;
  private timeoutAt = Infinity;
  private readonly host = new Uint8Array(UART_HOST_BUFFER_BYTES);
  private hostHead = 0;
  private hostCount = 0;
  private irqLevel = false;

  constructor(bus: MemoryBus, clock: GuestClock, base: number, irq: IrqLine, options: UartOptions = {}) {
    this.name = options.name ?? `uart@${base.toString(16)}`;
    this.base = base;
    this.clock = clock;
    this.irq = irq;
    this.onTransmit = options.onTransmit ?? (() => {});
    this.onReschedule = options.onReschedule ?? (() => {});
    bus.addPorts(base, 8, {
      portRead: (port) => this.readRegister(port - base),
      portWrite: (port, _size, value) => this.writeRegister(port - base, value & 0xff),
    }, this.name, [1]);
  }

  /** Master reset. Host-side input that has not reached the FIFO is kept. */
  reset(): void {
    this.ier = 0;
    this.lcr = 0;
    this.mcr = 0;
    this.lsrErrors = 0;
    this.msr = EXTERNAL_MODEM_INPUTS;
    this.scr = 0;
    this.divisor = 12;
    this.fifoEnabled = false;
    this.triggerLevel = 1;
    this.rxHead = 0;
    this.rxCount = 0;
    this.lastRbr = 0;
    this.thrInterrupt = false;
    this.timeoutPending = false;
    this.timeoutAt = Infinity;
    this.fillFromHost();
    this.update();
  }

  /**
   * Queues host input for the guest. Returns how many bytes were accepted
   * (the rest did not fit in the host-side buffer; offer them again later).
   */
  receive(bytes: Uint8Array): number {
    const n = Math.min(bytes.length, UART_HOST_BUFFER_BYTES - this.hostCount);
    for (let i = 0; i < n; i++) {
      this.host[(this.hostHead + this.hostCount) % UART_HOST_BUFFER_BYTES] = bytes[i];
      this.hostCount++;
    }
    if (n > 0 && this.fillFromHost()) {
      this.update();
      this.onReschedule();
    }
    return n;
  }

  /** Bytes of host input not yet moved into the guest-visible FIFO. */
  get hostPending(): number {
    return this.hostCount;
  }

  advance(nowNs: number): number {
    if (!this.timeoutPending && this.rxCount > 0 && this.fifoEnabled && nowNs >= this.timeoutAt) {
      this.timeoutPending = true;
      this.update();
    }
    return this.timeoutPending || this.rxCount === 0 || !this.fifoEnabled ? Infinity : this.timeoutAt;
  }

  readRegister(offset: number): number {
    const dlab = (this.lcr & 0x80) !== 0;
    switch (offset) {
      case 0:
        return dlab ? this.divisor & 0xff : this.readRbr();
      case 1:
        return dlab ? this.divisor >>> 8 : this.ier;
      case 2:
        return this.readIir();
      case 3:
        return this.lcr;
      case 4:
        return this.mcr;
      case 5:
        return this.readLsr();
      case 6:
        return this.readMsr();
      default:
        return this.scr;
    }
  }

  writeRegister(offset: number, value: number): void {
    const dlab = (this.lcr & 0x80) !== 0;
    const timeoutBefore = this.timeoutAt;
    switch (offset) {
      case 0:
        if (dlab) this.divisor = (this.divisor & 0xff00) | value;
        else this.writeThr(value);
        break;
      case 1:
        if (dlab) {
          this.divisor = (this.divisor & 0xff) | (value << 8);
        } else {
          const was = this.ier;
          this.ier = value & 0x0f;
          // Enabling the THRE interrupt while THR is empty raises it at once
          // (Linux's 8250 driver checks this to detect buggy UARTs).
          if ((this.ier & IER_THRE) !== 0 && (was & IER_THRE) === 0) this.thrInterrupt = true;
        }
        break;
      case 2:
        this.writeFcr(value);
        break;
      case 3:
        this.lcr = value;
        break;
      case 4:
        this.writeMcr(value & 0x1f);
        break;
      case 5:
        break; // LSR is read-only (factory test writes are ignored)
      case 6:
        break; // MSR is read-only
      default:
        this.scr = value;
    }
    this.update();
    // A receiver timeout that now comes sooner (loopback data, FIFO enable, faster divisor) must be scheduled.
    if (this.timeoutAt < timeoutBefore) this.onReschedule();
  }

  saveState(): UartState {
    const rx: number[] = [];
    for (let i = 0; i < this.rxCount; i++) rx.push(this.rx[(this.rxHead + i) % FIFO_SIZE]);
    const hostBuffer: number[] = [];
    for (let i = 0; i < this.hostCount; i++) hostBuffer.push(this.host[(this.hostHead + i) % UART_HOST_BUFFER_BYTES]);
    return {
      ier: this.ier, lcr: this.lcr, mcr: this.mcr, lsrErrors: this.lsrErrors, msr: this.msr, scr: this.scr,
      divisor: this.divisor, fifoEnabled: this.fifoEnabled, triggerLevel: this.triggerLevel, rx,
      lastRbr: this.lastRbr, thrInterrupt: this.thrInterrupt, timeoutPending: this.timeoutPending,
      timeoutAt: Number.isFinite(this.timeoutAt) ? this.timeoutAt : -1, hostBuffer,
    };
  }

  loadState(state: unknown): void {
    const s = state as UartState;
    this.ier = s.ier & 0x0f;
    this.lcr = s.lcr & 0xff;
    this.mcr = s.mcr & 0x1f;
    this.lsrErrors = s.lsrErrors & LSR_ERRORS;
    this.msr = s.msr & 0xff;
    this.scr = s.scr & 0xff;
    this.divisor = s.divisor & 0xffff;
    this.fifoEnabled = s.fifoEnabled;
    this.triggerLevel = s.triggerLevel;
    this.rxHead = 0;
    this.rxCount = Math.min(s.rx.length, FIFO_SIZE);
    for (let i = 0; i < this.rxCount; i++) this.rx[i] = s.rx[i];
    this.lastRbr = s.lastRbr & 0xff;
    this.thrInterrupt = s.thrInterrupt;
    this.timeoutPending = s.timeoutPending;
    this.timeoutAt = s.timeoutAt < 0 ? Infinity : s.timeoutAt;
    this.hostHead = 0;
    this.hostCount = Math.min(s.hostBuffer.length, UART_HOST_BUFFER_BYTES);
    for (let i = 0; i < this.hostCount; i++) this.host[i] = s.hostBuffer[i];
    this.irqLevel = false;
    this.irq(false);
    this.update();
  }

  // ---- registers -----------------------------------------------------------

  private readRbr(): number {
    if (this.rxCount > 0) {
      this.lastRbr = this.rx[this.rxHead];
      this.rxHead = (this.rxHead + 1) % FIFO_SIZE;
      this.rxCount--;
      this.fillFromHost();
      this.timeoutPending = false;
      this.restartTimeout();
      this.update();
    }
    return this.lastRbr;
  }

  private writeThr(value: number): void {
    if ((this.mcr & MCR_LOOP) !== 0) this.pushRx(value);
    else this.onTransmit(value);
    // The write clears the THRE interrupt; the holding register then empties
    // at once (instant transmit), which is a new THRE event.
    this.thrInterrupt = true;
  }

  private readIir(): number {
    this.checkTimeout();
    const id = this.pendingInterrupt();
    // Reading IIR while it reports THRE acknowledges that interrupt.
    if (id === IIR_THRE) this.thrInterrupt = false;
    this.update();
    return id | (this.fifoEnabled ? 0xc0 : 0);
  }

  private readLsr(): number {
    const value = (this.rxCount > 0 ? LSR_DR : 0) | this.lsrErrors | LSR_THRE | LSR_TEMT;
    if (this.lsrErrors !== 0) {
      this.lsrErrors = 0;
      this.update();
    }
    return value;
  }

  private readMsr(): number {
    const value = this.msr;
    if (value & 0x0f) {
      this.msr &= 0xf0;
      this.update();
    }
    return value;
  }

  private writeFcr(value: number): void {
    const enable = (value & 0x01) !== 0;
    if (enable !== this.fifoEnabled) {
      // Changing the FIFO enable clears both FIFOs.
      this.fifoEnabled = enable;
      this.clearRx();
    }
    if (!enable) return;
    if (value & 0x02) this.clearRx();
    // bit 2 clears the TX FIFO, which is always empty here; bit 3 (DMA mode) has no effect.
    this.triggerLevel = TRIGGER_LEVELS[value >>> 6];
    this.restartTimeout();
  }

  private writeMcr(value: number): void {
    const wasLoop = (this.mcr & MCR_LOOP) !== 0;
    this.mcr = value;
    this.setModemInputs();
    if (wasLoop && (value & MCR_LOOP) === 0 && this.fillFromHost()) this.onReschedule();
  }

  // ---- internals -----------------------------------------------------------

  private setModemInputs(): void {
    let inputs = EXTERNAL_MODEM_INPUTS;
    const m = this.mcr;
    if (m & MCR_LOOP) {
      inputs = ((m & 0x02) << 3) | ((m & 0x01) << 5) | ((m & 0x04) << 4) | ((m & 0x08) << 4);
    }
    const old = this.msr & 0xf0;
    const changed = old ^ inputs;
    let delta = this.msr & 0x0f;
    if (changed & 0x10) delta |= 0x01; // DCTS
    if (changed & 0x20) delta |= 0x02; // DDSR
    if (old & 0x40 && (inputs & 0x40) === 0) delta |= 0x04; // TERI: RI trailing edge
    if (changed & 0x80) delta |= 0x08; // DDCD
    this.msr = inputs | delta;
  }

  private clearRx(): void {
    this.rxHead = 0;
    this.rxCount = 0;
    this.timeoutPending = false;
    this.timeoutAt = Infinity;
    this.fillFromHost();
  }

  private capacity(): number {
    return this.fifoEnabled ? FIFO_SIZE : 1;
  }

  /** A character arrives at the receiver (loopback path). */
  private pushRx(byte: number): void {
    if (this.rxCount >= this.capacity()) {
      this.lsrErrors |= LSR_OE;
      // Without FIFOs the new character overwrites RBR; with FIFOs it is lost.
      if (!this.fifoEnabled) this.rx[this.rxHead] = byte;
      return;
    }
    this.rx[(this.rxHead + this.rxCount) % FIFO_SIZE] = byte;
    this.rxCount++;
    this.restartTimeout();
  }

  /** Moves host input into the receiver while there is room. Returns true if anything moved. */
  private fillFromHost(): boolean {
    if (this.mcr & MCR_LOOP) return false; // the serial input is disconnected in loopback
    const cap = this.capacity();
    let moved = false;
    while (this.hostCount > 0 && this.rxCount < cap) {
      this.rx[(this.rxHead + this.rxCount) % FIFO_SIZE] = this.host[this.hostHead];
      this.rxCount++;
      this.hostHead = (this.hostHead + 1) % UART_HOST_BUFFER_BYTES;
      this.hostCount--;
      moved = true;
    }
    if (moved) this.restartTimeout();
    return moved;
  }

  /** Guest ns of one character frame at the current divisor and LCR format. */
  private characterNs(): number {
    const dataBits = 5 + (this.lcr & 3);
    const stopBits = (this.lcr & 4) === 0 ? 1 : dataBits === 5 ? 1.5 : 2;
    const parity = (this.lcr & 8) !== 0 ? 1 : 0;
    const bits = 1 + dataBits + parity + stopBits;
    const divisor = this.divisor === 0 ? 1 : this.divisor;
    return (bits * divisor * 16 * 1e9) / UART_CLOCK_HZ;
  }

  private restartTimeout(): void {
    this.timeoutAt = this.rxCount > 0 && this.fifoEnabled ? this.clock.nowNs() + 4 * this.characterNs() : Infinity;
  }

  private checkTimeout(): void {
    if (!this.timeoutPending && this.rxCount > 0 && this.fifoEnabled && this.clock.nowNs() >= this.timeoutAt) {
      this.timeoutPending = true;
    }
  }

  /** The IIR identification of the highest-priority enabled pending interrupt. */
  private pendingInterrupt(): number {
    const ier = this.ier;
    if ((ier & IER_RLS) !== 0 && this.lsrErrors !== 0) return IIR_RLS;
    if ((ier & IER_RDA) !== 0 && this.rxCount > 0) {
      if (this.rxCount >= (this.fifoEnabled ? this.triggerLevel : 1)) return IIR_RDA;
      if (this.timeoutPending) return IIR_TIMEOUT;
    }
    if ((ier & IER_THRE) !== 0 && this.thrInterrupt) return IIR_THRE;
    if ((ier & IER_MS) !== 0 && (this.msr & 0x0f) !== 0) return IIR_MS;
    return IIR_NONE;
  }

  private update(): void {
    const level = this.pendingInterrupt() !== IIR_NONE && (this.mcr & (MCR_OUT2 | MCR_LOOP)) === MCR_OUT2;
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.irq(level);
    }
  }
}
