/**
 * Mounting the app's dialogs and pages against a FakeHost for the component
 * tests, each on a store loaded from the host and settled, and the clean-up
 * after each test. The ManagerWindow gets its xterm console and its uPlot
 * chart stubbed: happy-dom has no layout to render a terminal into and no
 * canvas (both are checked in the browser, test/e2e).
 */
import { mount, type VueWrapper } from '@vue/test-utils';
import type { Pinia } from 'pinia';
import type { AccessibleVm, VmStats } from '../../core/host/api.ts';
import ManagerWindow from '../../renderer/src/components/ManagerWindow.vue';
import NewVmWizard from '../../renderer/src/components/NewVmWizard.vue';
import SettingsDialog from '../../renderer/src/components/SettingsDialog.vue';
import VmDetails from '../../renderer/src/components/VmDetails.vue';
import { HOST_KEY } from '../../renderer/src/host/hostContext.ts';
import { type FakeHost, loadedPinia, mountOptions, settle } from './fakeHost.ts';

/** The Settings dialog of `vm`, on the page whose tab reads `page` when one is given. */
export async function mountSettingsDialog(host: FakeHost, vm: AccessibleVm, page?: string): Promise<VueWrapper> {
  const wrapper = mount(SettingsDialog, { ...mountOptions(host, await loadedPinia(host)), props: { vm } });
  await settle();
  if (page !== undefined) await wrapper.findAll('[role="tab"]').find((t) => t.text() === page)!.trigger('click');
  return wrapper;
}

/** The Details page of `vm` with the live statistics `stats`; every guest type is labelled "Tiny Linux". */
export async function mountVmDetails(host: FakeHost, vm: AccessibleVm, stats: VmStats | null): Promise<VueWrapper> {
  const wrapper = mount(VmDetails, { ...mountOptions(host, await loadedPinia(host)), props: { vm, stats, presetLabel: () => 'Tiny Linux' } });
  await settle();
  return wrapper;
}

/** The New VM wizard on its first step. */
export async function mountNewVmWizard(host: FakeHost): Promise<VueWrapper> {
  const wrapper = mount(NewVmWizard, mountOptions(host, await loadedPinia(host)));
  await settle();
  return wrapper;
}

/** Submits the wizard's current step (Next, or Create on the last) and lets it settle. */
export async function submitStep(wizard: VueWrapper): Promise<void> {
  await wizard.find('form').trigger('submit');
  await settle();
}

/** The main window on `pinia` (the store not loaded yet: the window loads it), its console and exit-rate chart stubbed. */
export async function mountManagerWindow(host: FakeHost, pinia: Pinia): Promise<VueWrapper> {
  const wrapper = mount(ManagerWindow, {
    attachTo: document.body,
    global: {
      plugins: [pinia],
      provide: { [HOST_KEY as symbol]: host.rendererHost },
      stubs: {
        SerialConsole: { props: ['vmId', 'port'], template: '<div class="console-stub">{{ vmId }}:{{ port }}</div>' },
        ExitRateChart: { props: ['history'], template: '<div class="chart-stub">{{ history.length }}</div>' },
      },
    },
  });
  await settle();
  return wrapper;
}

/**
 * After a test: unmounts the component it left mounted, if any, and empties
 * the document the components are attached to; returns null for the test
 * file's `wrapper`.
 */
export function unmountAndClear(wrapper: VueWrapper | null): null {
  wrapper?.unmount();
  document.body.innerHTML = '';
  return null;
}
