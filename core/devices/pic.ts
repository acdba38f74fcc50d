/**
 * The PC's dual 8259A interrupt controller: master at 0x20/0x21, slave at
 * 0xA0/0xA1 cascaded on master IR2, plus the PIIX edge/level control
 * registers (ELCR) at 0x4D0 (IRQ 0-7) and 0x4D1 (IRQ 8-15).
 *
 * Wiring:
 *   const pic = new Pic(bus, { onIntr: (level) => cpu.setIntr(level) });
 *   const irq4 = pic.irqLine(4);           // hand to the UART etc.
 *   cpu: if (pic.hasInterrupt()) vector = pic.acknowledge();
 *
 * Spurious interrupts: if the request that raised INTR is gone by the INTA
 * cycle, the chip answers with its IR7 vector without setting ISR (IRQ 7 on
 * the master, IRQ 15 on the slave, the master's ISR2 then being set), which is
 * what Linux's spurious-IRQ handling expects. The master's IR2 sees the
 * slave's INT output with the master's own trigger mode (edge on a PC), so a
 * slave request withdrawn after INTR rose gives a spurious IRQ 15.
 */
import type { MemoryBus } from '../memory/bus.ts';
import type { Device, IrqLine } from './device.ts';
import { I8259, type I8259State } from './i8259.ts';

export interface PicOptions {
  /** Called when the INTR output to the CPU changes level (e.g. to wake a halted CPU). */
  onIntr?: (level: boolean) => void;
  /** Sees every ISA IRQ line change (0-15), e.g. for the I/O APIC's pins, which the same lines reach. */
  onIrq?: (irq: number, level: boolean) => void;
  /** The processor took ISA IRQ `irq`'s request (its INTA cycle), e.g. for the PIT's waiting ticks. */
  onTaken?: (irq: number) => void;
}

export interface PicState {
  master: I8259State;
  slave: I8259State;
}

const CASCADE_IR = 2;

export class Pic implements Device {
  readonly name = 'pic';
  readonly master = new I8259(true, 0xf8);
  readonly slave = new I8259(false, 0xde);
  private intr = false;
  private readonly onIntr: (level: boolean) => void;
  private readonly onIrq: ((irq: number, level: boolean) => void) | undefined;
  private readonly onTaken: ((irq: number) => void) | undefined;
  private readonly lines: IrqLine[] = [];

  constructor(bus: MemoryBus, options: PicOptions = {}) {
    this.onIntr = options.onIntr ?? (() => {});
    this.onIrq = options.onIrq;
    this.onTaken = options.onTaken;
    for (let irq = 0; irq < 16; irq++) this.lines.push((level) => this.setIrq(irq, level));
    const handler = {
      portRead: (port: number) => this.portRead(port),
      portWrite: (port: number, _size: number, value: number) => this.portWrite(port, value),
    };
    bus.addPorts(0x20, 2, handler, 'pic-master', [1]);
    bus.addPorts(0xa0, 2, handler, 'pic-slave', [1]);
    bus.addPorts(0x4d0, 2, handler, 'pic-elcr', [1]);
  }

  reset(): void {
    this.master.reset();
    this.slave.reset();
    this.update();
  }

  /** The INTR line. */
  hasInterrupt(): boolean {
    return this.intr;
  }

  /** Drives ISA IRQ `irq` (0-15); other numbers are ignored. */
  setIrq(irq: number, level: boolean): void {
    if (irq < 0 || irq > 15 || irq === CASCADE_IR) return;
    this.onIrq?.(irq, level);
    if (irq < 8) this.master.setPin(irq, level);
    else this.slave.setPin(irq - 8, level);
    this.update();
  }

  /** A stable callback for IRQ `irq` (0-15). */
  irqLine(irq: number): IrqLine {
    if (irq < 0 || irq > 15) throw new RangeError(`no ISA IRQ ${irq}`);
    return this.lines[irq];
  }

  /** The INTA cycle: returns the vector and updates IRR/ISR; handles cascade and spurious requests. */
  acknowledge(): number {
    const m = this.master;
    const ir = m.pendingIr();
    let vector: number;
    let taken = -1;
    if (ir < 0) {
      vector = m.s.vectorBase + 7;
    } else {
      m.acknowledge(ir);
      if (ir === CASCADE_IR && !m.s.single) {
        const sir = this.slave.pendingIr();
        if (sir < 0) {
          vector = this.slave.s.vectorBase + 7;
        } else {
          this.slave.acknowledge(sir);
          vector = this.slave.s.vectorBase + sir;
          taken = 8 + sir;
        }
        // The slave's INT stays high if it has another deliverable request
        // (e.g. in auto-EOI mode): that is a new request cycle on master IR2.
        this.master.setPin(CASCADE_IR, this.slave.pendingIr() >= 0);
        this.master.rearm(CASCADE_IR);
      } else {
        vector = m.s.vectorBase + ir;
        taken = ir;
      }
    }
    this.update();
    if (taken >= 0) this.onTaken?.(taken);
    return vector & 0xff;
  }

  portRead(port: number): number {
    switch (port) {
      case 0x20: return this.afterRead(this.master.readCommand());
      case 0x21: return this.master.readData();
      case 0xa0: return this.afterRead(this.slave.readCommand());
      case 0xa1: return this.slave.readData();
      case 0x4d0: return this.master.s.elcr;
      case 0x4d1: return this.slave.s.elcr;
      default: return 0xff;
    }
  }

  portWrite(port: number, value: number): void {
    value &= 0xff;
    switch (port) {
      case 0x20: this.master.writeCommand(value); break;
      case 0x21: this.master.writeData(value); break;
      case 0xa0: this.slave.writeCommand(value); break;
      case 0xa1: this.slave.writeData(value); break;
      case 0x4d0: this.master.setElcr(value); break;
      case 0x4d1: this.slave.setElcr(value); break;
      default: return;
    }
    this.update();
  }

  saveState(): PicState {
    return { master: { ...this.master.s }, slave: { ...this.slave.s } };
  }

  loadState(state: unknown): void {
    const st = state as PicState;
    Object.assign(this.master.s, st.master);
    Object.assign(this.slave.s, st.slave);
    this.update();
  }

  /** A poll read may have acknowledged a request. */
  private afterRead(value: number): number {
    this.update();
    return value;
  }

  /** Propagates the slave's INT output into master IR2 and the master's into INTR. */
  private update(): void {
    this.master.setPin(CASCADE_IR, this.slave.pendingIr() >= 0);
    const intr = this.master.pendingIr() >= 0;
    if (intr !== this.intr) {
      this.intr = intr;
      this.onIntr(intr);
    }
  }
}
