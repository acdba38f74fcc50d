/**
 * The "Install from an ISO image" preset and the host's checks of CD-ROM
 * drives: the preset boots the bundled SeaBIOS from an IDE CD-ROM drive, then
 * the disk; the ISO in a drive must exist and be whole 2048-byte CD sectors.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ISO_INSTALL_ID, listPresets } from '../../core/host/presets.ts';
import { VmLibrary } from '../../core/host/library.ts';
import { validateDraft } from '../../core/host/validation.ts';
import type { VmConfigDraft } from '../../core/machine/config.ts';

const GUESTS = fileURLToPath(new URL('../../resources/guests', import.meta.url));

let root: string;
let library: VmLibrary;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'popek-iso-preset-'));
  library = new VmLibrary(join(root, 'machines'), GUESTS);
});
afterEach(() => rm(root, { recursive: true, force: true }));

function isoDraft(cdroms: VmConfigDraft['cdroms']): VmConfigDraft {
  const preset = listPresets(GUESTS).find((p) => p.id === ISO_INSTALL_ID)!;
  return { ...preset.defaults, name: 'Installer', cdroms };
}

describe('the "Install from an ISO image" preset', () => {
  it('is the bundled SeaBIOS with one CD-ROM drive, booting the CD-ROM and then the disk, and offers a new disk', () => {
    const preset = listPresets(GUESTS).find((p) => p.id === ISO_INSTALL_ID)!;
    expect(preset).toMatchObject({ label: 'Install from an ISO image', available: true, newDisk: true });
    expect(preset.defaults).toMatchObject({ boot: { kind: 'rom', rom: '@firmware/seabios/bios.bin' }, bootOrder: ['cdrom', 'disk'], cdroms: [{}] });
  });

  it('accepts an ISO of whole CD sectors and an empty drive; refuses a missing file and a file that is not CD sectors', async () => {
    const iso = join(root, 'disc.iso');
    await writeFile(iso, new Uint8Array(3 * 2048));
    const odd = join(root, 'odd.iso');
    await writeFile(odd, new Uint8Array(2048 + 512));
    expect(await validateDraft(library, isoDraft([{ path: iso }]))).toMatchObject({ ok: true });
    expect(await validateDraft(library, isoDraft([{}]))).toMatchObject({ ok: true });
    expect(await validateDraft(library, isoDraft([{ path: join(root, 'absent.iso') }]))).toEqual({
      ok: false,
      errors: [{ field: 'cdroms.0.path', message: `ISO image not found: ${join(root, 'absent.iso')}` }],
    });
    expect(await validateDraft(library, isoDraft([{ path: iso }, { path: odd }]))).toEqual({
      ok: false,
      errors: [{ field: 'cdroms.1.path', message: 'ISO image is not a CD image: its size (2560 bytes) is not a whole number of 2048-byte sectors' }],
    });
    expect(await validateDraft(library, isoDraft([{}, {}, {}, {}, {}]))).toEqual({
      ok: false,
      errors: [{ field: 'cdroms', message: 'At most 4 CD-ROM drives' }],
    });
  });
});
