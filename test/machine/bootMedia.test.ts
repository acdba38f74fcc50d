/**
 * Guest test: Debian's SeaBIOS (bundled) boots from the IDE hard disk and from
 * the IDE CD-ROM, in the VM's boot order. The disk (primary master) is a raw
 * image whose MBR is a project-written boot sector; the CD-ROM (primary slave)
 * holds an ISO made with xorriso whose El Torito boot record names a
 * no-emulation boot image of four 512-byte sectors, read by the firmware with
 * ATAPI packet commands. Each boot sector prints its line through INT 10h and
 * gives the boot back with INT 18h, so SeaBIOS goes on to the next device: one
 * boot per order shows both media booting, in that order. Bare PC (the IDE
 * controller under VT-x is covered by ideBoard.test.ts), deterministic clock;
 * the output reaches COM1 through SeaBIOS's sercon.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MachineOptions } from '../../core/machine/types.ts';
import { writeBootIso, writeMbrDisk } from './bootMedia/bootImages.ts';
import { BANNER, bootSeaBios, SERCON_INIT } from './seabiosBoot.ts';

const DISK_LINE = 'POPEK-DISK: the MBR of the IDE disk, printing through INT 10h';
const CD_LINE = 'POPEK-CD: the El Torito boot image of the ISO, printing through INT 10h';
const DISK_BOOTS = `Booting from Hard Disk...\r\n${DISK_LINE}\r\n`;
const CD_BOOTS = 'Booting from DVD/CD...\r\n' + `${CD_LINE}\r\n`;
const NOTHING_LEFT = 'No bootable device.  Retrying in 60 seconds.\r\n';

/** Runs the bundled SeaBIOS (bootSeaBios, 32 MiB) until it has nothing left to boot; COM1's output and its debug log (port 0x402). */
function boot(options: Partial<MachineOptions>) {
  const { out, debug, result } = bootSeaBios('none', { memoryMiB: 32, logPorts: [0x402], ...options }, /No bootable device\.  Retrying in 60 seconds\.\r\n/);
  return { out, debug, result };
}

describe('SeaBIOS boots the IDE disk and the CD-ROM in the boot order', () => {
  let dir: string;
  let media: Partial<MachineOptions>;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'popek-boot-media-'));
    media = {
      ideDisks: [{ path: writeMbrDisk(dir, 'disk.raw', DISK_LINE), format: 'raw' }],
      cdroms: [{ path: writeBootIso(dir, 'boot.iso', CD_LINE) }],
    };
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('disk, then CD-ROM: the MBR runs first, then the ISO\'s boot image', () => {
    const { out, debug, result } = boot({ ...media, bootOrder: ['disk', 'cdrom'] });
    expect(result).toEqual({ kind: 'running' });
    expect(out).toBe(SERCON_INIT + BANNER + DISK_BOOTS + CD_BOOTS + NOTHING_LEFT);
    // The firmware found both on the PIIX3 IDE function (00:01.1): the disk as primary master, the drive as primary slave.
    expect(debug).toContain('Searching bootorder for: /pci@i0cf8/*@1,1/drive@0/disk@0\n');
    expect(debug).toContain('Searching bootorder for: /pci@i0cf8/*@1,1/drive@0/disk@1\n');
  }, 120_000);

  it('CD-ROM, then disk: the ISO\'s boot image runs first, then the MBR', () => {
    const { out, result } = boot({ ...media, bootOrder: ['cdrom', 'disk'] });
    expect(result).toEqual({ kind: 'running' });
    expect(out).toBe(SERCON_INIT + BANNER + CD_BOOTS + DISK_BOOTS + NOTHING_LEFT);
  }, 120_000);
});
