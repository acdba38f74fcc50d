import { describe, expect, it } from 'vitest';
import { formatRunStats } from '../../../core/cli/runStats.ts';
import { HypervisorCounters } from '../../../core/hypervisor/counters.ts';
import { newShadowCounters, SHADOW_COUNTER_KEYS } from '../../../core/hypervisor/shadow/shadowCounters.ts';

describe('shadow-paging counters in the hypervisor counters', () => {
  it('are absent until the domain runs on shadows, then read back from another view of the shared buffer', () => {
    const c = new HypervisorCounters();
    expect(c.snapshot().shadowPaging).toBeUndefined();
    const s = newShadowCounters();
    SHADOW_COUNTER_KEYS.forEach((k, i) => (s[k] = 100 + i));
    c.shadowPaging(s);
    const reader = new HypervisorCounters(c.buffer);
    expect(reader.snapshot().shadowPaging).toEqual(s);
    expect(Object.keys(s).sort()).toEqual([...SHADOW_COUNTER_KEYS].sort());
  });

  it('are printed by popek run --stats', () => {
    const c = new HypervisorCounters();
    const s = newShadowCounters();
    s.hiddenFaults = 7;
    s.reflectedFaults = 3;
    s.cr3Switches = 5;
    s.cr3CacheHits = 2;
    c.shadowPaging(s);
    const text = formatRunStats('vtx', { guestNs: 0, instructions: 0, interrupts: 0, exceptions: 0, hypervisor: c.snapshot() });
    expect(text).toMatch(/^shadow #PF hidden +7$/m);
    expect(text).toMatch(/^shadow #PF reflected +3$/m);
    expect(text).toMatch(/^CR3 switches +5 \(2 from the cache\)$/m);
  });
});
