// @vitest-environment happy-dom
/**
 * The Hypervisor panel under the software monitor: the monitor's counters
 * with what each means, its entries per second from two samples, and under
 * binary translation the translator's counters and the Translation cache
 * view (block list, then a block's guest code beside its translation).
 */
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils';
import { describe, expect, it, vi } from 'vitest';
import type { HypervisorStats, InspectedBlock, TranslationCacheView, VmStats } from '../../core/host/api.ts';
import type { Acceleration } from '../../core/machine/acceleration.ts';
import HypervisorPanel from '../../renderer/src/components/HypervisorPanel.vue';
import { HOST_KEY } from '../../renderer/src/host/hostContext.ts';

const monitorOnly: HypervisorStats = {
  exitsByReason: {}, entries: 0, injectedInterrupts: 0, eptViolations: 0, guestMs: 10, hypervisorMs: 0,
  shadowPaging: { hiddenFaults: 40, reflectedFaults: 3, pageTableWriteFaults: 0, resyncs: 0, shadowPagesBuilt: 5, cr3Switches: 1 },
  monitor: { trapsByInstruction: { 'in/out': 12, cli: 2, 'mov cr': 3 }, reflectedByVector: { 14: 3, 128: 5 }, heldInterrupts: 4, gdtResyncs: 1, gdtPagesUnwatched: 0,
    gdtEntriesByWatch: 0, gdtEntriesByResync: 0, viewSwitchesToUser: 0, lazyViewSwitchesToUser: 0, viewSwitchesToKernel: 0, emulatedInstructions: 0, emulatorEntries: 0, emulatorExits: 0 },
};

const translated: HypervisorStats = {
  ...monitorOnly,
  translator: {
    blocksBuilt: 82, guestInstructionsTranslated: 279, blocksEntered: 974, chainsMade: 70, blocksInvalidated: 1, codeWrites: 1, cacheFlushes: 0, sectionsReused: 3, blocksEvicted: 40,
    tcUsed: 1630, tcSize: 262144, calloutsByKind: { ret: 323, exit: 70, sgdt: 1 },
  },
};

const sample = (hypervisor: HypervisorStats, sampledAt = 1000): VmStats => ({ vmId: 'vm1', instructions: 1, mips: 1, interrupts: 1, exceptions: 0, guestNs: 1, sampledAt, hypervisor });

const cache: TranslationCacheView = {
  tcUsed: 27, tcSize: 262144,
  blocks: [
    { id: 1, guestEip: 0x100020, guestInstructions: 4, tcStart: 0xffd00000, tcLength: 18, valid: false },
    { id: 2, guestEip: 0x10002a, guestInstructions: 1, tcStart: 0xffd00012, tcLength: 9, valid: true },
  ],
};

const block2: InspectedBlock = {
  id: 2, guestEip: 0x10002a, frames: [0x100], tcStart: 0xffd00012, tcLength: 9, valid: true,
  instructions: [{
    guestEip: 0x10002a, guestBytes: 'e6 a1', guestText: 'out 0xa1, al',
    translation: [
      { address: 0xffd00012, bytes: 'e6 a1', text: 'out 0xa1, al', note: 'copy' },
      { address: 0xffd00014, bytes: 'e9 02 00 00 00', text: 'jmp 0xffd0001b', note: 'branch' },
    ],
  }],
  exitStubs: [{ address: 0xffd00019, bytes: 'cd 1f', text: 'int 0x1f', note: 'exit stub -> guest 0010002c' }],
};

function mountPanel(stats: VmStats, acceleration: Acceleration) {
  const api = {
    getTranslationCache: vi.fn(async () => cache),
    inspectTranslatedBlock: vi.fn(async (_vm: string, id: number) => (id === 2 ? block2 : null)),
  };
  const w: VueWrapper<any> = mount(HypervisorPanel, { // any: a .vue import has no prop types for tsc
    props: { stats, acceleration },
    global: {
      provide: { [HOST_KEY as symbol]: { api, desktop: null, openConsoleWindow: async () => {}, onConnectionChange: () => () => {} } },
      stubs: { ExitRateChart: { props: ['history', 'unit'], template: '<div class="chart-stub">{{ unit }} {{ JSON.stringify(history[history.length - 1].rates) }}</div>' } },
    },
  });
  return { w, api };
}

const rowsOf = (w: VueWrapper, group: string) =>
  w.findAll(`[data-group="${group}"] tr`).map((r) => r.findAll('th, td').map((c) => c.text()).join(' | '));

describe('Hypervisor panel under the software monitor', () => {
  it('shows the trap-and-emulate monitor\'s counters with what each means, and its entries per second from two samples', async () => {
    const { w, api } = mountPanel(sample(monitorOnly), 'trap');
    expect(w.find('#details-hypervisor').text()).toBe('Software monitor (trap-and-emulate only)');
    expect(w.find('[data-hv="entries"]').exists()).toBe(false); // no VM exits or entries under the monitor
    expect(rowsOf(w, 'traps')).toEqual([
      'in/out | 12 | Port I/O to a device: the monitor hands it to the emulated chipset.',
      'mov cr | 3 | A control-register access (paging on, a CR3 switch to another process): the monitor updates the virtual CPU and its shadow page tables.',
      'cli | 2 | The guest kernel turned interrupts off. CLI faults at ring 1, so the monitor clears the guest\'s virtual interrupt flag instead.',
    ]);
    expect(rowsOf(w, 'reflected')).toEqual([
      '#PF page fault (14) | 3 | A page fault that was the guest\'s own (not a shadow fill): delivered to its handler with its CR2 and error code.',
      'vector 0x80 | 5 | INT 0x80, a Linux system call from user code (or an interrupt on that vector): delivered through the guest\'s IDT.',
    ]);
    expect(rowsOf(w, 'monitor').map((r) => r.split(' | ').slice(0, 2).join(' | '))).toEqual([
      'Held interrupts | 4', 'Page faults hidden | 40', 'Page faults reflected | 3', 'Shadow GDT resyncs | 1',
    ]);
    expect(w.find('[data-group="translator"]').exists()).toBe(false);
    expect(w.find('#tc-title').exists()).toBe(false);
    expect(api.getTranslationCache).not.toHaveBeenCalled();
    expect(w.find('.waiting').text()).toBe('Monitor entries per second appear with the next sample…');

    const later: HypervisorStats = { ...monitorOnly, monitor: { ...monitorOnly.monitor!, trapsByInstruction: { 'in/out': 30, cli: 2, 'mov cr': 3 }, reflectedByVector: { 14: 4, 128: 5 } } };
    await w.setProps({ stats: sample(later, 1500) });
    expect(w.find('.chart-stub').text()).toBe('monitor entries / s {"traps":36,"reflected":2}');
  });

  it('under binary translation adds the translator\'s counters, its callouts, and the translation cache side by side', async () => {
    const { w, api } = mountPanel(sample(translated), 'bt');
    await flushPromises();
    expect(w.find('#details-hypervisor').text()).toBe('Software monitor (binary translation)');
    expect(rowsOf(w, 'translator').map((r) => r.split(' | ').slice(0, 2).join(' | '))).toEqual([
      'Blocks translated | 82', 'Guest instructions translated | 279', 'Blocks entered by the monitor | 974', 'Chained jumps | 70',
      'Blocks invalidated | 1', 'Writes to translated code | 1', 'Translation cache used | 1.6 KiB of 256.0 KiB', 'Cache sections reused | 3',
      'Blocks evicted | 40', 'Cache flushes | 0',
    ]);
    expect(rowsOf(w, 'callouts').map((r) => r.split(' | ').slice(0, 2).join(' | '))).toEqual(['ret | 323', 'exit | 70', 'sgdt | 1']);
    expect(rowsOf(w, 'callouts')[2]).toBe('sgdt | 1 | SGDT would show the monitor\'s GDT: it stores the guest\'s.');

    expect(api.getTranslationCache).toHaveBeenCalledWith('vm1');
    expect(w.find('[data-tc="summary"]').text()).toBe(
      '2 blocks since the last flush (1 invalidated), 27 B of 256.0 KiB used. Select a block to see its guest instructions beside their translation.',
    );
    const list = w.findAll('table[aria-label="Cached blocks"] tr').map((r) => r.findAll('th, td').map((c) => c.text()).join(' | '));
    expect(list).toEqual([
      'Block | Guest EIP | Instructions | TC bytes | State',
      '#2 | 0010002a | 1 | 9 | valid',
      '#1 | 00100020 | 4 | 18 | invalidated',
    ]);
    await w.find('tr[data-block="2"]').trigger('click');
    await flushPromises();
    expect(api.inspectTranslatedBlock).toHaveBeenCalledWith('vm1', 2);
    expect(w.find('[data-tc="caption"]').text()).toBe('Block #2: guest 0010002a → TC ffd00012, 9 bytes');
    const side = w.findAll('table.side tbody tr').map((r) => r.findAll('td').map((c) => c.text()).join(' | '));
    expect(side).toEqual([
      '0010002a | e6 a1 | out 0xa1, al | ffd00012 | e6 a1 | out 0xa1, al | copy',
      ' |  |  | ffd00014 | e9 02 00 00 00 | jmp 0xffd0001b | branch',
      ' |  |  | ffd00019 | cd 1f | int 0x1f | exit stub -> guest 0010002c',
    ]);
    await w.find('tr[data-block="1"]').trigger('click');
    await flushPromises();
    expect(w.find('[data-tc="gone"]').text()).toBe('Block #1 is no longer in the cache (it was flushed).');
  });

  it('says so when the translator has not translated anything yet', async () => {
    const { w, api } = mountPanel(sample(monitorOnly), 'bt');
    api.getTranslationCache.mockResolvedValueOnce(null as unknown as TranslationCacheView);
    await w.find('[data-tc="refresh"]').trigger('click');
    await flushPromises();
    expect(w.find('[data-tc="none"]').text()).toBe('Nothing translated yet: the guest kernel has not run under the translator.');
    expect(w.find('[data-group="translator"] .empty').text()).toBe('Nothing translated yet: the guest kernel has not run.');
  });
});
