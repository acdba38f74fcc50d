import { mkdtemp, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { serializeVmConfig, type VmConfigDraft } from '../../core/machine/config.ts';
import { defaultLibraryFolder, VmLibrary } from '../../core/host/library.ts';
import { validateDraft } from '../../core/host/validation.ts';
import { withUnbuiltBt } from '../machine/unbuiltMode.ts';
import { vmDraft } from './fixtures/vmDraft.ts';

let root: string;
let guests: string;
let library: VmLibrary;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'popek-lib-'));
  guests = join(root, 'guests');
  await mkdir(join(guests, 'tiny-linux'), { recursive: true });
  await writeFile(join(guests, 'tiny-linux', 'bzImage'), new Uint8Array(1024));
  await writeFile(join(guests, 'tiny-linux', 'initramfs.cpio.gz'), new Uint8Array(512));
  library = new VmLibrary(join(root, 'machines'), guests);
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function draft(overrides: Partial<VmConfigDraft> = {}): VmConfigDraft {
  return vmDraft({
    name: 'demo',
    guestType: 'tiny-linux',
    memoryMiB: 128,
    boot: { kind: 'linux', kernel: '@guests/tiny-linux/bzImage', initrd: '@guests/tiny-linux/initramfs.cpio.gz', cmdline: 'console=ttyS0' },
    ...overrides,
  });
}

describe('VmLibrary', () => {
  it('creates a VM folder named by id with vm.json and lists it', async () => {
    const config = await library.create(draft());
    expect(config.version).toBe(1);
    expect(config.id).toMatch(/^[0-9a-f-]{36}$/);
    const text = await readFile(join(root, 'machines', config.id, 'vm.json'), 'utf8');
    expect(text).toBe(serializeVmConfig(config));
    expect(await library.list()).toEqual([{ accessible: true, id: config.id, folder: join(root, 'machines', config.id), config }]);
  });

  it('creates a requested disk sparse in the VM folder and attaches it', async () => {
    const config = await library.create(draft(), 64);
    expect(config.disks).toEqual([{ path: 'disk0.img', format: 'raw', sizeMiB: 64 }]);
    const info = await stat(join(root, 'machines', config.id, 'disk0.img'));
    expect(info.size).toBe(64 * 1024 * 1024);
    expect(info.blocks * 512).toBeLessThan(1024 * 1024); // a hole, not 64 MiB of zeros
  });

  it('lists a truncated vm.json as inaccessible and never rewrites it', async () => {
    const config = await library.create(draft());
    const path = join(root, 'machines', config.id, 'vm.json');
    const truncated = serializeVmConfig(config).slice(0, 40);
    await writeFile(path, truncated);
    const [entry] = await library.list();
    expect(entry.accessible).toBe(false);
    if (!entry.accessible) expect(entry.problem).toMatch(/^vm\.json is not valid JSON \(truncated or corrupted\)/);
    await expect(library.update({ ...config, name: 'renamed' })).rejects.toThrow(/cannot be changed: vm\.json is not valid JSON/);
    expect(await readFile(path, 'utf8')).toBe(truncated);
  });

  it('lists a newer-version vm.json as inaccessible with the reason', async () => {
    const config = await library.create(draft());
    const path = join(root, 'machines', config.id, 'vm.json');
    await writeFile(path, JSON.stringify({ ...config, version: 7 }));
    expect(await library.get(config.id)).toEqual({
      accessible: false,
      id: config.id,
      folder: join(root, 'machines', config.id),
      problem: 'vm.json is version 7, written by a newer Popek; this version reads version 1',
    });
  });

  it('opens an old vm.json with hardwareAssist, migrated in memory, and saves it in the new form', async () => {
    const config = await library.create(draft({ description: 'from an older Popek' }));
    const path = join(root, 'machines', config.id, 'vm.json');
    const { acceleration: _a, nestedPaging: _n, ...old } = config;
    const oldText = JSON.stringify({ ...old, hardwareAssist: false }, null, 2);
    await writeFile(path, oldText);
    const entry = await library.get(config.id);
    expect(entry).toEqual({ accessible: true, id: config.id, folder: join(root, 'machines', config.id), config });
    expect(await readFile(path, 'utf8')).toBe(oldText); // reading never rewrites
    await library.update({ ...config, name: 'renamed' });
    expect(JSON.parse(await readFile(path, 'utf8'))).toEqual({ ...config, name: 'renamed' });
  });

  it('ignores folders without vm.json and stray temp files', async () => {
    await library.create(draft());
    await mkdir(join(root, 'machines', 'not-a-vm'));
    await writeFile(join(root, 'machines', '.vm.json.tmp-1-2-3'), 'garbage');
    expect((await library.list()).length).toBe(1);
  });

  it('resolves bundled, absolute and relative paths', async () => {
    const config = await library.create(draft());
    expect(library.resolvePath(config.id, '@guests/tiny-linux/bzImage')).toBe(join(guests, 'tiny-linux', 'bzImage'));
    expect(library.resolvePath(config.id, '/abs/k')).toBe('/abs/k');
    expect(library.resolvePath(config.id, 'disk0.img')).toBe(join(root, 'machines', config.id, 'disk0.img'));
    expect(() => library.resolvePath(config.id, '@guests/../../etc/passwd')).toThrow(/outside the bundled guests folder/);
  });

  it('resolves bundled firmware paths in the firmware folder beside the guests folder, and nowhere else', async () => {
    const config = await library.create(draft());
    expect(library.resolvePath(config.id, '@firmware/seabios/bios.bin')).toBe(join(guests, '..', 'firmware', 'seabios', 'bios.bin'));
    expect(() => library.resolvePath(config.id, '@firmware/../guests/x')).toThrow(/outside the bundled firmware folder/);
  });

  it('removes a VM folder with its disks', async () => {
    const config = await library.create(draft(), 1);
    await library.remove(config.id);
    expect(await readdir(join(root, 'machines'))).toEqual([]);
    await expect(library.remove(config.id)).rejects.toThrow(/no VM with id/);
    await expect(library.remove('../x')).rejects.toThrow(/not a VM id/);
  });

  it('defaults to $XDG_DATA_HOME/popek/machines, else ~/.local/share/popek/machines', () => {
    expect(defaultLibraryFolder({ XDG_DATA_HOME: '/data' })).toBe('/data/popek/machines');
    expect(defaultLibraryFolder({ HOME: '/h' })).toMatch(/\/\.local\/share\/popek\/machines$/);
  });
});

describe('validateDraft (library rules)', () => {
  it('accepts the bundled Tiny Linux draft', async () => {
    expect(await validateDraft(library, draft())).toEqual({ ok: true, value: draft() });
  });

  it('refuses a duplicate name, case-insensitively, but not for the VM itself', async () => {
    const existing = await library.create(draft({ name: 'Alpha' }));
    expect(await validateDraft(library, draft({ name: 'alpha' }))).toEqual({
      ok: false,
      errors: [{ field: 'name', message: 'A VM named "Alpha" already exists' }],
    });
    expect((await validateDraft(library, draft({ name: 'alpha' }), { forId: existing.id })).ok).toBe(true);
  });

  it('refuses missing boot files with the path', async () => {
    const d = draft({ boot: { kind: 'linux', kernel: join(root, 'nope'), cmdline: '' } });
    expect(await validateDraft(library, d)).toEqual({
      ok: false,
      errors: [{ field: 'boot.kernel', message: `Kernel not found: ${join(root, 'nope')}` }],
    });
  });

  it('refuses a relative boot path for a new VM', async () => {
    const d = draft({ boot: { kind: 'linux', kernel: 'bzImage', cmdline: '' } });
    expect(await validateDraft(library, d)).toEqual({
      ok: false,
      errors: [{ field: 'boot.kernel', message: 'Kernel: use an absolute path (the new VM has no folder yet)' }],
    });
  });

  it('refuses a ROM whose size is not a multiple of 64 KiB', async () => {
    const rom = join(root, 'bad.rom');
    await writeFile(rom, new Uint8Array(1000));
    expect(await validateDraft(library, draft({ guestType: 'firmware-rom', boot: { kind: 'rom', rom } }))).toEqual({
      ok: false,
      errors: [{ field: 'boot.rom', message: 'ROM image must be a multiple of 64 KiB (it is 1000 bytes)' }],
    });
  });

  it('refuses more than one CPU, saying SMP is not implemented yet', async () => {
    expect(await validateDraft(library, draft({ cpus: 2 }))).toEqual({
      ok: false,
      errors: [{ field: 'cpus', message: 'Only 1 processor can run for now: multiprocessor (SMP) support is not implemented yet' }],
    });
  });

  it('refuses acceleration modes this build cannot run, naming the issue that brings them', async () => {
    await withUnbuiltBt(async () => {
      expect(await validateDraft(library, draft({ acceleration: 'bt' }))).toEqual({
        ok: false,
        errors: [{ field: 'acceleration', message: 'Acceleration Binary translation is not yet built: (marked unbuilt by this test)' }],
      });
    });
    expect((await validateDraft(library, draft({ acceleration: 'bt' }))).ok).toBe(true);
    expect((await validateDraft(library, draft({ acceleration: 'trap' }))).ok).toBe(true);
    expect((await validateDraft(library, draft({ acceleration: 'vtx' }))).ok).toBe(true);
    expect((await validateDraft(library, draft({ acceleration: 'svm' }))).ok).toBe(true);
  });

  it('takes nested paging off under VT-x and AMD-V for a kernel guest, and refuses it for firmware, which starts in real mode; trap and bt take firmware', async () => {
    const rom = join(root, 'good.rom');
    await writeFile(rom, new Uint8Array(64 * 1024));
    for (const [acceleration, label] of [['vtx', 'Intel VT-x'], ['svm', 'AMD-V (SVM)']] as const) {
      expect((await validateDraft(library, draft({ acceleration, nestedPaging: false }))).ok).toBe(true);
      expect(await validateDraft(library, draft({ acceleration, nestedPaging: false, guestType: 'firmware-rom', boot: { kind: 'rom', rom } }))).toEqual({
        ok: false,
        errors: [{ field: 'nestedPaging', message: `${label} without nested paging the hypervisor runs only a kernel (Linux boot): firmware starts in real mode, which needs nested paging` }],
      });
    }
    // The software monitor runs firmware: its real-mode code in the monitor's emulator (core/hypervisor/software/realModeEmulator.ts).
    for (const acceleration of ['trap', 'bt'] as const) {
      expect((await validateDraft(library, draft({ acceleration, guestType: 'firmware-rom', boot: { kind: 'rom', rom } }))).ok).toBe(true);
    }
  });

  it('refuses an unknown guest type for a new VM', async () => {
    expect(await validateDraft(library, draft({ guestType: 'beos' }), { knownGuestTypes: ['tiny-linux'] })).toEqual({
      ok: false,
      errors: [{ field: 'guestType', message: 'Unknown guest type beos' }],
    });
  });
});
