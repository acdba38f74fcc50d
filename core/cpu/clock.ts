/**
 * The one clock behind the TSC and all guest-visible time (PIT, RTC, UART
 * timing, timeouts). Two modes:
 *
 * - deterministic: time is derived from instructions retired (NS_PER_INSTRUCTION
 *   each) plus the time skipped while the CPU is halted waiting for the next
 *   timer event. The same inputs give the same run.
 * - realtime: time follows the host's monotonic clock, excluding paused
 *   periods, but never runs past the `horizon` the machine sets (its next
 *   device event) until that event has been processed. A guest that cannot
 *   keep up with its timers therefore sees time slow down instead of losing
 *   timer ticks (Linux marks clocksources unstable over lost ticks); once it
 *   idles, the machine lets time catch up with the host by processing the due
 *   events back to back.
 *
 * Time is kept in nanoseconds as a float64 (exact to the nanosecond for 104 days).
 */
export type ClockMode = 'deterministic' | 'realtime';

/** Guest time per retired instruction in deterministic mode: a nominal 100 MIPS machine. */
export const NS_PER_INSTRUCTION = 10;
/** Frequency the TSC counts at, in Hz (nominal 1 GHz part). */
export const TSC_HZ = 1_000_000_000;

export class GuestClock {
  readonly mode: ClockMode;
  /** Instructions retired by the CPU; the CPU adds to this as it runs. */
  retired = 0;
  /** Deterministic mode: guest nanoseconds skipped while halted. */
  private skippedNs = 0;
  /** Realtime mode: host time at which guest time 0 was. */
  private originNs: number;
  private pausedAt = -1;
  /** Realtime mode: guest time does not pass this point (ns) until it is moved. */
  private horizonNs = Infinity;

  constructor(mode: ClockMode) {
    this.mode = mode;
    this.originNs = hostNowNs();
  }

  /** Current guest time in nanoseconds. */
  nowNs(): number {
    if (this.mode === 'deterministic') return this.retired * NS_PER_INSTRUCTION + this.skippedNs;
    return Math.min(this.hostGuestNs(), this.horizonNs);
  }

  /** Realtime mode: the guest time the host clock says it is, ignoring the horizon. */
  hostGuestNs(): number {
    if (this.pausedAt >= 0) return this.pausedAt - this.originNs;
    return hostNowNs() - this.originNs;
  }

  /** Realtime mode: guest time may not pass `ns` (the next device event) until this is called again. */
  setHorizon(ns: number): void {
    this.horizonNs = ns;
  }

  /** TSC value (as a float; callers split it into EDX:EAX). */
  tsc(): number {
    return Math.floor((this.nowNs() * TSC_HZ) / 1e9);
  }

  /**
   * The CPU is halted until `deadlineNs` (the next timer event). In deterministic
   * mode time jumps there; in realtime mode the caller sleeps instead.
   */
  skipTo(deadlineNs: number): void {
    if (this.mode !== 'deterministic') return;
    const now = this.nowNs();
    if (deadlineNs > now) this.skippedNs += deadlineNs - now;
  }

  /** Stops guest time (VM paused). */
  pause(): void {
    if (this.mode === 'realtime' && this.pausedAt < 0) this.pausedAt = hostNowNs();
  }

  resume(): void {
    if (this.mode === 'realtime' && this.pausedAt >= 0) {
      this.originNs += hostNowNs() - this.pausedAt;
      this.pausedAt = -1;
    }
  }

  saveState(): ClockState {
    return { mode: this.mode, retired: this.retired, skippedNs: this.skippedNs, nowNs: this.nowNs() };
  }

  loadState(s: ClockState): void {
    this.retired = s.retired;
    this.skippedNs = s.skippedNs;
    if (this.mode === 'realtime') {
      this.originNs = hostNowNs() - s.nowNs;
      this.horizonNs = Infinity;
    }
  }
}

export interface ClockState {
  mode: ClockMode;
  retired: number;
  skippedNs: number;
  nowNs: number;
}

function hostNowNs(): number {
  return performance.now() * 1e6;
}
