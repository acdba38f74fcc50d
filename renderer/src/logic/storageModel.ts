/**
 * Settings -> Storage and the wizard's new disk: names for new images, how a
 * disk is summarised, and what the page may honestly say about the guest.
 */
import type { Acceleration, DiskConfig } from '../../../core/host/api.ts';
import { ACCELERATION_INFO } from '../../../core/machine/acceleration.ts';
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
 * What the Storage page and the wizard say about the guest. The host passes
 * a VM's disks to its machine only on the bare PC board (acceleration none,
 * core/host/hostService.ts workerInit): the VT-x board has no VirtIO devices
 * yet, and a VM under it starts without its disks. The pages must say so
 * rather than suggest the guest sees them.
 */
export function guestDiskNote(acceleration: Acceleration): string {
  if (acceleration === 'none') {
    return 'The guest sees these disks as VirtIO disks in this order: /dev/vda, /dev/vdb, … (Linux needs its virtio_blk driver).';
  }
  return `Disks are not attached to the guest under ${ACCELERATION_INFO[acceleration].label}: the hypervisor's board has no VirtIO devices yet, so the VM starts without them. With Acceleration "None" (System page) they are attached as VirtIO disks /dev/vda, /dev/vdb, ….`;
}
