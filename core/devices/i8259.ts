/**
 * One Intel 8259A programmable interrupt controller chip (datasheet model).
 * `pic.ts` cascades two of these into the PC's master/slave pair.
 *
 * Registers: IRR (requests), ISR (in service), IMR (mask). Priority is
 * rotating: `lowest` holds the IR level that currently has the lowest
 * priority (7 after initialization), so level (lowest + 1) & 7 is the highest.
 *
 * Trigger mode per input: edge-triggered inputs latch IRR on a low-to-high
 * transition and keep it until acknowledged; level-triggered inputs (ELCR or
 * ICW1.LTIM) make IRR follow the pin and are not cleared by INTA.
 */

/** Plain serializable state of one chip. */
export interface I8259State {
  irr: number;
  isr: number;
  imr: number;
  /** Current level of each IR pin. */
  pins: number;
  /** Per-IR level-trigger bits from the ELCR (the chipset register). */
  elcr: number;
  /** Bits the ELCR lets software change (PIIX: IRQ 0-2 and 8, 13 are always edge). */
  elcrMask: number;
  /** IR level with the lowest priority. */
  lowest: number;
  vectorBase: number;
  /** ICW1.LTIM: all inputs level-triggered. */
  ltim: boolean;
  /** ICW1.IC4: an ICW4 follows. */
  icw4Needed: boolean;
  single: boolean;
  /** 0 = ready (OCWs); 2, 3, 4 = expecting that ICW next. */
  initStep: number;
  icw3: number;
  autoEoi: boolean;
  rotateOnAutoEoi: boolean;
  specialFullyNested: boolean;
  specialMask: boolean;
  /** OCW3 RR/RIS: reads of the command port return ISR instead of IRR. */
  readIsr: boolean;
  /** OCW3 P: the next command-port read is a poll. */
  poll: boolean;
}

export class I8259 {
  readonly s: I8259State;
  /** True for the master (SFNM ignores the cascade input's ISR bit there). */
  private readonly isMaster: boolean;

  constructor(isMaster: boolean, elcrMask: number) {
    this.isMaster = isMaster;
    this.s = {
      irr: 0, isr: 0, imr: 0, pins: 0, elcr: 0, elcrMask, lowest: 7, vectorBase: 0, ltim: false,
      icw4Needed: false, single: false, initStep: 0, icw3: 0, autoEoi: false, rotateOnAutoEoi: false,
      specialFullyNested: false, specialMask: false, readIsr: false, poll: false,
    };
  }

  /** Power-on: the chip is uninitialized and all requests are gone; the ELCR is cleared too. */
  reset(): void {
    const s = this.s;
    s.elcr = 0;
    s.pins = 0;
    this.initialize();
    s.vectorBase = 0;
    s.initStep = 0;
    s.icw3 = 0;
  }

  /** Bits of inputs that are level-triggered. */
  levelMask(): number {
    return this.s.ltim ? 0xff : this.s.elcr;
  }

  /** Drives IR pin `ir` to `level`. */
  setPin(ir: number, level: boolean): void {
    const s = this.s;
    const bit = 1 << ir;
    const was = (s.pins & bit) !== 0;
    if (level) {
      s.pins |= bit;
      if ((this.levelMask() & bit) !== 0 || !was) s.irr |= bit;
    } else {
      s.pins &= ~bit;
      // An edge request stays latched until INTA; a level request follows the pin.
      if ((this.levelMask() & bit) !== 0) s.irr &= ~bit;
    }
  }

  /** Latches a new request on `ir` if its pin is high (a new request cycle after INTA). */
  rearm(ir: number): void {
    if (this.s.pins & (1 << ir)) this.s.irr |= 1 << ir;
  }

  setElcr(value: number): void {
    const s = this.s;
    s.elcr = value & s.elcrMask;
    this.resyncLevelInputs();
  }

  /** The IR the chip would deliver now, or -1 (this is the chip's INT output). */
  pendingIr(): number {
    const s = this.s;
    if (s.specialMask) {
      // Special mask mode: in-service levels no longer block lower ones; only
      // masked levels and levels already in service are excluded.
      return this.highest(s.irr & ~s.imr & ~s.isr);
    }
    const req = this.highest(s.irr & ~s.imr);
    if (req < 0) return -1;
    let inService = s.isr;
    // Special fully nested: the slave may interrupt its own in-service cascade level.
    if (s.specialFullyNested && this.isMaster) inService &= ~(1 << 2);
    const cur = this.highest(inService);
    if (cur >= 0 && this.rank(cur) <= this.rank(req)) return -1;
    return req;
  }

  /** The INTA cycle for `ir` (as returned by pendingIr). */
  acknowledge(ir: number): void {
    const s = this.s;
    const bit = 1 << ir;
    if ((this.levelMask() & bit) === 0) s.irr &= ~bit;
    if (s.autoEoi) {
      if (s.rotateOnAutoEoi) s.lowest = ir;
    } else {
      s.isr |= bit;
    }
  }

  /** Port A0=0 read: poll result, ISR or IRR. */
  readCommand(): number {
    const s = this.s;
    if (s.poll) {
      s.poll = false;
      const ir = this.pendingIr();
      if (ir < 0) return 0;
      this.acknowledge(ir);
      return 0x80 | ir;
    }
    return s.readIsr ? s.isr : s.irr;
  }

  /** Port A0=1 read: IMR (the ICW sequence has no readable state). */
  readData(): number {
    return this.s.imr;
  }

  writeCommand(value: number): void {
    const s = this.s;
    if (value & 0x10) {
      // ICW1 starts initialization whatever state the chip was in.
      this.initialize();
      s.ltim = (value & 0x08) !== 0;
      s.single = (value & 0x02) !== 0;
      s.icw4Needed = (value & 0x01) !== 0;
      s.initStep = 2;
      this.resyncLevelInputs();
      return;
    }
    if (value & 0x08) {
      // OCW3
      if (value & 0x04) s.poll = true;
      if (value & 0x02) s.readIsr = (value & 0x01) !== 0;
      if (value & 0x40) s.specialMask = (value & 0x20) !== 0;
      return;
    }
    this.writeOcw2(value);
  }

  writeData(value: number): void {
    const s = this.s;
    switch (s.initStep) {
      case 2:
        s.vectorBase = value & 0xf8;
        s.initStep = s.single ? (s.icw4Needed ? 4 : 0) : 3;
        return;
      case 3:
        s.icw3 = value;
        s.initStep = s.icw4Needed ? 4 : 0;
        return;
      case 4:
        // Bit 0 (8086 mode) is what a PC always uses; MCS-80 call sequences are not modelled.
        s.autoEoi = (value & 0x02) !== 0;
        s.specialFullyNested = (value & 0x10) !== 0;
        s.initStep = 0;
        return;
      default:
        s.imr = value & 0xff; // OCW1
    }
  }

  private writeOcw2(value: number): void {
    const s = this.s;
    const level = value & 7;
    switch ((value >>> 5) & 7) {
      case 0b001: // non-specific EOI
        this.eoiHighest(false);
        return;
      case 0b011: // specific EOI
        s.isr &= ~(1 << level);
        return;
      case 0b101: // rotate on non-specific EOI
        this.eoiHighest(true);
        return;
      case 0b100:
        s.rotateOnAutoEoi = true;
        return;
      case 0b000:
        s.rotateOnAutoEoi = false;
        return;
      case 0b111: // rotate on specific EOI
        s.isr &= ~(1 << level);
        s.lowest = level;
        return;
      case 0b110: // set priority: `level` becomes the lowest
        s.lowest = level;
        return;
      default: // 0b010: no operation
    }
  }

  private eoiHighest(rotate: boolean): void {
    const s = this.s;
    const ir = this.highest(s.isr);
    if (ir < 0) return;
    s.isr &= ~(1 << ir);
    if (rotate) s.lowest = ir;
  }

  /** ICW1 side effects (datasheet): IMR cleared, IR7 lowest, SMM off, read IRR, ICW4 functions zero. */
  private initialize(): void {
    const s = this.s;
    s.imr = 0;
    s.isr = 0;
    s.lowest = 7;
    s.specialMask = false;
    s.readIsr = false;
    s.poll = false;
    s.autoEoi = false;
    s.rotateOnAutoEoi = false;
    s.specialFullyNested = false;
    s.ltim = false;
    // The edge sense circuit resets: an input already high must go low and
    // high again to request, so only level inputs keep a request.
    s.irr = 0;
  }

  private resyncLevelInputs(): void {
    const s = this.s;
    const level = this.levelMask();
    s.irr = (s.irr & ~level) | (s.pins & level);
  }

  /** 0 = highest priority. */
  private rank(ir: number): number {
    return (ir - this.s.lowest - 1) & 7;
  }

  /** Highest-priority IR set in `bits`, or -1. */
  private highest(bits: number): number {
    if ((bits & 0xff) === 0) return -1;
    for (let i = 1; i <= 8; i++) {
      const ir = (this.s.lowest + i) & 7;
      if (bits & (1 << ir)) return ir;
    }
    return -1;
  }
}
