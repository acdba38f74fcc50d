/**
 * Motorola MC146818 real-time clock and 128-byte CMOS RAM at ports 0x70/0x71.
 *
 * Wiring:
 *   const rtc = new Rtc(bus, clock, pic.irqLine(8), { ramBytes, epochMs, onReschedule });
 *   machine loop: next = rtc.advance(clock.nowNs());
 *   rtc.nmiDisabled  // bit 7 of the last write to 0x70 (the board gates NMIs with it)
 *
 * Timekeeping: the clock is "seconds since 1970" of the time it shows (the PC
 * keeps UTC there), derived from guest time: `anchorNs` is a guest instant at
 * which the divider chain started a second, and `baseSeconds` the time shown
 * during that second. Registers 0-9 and the century byte (0x32) are computed
 * on read in the current format (BCD or binary, 12 or 24 hour) while the clock
 * runs; while it is stopped (register B SET, or the divider not in normal
 * operation) they are plain RAM the guest may write, and the clock restarts
 * from their contents. Writing a time register while running re-bases the clock
 * without disturbing the sub-second phase.
 *
 * Update cycle: the time advances at each second boundary B; UIP (register A
 * bit 7) reads 1 from 244 us before the 1984 us update cycle until B, after
 * which the new time, UF and (if the alarm matches) AF are visible. The day of
 * week register is derived from the date (a written value is not kept).
 * Periodic interrupt ticks are aligned to the divider chain (second boundaries).
 * After the divider leaves reset (DV 11x -> 010) the first update comes 500 ms later.
 */
import type { MemoryBus } from '../memory/bus.ts';
import type { GuestClock } from '../cpu/clock.ts';
import type { IrqLine, TimedDevice } from './device.ts';
import { CMOS_CENTURY, writeStandardCmos, type CmosBootDevice } from './cmosLayout.ts';

const NS_PER_S = 1_000_000_000;
const UPDATE_CYCLE_NS = 1_984_000;
const UIP_LEAD_NS = 244_000;
const UIP_WINDOW_NS = UPDATE_CYCLE_NS + UIP_LEAD_NS;

const REG_A = 0x0a;
const REG_B = 0x0b;
const REG_C = 0x0c;
const REG_D = 0x0d;

const B_SET = 0x80;
const B_PIE = 0x40;
const B_AIE = 0x20;
const B_UIE = 0x10;
const B_DM_BINARY = 0x04;
const B_24H = 0x02;

const C_IRQF = 0x80;
const C_PF = 0x40;
const C_AF = 0x20;
const C_UF = 0x10;

/** Divider bits of register A for the normal 32.768 kHz time base. */
const DV_NORMAL = 0x20;

export interface RtcOptions {
  /** Wall-clock time (ms since 1970, UTC) at guest time 0. Default: the host's clock now. */
  epochMs?: number;
  /** RAM size for the CMOS memory-size bytes (0x15-0x18, 0x30/0x31, 0x34/0x35) and checksum. */
  ramBytes?: number;
  /** Boot order for the CMOS boot-order bytes (0x3D, 0x38); default hard disk, then CD-ROM. */
  bootOrder?: readonly CmosBootDevice[];
  /** Called when guest I/O changed the next RTC event: call advance() again soon. */
  onReschedule?: () => void;
}

export interface RtcState {
  cmos: number[];
  index: number;
  baseSeconds: number;
  anchorNs: number;
  running: boolean;
  flags: number;
  lastCheckNs: number;
}

export class Rtc implements TimedDevice {
  readonly name = 'rtc';
  private readonly clock: GuestClock;
  private readonly irq: IrqLine;
  private readonly onReschedule: () => void;
  private readonly cmos = new Uint8Array(128);
  /** Last value written to port 0x70 (bit 7 = NMI disable). */
  private index = 0;
  private baseSeconds = 0;
  private anchorNs = 0;
  private running = true;
  /** Register C flag bits (PF, AF, UF); IRQF is derived. */
  private flags = 0;
  private lastCheckNs = 0;
  private irqLevel = false;

  constructor(bus: MemoryBus, clock: GuestClock, irq: IrqLine, options: RtcOptions = {}) {
    this.clock = clock;
    this.irq = irq;
    this.onReschedule = options.onReschedule ?? (() => {});
    const epochMs = options.epochMs ?? Date.now();
    if (options.ramBytes !== undefined) writeStandardCmos(this.cmos, options.ramBytes, options.bootOrder);
    this.cmos[REG_A] = DV_NORMAL | 0x06; // 1024 Hz periodic rate selected
    this.cmos[REG_B] = B_24H;
    this.cmos[REG_D] = 0x80; // valid RAM and time
    const now = clock.nowNs();
    this.baseSeconds = Math.floor(epochMs / 1000);
    this.anchorNs = now - (epochMs - this.baseSeconds * 1000) * 1e6;
    this.lastCheckNs = now;
    bus.addPorts(0x70, 2, {
      portRead: (port) => (port === 0x70 ? this.index : this.readData()),
      portWrite: (port, _size, value) => (port === 0x70 ? (this.index = value & 0xff) : this.writeData(value & 0xff)),
    }, 'rtc', [1]);
  }

  /** NMI masked by bit 7 of the last index write. */
  get nmiDisabled(): boolean {
    return (this.index & 0x80) !== 0;
  }

  /** The RESET pin: interrupt enables and flags cleared; time and RAM untouched. */
  reset(): void {
    this.checkEvents(this.clock.nowNs());
    this.cmos[REG_B] &= ~(B_PIE | B_AIE | B_UIE | 0x08);
    this.flags = 0;
    this.updateIrq();
  }

  /** Seconds since 1970 the clock shows now. */
  timeSeconds(): number {
    const now = this.clock.nowNs();
    return this.running ? this.baseSeconds + this.secondIndex(now) : this.parseRegisters();
  }

  advance(nowNs: number): number {
    this.checkEvents(nowNs);
    this.updateIrq();
    return this.nextEvent(nowNs);
  }

  readData(): number {
    const reg = this.index & 0x7f;
    const now = this.clock.nowNs();
    this.checkEvents(now);
    switch (reg) {
      case REG_A:
        return (this.cmos[REG_A] & 0x7f) | (this.inUpdateWindow(now) ? 0x80 : 0);
      case REG_C: {
        const value = this.flags | (this.irqFlag() ? C_IRQF : 0);
        this.flags = 0;
        this.updateIrq();
        if (value !== 0) this.onReschedule();
        return value;
      }
      case REG_D:
        return 0x80;
      default:
        if (this.running && isTimeRegister(reg)) return this.timeRegister(reg, this.baseSeconds + this.secondIndex(now));
        return this.cmos[reg];
    }
  }

  writeData(value: number): void {
    const reg = this.index & 0x7f;
    const now = this.clock.nowNs();
    this.checkEvents(now);
    switch (reg) {
      case REG_A:
        this.writeRegisterA(value, now);
        break;
      case REG_B:
        this.writeRegisterB(value, now);
        break;
      case REG_C:
      case REG_D:
        return; // read-only
      default:
        if (this.running && isTimeRegister(reg)) {
          this.stop(now);
          this.cmos[reg] = value;
          this.start(now);
        } else {
          this.cmos[reg] = value;
        }
    }
    this.updateIrq();
    this.onReschedule();
  }

  saveState(): RtcState {
    return {
      cmos: Array.from(this.cmos), index: this.index, baseSeconds: this.baseSeconds, anchorNs: this.anchorNs,
      running: this.running, flags: this.flags, lastCheckNs: this.lastCheckNs,
    };
  }

  loadState(state: unknown): void {
    const s = state as RtcState;
    for (let i = 0; i < 128; i++) this.cmos[i] = s.cmos[i] & 0xff;
    this.index = s.index & 0xff;
    this.baseSeconds = s.baseSeconds;
    this.anchorNs = s.anchorNs;
    this.running = s.running;
    this.flags = s.flags & (C_PF | C_AF | C_UF);
    this.lastCheckNs = s.lastCheckNs;
    this.irqLevel = false;
    this.irq(false);
    this.updateIrq();
  }

  // ---- control registers -------------------------------------------------

  private writeRegisterA(value: number, now: number): void {
    const wasNormal = (this.cmos[REG_A] & 0x70) === DV_NORMAL;
    this.cmos[REG_A] = value & 0x7f;
    const normal = (value & 0x70) === DV_NORMAL;
    if (wasNormal && !normal) {
      if (this.running) this.stop(now);
    } else if (!wasNormal && normal) {
      // The divider chain restarts: the first update comes 500 ms later.
      this.anchorNs = now - NS_PER_S / 2;
      this.lastCheckNs = now;
      if ((this.cmos[REG_B] & B_SET) === 0) this.start(now);
    }
  }

  private writeRegisterB(value: number, now: number): void {
    const old = this.cmos[REG_B];
    if ((value & B_SET) !== 0) value &= ~B_UIE; // SET going (or staying) high clears UIE
    if ((value & B_SET) !== 0 && (old & B_SET) === 0 && this.running) this.stop(now);
    this.cmos[REG_B] = value;
    if ((value & B_SET) === 0 && (old & B_SET) !== 0 && (this.cmos[REG_A] & 0x70) === DV_NORMAL) this.start(now);
  }

  /** Freezes the time registers into RAM. */
  private stop(now: number): void {
    const seconds = this.baseSeconds + this.secondIndex(now);
    for (let reg = 0; reg <= 9; reg++) if (isTimeRegister(reg)) this.cmos[reg] = this.timeRegister(reg, seconds);
    this.cmos[CMOS_CENTURY] = this.timeRegister(CMOS_CENTURY, seconds);
    this.running = false;
  }

  /** Runs the clock from the RAM time registers, keeping the divider phase. */
  private start(now: number): void {
    this.baseSeconds = this.parseRegisters() - this.secondIndex(now);
    this.running = true;
  }

  // ---- time arithmetic ------------------------------------------------------

  private secondIndex(now: number): number {
    return Math.floor((now - this.anchorNs) / NS_PER_S);
  }

  private inUpdateWindow(now: number): boolean {
    if (!this.running) return false;
    const intoSecond = now - this.anchorNs - this.secondIndex(now) * NS_PER_S;
    return intoSecond >= NS_PER_S - UIP_WINDOW_NS;
  }

  private encode(v: number): number {
    return (this.cmos[REG_B] & B_DM_BINARY) !== 0 ? v : ((Math.floor(v / 10) % 10) << 4) | (v % 10);
  }

  private decode(v: number): number {
    return (this.cmos[REG_B] & B_DM_BINARY) !== 0 ? v : ((v >>> 4) & 0x0f) * 10 + (v & 0x0f);
  }

  private encodeHours(h: number): number {
    if ((this.cmos[REG_B] & B_24H) !== 0) return this.encode(h);
    return this.encode(h % 12 === 0 ? 12 : h % 12) | (h >= 12 ? 0x80 : 0);
  }

  /** The value register `reg` shows at time `seconds`. */
  private timeRegister(reg: number, seconds: number): number {
    const dayS = ((seconds % 86400) + 86400) % 86400;
    switch (reg) {
      case 0: return this.encode(dayS % 60);
      case 2: return this.encode(Math.floor(dayS / 60) % 60);
      case 4: return this.encodeHours(Math.floor(dayS / 3600));
    }
    const date = new Date(seconds * 1000);
    switch (reg) {
      case 6: return this.encode(date.getUTCDay() + 1);
      case 7: return this.encode(date.getUTCDate());
      case 8: return this.encode(date.getUTCMonth() + 1);
      case 9: return this.encode(date.getUTCFullYear() % 100);
      default: return this.encode(Math.floor(date.getUTCFullYear() / 100) % 100); // century
    }
  }

  /** Seconds since 1970 that the RAM time registers describe (out-of-range fields roll over). */
  private parseRegisters(): number {
    const c = this.cmos;
    const hr = c[4];
    let hours: number;
    if ((c[REG_B] & B_24H) !== 0) hours = this.decode(hr);
    else hours = (this.decode(hr & 0x7f) % 12) + ((hr & 0x80) !== 0 ? 12 : 0);
    const year = this.decode(c[CMOS_CENTURY]) * 100 + this.decode(c[9]);
    const ms = Date.UTC(year, this.decode(c[8]) - 1, this.decode(c[7]), hours, this.decode(c[2]), this.decode(c[0]));
    return Number.isFinite(ms) ? Math.floor(ms / 1000) : 0;
  }

  // ---- events -----------------------------------------------------------------

  /** Periodic interrupt period in ns, or 0 when RS = 0 or the divider is not running. */
  private periodicNs(): number {
    const a = this.cmos[REG_A];
    if ((a & 0x70) !== DV_NORMAL) return 0;
    let rs = a & 0x0f;
    if (rs === 0) return 0;
    if (rs < 3) rs += 7; // with a 32.768 kHz base, rates 1 and 2 repeat rates 8 and 9
    return (NS_PER_S * (1 << (rs - 1))) / 32768;
  }

  /** Sets PF/UF/AF for everything that happened in (lastCheckNs, now]. */
  private checkEvents(now: number): void {
    const last = this.lastCheckNs;
    if (now <= last) return;
    this.lastCheckNs = now;
    const period = this.periodicNs();
    if (period > 0 && Math.floor((now - this.anchorNs) / period) > Math.floor((last - this.anchorNs) / period)) {
      this.flags |= C_PF;
    }
    if (!this.running) return;
    const first = this.secondIndex(last) + 1;
    const lastIndex = this.secondIndex(now);
    if (lastIndex < first) return;
    this.flags |= C_UF;
    if ((this.flags & C_AF) !== 0) return;
    // Alarm: compare each new second's seconds/minutes/hours (a day covers every combination).
    const end = Math.min(lastIndex, first + 86400);
    for (let i = first; i <= end; i++) {
      if (this.alarmMatches(this.baseSeconds + i)) {
        this.flags |= C_AF;
        break;
      }
    }
  }

  private alarmMatches(seconds: number): boolean {
    const c = this.cmos;
    const dayS = ((seconds % 86400) + 86400) % 86400;
    const match = (alarm: number, value: number) => (alarm & 0xc0) === 0xc0 || alarm === value;
    return match(c[1], this.encode(dayS % 60)) && match(c[3], this.encode(Math.floor(dayS / 60) % 60)) &&
      match(c[5], this.encodeHours(Math.floor(dayS / 3600)));
  }

  private irqFlag(): boolean {
    return (this.flags & (this.cmos[REG_B] & (B_PIE | B_AIE | B_UIE))) !== 0;
  }

  private updateIrq(): void {
    const level = this.irqFlag();
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.irq(level);
    }
  }

  /** Guest ns of the next event that could raise IRQ 8, or Infinity. */
  private nextEvent(now: number): number {
    if (this.irqLevel) return Infinity; // nothing new until register C is read
    const b = this.cmos[REG_B];
    let next = Infinity;
    const period = this.periodicNs();
    if ((b & B_PIE) !== 0 && period > 0) {
      next = this.anchorNs + (Math.floor((now - this.anchorNs) / period) + 1) * period;
    }
    if ((b & (B_AIE | B_UIE)) !== 0 && this.running) {
      next = Math.min(next, this.anchorNs + (this.secondIndex(now) + 1) * NS_PER_S);
    }
    // Rounding must never hand back a time the machine has already reached (it would spin).
    return next > now ? next : now + 1;
  }
}

function isTimeRegister(reg: number): boolean {
  return reg === 0 || reg === 2 || reg === 4 || (reg >= 6 && reg <= 9) || reg === CMOS_CENTURY;
}
