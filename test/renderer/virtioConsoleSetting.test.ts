// @vitest-environment happy-dom
/**
 * The VirtIO console setting in the app: Settings -> Serial Ports has the
 * number of console ports (0 = none, saved as absent), locked while the VM
 * runs like the serial ports.
 */
import type { VueWrapper } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { VmConfig, VmState } from '../../core/host/api.ts';
import { FakeHost, makeConfig, makeVm, settle } from './fakeHost.ts';
import { mountSettingsDialog, unmountAndClear } from './mountComponents.ts';

let host: FakeHost;
let wrapper: VueWrapper | null = null;

beforeEach(() => {
  host = new FakeHost();
});

afterEach(() => {
  wrapper = unmountAndClear(wrapper);
});

async function settings(config: VmConfig, state: VmState = 'poweredOff'): Promise<VueWrapper> {
  const vm = makeVm(config, state);
  host.vms = [vm];
  wrapper = await mountSettingsDialog(host, vm, 'Serial Ports');
  return wrapper;
}

const field = (w: VueWrapper) => w.find<HTMLInputElement>('#settings-virtio-consoles');

async function save(w: VueWrapper): Promise<void> {
  await w.find('form').trigger('submit');
  await settle();
}

describe('VirtIO consoles in Settings -> Serial Ports', () => {
  it('is 0 for a VM without them and saves the number of ports once set', async () => {
    const w = await settings(makeConfig());
    expect(field(w).element.value).toBe('0');
    expect(field(w).element.closest('fieldset')!.querySelector('legend')!.textContent).toBe('VirtIO consoles');
    await field(w).setValue('2');
    expect(w.find('.status').text()).toBe('1 change');
    await save(w);
    const { id: _id, version: _v, ...draft } = makeConfig();
    expect(host.api.updateVm.mock.calls).toEqual([[makeConfig().id, { ...draft, virtioConsoles: 2 }]]);
  });

  it('removes the field when set back to 0', async () => {
    const w = await settings(makeConfig({ virtioConsoles: 3 }));
    expect(field(w).element.value).toBe('3');
    await field(w).setValue('0');
    await save(w);
    const { id: _id, version: _v, ...draft } = makeConfig();
    expect(host.api.updateVm.mock.calls).toEqual([[makeConfig().id, draft]]);
  });

  it('is locked while the VM runs', async () => {
    const w = await settings(makeConfig({ virtioConsoles: 1 }), 'running');
    expect(field(w).element.closest('fieldset')!.disabled).toBe(true);
  });
});
