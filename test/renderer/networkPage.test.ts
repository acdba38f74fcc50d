// @vitest-environment happy-dom
/**
 * Settings -> Network and Details -> Network: adapters on internal networks
 * are added, named, given a MAC or left automatic, removed, refused when
 * invalid, locked while the VM runs, and saved exactly.
 */
import type { VueWrapper } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AccessibleVm, VmState } from '../../core/host/api.ts';
import { FakeHost, makeConfig, makeVm, settle } from './fakeHost.ts';
import { mountSettingsDialog, mountVmDetails, unmountAndClear } from './mountComponents.ts';

let host: FakeHost;
let wrapper: VueWrapper | null = null;
let vm: AccessibleVm;

async function openNetwork(state: VmState, nics?: { network: string; mac?: string }[]): Promise<VueWrapper> {
  vm = makeVm(makeConfig(nics ? { nics } : {}), state);
  host.vms = [vm];
  wrapper = await mountSettingsDialog(host, vm, 'Network');
  return wrapper;
}

const button = (w: VueWrapper, text: string) => w.findAll('button').find((b) => b.text() === text)!;

beforeEach(() => {
  host = new FakeHost();
});

afterEach(() => {
  wrapper = unmountAndClear(wrapper);
});

describe('Settings -> Network', () => {
  it('adds adapters on internal networks and saves them, the MAC left automatic or given', async () => {
    const w = await openNetwork('poweredOff');
    expect(w.find('.empty').text()).toBe('No network adapters.');
    await button(w, 'Add network adapter').trigger('click');
    await button(w, 'Add network adapter').trigger('click');
    await w.find('#settings-nic-0-network').setValue('lab');
    await w.find('#settings-nic-1-network').setValue('dmz');
    await w.find('#settings-nic-1-mac').setValue('52:54:00:AA:BB:CC');
    await w.find('form').trigger('submit');
    await settle();
    const { id: _id, version: _v, ...draft } = vm.config;
    expect(host.api.updateVm).toHaveBeenCalledWith(vm.id, { ...draft, nics: [{ network: 'lab' }, { network: 'dmz', mac: '52:54:00:aa:bb:cc' }] });
  });

  it('shows what is wrong next to the adapter and keeps Save disabled', async () => {
    const w = await openNetwork('poweredOff', [{ network: 'lab' }]);
    await w.find('#settings-nic-0-network').setValue('no spaces');
    await w.find('#settings-nic-0-mac').setValue('01:00:5e:00:00:01');
    await settle();
    const errors = w.findAll('.nic .error').map((e) => e.text());
    expect(errors).toEqual([
      'Network names are 1 to 32 letters, digits, dots, dashes or underscores',
      'MAC address must be a unicast address (first byte even)',
    ]);
    expect(button(w, 'Save').attributes('disabled')).toBeDefined();
  });

  it('removes an adapter, and locks the page while the VM runs', async () => {
    let w = await openNetwork('poweredOff', [{ network: 'a' }, { network: 'b' }]);
    await w.find('button[aria-label="Remove adapter 0"]').trigger('click');
    expect(w.find<HTMLInputElement>('#settings-nic-0-network').element.value).toBe('b');
    wrapper!.unmount();
    w = await openNetwork('running', [{ network: 'a' }]);
    expect(w.find<HTMLInputElement>('#settings-nic-0-network').element.disabled).toBe(true);
    expect(button(w, 'Add network adapter').attributes('disabled')).toBeDefined();
  });
});

describe('Details -> Network', () => {
  it('lists the adapters with their networks', async () => {
    const config = makeConfig({ nics: [{ network: 'lab' }, { network: 'dmz', mac: '52:54:00:aa:bb:cc' }] });
    wrapper = await mountVmDetails(host, makeVm(config), null);
    expect(wrapper.find('section[aria-labelledby="details-network"]').text()).toBe(
      'Networketh0Internal network “lab” (automatic MAC)eth1Internal network “dmz” (52:54:00:aa:bb:cc)',
    );
  });
});
