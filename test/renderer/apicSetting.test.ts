// @vitest-environment happy-dom
/**
 * The I/O APIC setting in the app: Settings -> System has the "Enable I/O
 * APIC" box (VirtualBox's place for it: the motherboard), saved as
 * VmConfig.apic only when ticked, locked while the VM runs like the other
 * board settings; the Details page says whether the VM has it.
 */
import type { VueWrapper } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { VmConfig, VmState } from '../../core/host/api.ts';
import { FakeHost, makeConfig, makeVm, settle } from './fakeHost.ts';
import { mountSettingsDialog, mountVmDetails, unmountAndClear } from './mountComponents.ts';

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
  wrapper = await mountSettingsDialog(host, vm, 'System');
  return wrapper;
}

const box = (w: VueWrapper) => w.find<HTMLInputElement>('#settings-apic');
const saved = () => host.api.updateVm.mock.calls.at(-1)![1];

async function save(w: VueWrapper): Promise<void> {
  await w.find('form').trigger('submit');
  await settle();
}

describe('Enable I/O APIC in Settings -> System', () => {
  it('is unticked for a VM without it, explains itself, and saves apic: true once ticked', async () => {
    const w = await settings(makeConfig());
    expect(box(w).element.checked).toBe(false);
    expect(box(w).element.parentElement!.textContent!.trim()).toBe('Enable I/O APIC');
    expect(box(w).element.closest('fieldset')!.querySelector('legend')!.textContent).toBe('Motherboard');
    expect(box(w).element.closest('fieldset')!.querySelector('.hint')!.textContent).toBe(
      'On, the guest finds a local APIC and an I/O APIC, described by the MP table and the ACPI MADT; off, only the legacy 8259 PIC.',
    );
    expect(w.find('.status').text()).toBe('No changes');
    await box(w).setValue(true);
    expect(w.find('.status').text()).toBe('1 change');
    await save(w);
    const { id: _id, version: _v, ...draft } = makeConfig();
    expect(host.api.updateVm.mock.calls).toEqual([[makeConfig().id, { ...draft, apic: true }]]);
  });

  it('is ticked for a VM with it, and unticking removes the field', async () => {
    const w = await settings(makeConfig({ apic: true }));
    expect(box(w).element.checked).toBe(true);
    await box(w).setValue(false);
    await save(w);
    expect('apic' in saved()).toBe(false);
  });

  it('cannot change while the VM runs (the whole board fieldset is disabled, with the notice)', async () => {
    const w = await settings(makeConfig({ apic: true }), 'running');
    expect(box(w).element.closest('fieldset')!.disabled).toBe(true);
    expect(w.find('.notice').text()).toContain('these settings can only be changed while it is powered off');
  });

  it('refuses it beside the box when the acceleration is the software monitor\'s', async () => {
    const w = await settings(makeConfig({ acceleration: 'bt' }));
    await box(w).setValue(true);
    await save(w);
    expect(host.api.updateVm).not.toHaveBeenCalled();
    expect(box(w).element.closest('fieldset')!.querySelector('.error')!.textContent).toBe(
      'The I/O APIC cannot be used with Binary translation: the software monitor does not emulate the local APIC, and its guests keep the 8259 PIC',
    );
  });

  it('shows the host\'s refusal next to the box', async () => {
    host.api.updateVm.mockResolvedValueOnce({ ok: false, errors: [{ field: 'apic', message: 'I/O APIC must be true or false' }] } as never);
    const w = await settings(makeConfig());
    await box(w).setValue(true);
    await save(w);
    expect(box(w).element.closest('fieldset')!.querySelector('.error')!.textContent).toBe('I/O APIC must be true or false');
  });
});

describe('the I/O APIC on the Details page', () => {
  async function systemCard(config: VmConfig): Promise<string> {
    wrapper = await mountVmDetails(host, makeVm(config, 'poweredOff'), null);
    return wrapper.find('#details-system').element.parentElement!.textContent!;
  }

  it('says On with the setting and Off (the 8259) without', async () => {
    expect(await systemCard(makeConfig({ apic: true }))).toContain('I/O APICOn (local APIC and I/O APIC)');
    wrapper!.unmount();
    expect(await systemCard(makeConfig())).toContain('I/O APICOff (8259 PIC)');
  });
});
