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

/** The Linux name of the VirtIO disk at position `index`: vda, vdb, ... (the board attaches them in config order). */
export function virtioDiskName(index: number): string {
  return `vd${String.fromCharCode(0x61 + index)}`;
}

/**
 * What the Storage page and the wizard say about the guest: every board
 * attaches a VM's disks as VirtIO disks in config order (under the
 * hypervisor too, whose MMIO emulation serves the virtio functions).
 */
export const GUEST_DISK_NOTE = 'The guest sees these disks as VirtIO disks in this order: /dev/vda, /dev/vdb, … (Linux needs its virtio_blk driver).';
