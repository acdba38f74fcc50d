/**
 * The local APIC timer: a 32-bit down-counter clocked by the APIC bus clock
 * through the divide configuration register, in one-shot or periodic mode
 * (LVT timer bit 17). TSC-deadline mode is not offered (CPUID.1:ECX bit 24
 * stays clear), so the mode bits' value 2 counts as one-shot.
 *
 * Time is the machine's guest clock: the counter is not stepped but computed
 * from when it was last loaded, and the expiry is an event time the board's
 * run loop reaches through the LAPIC's advance() (as the PIT does), so the
 * deterministic clock gives exact, repeatable timer interrupts.
 */

/** The APIC bus clock: 1 GHz, one tick per guest nanosecond before the divider (QEMU's choice too). */
export const APIC_BUS_NS_PER_TICK = 1;

export interface ApicTimerState {
  /** Initial count register (0 = stopped). */
  initial: number;
  /** Divide configuration register as written (bits 0, 1, 3 matter). */
  divideConfig: number;
  /** Guest time the current period started (the count was initial then). */
  startNs: number;
  /** Counting (loaded and not yet expired in one-shot mode). */
  running: boolean;
  periodic: boolean;
}

export function initialTimerState(): ApicTimerState {
  return { initial: 0, divideConfig: 0, startNs: 0, running: false, periodic: false };
}

/** The divider the configuration selects: 2, 4, ... 128, or 1 for 0b1011. */
export function timerDivisor(divideConfig: number): number {
  const code = (divideConfig & 3) | ((divideConfig >>> 1) & 4);
  return code === 7 ? 1 : 2 << code;
}

export class ApicTimer {
  s: ApicTimerState = initialTimerState();

  private tickNs(): number {
    return timerDivisor(this.s.divideConfig) * APIC_BUS_NS_PER_TICK;
  }

  private periodNs(): number {
    return this.s.initial * this.tickNs();
  }

  /** A write to the initial count register: counting restarts from `count` (0 stops the timer). */
  load(count: number, nowNs: number): void {
    this.s.initial = count >>> 0;
    this.s.startNs = nowNs;
    this.s.running = this.s.initial !== 0;
  }

  /** The current count register. */
  current(nowNs: number): number {
    const s = this.s;
    if (!s.running) return 0;
    const elapsed = Math.floor((nowNs - s.startNs) / this.tickNs());
    if (s.periodic) return s.initial - (elapsed % s.initial);
    return elapsed >= s.initial ? 0 : s.initial - elapsed;
  }

  /** A new divider takes effect from now: the count goes on from where it is at the new rate. */
  setDivide(value: number, nowNs: number): void {
    const count = this.current(nowNs);
    this.s.divideConfig = value & 0xb;
    if (this.s.running) this.s.startNs = nowNs - (this.s.initial - count) * this.tickNs();
  }

  setPeriodic(periodic: boolean): void {
    this.s.periodic = periodic;
  }

  /** Guest time of the next expiry, or Infinity. */
  nextExpiry(): number {
    return this.s.running ? this.s.startNs + this.periodNs() : Infinity;
  }

  /**
   * Counts up to `nowNs`: true if the counter reached zero since the last
   * call (one interrupt, however many periods passed: the LVT's vector
   * stays pending in IRR until taken, so more would coalesce anyway).
   */
  expire(nowNs: number): boolean {
    const s = this.s;
    if (!s.running || nowNs < this.nextExpiry()) return false;
    if (s.periodic) {
      const period = this.periodNs();
      s.startNs += Math.floor((nowNs - s.startNs) / period) * period;
    } else {
      s.running = false;
    }
    return true;
  }
}
