// @vitest-environment happy-dom
/**
 * Settings -> Storage, CD-ROM drives: the ISO in a drive is changed, ejected,
 * a drive added or removed, and Save sends exactly those drives; while the VM
 * runs the drives are locked like the rest of the hardware.
 */
import type { VueWrapper } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AccessibleVm, VmState } from '../../core/host/api.ts';
import { FakeHost, makeConfig, makeVm, settle } from './fakeHost.ts';
import { mountSettingsDialog, unmountAndClear } from './mountComponents.ts';

let host: FakeHost;
let wrapper: VueWrapper | null = null;
let vm: AccessibleVm;

async function openStorage(state: VmState): Promise<VueWrapper> {
  vm = makeVm(makeConfig({ cdroms: [{ path: '/isos/installer.iso' }, {}], bootOrder: ['cdrom', 'disk'] }), state);
  host.vms = [vm];
  wrapper = await mountSettingsDialog(host, vm, 'Storage');
  return wrapper;
}

const button = (w: VueWrapper, label: string) => w.findAll('button').find((b) => b.attributes('aria-label') === label || b.text() === label)!;

beforeEach(() => {
  host = new FakeHost();
});

afterEach(() => {
  wrapper = unmountAndClear(wrapper);
});

describe('SettingsDialog CD-ROM drives', () => {
  it('changes the ISO, ejects it, adds and removes drives, and saves exactly that', async () => {
    const w = await openStorage('poweredOff');
    expect(w.find<HTMLInputElement>('#settings-cdrom-0').element.value).toBe('/isos/installer.iso');
    expect(w.find<HTMLInputElement>('#settings-cdrom-1').element.value).toBe('');
    expect(button(w, 'Eject CD-ROM 2').attributes('disabled')).toBeDefined(); // already empty

    await w.find('#settings-cdrom-1').setValue('/isos/drivers.iso');
    await button(w, 'Eject CD-ROM 1').trigger('click');
    await button(w, 'Add CD-ROM drive').trigger('click');
    expect(w.findAll('input[id^="settings-cdrom-"]')).toHaveLength(3);
    await button(w, 'Remove CD-ROM 3').trigger('click');
    await w.find('form').trigger('submit');
    await settle();

    const { id: _id, version: _v, ...draft } = vm.config;
    expect(host.api.updateVm).toHaveBeenCalledWith(vm.id, { ...draft, cdroms: [{}, { path: '/isos/drivers.iso' }] });
  });

  it('locks the drives while the VM runs', async () => {
    const w = await openStorage('running');
    expect(w.find<HTMLInputElement>('#settings-cdrom-0').element.disabled).toBe(true);
    expect(button(w, 'Eject CD-ROM 1').attributes('disabled')).toBeDefined();
    expect(button(w, 'Remove CD-ROM 1').attributes('disabled')).toBeDefined();
    expect(button(w, 'Add CD-ROM drive').attributes('disabled')).toBeDefined();
  });
});
