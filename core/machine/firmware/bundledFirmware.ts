/**
 * Where the firmware Popek ships lives: resources/firmware/seabios/bios.bin
 * in the source tree (extracted from Debian's package by
 * resources/firmware/seabios/extract.sh and committed), <resources>/firmware
 * in the packaged app, beside the bundled guests folder. Nothing here
 * downloads anything: a missing file is reported, never fetched.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The SeaBIOS image, relative to the bundled resources folder. */
export const SEABIOS_FILE = join('firmware', 'seabios', 'bios.bin');
/** SeaVGABIOS for the board's (ISA) VGA, relative to the bundled resources folder. */
export const SEAVGABIOS_FILE = join('firmware', 'seabios', 'vgabios-isavga.bin');

/**
 * The bundled SeaBIOS, found by walking up from `start` (default: this
 * module, which may be the TypeScript source or the CLI's bundle under
 * .cache/core/) to the folder holding resources/firmware. Null when absent.
 */
export function findBundledSeabios(start: string = dirname(fileURLToPath(import.meta.url))): string | null {
  for (let dir = start; ; dir = dirname(dir)) {
    const candidate = join(dir, 'resources', SEABIOS_FILE);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return null;
  }
}

/** The bundled SeaBIOS next to a bundled guests folder (resources/guests -> resources/firmware/...). */
export function seabiosBesideGuests(guestsFolder: string): string {
  return join(dirname(guestsFolder), SEABIOS_FILE);
}

/** The bundled VGA BIOS next to a bundled guests folder. */
export function vgaBiosBesideGuests(guestsFolder: string): string {
  return join(dirname(guestsFolder), SEAVGABIOS_FILE);
}
