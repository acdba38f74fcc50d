/**
 * Latest statistics sample per VM, pushed by the host about every 500 ms.
 * Samples of VMs that stopped are dropped so the details pane never shows a
 * frozen "live" number.
 */
import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { VmStats, VmState } from '../../../core/host/api.ts';
import { useHost } from '../host/hostContext.ts';

export const useStatsStore = defineStore('stats', () => {
  const host = useHost();
  const byVm = ref<Record<string, VmStats>>({});

  function init(): void {
    host.api.onStats((stats) => {
      byVm.value[stats.vmId] = stats;
    });
    host.api.onStateChange((event) => forgetUnlessLive(event.vmId, event.status.state));
  }

  function forgetUnlessLive(vmId: string, state: VmState): void {
    if (state !== 'running' && state !== 'paused') delete byVm.value[vmId];
  }

  /** Fetches a sample now (on selection) instead of waiting for the next push. */
  async function fetchNow(vmId: string): Promise<void> {
    const stats = await host.api.getStats(vmId).catch(() => null);
    if (stats) byVm.value[vmId] = stats;
  }

  return { byVm, init, fetchNow };
});
