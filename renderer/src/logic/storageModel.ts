/**
 * Settings -> Storage and the wizard's new disk: names for new images, how a
 * disk is summarised, and what the page may honestly say about the guest.
 */
import type { DiskConfig } from '../../../core/host/api.ts';
import { formatMiB } from './format.ts';

export type DiskFormat = DiskConfig['format'];

export const DISK_FORMAT_LABELS: Record<DiskFormat, string> = {
  qcow2: 'qcow2 (grows as the guest writes; can sit on a base image)',
  raw: 'raw (a sparse file, byte for byte the disk)',
};

/** The first `disk<N>.qcow2` / `disk<N>.img` no attached disk uses (paths compared as typed). */
export function nextDiskName(disks: readonly DiskConfig[], format: DiskFormat): string {
  const taken = new Set(disks.map((d) => d.path));
  const ext = format === 'qcow2' ? 'qcow2' : 'img';
  for (let n = disks.length; ; n++) {
    const name = `disk${n}.${ext}`;
    if (!taken.has(name)) return name;
  }
}

/** "qcow2, 2 GiB" or "raw, 512 MiB, read-only". */
export function diskSummary(disk: DiskConfig): string {
  return `${disk.format}, ${formatMiB(disk.sizeMiB)}${disk.readOnly ? ', read-only' : ''}`;
}

/**
 * What the Storage page says about the guest. The VM config's disks reach the
 * machine only once the host passes them to the virtio-blk devices; until
 * then the page must not suggest the guest sees them.
 */
export const GUEST_DISK_NOTE =
  'Disks are not yet attached to the guest: the images are created and checked, but the machine does not connect them to its VirtIO disk controller yet.';
