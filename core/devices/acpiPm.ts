/**
 * ACPI fixed-hardware power management block at I/O 0x600 (ACPI 6, 4.8):
 *
 *   0x600 PM1a_EVT_BLK  PM1_STS (16-bit, write 1 to clear)  TMR_STS bit 0, PWRBTN_STS bit 8, WAK_STS bit 15
 *   0x602               PM1_EN  (16-bit)                     TMR_EN bit 0, PWRBTN_EN bit 8
 *   0x604 PM1a_CNT_BLK  PM1_CNT (16-bit)  SCI_EN bit 0 (always 1: there is no SMI command port,
 *                                          so the machine is in ACPI mode from reset), SLP_TYP 10-12,
 *                                          SLP_EN bit 13 (write-only: SLP_TYP = 5 -> soft off)
 *   0x608 PM_TMR_BLK    PM_TMR  (32-bit read) 24-bit counter at 3.579545 MHz of guest time
 *
 * The SCI (ISA IRQ 9, level) is asserted while any status bit and its enable
 * are both set. TMR_STS is set each time bit 23 of the timer changes.
 * The FADT/DSDT (core/machine/firmware) are built from the constants below.
 *
 * Wiring:
 *   const pm = new AcpiPm(bus, clock, pic.irqLine(ACPI_SCI_IRQ), { onPowerOff: () => machine.stop('poweroff') });
 *   power button: pm.pressPowerButton();   machine loop: next = pm.advance(clock.nowNs());
 */
import type { MemoryBus, AccessSize } from '../memory/bus.ts';
import type { GuestClock } from '../cpu/clock.ts';
import type { IrqLine, TimedDevice } from './device.ts';

export const ACPI_PM_BASE = 0x600;
export const ACPI_PM1A_EVT_BLK = ACPI_PM_BASE;
export const ACPI_PM1_EVT_LEN = 4;
export const ACPI_PM1A_CNT_BLK = ACPI_PM_BASE + 4;
export const ACPI_PM1_CNT_LEN = 2;
export const ACPI_PM_TMR_BLK = ACPI_PM_BASE + 8;
export const ACPI_PM_TMR_LEN = 4;
/** SLP_TYP value meaning S5 (soft off); the DSDT's \_S5 package carries it. */
export const ACPI_S5_SLP_TYP = 5;
/** ISA IRQ of the SCI (level-triggered, active high at the PIC after the ELCR is set). */
export const ACPI_SCI_IRQ = 9;
export const ACPI_PM_TIMER_HZ = 3_579_545;

export const PM1_TMR_STS = 0x0001;
export const PM1_GBL_STS = 0x0020;
export const PM1_PWRBTN_STS = 0x0100;
export const PM1_RTC_STS = 0x0400;
export const PM1_WAK_STS = 0x8000;
export const PM1_CNT_SCI_EN = 0x0001;
export const PM1_CNT_SLP_EN = 0x2000;

/** Status bits this block implements (the rest read 0). */
const STS_BITS = PM1_TMR_STS | PM1_GBL_STS | PM1_PWRBTN_STS | PM1_RTC_STS | PM1_WAK_STS;
const EN_BITS = PM1_TMR_STS | PM1_GBL_STS | PM1_PWRBTN_STS | PM1_RTC_STS;
/** PM1_CNT bits that are stored: BM_RLD (1) and SLP_TYP (10-12). */
const CNT_STORED = 0x0002 | 0x1c00;
const TIMER_MSB_PERIOD = 1 << 23;
const NS_PER_TIMER_TICK = 1e9 / ACPI_PM_TIMER_HZ;

export interface AcpiPmOptions {
  /** SLP_EN written with SLP_TYP = S5. */
  onPowerOff?: () => void;
  /** SLP_EN written with another SLP_TYP (sleep states are not implemented). */
  onSleepRequest?: (slpTyp: number) => void;
  /** Called when guest I/O changed the next timer event: call advance() again soon. */
  onReschedule?: () => void;
}

export interface AcpiPmState {
  sts: number;
  en: number;
  cnt: number;
  /** Timer MSB periods already accounted for in TMR_STS. */
  lastTimerHalf: number;
}

export class AcpiPm implements TimedDevice {
  readonly name = 'acpi-pm';
  private readonly clock: GuestClock;
  private readonly sci: IrqLine;
  private readonly onPowerOff: () => void;
  private readonly onSleepRequest: (slpTyp: number) => void;
  private readonly onReschedule: () => void;
  private sts = 0;
  private en = 0;
  private cnt = PM1_CNT_SCI_EN;
  private lastTimerHalf = 0;
  private sciLevel = false;
  /** SLP_EN was written in the current access; acted on once the whole access is applied. */
  private pendingSleep = false;

  constructor(bus: MemoryBus, clock: GuestClock, sci: IrqLine, options: AcpiPmOptions = {}) {
    this.clock = clock;
    this.sci = sci;
    this.onPowerOff = options.onPowerOff ?? (() => {});
    this.onSleepRequest = options.onSleepRequest ?? (() => {});
    this.onReschedule = options.onReschedule ?? (() => {});
    this.lastTimerHalf = this.timerHalf(clock.nowNs());
    bus.addPorts(ACPI_PM_BASE, 12, {
      portRead: (port, size) => this.portRead(port - ACPI_PM_BASE, size),
      portWrite: (port, size, value) => this.portWrite(port - ACPI_PM_BASE, size, value),
    }, 'acpi-pm');
  }

  reset(): void {
    this.sts = 0;
    this.en = 0;
    this.cnt = PM1_CNT_SCI_EN;
    this.lastTimerHalf = this.timerHalf(this.clock.nowNs());
    this.updateSci();
  }

  /** The power button was pressed (a request the guest's OSPM may honour). */
  pressPowerButton(): void {
    this.sts |= PM1_PWRBTN_STS;
    this.updateSci();
  }

  /** PM_TMR value now (24 bits). */
  timerValue(): number {
    return this.timerTicks(this.clock.nowNs()) & 0xff_ffff;
  }

  advance(nowNs: number): number {
    this.checkTimer(nowNs);
    this.updateSci();
    if ((this.en & PM1_TMR_STS) === 0 || (this.sts & PM1_TMR_STS) !== 0) return Infinity;
    // The next change of timer bit 23, rounded up to a whole ns past it.
    return Math.ceil((this.lastTimerHalf + 1) * TIMER_MSB_PERIOD * NS_PER_TIMER_TICK) + 1;
  }

  portRead(offset: number, size: AccessSize): number {
    let value = 0;
    if (offset >= 8) {
      const tmr = this.timerValue(); // one sample for the whole access
      for (let i = 0; i < size; i++) {
        const at = offset + i - 8;
        if (at < 4) value |= ((tmr >>> (8 * at)) & 0xff) << (8 * i);
      }
      return value >>> 0;
    }
    this.checkTimer(this.clock.nowNs());
    for (let i = 0; i < size; i++) value |= this.readByte(offset + i) << (8 * i);
    return value >>> 0;
  }

  portWrite(offset: number, size: AccessSize, value: number): void {
    this.checkTimer(this.clock.nowNs());
    let cntWritten = false;
    for (let i = 0; i < size; i++) {
      const at = offset + i;
      const byte = (value >>> (8 * i)) & 0xff;
      const shift = (at & 1) * 8;
      switch (at) {
        case 0:
        case 1:
          this.sts &= ~((byte << shift) & STS_BITS);
          break;
        case 2:
        case 3:
          this.en = (this.en & ~(0xff << shift)) | ((byte << shift) & EN_BITS);
          break;
        case 4:
        case 5:
          this.writeCnt(shift, byte);
          cntWritten = true;
          break;
        default: // 0x606-0x607 unused, the timer is read-only
      }
    }
    this.updateSci();
    this.onReschedule();
    if (cntWritten) this.checkSleep();
  }

  saveState(): AcpiPmState {
    return { sts: this.sts, en: this.en, cnt: this.cnt, lastTimerHalf: this.lastTimerHalf };
  }

  loadState(state: unknown): void {
    const s = state as AcpiPmState;
    this.sts = s.sts & STS_BITS;
    this.en = s.en & EN_BITS;
    this.cnt = (s.cnt & CNT_STORED) | PM1_CNT_SCI_EN;
    this.lastTimerHalf = s.lastTimerHalf;
    this.sciLevel = false;
    this.sci(false);
    this.updateSci();
  }

  // ---- internals -------------------------------------------------------------

  private writeCnt(shift: number, byte: number): void {
    const v = byte << shift;
    const keep = this.cnt & ~(0xff << shift);
    this.cnt = ((keep | v) & CNT_STORED) | PM1_CNT_SCI_EN;
    if ((v & PM1_CNT_SLP_EN) !== 0) this.pendingSleep = true;
  }

  private checkSleep(): void {
    if (!this.pendingSleep) return;
    this.pendingSleep = false;
    const slpTyp = (this.cnt >>> 10) & 7;
    if (slpTyp === ACPI_S5_SLP_TYP) this.onPowerOff();
    else this.onSleepRequest(slpTyp);
  }

  private readByte(at: number): number {
    switch (at) {
      case 0: return this.sts & 0xff;
      case 1: return (this.sts >>> 8) & 0xff;
      case 2: return this.en & 0xff;
      case 3: return (this.en >>> 8) & 0xff;
      case 4: return this.cnt & 0xff;
      case 5: return (this.cnt >>> 8) & 0xff;
      default: return 0;
    }
  }

  private timerTicks(nowNs: number): number {
    return Math.floor(nowNs / NS_PER_TIMER_TICK);
  }

  /** How many times timer bit 23 has changed since guest time 0. */
  private timerHalf(nowNs: number): number {
    return Math.floor(this.timerTicks(nowNs) / TIMER_MSB_PERIOD);
  }

  private checkTimer(nowNs: number): void {
    const half = this.timerHalf(nowNs);
    if (half > this.lastTimerHalf) {
      this.sts |= PM1_TMR_STS;
      this.lastTimerHalf = half;
    }
  }

  private updateSci(): void {
    const level = (this.sts & this.en & EN_BITS) !== 0;
    if (level !== this.sciLevel) {
      this.sciLevel = level;
      this.sci(level);
    }
  }
}
