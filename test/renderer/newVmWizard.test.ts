// @vitest-environment happy-dom
/**
 * The New VM wizard: defaults per preset, live field errors next to their
 * fields, Next/Create refused while invalid, and the exact config sent to
 * the host on a valid submission.
 */
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils';
import { createPinia } from 'pinia';
import NewVmWizard from '../../renderer/src/components/NewVmWizard.vue';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeHost, loadStore, makeConfig, makeVm, mountOptions, settle } from './fakeHost.ts';
import { mountNewVmWizard, submitStep, unmountAndClear } from './mountComponents.ts';

let host: FakeHost;
let wrapper: VueWrapper | null = null;

async function openWizard(): Promise<VueWrapper> {
  wrapper = await mountNewVmWizard(host);
  return wrapper;
}

function buttonByText(w: VueWrapper, text: string) {
  const button = w.findAll('button').find((b) => b.text() === text);
  if (!button) throw new Error(`no button ${text}`);
  return button;
}

function stepTitle(w: VueWrapper): string {
  return w.find('.page-title').text();
}

const next = submitStep;

beforeEach(() => {
  vi.useRealTimers();
  host = new FakeHost();
  host.vms = [makeVm(makeConfig({ name: 'Existing' }))];
});

afterEach(() => {
  wrapper = unmountAndClear(wrapper);
});

describe('NewVmWizard', () => {
  it('starts on the Tiny Linux preset with its defaults', async () => {
    const w = await openWizard();
    expect(stepTitle(w)).toBe('Name and guest type');
    const checked = w.find<HTMLInputElement>('input[name="wizard-guest-type"]:checked');
    expect(checked.element.value).toBe('tiny-linux');
    await w.find('#wizard-name').setValue('Demo');
    await next(w);
    expect(stepTitle(w)).toBe('Boot');
    expect(w.find<HTMLInputElement>('#wizard-cmdline').element.value).toBe('console=ttyS0');
    expect(w.find('.readonly').text()).toContain('@guests/tiny-linux/bzImage');
    await next(w);
    expect(stepTitle(w)).toBe('Hardware');
    expect(w.find<HTMLInputElement>('#wizard-memory').element.value).toBe('128');
    expect(w.find<HTMLInputElement>('#wizard-cpus').element.value).toBe('1');
  });

  it('takes the Tiny Linux preset when the presets arrive after it opened, keeping the typed name', async () => {
    const pinia = createPinia();
    wrapper = mount(NewVmWizard, mountOptions(host, pinia));
    await settle();
    expect(wrapper.find('input[name="wizard-guest-type"]').exists()).toBe(false);
    await wrapper.find('#wizard-name').setValue('Early');
    await loadStore(host, pinia);
    await settle();
    const checked = wrapper.find<HTMLInputElement>('input[name="wizard-guest-type"]:checked');
    expect(checked.element.value).toBe('tiny-linux');
    expect(wrapper.find<HTMLInputElement>('#wizard-name').element.value).toBe('Early');
    await next(wrapper);
    expect(stepTitle(wrapper)).toBe('Boot');
    expect(wrapper.find('.readonly').text()).toContain('@guests/tiny-linux/bzImage');
  });

  it('applies the custom-kernel preset defaults and keeps the typed name', async () => {
    const w = await openWizard();
    await w.find('#wizard-name').setValue('Custom');
    await w.find('input[value="linux-custom"]').setValue(true);
    await settle();
    expect(w.find<HTMLInputElement>('#wizard-name').element.value).toBe('Custom');
    await next(w);
    expect(w.find<HTMLInputElement>('#wizard-kernel').element.value).toBe('');
    expect(w.find<HTMLInputElement>('#wizard-cmdline').element.value).toBe('console=ttyS0');
    // Next with no kernel: the error appears next to the kernel field and the step stays.
    await next(w);
    expect(stepTitle(w)).toBe('Boot');
    expect(w.find('#wizard-kernel-error').text()).toBe('Kernel is required');
    await w.find('#wizard-kernel').setValue('/boot/vmlinuz');
    await next(w);
    expect(stepTitle(w)).toBe('Hardware');
    expect(w.find<HTMLInputElement>('#wizard-memory').element.value).toBe('256');
  });

  it('validates the name live, next to the field', async () => {
    const w = await openWizard();
    await w.find('#wizard-name').setValue('a/b');
    expect(w.find('#wizard-name-error').text()).toBe('Name must not contain / or \\');
    expect(w.find('#wizard-name').attributes('aria-invalid')).toBe('true');
    await w.find('#wizard-name').setValue('existing');
    expect(w.find('#wizard-name-error').text()).toBe('A VM named "existing" already exists');
    await w.find('#wizard-name').setValue('');
    expect(w.find('#wizard-name-error').text()).toBe('Name is required');
    await w.find('#wizard-name').setValue('Fine name');
    expect(w.find('#wizard-name-error').exists()).toBe(false);
  });

  it('refuses to leave a step with an invalid name', async () => {
    const w = await openWizard();
    await next(w);
    expect(stepTitle(w)).toBe('Name and guest type');
    expect(w.find('#wizard-name-error').text()).toBe('Name is required');
  });

  it('shows memory and processor errors next to their fields', async () => {
    const w = await openWizard();
    await w.find('#wizard-name').setValue('Demo');
    await next(w);
    await next(w);
    await w.find('#wizard-memory').setValue('2000');
    expect(w.find('#wizard-memory-error').text()).toBe('Memory (MiB) must be at most 1792');
    await w.find('#wizard-memory').setValue('3');
    expect(w.find('#wizard-memory-error').text()).toBe('Memory (MiB) must be at least 4');
    await w.find('#wizard-memory').setValue('64');
    expect(w.find('#wizard-memory-error').exists()).toBe(false);
    await w.find('#wizard-cpus').setValue('2');
    expect(w.find('#wizard-cpus').element.parentElement!.querySelector('.error')!.textContent).toBe(
      'Only 1 processor can run for now: multiprocessor (SMP) support is not implemented yet',
    );
    await next(w);
    expect(stepTitle(w)).toBe('Hardware');
  });

  it('shows the host validation errors next to their fields', async () => {
    host.api.validateVm.mockImplementation(async (draft: unknown) => {
      const d = draft as { boot: { kernel: string } };
      return d.boot.kernel === '/missing/bzImage' ? [{ field: 'boot.kernel', message: 'Kernel not found: /missing/bzImage' }] : [];
    });
    const w = await openWizard();
    await w.find('#wizard-name').setValue('Custom');
    await w.find('input[value="linux-custom"]').setValue(true);
    await next(w);
    await w.find('#wizard-kernel').setValue('/missing/bzImage');
    await new Promise((r) => setTimeout(r, 300)); // the live host check is debounced by 250 ms
    await flushPromises();
    expect(w.find('#wizard-kernel-error').text()).toBe('Kernel not found: /missing/bzImage');
    await next(w);
    expect(stepTitle(w)).toBe('Boot');
  });

  it('disables Create and creates nothing while the input is invalid', async () => {
    const w = await openWizard();
    await w.find('#wizard-name').setValue('Demo');
    await next(w);
    await next(w);
    await next(w);
    await w.find('input[type="checkbox"]').setValue(true);
    await w.find('#wizard-disk-size').setValue('0');
    expect(w.find('#wizard-disk-size').element.parentElement!.querySelector('.error')!.textContent).toBe(
      'Disk size must be a whole number of MiB from 1 to 2097152',
    );
    await next(w);
    expect(stepTitle(w)).toBe('Disk and network');
    // Jump to the summary by fixing, then break the value again from the summary's point of view.
    await w.find('#wizard-disk-size').setValue('512');
    await next(w);
    expect(stepTitle(w)).toBe('Summary');
    expect(buttonByText(w, 'Create').attributes('disabled')).toBeUndefined();
    await buttonByText(w, 'Back').trigger('click');
    await w.find('#wizard-disk-size').setValue('-5');
    await buttonByText(w, 'Next').trigger('click');
    await w.find('form').trigger('submit');
    await settle();
    expect(stepTitle(w)).toBe('Disk and network');
    expect(host.api.createVm).not.toHaveBeenCalled();
  });

  it('adds a network adapter on the internal network typed, and refuses a bad network name', async () => {
    const w = await openWizard();
    await w.find('#wizard-name').setValue('Net');
    await next(w);
    await next(w);
    await next(w);
    expect(w.find<HTMLInputElement>('#wizard-network').element.disabled).toBe(true);
    const nic = w.findAll('input[type="checkbox"]').find((c) => c.element.parentElement!.textContent!.includes('network adapter'))!;
    await nic.setValue(true);
    await w.find('#wizard-network').setValue('bad name');
    expect(w.find('#wizard-network').element.parentElement!.querySelector('.error')!.textContent).toBe(
      'Network names are 1 to 32 letters, digits, dots, dashes or underscores',
    );
    await w.find('#wizard-network').setValue('lab');
    await next(w);
    expect(w.findAll('dd').map((d) => d.text())).toContain('eth0 on internal network “lab”');
    await w.find('form').trigger('submit');
    await settle();
    expect(host.api.createVm.mock.calls[0]![0].config.nics).toEqual([{ network: 'lab' }]);
  });

  it('submits the exact config for a valid Tiny Linux machine with a new disk', async () => {
    const w = await openWizard();
    await w.find('#wizard-name').setValue('Demo');
    await w.find('#wizard-description').setValue('My first VM');
    await next(w);
    await w.find('#wizard-cmdline').setValue('console=ttyS0 quiet');
    await next(w);
    await w.find('#wizard-memory').setValue('96');
    await next(w);
    await w.find('input[type="checkbox"]').setValue(true);
    await w.find('#wizard-disk-size').setValue('1024');
    expect(w.find<HTMLInputElement>('input[name="wizard-disk-format"][value="qcow2"]').element.checked).toBe(true); // the default
    await w.find('input[name="wizard-disk-format"][value="raw"]').setValue(true);
    await next(w);
    expect(stepTitle(w)).toBe('Summary');
    expect(w.findAll('dd').map((d) => d.text())).toContain('New raw, 1 GiB');
    expect(w.findAll('dd').map((d) => d.text())).toContain('Intel VT-x (nested paging on)');
    await w.find('form').trigger('submit');
    await settle();
    expect(host.api.createVm).toHaveBeenCalledTimes(1);
    expect(host.api.createVm).toHaveBeenCalledWith({
      config: {
        name: 'Demo',
        description: 'My first VM',
        guestType: 'tiny-linux',
        memoryMiB: 96,
        cpus: 1,
        boot: { kind: 'linux', kernel: '@guests/tiny-linux/bzImage', initrd: '@guests/tiny-linux/initramfs.cpio.gz', cmdline: 'console=ttyS0 quiet' },
        bootOrder: ['disk'],
        disks: [],
        serial: [{ enabled: true, mode: 'console' }, { enabled: false, mode: 'console' }],
        clock: 'realtime',
        acceleration: 'vtx',
        nestedPaging: true,
      },
      newDiskMiB: 1024,
      newDiskFormat: 'raw',
    });
    expect(w.emitted('created')).toEqual([['11111111-2222-4333-8444-555555555555']]);
    expect(w.emitted('close')).toHaveLength(1);
  });

  it('keeps Create disabled while the host reports a problem, and refuses the submit', async () => {
    host.api.validateVm.mockResolvedValue([{ field: 'serial.0.mode', message: 'COM1 console is not available' }]);
    const w = await openWizard();
    await w.find('#wizard-name').setValue('Demo');
    await new Promise((r) => setTimeout(r, 300));
    await flushPromises();
    // The problem belongs to no step's fields, so the steps let the user through to the summary.
    for (let i = 0; i < 4; i++) await next(w);
    expect(stepTitle(w)).toBe('Summary');
    expect(buttonByText(w, 'Create').attributes('disabled')).toBeDefined();
    expect(w.find('.error-list').text()).toBe('serial.0.mode: COM1 console is not available');
    await w.find('form').trigger('submit');
    await settle();
    expect(host.api.createVm).not.toHaveBeenCalled();
  });

  it('shows the host’s refusal next to the field and stays open', async () => {
    host.api.createVm.mockResolvedValueOnce({ ok: false, errors: [{ field: 'name', message: 'A VM named "Demo" already exists' }] } as never);
    const w = await openWizard();
    await w.find('#wizard-name').setValue('Demo');
    for (let i = 0; i < 4; i++) await next(w);
    expect(stepTitle(w)).toBe('Summary');
    await w.find('form').trigger('submit');
    await settle();
    expect(stepTitle(w)).toBe('Name and guest type');
    expect(w.find('#wizard-name-error').text()).toBe('A VM named "Demo" already exists');
    expect(w.emitted('close')).toBeUndefined();
  });

  it('closes on Escape without creating anything', async () => {
    const w = await openWizard();
    await w.find('#wizard-name').setValue('Demo');
    await w.find('[role="dialog"]').trigger('keydown', { key: 'Escape' });
    expect(w.emitted('close')).toHaveLength(1);
    expect(host.api.createVm).not.toHaveBeenCalled();
  });
});
