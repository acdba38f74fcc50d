/**
 * Disk images as the host sees them: what an image file is (format, virtual
 * size, backing file), creating one for a VM, and the path rule every file a
 * VM config names obeys (a relative path stays inside the VM folder).
 *
 * The images themselves are read and written by core/dom0/block; this file
 * only opens them read-only to look at their headers (which also runs every
 * sanity check a hostile image needs), so a file that is not a usable disk
 * image is refused when the config is saved, not when the VM starts.
 */
import { isAbsolute, normalize, sep } from 'node:path';
import { createDisk, openDisk } from '../dom0/block/blockBackend.ts';
import type { DiskFormat } from '../dom0/block/diskTypes.ts';
import { BUNDLED_PREFIX } from './presets.ts';

const MiB = 1024 * 1024;

export interface DiskImageInfo {
  format: DiskFormat;
  sizeBytes: number;
  /** sizeBytes in MiB, rounded up (what DiskConfig.sizeMiB records). */
  sizeMiB: number;
  /** qcow2 overlays: the backing file name as stored in the image. */
  backingFile?: string;
}

/** True when a VM-relative path leaves the VM folder (`../x`, `a/../../x`). Absolute and `@guests/` paths are not VM-relative. */
export function escapesVmFolder(path: string): boolean {
  if (isAbsolute(path) || path.startsWith(BUNDLED_PREFIX)) return false;
  const n = normalize(path);
  return n === '..' || n.startsWith(`..${sep}`) || n.startsWith('../');
}

/** Opens the image read-only and reports its header; throws with the reason when it is not a usable disk image. */
export function inspectDiskImage(fullPath: string): DiskImageInfo {
  const disk = openDisk(fullPath, { readOnly: true });
  try {
    const backingFile = (disk as { backingFileName?: string }).backingFileName;
    return {
      format: disk.format,
      sizeBytes: disk.sizeBytes,
      sizeMiB: Math.ceil(disk.sizeBytes / MiB),
      ...(backingFile !== undefined ? { backingFile } : {}),
    };
  } finally {
    disk.close();
  }
}

/** Creates an empty image of sizeMiB (refuses to overwrite an existing file). */
export function createDiskImage(fullPath: string, format: DiskFormat, sizeMiB: number): void {
  createDisk(fullPath, { format, sizeBytes: sizeMiB * MiB });
}
