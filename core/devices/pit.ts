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
 * Lost-tick policy (periodic modes 2 and 3): if the machine calls advance()
 * late, so that guest time passed several edges since the one announced (a
 * busy host under the realtime clock), the edges it missed are remembered (at
 * most MAX_TICK_BACKLOG) and delivered later, one per advance() at least half
 * a period after the previous pulse, so a guest that counts timer interrupts
 * (jiffies) catches up. Edges lost because the guest itself left the request
 * pending are not replayed, exactly as on hardware. Reprogramming channel 0
 * drops the backlog. On time (the deterministic clock) there is never a backlog.
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
}

/** Most missed IRQ0 edges kept for late delivery. */
export const MAX_TICK_BACKLOG = 100;

export interface PitState {
  channels: PitChannelState[];
  irqLevel: boolean;
  backlog: number;
  /** PIT tick of the last IRQ0 pulse (-1: none). */
  lastPulse: number;
}

export class Pit implements TimedDevice {
  readonly name = 'pit';
  readonly channels = [new PitChannel(true), new PitChannel(true), new PitChannel(false)];
  private readonly clock: GuestClock;
  private readonly irq0: IrqLine;
  private readonly onReschedule: () => void;
  private irqLevel = false;
  /** PIT tick of channel 0's next OUT rising edge. */
  private nextEdge = Infinity;
  /** Missed channel-0 edges still to deliver (see class doc). */
  private backlog = 0;
  private lastPulse = -1;

  constructor(bus: MemoryBus, clock: GuestClock, irq0: IrqLine, options: PitOptions = {}) {
    this.clock = clock;
    this.irq0 = irq0;
    this.onReschedule = options.onReschedule ?? (() => {});
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
    this.lastPulse = -1;
    if (this.irqLevel) this.irq0(false);
    this.irqLevel = false;
  }

  /** Missed IRQ0 edges waiting to be delivered. */
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
    const spacing = Math.max(1, ch.s.n >>> 1);
    if (t >= this.nextEdge) {
      if (periodic) this.backlog = Math.min(MAX_TICK_BACKLOG, this.backlog + Math.floor((t - this.nextEdge) / ch.s.n));
      this.pulse(t);
    } else if (this.backlog > 0 && t >= this.lastPulse + spacing) {
      this.backlog--;
      this.pulse(t);
    }
    if (!periodic) this.backlog = 0;
    const level = ch.out(t);
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.irq0(level);
    }
    this.nextEdge = ch.nextRisingEdge(t);
    const next = this.backlog > 0 ? Math.min(this.nextEdge, this.lastPulse + spacing) : this.nextEdge;
    // +1 ns so that the returned time maps back to the event's tick despite rounding.
    return next === Infinity ? Infinity : Math.ceil(next * PIT_NS_PER_TICK) + 1;
  }

  /** A low-then-high pulse on IRQ0: one edge for the PIC even if the line was high. */
  private pulse(t: number): void {
    if (this.irqLevel) this.irq0(false);
    this.irq0(true);
    this.irqLevel = true;
    this.lastPulse = t;
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
    return { channels: this.channels.map((c) => ({ ...c.s })), irqLevel: this.irqLevel, backlog: this.backlog, lastPulse: this.lastPulse };
  }

  loadState(state: unknown): void {
    const st = state as PitState;
    for (let i = 0; i < 3; i++) this.channels[i].s = { ...st.channels[i] };
    this.irqLevel = st.irqLevel;
    this.backlog = Math.min(MAX_TICK_BACKLOG, Math.max(0, st.backlog | 0));
    this.lastPulse = st.lastPulse ?? -1;
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
