/** Plain option types shared by the block backend modules (no code, so no import cycles). */

export type DiskFormat = 'raw' | 'qcow2';

export interface OpenDiskOptions {
  /** Probed from the header when absent. */
  format?: DiskFormat;
  readOnly?: boolean;
}

export interface CreateDiskOptions {
  format: DiskFormat;
  /** Virtual size; a positive multiple of 512. For a qcow2 overlay, defaults make no sense: give the base's size or larger. */
  sizeBytes: number;
  /** qcow2 only: the image this overlay reads unwritten clusters from (raw or qcow2, probed). Relative paths are resolved against the overlay's directory, as qemu does. */
  backingFile?: string;
}
