// @vitest-environment happy-dom
/**
 * The memory balloon in the app: on the Details page of a running VM the
 * target, what the guest has given and the pool's free memory from the
 * host's samples, and the field that sets a new target through
 * HostApi.setBalloonTarget; in Settings -> System the balloon device and
 * its target at start, saved in the config.
 */
import type { VueWrapper } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { VmStats } from '../../core/host/api.ts';
import { FakeHost, makeConfig, makeVm, settle } from './fakeHost.ts';
import { mountSettingsDialog, mountVmDetails, unmountAndClear } from './mountComponents.ts';

const sample: VmStats = { vmId: 'x', instructions: 1, mips: 1, interrupts: 0, exceptions: 0, guestNs: 1e9, sampledAt: 0 };

let host: FakeHost;
let wrapper: VueWrapper | null = null;

async function details(config = makeConfig({ memoryMiB: 128, balloon: { targetMiB: 16 } }), stats: VmStats | null = sample, state: 'running' | 'poweredOff' = 'running') {
  wrapper = await mountVmDetails(host, makeVm(config, state), stats);
  return wrapper;
}

const cell = (w: VueWrapper, name: string) => w.find(`[data-balloon="${name}"]`).text();

beforeEach(() => {
  host = new FakeHost();
});

afterEach(() => {
  wrapper = unmountAndClear(wrapper);
});

describe('BalloonPanel on the Details page', () => {
  it('shows the target, the guest\'s balloon and the pool\'s free memory of a running VM', async () => {
    const w = await details(undefined, { ...sample, balloon: { targetPages: 4096, actualPages: 1000, poolFreeFrames: 51200 } });
    expect(w.find('#details-balloon').text()).toBe('Memory balloon');
    expect(cell(w, 'target')).toBe('16 MiB');
    expect(cell(w, 'actual')).toBe('3.9 MiB');
    expect(cell(w, 'pool')).toBe('200 MiB');
  });

  it('leaves out the pool on the bare PC and waits for the first sample', async () => {
    let w = await details(undefined, { ...sample, balloon: { targetPages: 0, actualPages: 0 } });
    expect(cell(w, 'target')).toBe('0 MiB');
    expect(w.find('[data-balloon="pool"]').exists()).toBe(false);
    w.unmount();
    w = await details(undefined, null);
    expect(w.find('.balloon .empty').text()).toBe('Waiting for the first sample…');
  });

  it('sets a new target through the host, within the VM\'s memory less what the guest keeps', async () => {
    const w = await details();
    const button = w.find('.balloon button');
    expect(button.attributes('disabled')).toBeDefined();
    expect(button.attributes('title')).toBe('Enter a target in MiB');
    await w.find('#balloon-target').setValue('125');
    expect(button.attributes('disabled')).toBeDefined();
    expect(button.attributes('title')).toBe('At most 124 MiB (the guest keeps the rest)');
    await w.find('#balloon-target').setValue('64');
    expect(button.attributes('disabled')).toBeUndefined();
    await w.find('form.set').trigger('submit');
    await settle();
    expect(host.api.setBalloonTarget.mock.calls).toEqual([[makeConfig().id, 64]]);
    expect(w.find('.balloon [role="alert"]').exists()).toBe(false);
  });

  it('shows the host\'s refusal', async () => {
    host.api.setBalloonTarget.mockRejectedValueOnce(new Error('VM "Alpha" is not running: the balloon target is set on a running or paused VM'));
    const w = await details();
    await w.find('#balloon-target').setValue('8');
    await w.find('form.set').trigger('submit');
    await settle();
    expect(w.find('.balloon [role="alert"]').text()).toBe('VM "Alpha" is not running: the balloon target is set on a running or paused VM');
  });

  it('is absent for a VM without a balloon and while a VM is off; System says whether there is one', async () => {
    let w = await details(makeConfig());
    expect(w.find('.balloon').exists()).toBe(false);
    expect(w.find('#details-system').element.parentElement!.textContent).toContain('Memory balloonOff');
    w.unmount();
    w = await details(undefined, null, 'poweredOff');
    expect(w.find('.balloon').exists()).toBe(false);
    expect(w.find('#details-system').element.parentElement!.textContent).toContain('Memory balloonOn, target at start 16 MiB');
  });
});

describe('the balloon in Settings -> System', () => {
  async function settings(config = makeConfig({ memoryMiB: 128, balloon: { targetMiB: 16 } })) {
    const vm = makeVm(config);
    host.vms = [vm];
    wrapper = await mountSettingsDialog(host, vm, 'System');
    return wrapper;
  }
  const saved = () => host.api.updateVm.mock.calls.at(-1)![1];

  it('shows the config\'s balloon, refuses a target past the memory, saves a new one', async () => {
    const w = await settings();
    expect(w.find<HTMLInputElement>('#settings-balloon').element.checked).toBe(true);
    expect(w.find<HTMLInputElement>('#settings-balloon-target').element.value).toBe('16');
    await w.find('#settings-balloon-target').setValue('125');
    await w.find('form').trigger('submit');
    await settle();
    expect(host.api.updateVm).not.toHaveBeenCalled();
    expect(w.find('#settings-balloon-target + .error').text()).toBe("The balloon can take at most 124 MiB of this VM's 128 MiB (the guest keeps 4 MiB)");
    await w.find('#settings-balloon-target').setValue('32');
    await w.find('form').trigger('submit');
    await settle();
    expect(saved().balloon).toEqual({ targetMiB: 32 });
  });

  it('adds a balloon to a VM without one, and removes it', async () => {
    let w = await settings(makeConfig());
    expect(w.find<HTMLInputElement>('#settings-balloon').element.checked).toBe(false);
    expect(w.find('#settings-balloon-target').exists()).toBe(false);
    await w.find('#settings-balloon').setValue(true);
    await w.find('form').trigger('submit');
    await settle();
    expect(saved().balloon).toEqual({ targetMiB: 0 });
    w.unmount();
    w = await settings();
    await w.find('#settings-balloon').setValue(false);
    await w.find('form').trigger('submit');
    await settle();
    expect('balloon' in saved()).toBe(false);
  });
});
