/**
 * The value of `popek run --disk FILE[,format=raw|qcow2][,readonly][,if=virtio|ide]`:
 * one disk, on the VirtIO bus (the default; attached in command-line order
 * as /dev/vda, /dev/vdb, ...) or, with if=ide, on the IDE controller
 * (primary master, primary slave, secondary master, secondary slave in
 * command-line order). Pure parsing; the image itself is opened (and a bad
 * one refused) when the machine is built.
 */
import type { VirtioDiskOption } from '../machine/types.ts';

export class DiskArgError extends Error {
  override readonly name = 'DiskArgError';
}

/** A parsed --disk: the image options, and `bus: 'ide'` for if=ide (absent: VirtIO). */
export interface RunDiskArg extends VirtioDiskOption {
  bus?: 'ide';
}

const EXPECTED = 'format=raw, format=qcow2, readonly, if=virtio or if=ide';

export function parseDiskArg(value: string): RunDiskArg {
  const [path, ...options] = value.split(',');
  if (!path) throw new DiskArgError(`bad --disk value '${value}': expected FILE[,format=raw|qcow2][,readonly][,if=virtio|ide]`);
  const disk: RunDiskArg = { path };
  for (const option of options) {
    if (option === 'readonly') disk.readOnly = true;
    else if (option === 'format=raw' || option === 'format=qcow2') disk.format = option.slice(7) as 'raw' | 'qcow2';
    else if (option === 'if=ide') disk.bus = 'ide';
    else if (option === 'if=virtio') delete disk.bus;
    else throw new DiskArgError(`bad --disk option '${option}' in '${value}': expected ${EXPECTED}`);
  }
  return disk;
}
