/**
 * A test board with the local APIC and I/O APIC on a bus, a stand-in 8259
 * (its INTR level and INTA vector set by the test), and recorders for the
 * INTR output, NMIs and reschedules.
 */
import { PcApics } from '../../../core/devices/apic/pcApics.ts';
import { IOAPIC_BASE, LAPIC_BASE } from '../../../core/devices/apic/apicRegisters.ts';
import { makeTestBoard, type TestBoard } from '../testBoard.ts';

export interface ApicTestBoard {
  board: TestBoard;
  apics: PcApics;
  /** The stand-in 8259: its INTR level and the vector its INTA returns. */
  pic: { intr: boolean; vector: number; acks: number };
  intr(): boolean;
  nmis(): number;
  reschedules(): number;
  lapicRead(reg: number): number;
  lapicWrite(reg: number, value: number): void;
  ioapicRead(index: number): number;
  ioapicWrite(index: number, value: number): void;
  /** Runs the LAPIC's timer to guest time `ns`; returns its next event time. */
  advanceTo(ns: number): number;
  /** The processor's INTA: the vector the local APIC answers. */
  inta(): number;
}

export function makeApicTestBoard(): ApicTestBoard {
  const board = makeTestBoard();
  const pic = { intr: false, vector: 0x20, acks: 0 };
  let intr = false;
  let nmis = 0;
  let reschedules = 0;
  const apics = new PcApics(board.bus, {
    clock: board.clock,
    pic: {
      hasInterrupt: () => pic.intr,
      acknowledge: () => {
        pic.acks++;
        return pic.vector;
      },
    },
    onIntr: (level) => { intr = level; },
    onNmi: () => { nmis++; },
    onReschedule: () => { reschedules++; },
  });
  return {
    board,
    apics,
    pic,
    intr: () => intr,
    nmis: () => nmis,
    reschedules: () => reschedules,
    lapicRead: (reg) => board.bus.read32(LAPIC_BASE + reg) >>> 0,
    lapicWrite: (reg, value) => board.bus.write32(LAPIC_BASE + reg, value >>> 0),
    ioapicRead: (index) => {
      board.bus.write32(IOAPIC_BASE, index);
      return board.bus.read32(IOAPIC_BASE + 0x10) >>> 0;
    },
    ioapicWrite: (index, value) => {
      board.bus.write32(IOAPIC_BASE, index);
      board.bus.write32(IOAPIC_BASE + 0x10, value >>> 0);
    },
    advanceTo: (ns) => {
      board.setTime(ns);
      return apics.lapic.advance(board.clock.nowNs());
    },
    inta: () => apics.lapic.acknowledge(),
  };
}
