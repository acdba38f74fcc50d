/**
 * The value of `popek run --disk FILE[,format=raw|qcow2][,readonly]`: one
 * VirtIO disk (attached in command-line order as /dev/vda, /dev/vdb, ...).
 * Pure parsing; the image itself is opened (and a bad one refused) when the
 * machine is built.
 */
import type { VirtioDiskOption } from '../machine/types.ts';

export class DiskArgError extends Error {
  override readonly name = 'DiskArgError';
}

export function parseDiskArg(value: string): VirtioDiskOption {
  const [path, ...options] = value.split(',');
  if (!path) throw new DiskArgError(`bad --disk value '${value}': expected FILE[,format=raw|qcow2][,readonly]`);
  const disk: VirtioDiskOption = { path };
  for (const option of options) {
    if (option === 'readonly') disk.readOnly = true;
    else if (option === 'format=raw' || option === 'format=qcow2') disk.format = option.slice(7) as 'raw' | 'qcow2';
    else throw new DiskArgError(`bad --disk option '${option}' in '${value}': expected format=raw, format=qcow2 or readonly`);
  }
  return disk;
}
