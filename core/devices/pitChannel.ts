/**
 * One counter of the Intel 8254 PIT, evaluated lazily from guest time.
 *
 * Instead of ticking, a running counter remembers the PIT clock tick at which
 * its counting element (CE) held the initial count N (`anchor`, "d = 0") and
 * derives the current count and OUT from d = now - anchor. Events that change
 * the course of counting (count writes, gate edges, deferred reloads in modes
 * 2 and 3) re-anchor it. Ticks are whole PIT input clocks (1.193182 MHz).
 *
 * Datasheet timing kept here (Intel 8254): a count written by the CPU reaches the CE on the
 * next clock edge (anchor = write tick + 1); modes 2 and 3 take a new count at
 * the end of the current period (mode 2) or half-cycle (mode 3) unless the gate
 * retriggers; modes 1 and 5 load it only on a gate rising edge; in mode 0 the
 * first byte of a two-byte count stops counting and drives OUT low.
 */

/** A tick that never comes (JSON-safe, unlike Infinity). */
export const NEVER = Number.MAX_SAFE_INTEGER;

export interface PitChannelState {
  /** Control word bits 5-0 as written (RW, mode, BCD), reported by the status byte. */
  control: number;
  mode: number; // 0-5 (6/7 alias 2/3)
  bcd: boolean;
  access: number; // 1 LSB, 2 MSB, 3 LSB then MSB
  /** Count register (what software wrote, raw 16 bits). */
  cr: number;
  writeMsbNext: boolean;
  readMsbNext: boolean;
  latched: boolean;
  latchValue: number;
  statusLatched: boolean;
  statusValue: number;
  gate: boolean;
  /** A count has reached the CE and it is counting (or holding because of the gate). */
  active: boolean;
  /** Counting is suspended (gate low in modes 0/4, or modes 2/3 stopped by the gate). */
  suspended: boolean;
  /** Elapsed clocks frozen while suspended (modes 0/4). */
  suspendedD: number;
  /** CE value shown while there is no running count. */
  heldCount: number;
  anchor: number;
  /** Initial count in effect (1..65536 binary, 1..10000 BCD). */
  n: number;
  /** Modes 2/3: a new count waits for the end of the period/half-cycle at `reloadAt`. */
  pending: boolean;
  reloadAt: number;
  /** Mode 3: the deferred reload starts a low half-cycle. */
  reloadIntoLow: boolean;
  /** Tick at which the CR reaches the CE (null count is 1 before it). */
  crLoadTick: number;
  /** OUT level between a load and the clock that moves the count into the CE (a retriggered mode 1 one-shot stays low). */
  outBeforeLoad: boolean;
}

export function newPitChannelState(gate: boolean): PitChannelState {
  return {
    control: 0x30, mode: 0, bcd: false, access: 3, cr: 0, writeMsbNext: false, readMsbNext: false,
    latched: false, latchValue: 0, statusLatched: false, statusValue: 0, gate, active: false,
    suspended: false, suspendedD: 0, heldCount: 0, anchor: 0, n: 65536, pending: false, reloadAt: 0,
    reloadIntoLow: false, crLoadTick: 0, outBeforeLoad: true,
  };
}

function fromBcd(v: number): number {
  return (v & 0xf) + ((v >>> 4) & 0xf) * 10 + ((v >>> 8) & 0xf) * 100 + ((v >>> 12) & 0xf) * 1000;
}

function toBcd(v: number): number {
  return (v % 10) | (Math.floor(v / 10) % 10) << 4 | (Math.floor(v / 100) % 10) << 8 | (Math.floor(v / 1000) % 10) << 12;
}

export class PitChannel {
  s: PitChannelState;

  constructor(gate: boolean) {
    this.s = newPitChannelState(gate);
  }

  /** The initial count the CR stands for (0 means the maximum). */
  private effectiveCount(): number {
    const s = this.s;
    if (s.bcd) {
      const v = fromBcd(s.cr) % 10000;
      return v === 0 ? 10000 : v;
    }
    return s.cr === 0 ? 65536 : s.cr;
  }

  /** Applies a deferred mode 2/3 reload once its time has come. Call before any evaluation at tick t. */
  sync(t: number): void {
    const s = this.s;
    if (!s.pending || t < s.reloadAt) return;
    s.pending = false;
    s.n = this.effectiveCount();
    s.anchor = s.reloadIntoLow ? s.reloadAt - highClocks(s.n) : s.reloadAt;
  }

  /** Clocks elapsed since the CE took the initial count (negative before that). */
  private elapsed(t: number): number {
    const s = this.s;
    return s.suspended && (s.mode === 0 || s.mode === 4) ? s.suspendedD : t - s.anchor;
  }

  private running(): boolean {
    const s = this.s;
    return s.active && !(s.suspended && (s.mode === 2 || s.mode === 3));
  }

  /** The raw CE value (0..65535 binary, 0..9999 BCD) at tick t. */
  private countValue(t: number): number {
    const s = this.s;
    if (!this.running()) return s.heldCount;
    const d = this.elapsed(t);
    if (d < 0) return s.heldCount;
    const n = s.n;
    const mod = s.bcd ? 10000 : 65536;
    switch (s.mode) {
      case 2:
        return (n - (d % n)) % mod;
      case 3: {
        const p = d % n;
        const h = highClocks(n);
        const q = p < h ? p : p - h;
        // Even N: N, N-2, ..., 2 in each half. Odd N (Intel 8254): N-1 is loaded
        // and counted down by two; the high half runs one clock longer (to 0).
        const c = (n & 1) === 0 ? n - 2 * q : n - 1 - 2 * q;
        return c % mod;
      }
      default:
        return (((n - d) % mod) + mod) % mod;
    }
  }

  /** The CE value as software reads it (BCD encoded in BCD mode). */
  readCount(t: number): number {
    const c = this.countValue(t);
    return this.s.bcd ? toBcd(c) : c & 0xffff;
  }

  /** Level of OUT at tick t. */
  out(t: number): boolean {
    const s = this.s;
    if (!s.active) return s.mode !== 0; // after a control word (or a first byte in mode 0): mode 0 low, others high
    if (s.suspended && (s.mode === 2 || s.mode === 3)) return true;
    const d = this.elapsed(t);
    const n = s.n;
    switch (s.mode) {
      case 0:
        return d >= n;
      case 1:
        return d < 0 ? s.outBeforeLoad : d >= n;
      case 2:
        return d < 0 || d % n !== n - 1;
      case 3:
        return d < 0 || d % n < highClocks(n);
      default: // 4, 5: one clock low when the count expires
        return d !== n;
    }
  }

  /** The first tick > t at which OUT rises, or Infinity. */
  nextRisingEdge(t: number): number {
    const s = this.s;
    if (!this.running()) return Infinity;
    if (s.suspended) return Infinity; // modes 0/4 with the gate low
    const d = t - s.anchor;
    const n = s.n;
    let edge: number;
    switch (s.mode) {
      case 0:
      case 1:
        edge = d < n ? s.anchor + n : Infinity;
        break;
      case 2:
        // A deferred reload happens exactly at a period end, which is this edge.
        edge = d < 0 ? s.anchor + n : s.anchor + n * (Math.floor(d / n) + 1);
        break;
      case 3:
        edge = d < 0 ? s.anchor + n : s.anchor + n * (Math.floor(d / n) + 1);
        if (s.pending && s.reloadIntoLow && s.reloadAt < edge) {
          // The new count starts with a low half-cycle; OUT rises when it ends.
          const n2 = this.effectiveCount();
          edge = s.reloadAt + (n2 - highClocks(n2));
        }
        break;
      default:
        edge = d < n + 1 ? s.anchor + n + 1 : Infinity;
    }
    return edge > t ? edge : Infinity;
  }

  /** Control word for this channel (RW != 0). */
  writeControl(value: number, t: number): void {
    const s = this.s;
    this.sync(t);
    s.heldCount = this.countValue(t);
    s.control = value & 0x3f;
    s.access = (value >>> 4) & 3;
    const m = (value >>> 1) & 7;
    s.mode = m > 5 ? m - 4 : m;
    s.bcd = (value & 1) !== 0;
    s.writeMsbNext = false;
    s.readMsbNext = false;
    s.latched = false;
    s.statusLatched = false;
    s.active = false;
    s.suspended = false;
    s.pending = false;
    s.crLoadTick = NEVER; // null count until a count is written and loaded
  }

  /** Counter latch command (first latch wins until read). */
  latchCount(t: number): void {
    const s = this.s;
    if (s.latched) return;
    this.sync(t);
    s.latched = true;
    s.latchValue = this.readCount(t);
  }

  latchStatus(t: number): void {
    const s = this.s;
    if (s.statusLatched) return;
    this.sync(t);
    s.statusLatched = true;
    s.statusValue = (this.out(t) ? 0x80 : 0) | (t < s.crLoadTick ? 0x40 : 0) | s.control;
  }

  readData(t: number): number {
    const s = this.s;
    this.sync(t);
    if (s.statusLatched) {
      s.statusLatched = false;
      return s.statusValue;
    }
    const value = s.latched ? s.latchValue : this.readCount(t);
    let byte: number;
    if (s.access === 1) {
      byte = value & 0xff;
      s.latched = false;
    } else if (s.access === 2) {
      byte = value >>> 8;
      s.latched = false;
    } else if (!s.readMsbNext) {
      byte = value & 0xff;
      s.readMsbNext = true;
    } else {
      byte = value >>> 8;
      s.readMsbNext = false;
      s.latched = false;
    }
    return byte & 0xff;
  }

  writeData(value: number, t: number): void {
    const s = this.s;
    this.sync(t);
    value &= 0xff;
    if (s.access === 1) {
      s.cr = value;
    } else if (s.access === 2) {
      s.cr = value << 8;
    } else if (!s.writeMsbNext) {
      s.cr = (s.cr & 0xff00) | value;
      s.writeMsbNext = true;
      if (s.mode === 0) {
        // Writing the first byte stops counting and drives OUT low at once.
        s.heldCount = this.countValue(t);
        s.active = false;
        s.suspended = false;
      }
      return;
    } else {
      s.cr = (s.cr & 0xff) | (value << 8);
      s.writeMsbNext = false;
    }
    this.countWritten(t);
  }

  /** A complete count is in the CR. */
  private countWritten(t: number): void {
    const s = this.s;
    switch (s.mode) {
      case 1:
      case 5:
        // Loaded only by a gate trigger; a running one-shot is not disturbed.
        s.crLoadTick = NEVER;
        return;
      case 2:
      case 3:
        if (s.active && !s.suspended) {
          const d = t - s.anchor;
          if (d >= 0) {
            const p = d % s.n;
            const h = highClocks(s.n);
            if (s.mode === 3 && p < h) {
              s.reloadAt = t + (h - p);
              s.reloadIntoLow = true;
            } else {
              s.reloadAt = t + (s.n - p);
              s.reloadIntoLow = false;
            }
            s.pending = true;
            s.crLoadTick = s.reloadAt;
            return;
          }
        }
        if (!s.gate) {
          // Counting is disabled; the gate's rising edge will load the count.
          s.active = true;
          s.suspended = true;
          s.crLoadTick = NEVER;
          return;
        }
        this.load(t);
        return;
      default: // 0, 4: loaded on the next clock, counting restarts
        this.load(t);
        if (!s.gate) {
          s.suspended = true;
          s.suspendedD = 0;
        }
    }
  }

  /** The CR reaches the CE on the next clock and counting starts from N. */
  private load(t: number): void {
    const s = this.s;
    s.active = true;
    s.suspended = false;
    s.pending = false;
    s.n = this.effectiveCount();
    s.heldCount = s.n % (s.bcd ? 10000 : 65536);
    s.anchor = t + 1;
    s.crLoadTick = t + 1;
  }

  setGate(level: boolean, t: number): void {
    const s = this.s;
    this.sync(t);
    const was = s.gate;
    s.gate = level;
    if (level === was) return;
    switch (s.mode) {
      case 0:
      case 4:
        if (!s.active) return;
        if (!level) {
          s.suspendedD = Math.max(0, t - s.anchor);
          s.suspended = true;
        } else if (s.suspended) {
          s.anchor = t + 1 - s.suspendedD;
          s.suspended = false;
        }
        return;
      case 1:
      case 5:
        if (level) {
          // Trigger: the one-shot (re)starts on the next clock; a running mode 1 pulse stays low.
          s.outBeforeLoad = s.mode === 5 || !s.active || this.out(t);
          this.load(t);
        }
        return;
      default: // 2, 3
        if (!level) {
          if (s.active) {
            s.heldCount = this.countValue(t);
            s.suspended = true;
            s.pending = false;
          }
        } else if (s.active) {
          this.load(t); // rising edge reloads the counter
        }
    }
  }
}

/** Mode 3: clocks OUT stays high per period (the longer half for odd counts). */
function highClocks(n: number): number {
  return (n + 1) >>> 1;
}
