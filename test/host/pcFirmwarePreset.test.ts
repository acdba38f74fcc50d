import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { PC_FIRMWARE_ID, listPresets } from '../../core/host/presets.ts';
import { seabiosBesideGuests } from '../../core/machine/firmware/bundledFirmware.ts';

const GUESTS = fileURLToPath(new URL('../../resources/guests', import.meta.url));

describe('the "PC with firmware" preset', () => {
  it('boots the bundled SeaBIOS as a ROM image and is available when the firmware is there', () => {
    const preset = listPresets(GUESTS).find((p) => p.id === PC_FIRMWARE_ID)!;
    expect(preset.available).toBe(true);
    expect(preset.defaults.boot).toEqual({ kind: 'rom', rom: '@firmware/seabios/bios.bin' });
    expect(seabiosBesideGuests(GUESTS)).toBe(fileURLToPath(new URL('../../resources/firmware/seabios/bios.bin', import.meta.url)));
  });

  it('is unavailable, saying why, in an installation without the firmware', () => {
    const dir = mkdtempSync(join(tmpdir(), 'popek-presets-'));
    try {
      const preset = listPresets(join(dir, 'guests')).find((p) => p.id === PC_FIRMWARE_ID)!;
      expect(preset.available).toBe(false);
      expect(preset.unavailableReason).toBe(`bundled firmware missing: ${join(dir, 'firmware', 'seabios', 'bios.bin')}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
