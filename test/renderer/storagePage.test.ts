// @vitest-environment happy-dom
/**
 * Settings -> Storage: attached disks (format, size, read-only, detach),
 * attaching an existing image only after the host inspected it, creating a
 * new raw or qcow2 image, and Save sending exactly the resulting disks.
 */
import type { VueWrapper } from '@vue/test-utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AccessibleVm, DiskConfig, VmState } from '../../core/host/api.ts';
import { diskSummary, GUEST_DISK_NOTE, nextDiskName, virtioDiskName } from '../../renderer/src/logic/storageModel.ts';
import { FakeHost, makeConfig, makeVm, settle } from './fakeHost.ts';
import { mountSettingsDialog, mountVmDetails, unmountAndClear } from './mountComponents.ts';

let host: FakeHost;
let wrapper: VueWrapper | null = null;
let vm: AccessibleVm;

async function openStorage(disks: DiskConfig[], state: VmState = 'poweredOff', acceleration: 'none' | 'vtx' = 'none'): Promise<VueWrapper> {
  vm = makeVm(makeConfig({ disks, acceleration }), state);
  host.vms = [vm];
  wrapper = await mountSettingsDialog(host, vm, 'Storage');
  return wrapper;
}

const button = (w: VueWrapper, text: string) => w.findAll('button').find((b) => b.text() === text)!;
const diskRows = (w: VueWrapper) => w.findAll('li.disk').map((li) => `${li.find('.disk-name').text()} | ${li.find('.disk-meta').text()}`);

async function save(w: VueWrapper): Promise<void> {
  await button(w, 'Save').trigger('click');
  await settle();
}

beforeEach(() => {
  host = new FakeHost();
});

afterEach(() => {
  wrapper = unmountAndClear(wrapper);
});

describe('storage model', () => {
  it('names new disks after the first free disk<N> and summarises disks', () => {
    expect(nextDiskName([], 'qcow2')).toBe('disk0.qcow2');
    expect(nextDiskName([{ path: 'disk1.img', format: 'raw', sizeMiB: 1 }], 'raw')).toBe('disk2.img');
    expect(nextDiskName([{ path: 'x', format: 'raw', sizeMiB: 1 }, { path: 'disk2.qcow2', format: 'qcow2', sizeMiB: 1 }], 'qcow2')).toBe('disk3.qcow2');
    expect(diskSummary({ path: 'a', format: 'qcow2', sizeMiB: 2048 })).toBe('qcow2, 2 GiB');
    expect(diskSummary({ path: 'a', format: 'raw', sizeMiB: 512, readOnly: true })).toBe('raw, 512 MiB, read-only');
    expect([0, 1, 3].map(virtioDiskName)).toEqual(['vda', 'vdb', 'vdd']);
  });

  it('says the guest sees the disks as VirtIO disks in order, under every acceleration', () => {
    expect(GUEST_DISK_NOTE).toBe('The guest sees these disks as VirtIO disks in this order: /dev/vda, /dev/vdb, … (Linux needs its virtio_blk driver).');
  });
});

describe('Settings -> Storage', () => {
  it('lists the disks, says whether the guest sees them, toggles read-only and detaches', async () => {
    const w = await openStorage([
      { path: 'disk0.qcow2', format: 'qcow2', sizeMiB: 2048 },
      { path: '/images/base.img', format: 'raw', sizeMiB: 512, readOnly: true },
    ]);
    expect(w.find('.guest-note').text()).toBe(GUEST_DISK_NOTE);
    expect(diskRows(w)).toEqual(['/dev/vda ← disk0.qcow2 | qcow2, 2 GiB', '/dev/vdb ← /images/base.img | raw, 512 MiB, read-only']);
    await w.find('input[aria-label="Disk 0 read-only"]').setValue(true);
    await w.find('input[aria-label="Disk 1 read-only"]').setValue(false);
    expect(diskRows(w)).toEqual(['/dev/vda ← disk0.qcow2 | qcow2, 2 GiB, read-only', '/dev/vdb ← /images/base.img | raw, 512 MiB']);
    await w.find('button[aria-label="Detach disk 0"]').trigger('click');
    expect(diskRows(w)).toEqual(['/dev/vda ← /images/base.img | raw, 512 MiB']);
    await save(w);
    expect(host.api.updateVm).toHaveBeenCalledTimes(1);
    expect(host.api.updateVm.mock.calls[0]![1].disks).toEqual([{ path: '/images/base.img', format: 'raw', sizeMiB: 512 }]); // writable: no readOnly key
  });

  it('attaches an existing image with the format and size the host found, and refuses what the host refuses', async () => {
    const w = await openStorage([]);
    expect(w.text()).toContain('No disks attached.');
    const attach = () => button(w, 'Attach existing disk image');
    expect(attach().attributes('disabled')).toBeDefined(); // nothing typed yet
    host.api.inspectDisk.mockResolvedValueOnce({ ok: false, message: '/home/u/notes.txt: not a disk image (no qcow2 header, and its size 6 is not a non-zero multiple of 512 bytes as a raw image\'s is)' });
    await w.find('#storage-attach-path').setValue('/home/u/notes.txt');
    await attach().trigger('click');
    await settle();
    expect(host.api.inspectDisk).toHaveBeenLastCalledWith(vm.id, '/home/u/notes.txt');
    expect(w.find('#storage-attach-path').element.closest('.field')!.querySelector('.error')!.textContent).toContain('not a disk image');
    expect(w.findAll('li.disk')).toHaveLength(0);

    host.api.inspectDisk.mockResolvedValueOnce({ ok: true, image: { format: 'qcow2', sizeBytes: 3 * 2 ** 30, sizeMiB: 3072, backingFile: 'base.img' } });
    await w.find('#storage-attach-path').setValue('overlay.qcow2');
    await attach().trigger('click');
    await settle();
    expect(diskRows(w)).toEqual(['/dev/vda ← overlay.qcow2 | qcow2, 3 GiB']);
    expect(w.find<HTMLInputElement>('#storage-attach-path').element.value).toBe('');
    await save(w);
    expect(host.api.updateVm.mock.calls[0]![1].disks).toEqual([{ path: 'overlay.qcow2', format: 'qcow2', sizeMiB: 3072 }]);
  });

  it('creates a new qcow2 or raw image through the host and attaches it', async () => {
    const w = await openStorage([{ path: 'disk0.qcow2', format: 'qcow2', sizeMiB: 100 }]);
    expect(w.find<HTMLInputElement>('#storage-new-path').element.value).toBe('disk1.qcow2');
    await w.find('input[name="storage-new-format"][value="raw"]').setValue(true);
    expect(w.find<HTMLInputElement>('#storage-new-path').element.value).toBe('disk1.img'); // the suggestion follows the format
    await w.find('#storage-new-size').setValue('512');
    await button(w, 'Create and attach').trigger('click');
    await settle();
    expect(host.api.createDisk).toHaveBeenCalledWith({ vmId: vm.id, path: 'disk1.img', format: 'raw', sizeMiB: 512 });
    expect(diskRows(w)).toEqual(['/dev/vda ← disk0.qcow2 | qcow2, 100 MiB', '/dev/vdb ← disk1.img | raw, 512 MiB']);
    expect(w.find<HTMLInputElement>('#storage-new-path').element.value).toBe('disk2.img');

    host.api.createDisk.mockResolvedValueOnce({ ok: false, errors: [{ field: 'path', message: 'A file already exists at /lib/x/disk2.img' }, { field: 'sizeMiB', message: 'Disk size must be a whole number of MiB from 1 to 2097152' }] });
    await button(w, 'Create and attach').trigger('click');
    await settle();
    expect(w.find('#storage-new-path').element.closest('.field')!.querySelector('.error')!.textContent).toBe('A file already exists at /lib/x/disk2.img');
    expect(w.find('#storage-new-size').element.closest('.field')!.querySelector('.error')!.textContent).toBe('Disk size must be a whole number of MiB from 1 to 2097152');
    expect(w.findAll('li.disk')).toHaveLength(2);
    await save(w);
    expect(host.api.updateVm.mock.calls[0]![1].disks).toEqual([
      { path: 'disk0.qcow2', format: 'qcow2', sizeMiB: 100 },
      { path: 'disk1.img', format: 'raw', sizeMiB: 512 },
    ]);
  });

  it('shows the host’s validation error next to the disk it is about', async () => {
    host.api.validateVm.mockResolvedValue([{ field: 'disks.0.path', message: 'Disk image: /x/d.qcow2: not a usable qcow2 image: version 4 (only 2 and 3 exist)' }]);
    const w = await openStorage([{ path: 'd.qcow2', format: 'qcow2', sizeMiB: 1 }]);
    await w.find('input[aria-label="Disk 0 read-only"]').setValue(true); // any change triggers the host check
    await new Promise((r) => setTimeout(r, 300));
    await settle();
    expect(w.find('li.disk .error').text()).toBe('Disk image: /x/d.qcow2: not a usable qcow2 image: version 4 (only 2 and 3 exist)');
  });

  it('names the same /dev/vdX under VT-x, whose hypervisor serves the virtio disks too', async () => {
    const w = await openStorage([{ path: 'disk0.qcow2', format: 'qcow2', sizeMiB: 100 }], 'poweredOff', 'vtx');
    expect(w.find('.guest-note').text()).toBe(GUEST_DISK_NOTE);
    expect(diskRows(w)).toEqual(['/dev/vda ← disk0.qcow2 | qcow2, 100 MiB']);
  });

  it('disables every storage control while the VM runs', async () => {
    const w = await openStorage([{ path: 'disk0.qcow2', format: 'qcow2', sizeMiB: 100 }], 'running');
    expect(w.find<HTMLInputElement>('input[aria-label="Disk 0 read-only"]').element.disabled).toBe(true);
    expect(w.find('button[aria-label="Detach disk 0"]').attributes('disabled')).toBeDefined();
    expect(button(w, 'Attach existing disk image').attributes('disabled')).toBeDefined();
    expect(button(w, 'Create and attach').attributes('disabled')).toBeDefined();
    expect(w.find<HTMLInputElement>('#storage-new-size').element.disabled).toBe(true);
  });
});

describe('Details -> Storage', () => {
  const storageText = async (acceleration: 'none' | 'vtx') => {
    const config = makeConfig({ acceleration, disks: [{ path: 'disk0.qcow2', format: 'qcow2', sizeMiB: 2048 }, { path: '/b.img', format: 'raw', sizeMiB: 1, readOnly: true }] });
    wrapper = await mountVmDetails(host, makeVm(config), null);
    return wrapper.find('section[aria-labelledby="details-storage"]').text();
  };

  it('names the guest devices under every acceleration', async () => {
    expect(await storageText('none')).toBe('Storage/dev/vdadisk0.qcow2 (qcow2, 2 GiB)/dev/vdb/b.img (raw, 1 MiB, read-only)');
    wrapper!.unmount();
    expect(await storageText('vtx')).toBe('Storage/dev/vdadisk0.qcow2 (qcow2, 2 GiB)/dev/vdb/b.img (raw, 1 MiB, read-only)');
  });
});
