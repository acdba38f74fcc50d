// @vitest-environment happy-dom
/**
 * The New VM wizard with the host's "Install from an ISO image" preset: the
 * boot step shows the bundled firmware and the boot order and asks for the
 * ISO (Next refuses to leave without one), the new disk is already checked,
 * and Create sends the ISO in the CD-ROM drive with the new disk.
 */
import { resolve } from 'node:path';
import type { VueWrapper } from '@vue/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { ISO_INSTALL_ID, listPresets } from '../../core/host/presets.ts';
import { FakeHost, settle } from './fakeHost.ts';
import { mountNewVmWizard, submitStep, unmountAndClear } from './mountComponents.ts';

// happy-dom's import.meta.url is not a file URL: the suite runs from the repository root.
const GUESTS = resolve('resources/guests');
let wrapper: VueWrapper | null = null;

afterEach(() => {
  wrapper = unmountAndClear(wrapper);
});

describe('NewVmWizard with the ISO install preset', () => {
  it('asks for the ISO, offers a new disk, and creates a VM with the ISO in its CD-ROM drive booting first', async () => {
    const host = new FakeHost();
    host.presets = [...host.presets, listPresets(GUESTS).find((p) => p.id === ISO_INSTALL_ID)!];
    const w = (wrapper = await mountNewVmWizard(host));
    const next = () => submitStep(w);
    await w.find('#wizard-name').setValue('Installer');
    await w.find(`input[value="${ISO_INSTALL_ID}"]`).setValue(true);
    await settle();
    await next();
    expect(w.find('h3').text()).toBe('Boot');
    expect(w.find('.readonly').text()).toBe('Firmware@firmware/seabios/bios.binBoot orderCD-ROM, then hard disk');
    expect(w.find('#wizard-rom').exists()).toBe(false);
    await next(); // no ISO yet: stays, with the error at the field
    expect(w.find('h3').text()).toBe('Boot');
    expect(w.find('#wizard-iso-error').text()).toBe('Choose the ISO image to boot from');
    await w.find('#wizard-iso').setValue('/isos/installer.iso');
    await next();
    expect(w.find('h3').text()).toBe('Hardware');
    await next();
    expect(w.find<HTMLInputElement>('input[type="checkbox"]').element.checked).toBe(true);
    await w.find('#wizard-disk-size').setValue('512');
    await next();
    expect(w.find('.summary').text()).toContain('CD-ROM/isos/installer.isoBoot orderCD-ROM, then hard disk');
    await w.find('form').trigger('submit');
    await settle();
    expect(host.api.createVm).toHaveBeenCalledWith({
      config: expect.objectContaining({
        name: 'Installer',
        guestType: ISO_INSTALL_ID,
        boot: { kind: 'rom', rom: '@firmware/seabios/bios.bin' },
        bootOrder: ['cdrom', 'disk'],
        cdroms: [{ path: '/isos/installer.iso' }],
        disks: [],
      }),
      newDiskMiB: 512,
      newDiskFormat: 'qcow2',
    });
  });
});
