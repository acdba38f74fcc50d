/**
 * A minimal board for device unit tests: a tiny RAM, the platform bus, and a
 * deterministic guest clock whose time the test moves explicitly.
 */
import { PhysicalMemory } from '../../core/memory/physicalMemory.ts';
import { MemoryBus } from '../../core/memory/bus.ts';
import { GuestClock } from '../../core/cpu/clock.ts';

export interface TestBoard {
  bus: MemoryBus;
  clock: GuestClock;
  /** Moves guest time forward to `ns` (never backwards). */
  setTime(ns: number): void;
  inb(port: number): number;
  inw(port: number): number;
  inl(port: number): number;
  outb(port: number, value: number): void;
  outw(port: number, value: number): void;
  outl(port: number, value: number): void;
}

export function makeTestBoard(ramBytes = 64 * 1024): TestBoard {
  const bus = new MemoryBus(new PhysicalMemory(ramBytes));
  const clock = new GuestClock('deterministic');
  return {
    bus,
    clock,
    setTime: (ns) => clock.skipTo(ns),
    inb: (p) => bus.portRead(p, 1),
    inw: (p) => bus.portRead(p, 2),
    inl: (p) => bus.portRead(p, 4),
    outb: (p, v) => bus.portWrite(p, 1, v),
    outw: (p, v) => bus.portWrite(p, 2, v),
    outl: (p, v) => bus.portWrite(p, 4, v),
  };
}

/** Records an IRQ line's level and its rising edges. */
export function irqRecorder(): { line: (level: boolean) => void; level: () => boolean; rises: () => number } {
  let level = false;
  let rises = 0;
  return {
    line: (l: boolean) => {
      if (l && !level) rises++;
      level = l;
    },
    level: () => level,
    rises: () => rises,
  };
}
