/**
 * The 8042 keyboard controller at 0x60 (data) / 0x64 (status and command),
 * with a PS/2 keyboard on the first port (IRQ 1) and a PS/2 mouse on the
 * auxiliary port (IRQ 12).
 *
 * Wiring:
 *   const a20 = new A20Gate(bus);                 // shared with Port92
 *   const kbc = new I8042(bus, pic.irqLine(1), pic.irqLine(12), {
 *     a20, onReset: (cause) => machine.requestReset(cause),
 *   });
 *   host input: kbc.typeKeys(scancodes); kbc.mouseMove(dx, dy, buttons);
 *
 * Model: one output buffer byte (status OBF, AUXDATA tells whose it is).
 * Controller replies are queued ahead of the devices' own buffers; when the
 * guest reads 0x60 the next byte moves in at once. A device's port must be
 * enabled (command byte bits 4/5) for its bytes to move in. The IRQ outputs
 * follow OBF: IRQ 1 while a keyboard/controller byte waits and command byte
 * bit 0 is set, IRQ 12 likewise for auxiliary bytes with bit 1; a new byte
 * after a read makes a fresh rising edge. Commands and data complete
 * instantly (IBF always reads 0).
 *
 * Translation (command byte bit 6): host scancodes passed to typeKeys()
 * must already be in the set the guest sees (set 1 with translation on);
 * the only keyboard reply translated is the identify response (AB 83 -> AB 41).
 */
import type { MemoryBus } from '../memory/bus.ts';
import type { Device, IrqLine } from './device.ts';
import { A20Gate } from './a20Gate.ts';
import { Ps2Keyboard, type Ps2KeyboardState } from './ps2Keyboard.ts';
import { Ps2Mouse, type Ps2MouseState } from './ps2Mouse.ts';

// status register
const STS_OBF = 0x01;
const STS_SYS = 0x04;
const STS_CMD = 0x08; // last write went to 0x64
const STS_UNLOCKED = 0x10;
const STS_AUXDATA = 0x20;
// command byte (controller RAM byte 0)
const CTR_KBDINT = 0x01;
const CTR_AUXINT = 0x02;
const CTR_SYS = 0x04;
const CTR_KBDDIS = 0x10;
const CTR_AUXDIS = 0x20;
const CTR_XLATE = 0x40;
// output port
const OUT_RESET = 0x01; // low = CPU reset asserted
const OUT_A20 = 0x02;
const OUT_KBD_OBF = 0x10;
const OUT_AUX_OBF = 0x20;

/** Command byte a BIOS leaves behind: both interrupts, system flag, translation. */
const POWER_ON_CTR = CTR_KBDINT | CTR_AUXINT | CTR_SYS | CTR_XLATE;

export interface I8042Options {
  /** Shared A20 combiner (with port 0x92); one on `bus` alone is made if omitted. */
  a20?: A20Gate;
  /** CPU reset through the output port (0xFE pulse or 0xD1 with bit 0 clear). */
  onReset?: (cause: string) => void;
}

export interface I8042State {
  ram: number[];
  status: number;
  outByte: number;
  outAux: boolean;
  /** Controller replies waiting for the output buffer: pairs of [byte, aux ? 1 : 0]. */
  controllerQueue: number[];
  /** Command waiting for its data byte on 0x60 (0 = none). */
  pendingCommand: number;
  outputPort: number;
  keyboard: Ps2KeyboardState;
  mouse: Ps2MouseState;
}

export class I8042 implements Device {
  readonly name = 'i8042';
  readonly keyboard = new Ps2Keyboard();
  readonly mouse = new Ps2Mouse();
  private readonly irq1: IrqLine;
  private readonly irq12: IrqLine;
  private readonly a20: A20Gate;
  private readonly onReset: (cause: string) => void;
  private ram = new Uint8Array(32);
  private status = STS_UNLOCKED;
  private outByte = 0;
  private outAux = false;
  private controllerQueue: number[] = [];
  private pendingCommand = 0;
  private outputPort = OUT_RESET | OUT_A20;
  private irq1Level = false;
  private irq12Level = false;

  constructor(bus: MemoryBus, irq1: IrqLine, irq12: IrqLine, options: I8042Options = {}) {
    this.irq1 = irq1;
    this.irq12 = irq12;
    this.a20 = options.a20 ?? new A20Gate(bus);
    this.onReset = options.onReset ?? (() => {});
    this.ram[0] = POWER_ON_CTR;
    this.status = STS_UNLOCKED | STS_SYS;
    this.outputPort = OUT_RESET | (this.a20.get('kbc') ? OUT_A20 : 0);
    const handler = {
      portRead: (port: number) => (port === 0x60 ? this.readData() : this.readStatus()),
      portWrite: (port: number, _size: number, value: number) =>
        port === 0x60 ? this.writeData(value & 0xff) : this.writeCommand(value & 0xff),
    };
    bus.addPorts(0x60, 1, handler, 'i8042-data', [1]);
    bus.addPorts(0x64, 1, handler, 'i8042-command', [1]);
  }

  reset(): void {
    this.ram.fill(0);
    this.ram[0] = POWER_ON_CTR;
    this.status = STS_UNLOCKED | STS_SYS;
    this.controllerQueue = [];
    this.pendingCommand = 0;
    this.outputPort = OUT_RESET | OUT_A20;
    this.a20.set('kbc', true);
    this.keyboard.reset();
    this.mouse.reset();
    this.refill();
  }

  /** True while the controller translates the keyboard's bytes to set 1 (command byte bit 6): host keys must then be set 1. */
  get translating(): boolean {
    return (this.ram[0] & CTR_XLATE) !== 0;
  }

  /** Host keystrokes (see class doc for the scancode set). Returns how many bytes were accepted. */
  typeKeys(bytes: Uint8Array): number {
    const n = this.keyboard.type(bytes);
    this.refill();
    return n;
  }

  mouseMove(dx: number, dy: number, buttons: number): void {
    this.mouse.move(dx, dy, buttons);
    this.refill();
  }

  readStatus(): number {
    return this.status;
  }

  readData(): number {
    const value = this.outByte;
    if (this.status & STS_OBF) {
      this.status &= ~(STS_OBF | STS_AUXDATA);
      this.updateIrqs();
      this.refill();
    }
    return value;
  }

  writeCommand(cmd: number): void {
    this.status |= STS_CMD;
    this.pendingCommand = 0;
    const ctr = this.ram[0];
    if (cmd >= 0x20 && cmd <= 0x3f) {
      this.reply(this.ram[cmd & 0x1f]);
      return;
    }
    if ((cmd >= 0x60 && cmd <= 0x7f) || cmd === 0xd1 || cmd === 0xd2 || cmd === 0xd3 || cmd === 0xd4) {
      this.pendingCommand = cmd;
      return;
    }
    if (cmd >= 0xf0) {
      // Pulse the output port lines whose bit is 0 in the low nibble; line 0 is CPU reset.
      if ((cmd & 0x01) === 0) this.onReset('i8042');
      return;
    }
    switch (cmd) {
      case 0xa1: this.reply(0x00); return; // controller firmware version
      case 0xa4: this.reply(0xf1); return; // no password installed
      case 0xa7: this.setCtr(ctr | CTR_AUXDIS); return;
      case 0xa8: this.setCtr(ctr & ~CTR_AUXDIS); return;
      case 0xa9: this.reply(0x00); return; // auxiliary interface test: no error
      case 0xaa: // controller self-test
        this.status |= STS_SYS;
        this.reply(0x55);
        return;
      case 0xab: this.reply(0x00); return; // keyboard interface test: no error
      case 0xad: this.setCtr(ctr | CTR_KBDDIS); return;
      case 0xae: this.setCtr(ctr & ~CTR_KBDDIS); return;
      case 0xc0: this.reply(0x80); return; // input port: keyboard not inhibited
      case 0xd0: this.reply(this.readOutputPort()); return;
      case 0xdd: this.setA20(false); return;
      case 0xdf: this.setA20(true); return;
      case 0xe0: this.reply(0x00); return; // test inputs
      default: // unknown commands are ignored
    }
  }

  writeData(value: number): void {
    this.status &= ~STS_CMD;
    const cmd = this.pendingCommand;
    this.pendingCommand = 0;
    if (cmd >= 0x60 && cmd <= 0x7f) {
      if (cmd === 0x60) this.setCtr(value);
      else this.ram[cmd & 0x1f] = value;
      return;
    }
    switch (cmd) {
      case 0xd1:
        this.writeOutputPort(value);
        return;
      case 0xd2:
        this.reply(value, false);
        return;
      case 0xd3:
        this.reply(value, true);
        return;
      case 0xd4:
        this.mouse.write(value);
        this.refill();
        return;
      default:
        this.keyboard.write(value);
        if (value === 0xf2 && (this.ram[0] & CTR_XLATE) !== 0) this.translateIdentify();
        this.refill();
    }
  }

  saveState(): I8042State {
    return {
      ram: Array.from(this.ram), status: this.status, outByte: this.outByte, outAux: this.outAux,
      controllerQueue: [...this.controllerQueue], pendingCommand: this.pendingCommand, outputPort: this.outputPort,
      keyboard: structuredClone(this.keyboard.s), mouse: structuredClone(this.mouse.s),
    };
  }

  loadState(state: unknown): void {
    const s = state as I8042State;
    for (let i = 0; i < 32; i++) this.ram[i] = s.ram[i] & 0xff;
    this.status = s.status & 0xff;
    this.outByte = s.outByte & 0xff;
    this.outAux = s.outAux;
    this.controllerQueue = s.controllerQueue.slice(0, 64);
    this.pendingCommand = s.pendingCommand;
    this.outputPort = s.outputPort & 0xff;
    this.keyboard.s = structuredClone(s.keyboard);
    this.mouse.s = structuredClone(s.mouse);
    this.a20.set('kbc', (this.outputPort & OUT_A20) !== 0);
    this.irq1Level = false;
    this.irq12Level = false;
    this.irq1(false);
    this.irq12(false);
    this.updateIrqs();
  }

  // ---- internals -------------------------------------------------------------

  private setCtr(value: number): void {
    this.ram[0] = value;
    if (value & CTR_SYS) this.status |= STS_SYS;
    else this.status &= ~STS_SYS;
    this.updateIrqs();
    this.refill();
  }

  private readOutputPort(): number {
    let v = this.outputPort & ~(OUT_KBD_OBF | OUT_AUX_OBF | OUT_A20);
    if (this.a20.get('kbc')) v |= OUT_A20;
    if (this.status & STS_OBF) v |= this.outAux ? OUT_AUX_OBF : OUT_KBD_OBF;
    return v;
  }

  private writeOutputPort(value: number): void {
    this.outputPort = value | OUT_RESET;
    this.setA20((value & OUT_A20) !== 0);
    if ((value & OUT_RESET) === 0) this.onReset('i8042');
  }

  private setA20(enabled: boolean): void {
    if (enabled) this.outputPort |= OUT_A20;
    else this.outputPort &= ~OUT_A20;
    this.a20.set('kbc', enabled);
  }

  /** The keyboard's identify reply through the translator: 0x83 becomes 0x41. */
  private translateIdentify(): void {
    const out = this.keyboard.s.output;
    if (out.length === 3 && out[2] === 0x83) out[2] = 0x41;
  }

  /** Queues a controller reply (ahead of device data). */
  private reply(byte: number, aux = false): void {
    this.controllerQueue.push(byte & 0xff, aux ? 1 : 0);
    this.refill();
  }

  /** Moves the next waiting byte into a free output buffer. */
  private refill(): void {
    if ((this.status & STS_OBF) === 0) {
      const ctr = this.ram[0];
      if (this.controllerQueue.length > 0) {
        const byte = this.controllerQueue.shift()!;
        const aux = this.controllerQueue.shift() === 1;
        this.load(byte, aux);
      } else if ((ctr & CTR_KBDDIS) === 0 && this.keyboard.hasOutput()) {
        this.load(this.keyboard.take(), false);
      } else if ((ctr & CTR_AUXDIS) === 0 && this.mouse.hasOutput()) {
        this.load(this.mouse.take(), true);
      }
    }
    this.updateIrqs();
  }

  private load(byte: number, aux: boolean): void {
    this.outByte = byte;
    this.outAux = aux;
    this.status |= STS_OBF;
    if (aux) this.status |= STS_AUXDATA;
    else this.status &= ~STS_AUXDATA;
  }

  private updateIrqs(): void {
    const full = (this.status & STS_OBF) !== 0;
    const ctr = this.ram[0];
    const l1 = full && !this.outAux && (ctr & CTR_KBDINT) !== 0;
    const l12 = full && this.outAux && (ctr & CTR_AUXINT) !== 0;
    if (l1 !== this.irq1Level) {
      this.irq1Level = l1;
      this.irq1(l1);
    }
    if (l12 !== this.irq12Level) {
      this.irq12Level = l12;
      this.irq12(l12);
    }
  }
}
