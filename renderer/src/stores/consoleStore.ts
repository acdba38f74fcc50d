/**
 * Console tabs of the main window: one per (VM, serial port), opened on
 * demand, closed and reopened at will (reopening replays the host's
 * scrollback). The "details" tab is always there.
 */
import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { SerialIndex } from '../../../core/host/api.ts';

export interface ConsoleTab {
  key: string;
  vmId: string;
  port: SerialIndex;
}

export const DETAILS_TAB = 'details';

export function consoleKey(vmId: string, port: SerialIndex): string {
  return `${vmId}:${port}`;
}

export const useConsoleStore = defineStore('consoles', () => {
  const tabs = ref<ConsoleTab[]>([]);
  const activeKey = ref<string>(DETAILS_TAB);

  function open(vmId: string, port: SerialIndex): void {
    const key = consoleKey(vmId, port);
    if (!tabs.value.some((t) => t.key === key)) tabs.value.push({ key, vmId, port });
    activeKey.value = key;
  }

  function close(key: string): void {
    const index = tabs.value.findIndex((t) => t.key === key);
    if (index < 0) return;
    tabs.value.splice(index, 1);
    if (activeKey.value === key) activeKey.value = tabs.value[Math.min(index, tabs.value.length - 1)]?.key ?? DETAILS_TAB;
  }

  /** Drops the tabs of a VM that no longer exists. */
  function closeVm(vmId: string): void {
    for (const tab of tabs.value.filter((t) => t.vmId === vmId)) close(tab.key);
  }

  function activate(key: string): void {
    activeKey.value = key;
  }

  return { tabs, activeKey, open, close, closeVm, activate };
});
