import { describe, expect, it } from 'vitest';
import { GuestClock, MAX_LAG_NS, NS_PER_INSTRUCTION, TSC_HZ } from '../../core/cpu/clock.ts';

/** A host clock the test moves by hand (ns). */
function manualHost(startNs = 5_000_000_000): { now: () => number; advance: (ns: number) => void } {
  let t = startNs;
  return { now: () => t, advance: (ns) => (t += ns) };
}

describe('GuestClock', () => {
  it('derives deterministic time from instructions retired plus skipped idle time', () => {
    const clock = new GuestClock('deterministic');
    clock.retired = 1000;
    expect(clock.nowNs()).toBe(1000 * NS_PER_INSTRUCTION);
    clock.skipTo(50_000);
    expect(clock.nowNs()).toBe(50_000);
    clock.retired += 10;
    expect(clock.nowNs()).toBe(50_000 + 10 * NS_PER_INSTRUCTION);
    clock.skipTo(1); // never backwards
    expect(clock.nowNs()).toBe(50_000 + 10 * NS_PER_INSTRUCTION);
  });

  it('counts the TSC at TSC_HZ from guest time', () => {
    const clock = new GuestClock('deterministic');
    clock.retired = 123_456;
    expect(clock.tsc()).toBe(Math.floor((123_456 * NS_PER_INSTRUCTION * TSC_HZ) / 1e9));
  });

  it('holds realtime guest time at the horizon until it is moved', async () => {
    const clock = new GuestClock('realtime');
    clock.setHorizon(0);
    await new Promise((r) => setTimeout(r, 5));
    expect(clock.nowNs()).toBe(0);
    expect(clock.hostGuestNs()).toBeGreaterThan(4e6);
    clock.setHorizon(Infinity);
    expect(clock.nowNs()).toBeGreaterThan(4e6);
  });

  it('stops realtime guest time while paused', async () => {
    const clock = new GuestClock('realtime');
    clock.pause();
    const t = clock.nowNs();
    await new Promise((r) => setTimeout(r, 5));
    expect(clock.nowNs()).toBe(t);
    clock.resume();
    expect(clock.nowNs() - t).toBeLessThan(4e6);
  });

  it('replays a realtime lag up to MAX_LAG_NS event by event', () => {
    const host = manualHost();
    const clock = new GuestClock('realtime', host.now);
    clock.setHorizon(4_000_000); // the next timer tick
    host.advance(MAX_LAG_NS + 4_000_000); // the guest lags exactly MAX_LAG_NS past its tick
    expect(clock.nowNs()).toBe(4_000_000);
    clock.setHorizon(8_000_000); // tick processed: the next one is already due by host time
    expect(clock.droppedNs).toBe(0);
    expect(clock.nowNs()).toBe(8_000_000);
    expect(clock.hostGuestNs()).toBe(MAX_LAG_NS + 4_000_000);
  });

  it('drops realtime lag beyond MAX_LAG_NS instead of replaying it, keeping guest time monotonic', () => {
    const host = manualHost();
    const clock = new GuestClock('realtime', host.now);
    clock.setHorizon(4_000_000);
    host.advance(3_000_000_000); // a loaded host: 3 s pass before the tick at 4 ms is processed
    expect(clock.nowNs()).toBe(4_000_000);
    clock.setHorizon(8_000_000);
    // The host is now only MAX_LAG_NS ahead of the guest time the tick was processed at, so the
    // next tick (due by host time) is replayed; guest time never went back.
    expect(clock.hostGuestNs()).toBe(4_000_000 + MAX_LAG_NS);
    expect(clock.nowNs()).toBe(8_000_000);
    expect(clock.droppedNs).toBe(3_000_000_000 - 4_000_000 - MAX_LAG_NS);
    // Without a new lag, nothing more is dropped and time runs with the host again, up to the horizon.
    clock.setHorizon(Infinity);
    host.advance(1_000_000);
    expect(clock.nowNs()).toBe(5_000_000 + MAX_LAG_NS);
    expect(clock.droppedNs).toBe(3_000_000_000 - 4_000_000 - MAX_LAG_NS);
  });

  it('drops no time while paused and counts none in deterministic mode', () => {
    const host = manualHost();
    const clock = new GuestClock('realtime', host.now);
    host.advance(10_000_000);
    clock.pause();
    host.advance(5_000_000_000);
    clock.setHorizon(20_000_000);
    expect(clock.droppedNs).toBe(0);
    clock.resume();
    host.advance(1_000_000);
    expect(clock.nowNs()).toBe(11_000_000);
    const det = new GuestClock('deterministic', host.now);
    host.advance(5_000_000_000);
    det.setHorizon(0);
    expect(det.droppedNs).toBe(0);
    expect(det.nowNs()).toBe(0);
  });

  it('restores saved time', () => {
    const a = new GuestClock('deterministic');
    a.retired = 77;
    a.skipTo(10_000);
    const b = new GuestClock('deterministic');
    b.loadState(a.saveState());
    expect(b.nowNs()).toBe(a.nowNs());
  });
});
