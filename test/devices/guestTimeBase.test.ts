import { describe, expect, it } from 'vitest';
import { GuestClock, MAX_LAG_NS } from '../../core/cpu/clock.ts';
import { AcpiPm, ACPI_PM_TIMER_HZ, ACPI_PM_TMR_BLK } from '../../core/devices/acpiPm.ts';
import { LAPIC_BASE, LAPIC_REG } from '../../core/devices/apic/apicRegisters.ts';
import { PcApics } from '../../core/devices/apic/pcApics.ts';
import { Pit, PIT_NS_PER_TICK } from '../../core/devices/pit.ts';
import { MemoryBus } from '../../core/memory/bus.ts';
import { PhysicalMemory } from '../../core/memory/physicalMemory.ts';

/**
 * The TSC, the PIT, the ACPI PM timer and the local APIC timer all count
 * the one guest time of the realtime clock, so they agree with each other
 * while guest time is held at a device event and after the clock drops lag
 * beyond MAX_LAG_NS (it re-bases on the host, guest time does not jump).
 */
describe('one guest time base for every timer (realtime clock)', () => {
  it('TSC, PIT, PM timer and LAPIC timer advance by the same guest time across a held horizon and a lag drop', () => {
    let hostNs = 7_000_000_000;
    const clock = new GuestClock('realtime', () => hostNs);
    const bus = new MemoryBus(new PhysicalMemory(64 * 1024));
    const pit = new Pit(bus, clock, () => {});
    new AcpiPm(bus, clock, () => {});
    new PcApics(bus, { clock, pic: { hasInterrupt: () => false, acknowledge: () => 0 }, onIntr: () => {}, onNmi: () => {}, onReschedule: () => {} });

    const readPit0 = () => {
      bus.portWrite(0x43, 1, 0x00); // latch channel 0
      return bus.portRead(0x40, 1) | (bus.portRead(0x40, 1) << 8);
    };
    /** Every timer's reading, each turned into guest nanoseconds since the start (to its own resolution). */
    const start = { tsc: 0, pm: 0, pitTick: 0 };
    const elapsed = () => {
      const tsc = clock.tsc() - start.tsc; // 1 GHz: ns
      const pmTicks = ((bus.portRead(ACPI_PM_TMR_BLK, 4) - start.pm) & 0xff_ffff);
      const lapic = 0xffff_ffff - (bus.read32(LAPIC_BASE + LAPIC_REG.TIMER_CURRENT) >>> 0); // divide by 1: ns
      const pitTicks = (0x10000 - readPit0()) % 0x10000; // mode 2, N = 65536, loaded at start.pitTick + 1
      return { tsc, pmTicks, lapic, pitTicks };
    };

    // Channel 0 mode 2 with N = 65536, the LAPIC timer one-shot from 0xFFFFFFFF at divide 1, at guest time 0.
    expect(clock.nowNs()).toBe(0);
    bus.portWrite(0x43, 1, 0x34);
    bus.portWrite(0x40, 1, 0);
    bus.portWrite(0x40, 1, 0);
    bus.write32(LAPIC_BASE + LAPIC_REG.TIMER_DIVIDE, 0xb); // divide by 1
    bus.write32(LAPIC_BASE + LAPIC_REG.TIMER_INITIAL, 0xffff_ffff);
    start.pm = bus.portRead(ACPI_PM_TMR_BLK, 4);
    start.tsc = clock.tsc();
    start.pitTick = pit.now();

    const check = (guestNs: number) => {
      expect(clock.nowNs()).toBe(guestNs);
      const e = elapsed();
      expect(e.tsc).toBe(guestNs);
      expect(e.lapic).toBe(guestNs);
      expect(e.pmTicks).toBe(Math.floor(guestNs / (1e9 / ACPI_PM_TIMER_HZ)));
      // The PIT count reached the CE one clock after the write; N = 65536 wraps every ~54.9 ms.
      expect(e.pitTicks).toBe((Math.floor(guestNs / PIT_NS_PER_TICK) - start.pitTick - 1) % 0x10000);
    };

    // The host runs on; guest time is held at the board's next event (20 ms) until the board moves it.
    clock.setHorizon(20_000_000);
    hostNs += 1_000_000_000;
    check(20_000_000);
    // The board moves the horizon: 980 ms of lag, the 880 ms beyond MAX_LAG_NS are dropped.
    clock.setHorizon(50_000_000);
    expect(clock.droppedNs).toBe(1_000_000_000 - 20_000_000 - MAX_LAG_NS);
    check(50_000_000); // held at the new horizon; nothing jumped
    clock.setHorizon(Infinity);
    check(20_000_000 + MAX_LAG_NS); // catches up the kept 100 ms
    hostNs += 3_000_000;
    check(20_000_000 + MAX_LAG_NS + 3_000_000); // and follows the host again
  });
});
