/**
 * Intel 8254 programmable interval timer at ports 0x40-0x43, clocked at
 * 1.193182 MHz derived from guest time. Channel 0's OUT drives IRQ0, channel
 * 1 is the (unused) refresh timer, channel 2's gate and OUT are reached
 * through port 0x61 (see systemControlPort.ts).
 *
 * Wiring:
 *   const pit = new Pit(bus, clock, pic.irqLine(0), { onReschedule: () => machine.rescheduleTimers() });
 *   new SystemControlPort(bus, clock, pit);
 *   machine loop: next = pit.advance(clock.nowNs());
 *
 * IRQ0 is delivered as an edge: each rising edge of OUT0 the machine reaches
 * through advance() is a low-then-high pulse on the line, so the PIC sees one
 * request per timer period even if the line was already high.
 *
 * Lost-tick policy (periodic modes 2 and 3): KVM's PIT "reinject". Every
 * rising edge of OUT0 guest time reaches is one timer tick for the guest,
 * but a tick is only pulsed onto IRQ0 once the interrupt controller no
 * longer holds the previous one (`irq0Held`: its request not yet taken by
 * the processor); until then it waits in a backlog (at most
 * MAX_TICK_BACKLOG) and the board tells the PIT when the processor takes
 * IRQ 0 (`irq0Taken`), so waiting ticks are delivered one after another,
 * each after the guest took the previous one, instead of being merged into
 * one request. That matters under the realtime clock: a machine that lags
 * its host lets guest time catch up one timer period per run chunk, faster
 * than the guest's timer handler runs, and merged ticks left a periodic
 * Linux's jiffies behind its TSC (the clocksource watchdog then marks the
 * TSC unstable). Reprogramming channel 0 drops the backlog. A board that
 * gives no `irq0Held` gets every edge pulsed at once (merged as on hardware).
 */
import type { MemoryBus } from '../memory/bus.ts';
import type { GuestClock } from '../cpu/clock.ts';
import type { IrqLine, TimedDevice } from './device.ts';
import { PitChannel, type PitChannelState } from './pitChannel.ts';

export const PIT_HZ = 1_193_182;
/** Guest nanoseconds per PIT input clock. */
export const PIT_NS_PER_TICK = 1e9 / PIT_HZ;

export interface PitOptions {
  /** Called when guest I/O moved channel 0's next event: the board should call advance() again soon. */
  onReschedule?: () => void;
  /**
   * The interrupt controller still holds the last IRQ0 request (latched,
   * not yet taken by the processor): a new edge now would merge with it.
   * The board then calls irq0Taken() when the processor takes IRQ 0.
   */
  irq0Held?: () => boolean;
}

/** Most waiting IRQ0 ticks kept for delivery (see the class doc). */
export const MAX_TICK_BACKLOG = 100;

export interface PitState {
  channels: PitChannelState[];
  irqLevel: boolean;
  backlog: number;
}

export class Pit implements TimedDevice {
  readonly name = 'pit';
  readonly channels = [new PitChannel(true), new PitChannel(true), new PitChannel(false)];
  private readonly clock: GuestClock;
  private readonly irq0: IrqLine;
  private readonly onReschedule: () => void;
  private readonly irq0Held: (() => boolean) | undefined;
  private irqLevel = false;
  /** PIT tick of channel 0's next OUT rising edge. */
  private nextEdge = Infinity;
  /** Channel-0 ticks reached and not yet pulsed onto IRQ0 (see class doc). */
  private backlog = 0;

  constructor(bus: MemoryBus, clock: GuestClock, irq0: IrqLine, options: PitOptions = {}) {
    this.clock = clock;
    this.irq0 = irq0;
    this.onReschedule = options.onReschedule ?? (() => {});
    this.irq0Held = options.irq0Held;
    bus.addPorts(0x40, 4, {
      portRead: (port) => this.portRead(port),
      portWrite: (port, _size, value) => this.portWrite(port, value),
    }, 'pit', [1]);
  }

  /** Current PIT tick. */
  now(): number {
    return Math.floor(this.clock.nowNs() / PIT_NS_PER_TICK);
  }

  reset(): void {
    this.channels[0].s = new PitChannel(true).s;
    this.channels[1].s = new PitChannel(true).s;
    this.channels[2].s = new PitChannel(false).s;
    this.nextEdge = Infinity;
    this.backlog = 0;
    if (this.irqLevel) this.irq0(false);
    this.irqLevel = false;
  }

  /** IRQ0 ticks waiting to be delivered. */
  get tickBacklog(): number {
    return this.backlog;
  }

  /** OUT of channel `index` now (port 0x61 bit 5 reads channel 2). */
  out(index: number): boolean {
    const t = this.now();
    const ch = this.channels[index];
    ch.sync(t);
    return ch.out(t);
  }

  setGate(index: number, level: boolean): void {
    const t = this.now();
    this.channels[index].setGate(level, t);
    if (index === 0) this.channel0Changed(t);
  }

  gate(index: number): boolean {
    return this.channels[index].s.gate;
  }

  advance(nowNs: number): number {
    const t = Math.floor(nowNs / PIT_NS_PER_TICK);
    const ch = this.channels[0];
    ch.sync(t);
    const periodic = (ch.s.mode === 2 || ch.s.mode === 3) && ch.s.active && !ch.s.suspended;
    if (t >= this.nextEdge) {
      if (periodic && this.irq0Held) {
        // Every edge passed is a tick (more than one only if this call came late).
        this.backlog = Math.min(MAX_TICK_BACKLOG, this.backlog + 1 + Math.floor((t - this.nextEdge) / ch.s.n));
      } else {
        this.pulse();
      }
    }
    if (!periodic) this.backlog = 0;
    if (this.backlog > 0 && !this.irq0Held!()) {
      this.backlog--;
      this.pulse();
    }
    const level = ch.out(t);
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.irq0(level);
    }
    this.nextEdge = ch.nextRisingEdge(t);
    // Waiting ticks are not an event in guest time: irq0Taken() asks for the next advance().
    // +1 ns so that the returned time maps back to the event's tick despite rounding.
    return this.nextEdge === Infinity ? Infinity : Math.ceil(this.nextEdge * PIT_NS_PER_TICK) + 1;
  }

  /** The processor took IRQ 0: a waiting tick may go now (at the board's next advance()). */
  irq0Taken(): void {
    if (this.backlog > 0) this.onReschedule();
  }

  /** A low-then-high pulse on IRQ0: one edge for the PIC even if the line was high. */
  private pulse(): void {
    if (this.irqLevel) this.irq0(false);
    this.irq0(true);
    this.irqLevel = true;
  }

  portRead(port: number): number {
    if (port === 0x43) return 0xff; // the control register is write-only
    return this.channels[port - 0x40].readData(this.now());
  }

  portWrite(port: number, value: number): void {
    const t = this.now();
    value &= 0xff;
    if (port !== 0x43) {
      const index = port - 0x40;
      this.channels[index].writeData(value, t);
      if (index === 0) this.channel0Changed(t);
      return;
    }
    const sc = value >>> 6;
    if (sc === 3) {
      // Read-back: bit 5 = 0 latches counts, bit 4 = 0 latches status, bits 3-1 select counters 2-0.
      for (let i = 0; i < 3; i++) {
        if ((value & (2 << i)) === 0) continue;
        const ch = this.channels[i];
        if ((value & 0x10) === 0) ch.latchStatus(t);
        if ((value & 0x20) === 0) ch.latchCount(t);
      }
      return;
    }
    const ch = this.channels[sc];
    if ((value & 0x30) === 0) {
      ch.latchCount(t);
      return;
    }
    ch.writeControl(value, t);
    if (sc === 0) this.channel0Changed(t);
  }

  saveState(): PitState {
    return { channels: this.channels.map((c) => ({ ...c.s })), irqLevel: this.irqLevel, backlog: this.backlog };
  }

  loadState(state: unknown): void {
    const st = state as PitState;
    for (let i = 0; i < 3; i++) this.channels[i].s = { ...st.channels[i] };
    this.irqLevel = st.irqLevel;
    this.backlog = Math.min(MAX_TICK_BACKLOG, Math.max(0, st.backlog | 0));
    this.irq0(this.irqLevel);
    const t = this.now();
    this.channels[0].sync(t);
    this.nextEdge = this.channels[0].nextRisingEdge(t);
  }

  /** Guest I/O changed channel 0: settle IRQ0 and tell the board the next edge moved. */
  private channel0Changed(t: number): void {
    const ch = this.channels[0];
    this.backlog = 0;
    const level = ch.out(t);
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.irq0(level);
    }
    const edge = ch.nextRisingEdge(t);
    if (edge !== this.nextEdge) {
      this.nextEdge = edge;
      this.onReschedule();
    }
  }
}
