import { describe, expect, it } from 'vitest';
import { HypervisorCounters } from '../../core/hypervisor/counters.ts';

describe('hypervisor counters', () => {
  it('counts exits by reason, I/O by port, entries and injections, readable from another view of the buffer', () => {
    const c = new HypervisorCounters();
    const reader = new HypervisorCounters(c.buffer);
    c.entry();
    c.exit(30);
    c.ioExit(0x3f8);
    c.entry();
    c.exit(12);
    c.injected();
    c.eptViolation();
    c.addGuestMs(1.5);
    c.addHypervisorMs(0.25);
    const s = reader.snapshot();
    expect(s.exitsByReason.length).toBe(64);
    expect([s.exitsByReason[30], s.exitsByReason[12]]).toEqual([1, 1]);
    expect(s.ioExitsByPort).toEqual({ 0x3f8: 1 });
    expect([s.entries, s.injectedInterrupts, s.eptViolations, s.guestMs, s.hypervisorMs]).toEqual([2, 1, 1, 1.5, 0.25]);
    expect(reader.totalExits()).toBe(2);
    c.reset();
    expect(reader.totalExits()).toBe(0);
  });
});
