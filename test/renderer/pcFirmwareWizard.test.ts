// @vitest-environment happy-dom
/**
 * The New VM wizard with the host's "PC with firmware (SeaBIOS)" preset: the
 * boot step shows the bundled firmware as the ROM image, and Create sends a
 * config that boots it with the new disk.
 */
import { resolve } from 'node:path';
import type { VueWrapper } from '@vue/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import { PC_FIRMWARE_ID, listPresets } from '../../core/host/presets.ts';
import { FakeHost, settle } from './fakeHost.ts';
import { mountNewVmWizard, submitStep, unmountAndClear } from './mountComponents.ts';

// happy-dom's import.meta.url is not a file URL: the suite runs from the repository root.
const GUESTS = resolve('resources/guests');
let wrapper: VueWrapper | null = null;

afterEach(() => {
  wrapper = unmountAndClear(wrapper);
});

describe('NewVmWizard with the PC firmware preset', () => {
  it('offers the bundled SeaBIOS as the ROM image and creates a VM that boots it from a new disk', async () => {
    const host = new FakeHost();
    const preset = listPresets(GUESTS).find((p) => p.id === PC_FIRMWARE_ID)!;
    host.presets = [...host.presets, preset];
    const w = (wrapper = await mountNewVmWizard(host));
    const next = () => submitStep(w);
    await w.find('#wizard-name').setValue('PC');
    await w.find(`input[value="${PC_FIRMWARE_ID}"]`).setValue(true);
    await settle();
    expect(w.find('.preset.chosen').text()).toContain('PC with firmware (SeaBIOS)');
    await next();
    expect(w.find<HTMLInputElement>('input[type="radio"][value="rom"]').element.checked).toBe(true);
    expect(w.find<HTMLInputElement>('#wizard-rom').element.value).toBe('@firmware/seabios/bios.bin');
    await next();
    expect(w.find<HTMLInputElement>('#wizard-memory').element.value).toBe('64');
    await next();
    await w.find('input[type="checkbox"]').setValue(true);
    await w.find('#wizard-disk-size').setValue('64');
    await next();
    await w.find('form').trigger('submit');
    await settle();
    expect(host.api.createVm).toHaveBeenCalledWith({
      config: expect.objectContaining({ name: 'PC', guestType: PC_FIRMWARE_ID, memoryMiB: 64, boot: { kind: 'rom', rom: '@firmware/seabios/bios.bin' } }),
      newDiskMiB: 64,
      newDiskFormat: 'qcow2',
    });
  });
});
