import { describe, expect, it } from 'vitest';
import { GuestClock, NS_PER_INSTRUCTION, TSC_HZ } from '../../core/cpu/clock.ts';

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

  it('restores saved time', () => {
    const a = new GuestClock('deterministic');
    a.retired = 77;
    a.skipTo(10_000);
    const b = new GuestClock('deterministic');
    b.loadState(a.saveState());
    expect(b.nowNs()).toBe(a.nowNs());
  });
});
