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
 *   events back to back. That catch-up is bounded (MAX_LAG_NS): lag beyond
 *   it is dropped, not replayed (the "discard" lost-tick policy of KVM's PIT
 *   and VMware's give-up on a timer backlog), so on a loaded host guest time
 *   runs slower instead of the guest taking a storm of timer ticks.
 *   While it lags, guest time reaches one event per run chunk (a timer
 *   period every few thousand instructions), sooner than a guest's timer
 *   handler finishes: the PIT keeps the ticks the guest has not taken yet
 *   and delivers them one by one (pit.ts, KVM's reinjection) instead of the
 *   8259 merging them, so jiffies keep pace with the TSC.
 *
 * Time is kept in nanoseconds as a float64 (exact to the nanosecond for 104 days).
 */
export type ClockMode = 'deterministic' | 'realtime';

/** Guest time per retired instruction in deterministic mode: a nominal 100 MIPS machine. */
export const NS_PER_INSTRUCTION = 10;
/** Frequency the TSC counts at, in Hz (nominal 1 GHz part). */
export const TSC_HZ = 1_000_000_000;
/**
 * Realtime mode: how far guest time may lag the host's before the excess is
 * dropped. Above the lag a healthy machine makes (a run slice, a late host
 * timer, a garbage-collection pause: a few to a few tens of ms), so an
 * unloaded guest's clock keeps pace with the host's; small enough that a
 * catch-up replays at most 25 ticks of a HZ=250 Linux back to back (under
 * the software monitor each costs ~22 trapped port accesses).
 */
export const MAX_LAG_NS = 100_000_000;

/** A value outside V8's small-integer range, stored first into a counter that will outgrow it. */
const DOUBLE_FIELD_SEED = 0.5;

/** The host's monotonic time in nanoseconds (injectable for tests). */
export type HostClock = () => number;

export class GuestClock {
  readonly mode: ClockMode;
  /**
   * Instructions retired by the CPU; the CPU adds to this as it runs. A
   * double from the start (the constructor): the count passes 2^31, out of
   * V8's small-integer range, within minutes of running, and a field that
   * turns from small integer to double deoptimizes every optimized function
   * that touches the clock (counted on the shell loop: ~130 compiled region
   * functions and the run loop at once, then V8 compiles them all again).
   */
  retired = 0;
  /** Deterministic mode: guest nanoseconds skipped while halted. */
  private skippedNs = 0;
  /** Realtime mode: host time at which guest time 0 was. */
  private originNs: number;
  private pausedAt = -1;
  /** Realtime mode: guest time does not pass this point (ns) until it is moved. */
  private horizonNs = Infinity;
  /** Realtime mode: lag behind the host dropped so far (ns), see MAX_LAG_NS. */
  private droppedLagNs = 0;

  constructor(
    mode: ClockMode,
    private readonly hostNow: HostClock = hostNowNs,
  ) {
    this.mode = mode;
    this.originNs = hostNow();
    this.retired = DOUBLE_FIELD_SEED; // the field's representation becomes double for good
    this.retired = 0;
  }

  /** Current guest time in nanoseconds. */
  nowNs(): number {
    if (this.mode === 'deterministic') return this.retired * NS_PER_INSTRUCTION + this.skippedNs;
    return Math.min(this.hostGuestNs(), this.horizonNs);
  }

  /** Realtime mode: the guest time the host clock says it is, ignoring the horizon. */
  hostGuestNs(): number {
    if (this.pausedAt >= 0) return this.pausedAt - this.originNs;
    return this.hostNow() - this.originNs;
  }

  /** Realtime mode: host time dropped from guest time because the guest lagged more than MAX_LAG_NS (ns). */
  get droppedNs(): number {
    return this.droppedLagNs;
  }

  /**
   * Realtime mode: guest time may not pass `ns` (the next device event) until
   * this is called again. Called once the events up to now are processed,
   * which is where lag beyond MAX_LAG_NS is dropped: the origin moves forward
   * so that guest time is MAX_LAG_NS behind the host's. Guest time itself does
   * not move, so it stays monotonic.
   */
  setHorizon(ns: number): void {
    if (this.mode !== 'realtime') return;
    const lag = this.hostGuestNs() - this.nowNs();
    if (lag > MAX_LAG_NS) {
      this.originNs += lag - MAX_LAG_NS;
      this.droppedLagNs += lag - MAX_LAG_NS;
    }
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
    if (this.mode === 'realtime' && this.pausedAt < 0) this.pausedAt = this.hostNow();
  }

  resume(): void {
    if (this.mode === 'realtime' && this.pausedAt >= 0) {
      this.originNs += this.hostNow() - this.pausedAt;
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
      this.originNs = this.hostNow() - s.nowNs;
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
