/**
 * Boot media for firmware guest tests, built at test time from the project's
 * own boot sector (bootLine.asm, nasm) and Debian's xorriso: a raw disk whose
 * MBR prints a line, and an ISO 9660 image with an El Torito no-emulation boot
 * image that prints a line. Both print through INT 10h and then hand the boot
 * back to the firmware with INT 18h.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assemble } from '../../../scripts/nasm.ts';

const SOURCE = readFileSync(new URL('./bootLine.asm', import.meta.url), 'utf8');
/** Virtual 512-byte sectors of the CD's boot image (one 2048-byte CD sector), its El Torito load size. */
export const CD_BOOT_SECTORS = 4;

/** A boot sector (sectors = 1, with the 0xAA55 signature) or a no-emulation boot image printing `line`. */
export function bootLineImage(line: string, sectors = 1): Uint8Array {
  if (/['\r\n]/.test(line)) throw new Error('the line is a nasm string: no quotes or line breaks');
  return assemble(SOURCE, [], { LINE: `'${line}'`, SECTORS: sectors });
}

/** Writes a raw disk image of `sizeKiB` whose MBR prints `line`; returns its path. */
export function writeMbrDisk(dir: string, name: string, line: string, sizeKiB = 1024): string {
  const path = join(dir, name);
  const image = new Uint8Array(sizeKiB * 1024);
  image.set(bootLineImage(line));
  writeFileSync(path, image);
  return path;
}

/**
 * Builds an ISO with xorriso (mkisofs emulation): El Torito, no-emulation boot
 * image boot.img loaded as CD_BOOT_SECTORS sectors, printing `line`; a README
 * beside it so the image has a file system to look at. Returns its path.
 */
export function writeBootIso(dir: string, name: string, line: string): string {
  const tree = join(dir, `${name}.tree`);
  mkdirSync(tree, { recursive: true });
  writeFileSync(join(tree, 'boot.img'), bootLineImage(line, CD_BOOT_SECTORS));
  writeFileSync(join(tree, 'README.TXT'), 'A Popek test CD.\n');
  const path = join(dir, name);
  try {
    execFileSync(
      'xorriso',
      ['-as', 'mkisofs', '-quiet', '-V', 'POPEK_TEST', '-b', 'boot.img', '-no-emul-boot', '-boot-load-size', String(CD_BOOT_SECTORS), '-o', path, tree],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
  } catch (e) {
    const err = e as { stderr?: Buffer; code?: string };
    if (err.code === 'ENOENT') throw new Error('xorriso is not installed (apt-get install xorriso)');
    throw new Error(`xorriso failed:\n${err.stderr?.toString() ?? String(e)}`);
  }
  return path;
}
