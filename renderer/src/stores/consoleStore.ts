/**
 * Console tabs of the main window: one per (VM, serial port), opened on
 * demand, closed and reopened at will (reopening replays the host's
 * scrollback), and one Screen tab per VM whose machine has a display adapter
 * (opened by the screen store when the first picture arrives). The "details"
 * tab is always there.
 */
import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { ConsolePort } from '../../../core/host/api.ts';

export type ConsoleTab = SerialTab | ScreenTab;

export interface SerialTab {
  kind: 'serial';
  key: string;
  vmId: string;
  port: ConsolePort;
}

export interface ScreenTab {
  kind: 'screen';
  key: string;
  vmId: string;
}

export const DETAILS_TAB = 'details';

export function consoleKey(vmId: string, port: ConsolePort): string {
  return `${vmId}:${port}`;
}

export function screenKey(vmId: string): string {
  return `${vmId}:screen`;
}

export const useConsoleStore = defineStore('consoles', () => {
  const tabs = ref<ConsoleTab[]>([]);
  const activeKey = ref<string>(DETAILS_TAB);

  function open(vmId: string, port: ConsolePort): void {
    const key = consoleKey(vmId, port);
    if (!tabs.value.some((t) => t.key === key)) tabs.value.push({ kind: 'serial', key, vmId, port });
    activeKey.value = key;
  }

  /** Opens the VM's Screen tab, beside its consoles; `activate` also shows it. */
  function openScreen(vmId: string, activate: boolean): void {
    const key = screenKey(vmId);
    if (!tabs.value.some((t) => t.key === key)) tabs.value.push({ kind: 'screen', key, vmId });
    if (activate) activeKey.value = key;
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

  return { tabs, activeKey, open, openScreen, close, closeVm, activate };
});
