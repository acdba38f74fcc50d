/**
 * The display pictures of the VMs whose machines have a display adapter. It
 * listens to every VM that starts; the first picture of a run opens that VM's
 * Screen tab beside its console. The first picture with something on it
 * (text, or a graphics mode) brings the tab to the front when the user is
 * looking at that VM's console, as starting a VM shows it: a guest that only
 * talks on the serial port keeps its console in front. A VM whose machine
 * has no display adapter never sends a picture, so it never gets a Screen tab.
 */
import { defineStore } from 'pinia';
import { shallowRef, triggerRef } from 'vue';
import type { ScreenSnapshot, Unsubscribe, VmState } from '../../../core/host/api.ts';
import { useHost } from '../host/hostContext.ts';
import { useConsoleStore } from './consoleStore.ts';

const ACTIVE: ReadonlySet<VmState> = new Set(['starting', 'running', 'paused']);

/** A graphics mode, or text other than blanks. */
function hasSomething(screen: ScreenSnapshot): boolean {
  return screen.mode !== 'text' || screen.lines.some((line) => line.trim() !== '');
}

export const useScreenStore = defineStore('screens', () => {
  const host = useHost();
  const consoles = useConsoleStore();
  /** Latest picture per VM (shallow: pictures are replaced, never edited). */
  const latest = shallowRef<Record<string, ScreenSnapshot>>({});
  const subscriptions = new Map<string, Unsubscribe>();
  /** VMs whose current run has sent a picture (its Screen tab was opened for this run). */
  const shownThisRun = new Set<string>();
  /** VMs whose current run has put something on the screen (its tab was brought to the front if the user was on the VM). */
  const litThisRun = new Set<string>();

  function watchVm(vmId: string): void {
    if (subscriptions.has(vmId)) return;
    subscriptions.set(
      vmId,
      host.api.subscribeScreen(vmId, (screen) => {
        latest.value[vmId] = screen;
        triggerRef(latest);
        if (!shownThisRun.has(vmId)) {
          shownThisRun.add(vmId);
          consoles.openScreen(vmId, false);
        }
        if (!litThisRun.has(vmId) && hasSomething(screen)) {
          litThisRun.add(vmId);
          const lookingAtVm = consoles.tabs.some((t) => t.key === consoles.activeKey && t.vmId === vmId);
          if (lookingAtVm) consoles.openScreen(vmId, true);
        }
      }),
    );
  }

  function stateChanged(vmId: string, state: VmState): void {
    if (state === 'starting') {
      shownThisRun.delete(vmId);
      litThisRun.delete(vmId);
    }
    if (ACTIVE.has(state)) watchVm(vmId);
  }

  /** Starts listening; `active` are the VMs already running when the window opens. */
  function init(active: string[]): void {
    host.api.onStateChange((event) => stateChanged(event.vmId, event.status.state));
    for (const vmId of active) watchVm(vmId);
  }

  /** The VM was removed: stop listening and forget its picture. */
  function forget(vmId: string): void {
    subscriptions.get(vmId)?.();
    subscriptions.delete(vmId);
    shownThisRun.delete(vmId);
    litThisRun.delete(vmId);
    delete latest.value[vmId];
    triggerRef(latest);
  }

  /** True once the VM's current run has put something on its screen. */
  function lit(vmId: string): boolean {
    return litThisRun.has(vmId);
  }

  return { latest, init, forget, watchVm, lit };
});
