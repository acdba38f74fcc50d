// @vitest-environment happy-dom
/**
 * The Settings dialog: hardware settings locked (with the notice) while the
 * VM runs, and Save sending exactly the edited config.
 */
import { flushPromises, type VueWrapper } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AccessibleVm, VmState } from '../../core/host/api.ts';
import { FakeHost, makeConfig, makeVm, settle } from './fakeHost.ts';
import { mountSettingsDialog, unmountAndClear } from './mountComponents.ts';
import { withUnbuiltBt } from '../machine/unbuiltMode.ts';

let host: FakeHost;
let wrapper: VueWrapper | null = null;
let vm: AccessibleVm;

async function openSettings(state: VmState): Promise<VueWrapper> {
  vm = makeVm(makeConfig({ description: 'notes' }), state);
  host.vms = [vm, makeVm(makeConfig({ id: '0f7e1d2c-3b4a-4596-8877-665544332211', name: 'Other' }))];
  wrapper = await mountSettingsDialog(host, vm);
  return wrapper;
}

async function goTo(w: VueWrapper, page: string): Promise<void> {
  const tab = w.findAll('[role="tab"]').find((t) => t.text() === page);
  if (!tab) throw new Error(`no tab ${page}`);
  await tab.trigger('click');
}

function saveButton(w: VueWrapper) {
  return w.findAll('button').find((b) => b.text() === 'Save')!;
}

const NOTICE = 'these settings can only be changed while it is powered off';

beforeEach(() => {
  host = new FakeHost();
});

afterEach(() => {
  wrapper = unmountAndClear(wrapper);
});

describe('SettingsDialog while the VM runs', () => {
  it('disables every hardware field and says why, page by page', async () => {
    const w = await openSettings('running');
    expect(w.find<HTMLInputElement>('#settings-name').element.disabled).toBe(false);
    expect(w.find<HTMLTextAreaElement>('#settings-description').element.disabled).toBe(false);
    expect(w.find<HTMLSelectElement>('#settings-type').element.disabled).toBe(true);

    await goTo(w, 'System');
    expect(w.find('.notice').text()).toContain(`The machine is running: ${NOTICE}`);
    expect(w.find<HTMLInputElement>('#settings-memory').element.disabled).toBe(true);
    expect(w.find<HTMLInputElement>('#settings-cpus').element.disabled).toBe(true);
    expect(w.find<HTMLInputElement>('#settings-kernel').element.disabled).toBe(true);
    expect(w.find<HTMLInputElement>('#settings-cmdline').element.disabled).toBe(true);
    expect(w.find<HTMLSelectElement>('#settings-clock').element.disabled).toBe(true);

    await goTo(w, 'Storage');
    expect(w.find('.notice').text()).toContain(NOTICE);
    const attach = w.findAll('button').find((b) => b.text() === 'Attach existing disk image')!;
    expect(attach.attributes('disabled')).toBeDefined();

    await goTo(w, 'Serial Ports');
    expect(w.find('.notice').text()).toContain(NOTICE);
    const checkboxes = w.findAll<HTMLInputElement>('input[type="checkbox"]');
    expect(checkboxes.length).toBe(2);
    expect(checkboxes.every((c) => c.element.disabled)).toBe(true);
  });

  it('saves a rename as the unchanged config with only the new name', async () => {
    const w = await openSettings('paused');
    await w.find('#settings-name').setValue('Alpha renamed');
    await w.find('form').trigger('submit');
    await settle();
    const { id: _id, version: _v, ...draft } = vm.config;
    expect(host.api.updateVm).toHaveBeenCalledTimes(1);
    expect(host.api.updateVm).toHaveBeenCalledWith(vm.id, { ...draft, name: 'Alpha renamed' });
    expect(w.emitted('close')).toHaveLength(1);
  });
});

describe('SettingsDialog while the VM is powered off', () => {
  it('shows no notice and saves the exact changes', async () => {
    const w = await openSettings('poweredOff');
    await goTo(w, 'System');
    expect(w.find('.notice').exists()).toBe(false);
    await w.find('#settings-memory').setValue('256');
    await w.find('#settings-cmdline').setValue('console=ttyS0 loglevel=3');
    await w.find('#settings-clock').setValue('deterministic');
    await goTo(w, 'Serial Ports');
    const enableCom2 = w.findAll('input[type="checkbox"]')[1]!;
    await enableCom2.setValue(true);
    const tcpRadios = w.findAll('input[type="radio"][value="tcp"]');
    await tcpRadios[1]!.setValue(true);
    await w.find('#settings-serial-1-port').setValue('5555');
    expect(w.find('.status').text()).toBe('4 changes');
    await w.find('form').trigger('submit');
    await settle();
    expect(host.api.updateVm).toHaveBeenCalledWith(vm.id, {
      name: 'Alpha',
      description: 'notes',
      guestType: 'tiny-linux',
      memoryMiB: 256,
      cpus: 1,
      boot: { kind: 'linux', kernel: '@guests/tiny-linux/bzImage', initrd: '@guests/tiny-linux/initramfs.cpio.gz', cmdline: 'console=ttyS0 loglevel=3' },
      bootOrder: ['disk'],
      disks: [],
      serial: [{ enabled: true, mode: 'console' }, { enabled: true, mode: 'tcp', port: 5555 }],
      clock: 'deterministic',
      acceleration: 'none',
      nestedPaging: true,
    });
  });

  it('offers the acceleration modes as radio buttons, the ones not built disabled and saying so', async () => {
    const w = await openSettings('poweredOff');
    await goTo(w, 'System');
    const group = w.find('[role="radiogroup"][aria-label="Acceleration"]');
    const radios = group.findAll<HTMLInputElement>('input[type="radio"]');
    expect(radios.map((r) => [r.element.value, r.element.checked, r.element.disabled])).toEqual([
      ['none', true, false],
      ['vtx', false, false],
      ['svm', false, false],
      ['bt', false, false],
      ['trap', false, false],
    ]);
    const texts = group.findAll('.accel-mode').map((m) => `${m.find('label').text()} | ${m.find('.hint').text()}`);
    expect(texts[0]).toBe(
      'None (emulated PC) | The guest runs directly on the emulated PC with no hypervisor: the reference the other modes are compared with.',
    );
    expect(texts[1]).toBe("Intel VT-x | Popek's hypervisor runs the guest through the emulated processor's VMX extension, with EPT nested paging.");
    expect(texts[2]).toBe("AMD-V (SVM) | Popek's hypervisor runs the guest on an emulated AMD processor through its SVM extension, with nested paging (NPT).");
    expect(texts[3]).toBe('Binary translation | No hardware assist: the guest kernel runs deprivileged and its sensitive instructions are translated.');
    expect(texts[4]).toBe('Trap-and-emulate only | The deprivileged guest kernel with translation off, to show where trap-and-emulate fails on x86.');
    // Nested paging means something only under the hypervisor; there it can be turned off (shadow page tables).
    const nested = w.findAll<HTMLInputElement>('input[type="checkbox"]').find((c) => c.element.parentElement!.textContent!.includes('Nested paging'))!;
    expect([nested.element.checked, nested.element.disabled]).toEqual([true, true]);
    await w.find('input[type="radio"][value="vtx"]').setValue(true);
    expect(nested.element.disabled).toBe(false);
    await nested.setValue(false);
    await w.find('form').trigger('submit');
    await settle();
    const { id: _id, version: _v, ...draft } = vm.config;
    expect(host.api.updateVm).toHaveBeenCalledWith(vm.id, { ...draft, acceleration: 'vtx', nestedPaging: false });
  });

  it('reports a mode this build cannot run (from a newer vm.json), and saves once a built mode is chosen', () =>
    withUnbuiltBt(async () => {
    vm = makeVm(makeConfig({ acceleration: 'bt' }), 'poweredOff');
    host.vms = [vm];
    const w = (wrapper = await mountSettingsDialog(host, vm));
    await goTo(w, 'System');
    expect(w.find('fieldset .error').text()).toBe('Acceleration Binary translation is not yet built: (marked unbuilt by this test)');
    expect(saveButton(w).attributes('disabled')).toBeDefined();
    await w.find('input[type="radio"][value="vtx"]').setValue(true);
    expect(w.find('fieldset .error').exists()).toBe(false);
    await w.find('form').trigger('submit');
    await settle();
    const { id: _id, version: _v, ...draft } = vm.config;
    expect(host.api.updateVm).toHaveBeenCalledWith(vm.id, { ...draft, acceleration: 'vtx' });
    }));

  it('shows field errors next to the field, disables Save and sends nothing', async () => {
    const w = await openSettings('poweredOff');
    await w.find('#settings-name').setValue('other');
    expect(w.find('#settings-name').element.parentElement!.querySelector('.error')!.textContent).toBe('A VM named "other" already exists');
    await goTo(w, 'Serial Ports');
    await w.findAll('input[type="radio"][value="tcp"]')[0]!.setValue(true);
    await w.find('#settings-serial-0-port').setValue('80');
    expect(w.find('#settings-serial-0-port').element.parentElement!.querySelector('.error')!.textContent).toBe('TCP port must be at least 1024');
    expect(saveButton(w).attributes('disabled')).toBeDefined();
    await w.find('form').trigger('submit');
    await settle();
    expect(host.api.updateVm).not.toHaveBeenCalled();
    // Submitting with errors jumps to the first page that has one.
    expect(w.find('[role="tab"][aria-selected="true"]').text()).toBe('General');
  });

  it('shows the host’s field errors from a refused save on the right page', async () => {
    host.api.updateVm.mockResolvedValueOnce({ ok: false, errors: [{ field: 'boot.kernel', message: 'Kernel not found: /x' }] } as never);
    const w = await openSettings('poweredOff');
    await goTo(w, 'System');
    await w.find('#settings-kernel').setValue('/x');
    await w.find('form').trigger('submit');
    await settle();
    await flushPromises();
    expect(w.find('[role="tab"][aria-selected="true"]').text()).toBe('System');
    expect(w.find('#settings-kernel').element.parentElement!.parentElement!.querySelector('.error')!.textContent).toBe('Kernel not found: /x');
    expect(w.emitted('close')).toBeUndefined();
  });
});
