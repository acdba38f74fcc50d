/**
 * A PC hard disk image that boots Linux through a real boot loader, made at
 * test time from Debian's packages: a partition table with one active FAT16
 * partition (mkfs.fat from dosfstools), SYSLINUX installed into it (syslinux,
 * which writes through mtools), Debian's SYSLINUX MBR (syslinux-common) in
 * the first sector, and the kernel, initramfs and syslinux.cfg copied in with
 * mcopy. The firmware runs the MBR, the MBR the partition's boot sector, and
 * SYSLINUX reads the kernel and initramfs through the BIOS's INT 13h.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const SECTOR = 512;
/** The partition starts at 1 MiB, as partitioning tools place it. */
const PARTITION_START_LBA = 2048;
const SYSLINUX_MBR = '/usr/lib/syslinux/mbr/mbr.bin';
/** The Debian packages this set-up needs (CI installs them, .ci/run). */
export const SYSLINUX_PACKAGES = 'syslinux syslinux-common mtools dosfstools';

function run(tool: string, args: string[]): void {
  try {
    execFileSync(tool, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: Buffer; code?: string };
    if (err.code === 'ENOENT') throw new Error(`${tool} is not installed (apt-get install ${SYSLINUX_PACKAGES})`);
    throw new Error(`${tool} ${args.join(' ')} failed:\n${err.stderr?.toString() ?? String(e)}`);
  }
}

/** The MBR's partition table: one active FAT16 (type 06h) partition from PARTITION_START_LBA to the end, addressed by LBA (CHS fields saturated). */
function partitionTable(totalSectors: number): Uint8Array {
  const entry = new Uint8Array(16);
  const view = new DataView(entry.buffer);
  entry.set([0x80, 0xfe, 0xff, 0xff, 0x06, 0xfe, 0xff, 0xff]);
  view.setUint32(8, PARTITION_START_LBA, true);
  view.setUint32(12, totalSectors - PARTITION_START_LBA, true);
  return entry;
}

export interface SyslinuxDiskFiles {
  kernel: string;
  initrd: string;
  /** The kernel command line SYSLINUX passes (its APPEND line). */
  append: string;
}

/** Writes `dir/name`, a raw disk of `sizeMiB` MiB that SYSLINUX boots into Linux; returns its path. */
export function writeSyslinuxDisk(dir: string, name: string, files: SyslinuxDiskFiles, sizeMiB = 16): string {
  if (!existsSync(SYSLINUX_MBR)) throw new Error(`${SYSLINUX_MBR} is missing (apt-get install ${SYSLINUX_PACKAGES})`);
  const path = join(dir, name);
  const totalSectors = (sizeMiB * 1024 * 1024) / SECTOR;
  const image = new Uint8Array(totalSectors * SECTOR);
  image.set(partitionTable(totalSectors), 0x1be);
  image.set([0x55, 0xaa], 510);
  writeFileSync(path, image);

  const offsetBytes = PARTITION_START_LBA * SECTOR;
  const partitionKiB = ((totalSectors - PARTITION_START_LBA) * SECTOR) / 1024;
  run('mkfs.fat', ['-F', '16', '-n', 'POPEK', '--offset', String(PARTITION_START_LBA), path, String(partitionKiB)]);
  run('syslinux', ['--offset', String(offsetBytes), '--install', path]);
  // The MBR's boot code: everything before the disk signature and partition table.
  run('dd', [`if=${SYSLINUX_MBR}`, `of=${path}`, 'conv=notrunc', 'bs=440', 'count=1', 'status=none']);

  const config = join(dir, `${name}.syslinux.cfg`);
  writeFileSync(config, ['DEFAULT linux', 'PROMPT 0', 'LABEL linux', '  KERNEL BZIMAGE', '  INITRD INITRD.GZ', `  APPEND ${files.append}`, ''].join('\n'));
  const partition = `${path}@@${offsetBytes}`;
  run('mcopy', ['-i', partition, files.kernel, '::BZIMAGE']);
  run('mcopy', ['-i', partition, files.initrd, '::INITRD.GZ']);
  run('mcopy', ['-i', partition, config, '::SYSLINUX.CFG']);
  return path;
}
