/**
 * Storage in the host: new disks are real raw/qcow2 images (core/dom0/block),
 * Settings' create/inspect operations, and validation of disk and serial file
 * paths (relative paths stay in the VM folder; a file that is not a disk image
 * is refused when the config is saved).
 */
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { VmConfigDraft } from '../../core/host/api.ts';
import { vmDraft } from './fixtures/vmDraft.ts';
import { HostService } from '../../core/host/hostService.ts';
import { VmLibrary } from '../../core/host/library.ts';
import { createDisk } from '../../core/dom0/block/blockBackend.ts';
import { qemuCheck, qemuInfo } from '../dom0/block/qemuImg.ts';

let root: string;
let kernel: string;
let host: HostService;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'popek-storage-'));
  kernel = join(root, 'bzImage');
  await writeFile(kernel, new Uint8Array(16));
  host = new HostService({ library: new VmLibrary(join(root, 'machines'), join(root, 'guests')), mode: 'server', version: 'test' });
});

afterEach(async () => {
  await host.shutdown();
  await rm(root, { recursive: true, force: true });
});

function draft(overrides: Partial<VmConfigDraft> = {}): VmConfigDraft {
  return vmDraft({ name: 'vm', guestType: 'linux-custom', memoryMiB: 4, boot: { kind: 'linux', kernel, cmdline: '' }, ...overrides });
}

async function createVm(overrides: Partial<VmConfigDraft> = {}): Promise<string> {
  const result = await host.createVm({ config: draft(overrides) });
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.vm.id;
}

const folderOf = (id: string) => join(root, 'machines', id);

describe('new disks', () => {
  it('the wizard request creates a qcow2 image qemu-img accepts, attached as disk0.qcow2', async () => {
    const result = await host.createVm({ config: draft(), newDiskMiB: 2048, newDiskFormat: 'qcow2' });
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    expect(result.vm.config.disks).toEqual([{ path: 'disk0.qcow2', format: 'qcow2', sizeMiB: 2048 }]);
    const file = join(folderOf(result.vm.id), 'disk0.qcow2');
    expect(qemuInfo(file)).toMatchObject({ format: 'qcow2', 'virtual-size': 2048 * 1024 * 1024 });
    expect(qemuCheck(file).status).toBe(0);
  });

  it('without a format the new disk is a sparse raw image, as before', async () => {
    const result = await host.createVm({ config: draft(), newDiskMiB: 64 });
    if (!result.ok) throw new Error(JSON.stringify(result.errors));
    expect(result.vm.config.disks).toEqual([{ path: 'disk0.img', format: 'raw', sizeMiB: 64 }]);
    expect((await stat(join(folderOf(result.vm.id), 'disk0.img'))).size).toBe(64 * 1024 * 1024);
  });

  it('refuses an unknown new disk format', async () => {
    const result = await host.createVm({ config: draft(), newDiskMiB: 64, newDiskFormat: 'vmdk' as 'raw' });
    expect(result).toEqual({ ok: false, errors: [{ field: 'newDiskFormat', message: 'New disk format must be raw or qcow2' }] });
  });

  it('createDisk makes an image in the VM folder and returns its DiskConfig (attached by saving the config)', async () => {
    const id = await createVm();
    const made = await host.createDisk({ vmId: id, path: 'data.qcow2', format: 'qcow2', sizeMiB: 100 });
    expect(made).toEqual({ ok: true, disk: { path: 'data.qcow2', format: 'qcow2', sizeMiB: 100 } });
    expect(qemuInfo(join(folderOf(id), 'data.qcow2'))).toMatchObject({ format: 'qcow2', 'virtual-size': 100 * 1024 * 1024 });
    const raw = await host.createDisk({ vmId: id, path: 'sub/../raw.img', format: 'raw', sizeMiB: 1 });
    expect(raw).toEqual({ ok: true, disk: { path: 'sub/../raw.img', format: 'raw', sizeMiB: 1 } });
    expect((await stat(join(folderOf(id), 'raw.img'))).size).toBe(1024 * 1024);
    if (!made.ok) throw new Error('createDisk failed');
    const saved = await host.updateVm(id, draft({ disks: [made.disk, { path: 'raw.img', format: 'raw', sizeMiB: 1, readOnly: true }] }));
    expect(saved.ok).toBe(true);
    const config = JSON.parse(await readFile(join(folderOf(id), 'vm.json'), 'utf8'));
    expect(config.disks).toEqual([
      { path: 'data.qcow2', format: 'qcow2', sizeMiB: 100 },
      { path: 'raw.img', format: 'raw', sizeMiB: 1, readOnly: true },
    ]);
  });

  it('createDisk refuses existing files, paths out of the VM folder, bad sizes and formats, unknown VMs', async () => {
    const id = await createVm();
    await writeFile(join(folderOf(id), 'taken.qcow2'), 'x');
    expect(await host.createDisk({ vmId: id, path: 'taken.qcow2', format: 'qcow2', sizeMiB: 1 })).toEqual({
      ok: false,
      errors: [{ field: 'path', message: `A file already exists at ${join(folderOf(id), 'taken.qcow2')}` }],
    });
    expect(await readFile(join(folderOf(id), 'taken.qcow2'), 'utf8')).toBe('x');
    expect(await host.createDisk({ vmId: id, path: '../../x.qcow2', format: 'qcow2', sizeMiB: 1 })).toEqual({
      ok: false,
      errors: [{ field: 'path', message: '../../x.qcow2 points outside the VM folder (use an absolute path for files elsewhere)' }],
    });
    expect(await host.createDisk({ vmId: id, path: '', format: 'vmdk' as 'raw', sizeMiB: 0 })).toEqual({
      ok: false,
      errors: [
        { field: 'path', message: 'Choose a file name for the disk image' },
        { field: 'format', message: 'Disk format must be raw or qcow2' },
        { field: 'sizeMiB', message: 'Disk size must be a whole number of MiB from 1 to 2097152' },
      ],
    });
    expect(await host.createDisk({ vmId: id, path: join(root, 'nofolder', 'x.img'), format: 'raw', sizeMiB: 1 })).toMatchObject({
      ok: false,
      errors: [{ field: 'path', message: expect.stringMatching(/^Cannot create .*x\.img: ENOENT/) }],
    });
    await expect(host.createDisk({ vmId: '00000000-0000-4000-8000-000000000000', path: 'a.img', format: 'raw', sizeMiB: 1 })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(host.createDisk({ vmId: '../x', path: 'a.img', format: 'raw', sizeMiB: 1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});

describe('inspectDisk', () => {
  it('reports format, size and backing file; explains what is not a disk image', async () => {
    const id = await createVm();
    const base = join(root, 'base.img');
    createDisk(base, { format: 'raw', sizeBytes: 3 * 1024 * 1024 + 512 });
    createDisk(join(folderOf(id), 'overlay.qcow2'), { format: 'qcow2', sizeBytes: 8 * 1024 * 1024, backingFile: base });
    expect(await host.inspectDisk(id, 'overlay.qcow2')).toEqual({ ok: true, image: { format: 'qcow2', sizeBytes: 8 * 1024 * 1024, sizeMiB: 8, backingFile: base } });
    expect(await host.inspectDisk(undefined, base)).toEqual({ ok: true, image: { format: 'raw', sizeBytes: 3 * 1024 * 1024 + 512, sizeMiB: 4 } });
    await writeFile(join(folderOf(id), 'notes.txt'), 'not a disk\n');
    expect(await host.inspectDisk(id, 'notes.txt')).toEqual({
      ok: false,
      message: `${join(folderOf(id), 'notes.txt')}: not a disk image (no qcow2 header, and its size 11 is not a non-zero multiple of 512 bytes as a raw image's is)`,
    });
    expect(await host.inspectDisk(id, 'missing.qcow2')).toEqual({ ok: false, message: `No such file: ${join(folderOf(id), 'missing.qcow2')}` });
    expect(await host.inspectDisk(id, '../../etc/passwd')).toEqual({ ok: false, message: '../../etc/passwd points outside the VM folder (use an absolute path for files elsewhere)' });
    expect(await host.inspectDisk(undefined, 'relative.img')).toEqual({ ok: false, message: 'Use an absolute path (the new VM has no folder yet)' });
    await mkdir(join(folderOf(id), 'dir'));
    expect(await host.inspectDisk(id, 'dir')).toEqual({ ok: false, message: `Not a file: ${join(folderOf(id), 'dir')}` });
  });
});

describe('validation of disks and serial files', () => {
  it('refuses a disk that is not a disk image, a wrong format, a hostile qcow2, and a relative path out of the VM folder', async () => {
    const id = await createVm();
    const folder = folderOf(id);
    await writeFile(join(folder, 'notes.txt'), 'hello\n');
    createDisk(join(folder, 'real.qcow2'), { format: 'qcow2', sizeBytes: 1024 * 1024 });
    const hostile = Buffer.from(await readFile(join(folder, 'real.qcow2')));
    hostile.writeBigUInt64BE(1n << 40n, 40); // L1 table far past the end of the file
    await writeFile(join(folder, 'hostile.qcow2'), hostile);
    await writeFile(join(root, 'outside.img'), new Uint8Array(512));
    const errors = await host.validateVm(
      draft({
        disks: [
          { path: 'notes.txt', format: 'raw', sizeMiB: 1 },
          { path: 'real.qcow2', format: 'raw', sizeMiB: 1 },
          { path: 'hostile.qcow2', format: 'qcow2', sizeMiB: 1 },
          { path: '../../outside.img', format: 'raw', sizeMiB: 1 },
        ],
      }),
      id,
    );
    expect(errors).toEqual([
      { field: 'disks.0.path', message: `Disk image: ${join(folder, 'notes.txt')}: not a disk image (no qcow2 header, and its size 6 is not a non-zero multiple of 512 bytes as a raw image's is)` },
      { field: 'disks.1.format', message: `Disk image ${join(folder, 'real.qcow2')} is a qcow2 image, not raw` },
      { field: 'disks.2.path', message: expect.stringMatching(/^Disk image: .*hostile\.qcow2: not a usable qcow2 image: L1 table \(offset 1099511627776, 1 entries\) reaches past the end of the file/) },
      { field: 'disks.3.path', message: 'Disk image: ../../outside.img points outside the VM folder (use an absolute path for files elsewhere)' },
    ]);
    // The same image attached twice under two names.
    const twice = await host.validateVm(draft({ disks: [{ path: 'real.qcow2', format: 'qcow2', sizeMiB: 1 }, { path: join(folder, 'real.qcow2'), format: 'qcow2', sizeMiB: 1 }] }), id);
    expect(twice).toEqual([{ field: 'disks.1.path', message: 'Disk 0 already uses this image' }]);
    expect(await host.validateVm(draft({ disks: [{ path: 'real.qcow2', format: 'qcow2', sizeMiB: 1, readOnly: true }] }), id)).toEqual([]);
  });

  it('refuses an image another VM attaches, unless both attach it read-only', async () => {
    const shared = join(root, 'shared.qcow2');
    createDisk(shared, { format: 'qcow2', sizeBytes: 1024 * 1024 });
    await createVm({ name: 'first', disks: [{ path: shared, format: 'qcow2', sizeMiB: 1, readOnly: true }] });
    const second = await createVm({ name: 'second' });
    expect(await host.validateVm(draft({ name: 'second', disks: [{ path: shared, format: 'qcow2', sizeMiB: 1 }] }), second)).toEqual([
      { field: 'disks.0.path', message: 'VM "first" also attaches this image; two VMs may share an image only when both attach it read-only' },
    ]);
    expect(await host.validateVm(draft({ name: 'second', disks: [{ path: shared, format: 'qcow2', sizeMiB: 1, readOnly: true }] }), second)).toEqual([]);
  });

  it('refuses serial files out of the VM folder, on a folder, or on a disk image', async () => {
    const id = await createVm();
    const folder = folderOf(id);
    createDisk(join(folder, 'd.img'), { format: 'raw', sizeBytes: 512 });
    await mkdir(join(folder, 'logs'));
    const serial = (path: string, path2?: string): VmConfigDraft['serial'] => [
      { enabled: true, mode: 'file', path },
      path2 === undefined ? { enabled: false, mode: 'console' } : { enabled: true, mode: 'file', path: path2 },
    ];
    expect(await host.validateVm(draft({ serial: serial('../../x.log') }), id)).toEqual([
      { field: 'serial.0.path', message: 'COM1 output file: ../../x.log points outside the VM folder (use an absolute path for files elsewhere)' },
    ]);
    expect(await host.validateVm(draft({ serial: serial('logs', 'd.img'), disks: [{ path: 'd.img', format: 'raw', sizeMiB: 1 }] }), id)).toEqual([
      { field: 'serial.0.path', message: `COM1 output file is a folder: ${join(folder, 'logs')}` },
      { field: 'serial.1.path', message: `COM2 output file is one of this VM's disk images: ${join(folder, 'd.img')}` },
    ]);
    expect(await host.validateVm(draft({ serial: serial('logs/com1.log', join(root, 'com2.log')) }), id)).toEqual([]);
    // A new VM (no folder yet) may name a relative file inside its future folder, never outside.
    expect(await host.validateVm(draft({ name: 'new', serial: serial('com1.log') }))).toEqual([]);
    expect(await host.validateVm(draft({ name: 'new', serial: serial('../com1.log') }))).toEqual([
      { field: 'serial.0.path', message: 'COM1 output file: ../com1.log points outside the VM folder (use an absolute path for files elsewhere)' },
    ]);
  });
});
