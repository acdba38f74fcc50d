/**
 * `popek disk`: disk image tools. `popek disk create` makes a new raw or
 * qcow2 image (optionally a qcow2 overlay on a backing image) with the same
 * createDisk the app's wizard and Storage page use.
 */
import path from 'node:path';
import { createDisk, openDisk } from '../dom0/block/blockBackend.ts';
import { DISK_USAGE, parseDiskArgs } from './diskCommandArgs.ts';
import { UsageError } from './runArgs.ts';

/** "2 GiB" for whole binary units, else bytes. */
export function formatDiskSize(bytes: number): string {
  for (const [unit, size] of [['TiB', 2 ** 40], ['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10]] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size} ${unit}`;
  }
  return `${bytes} bytes`;
}

export function diskCommand(argv: string[]): number {
  let args;
  try {
    args = parseDiskArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`popek disk: ${e.message}\n${DISK_USAGE}`);
      return 1;
    }
    throw e;
  }
  if (args.command === 'help') {
    process.stdout.write(DISK_USAGE);
    return 0;
  }
  try {
    let sizeBytes = args.sizeBytes;
    let backingNote = '';
    if (args.backingFile !== undefined) {
      // Opened here for its size and format (createDisk opens it again to validate it).
      const backing = openDisk(path.resolve(path.dirname(args.file), args.backingFile), { readOnly: true });
      sizeBytes ??= backing.sizeBytes;
      backingNote = `, backing file ${args.backingFile} (${backing.format}, ${formatDiskSize(backing.sizeBytes)})`;
      backing.close();
    }
    createDisk(args.file, { format: args.format, sizeBytes: sizeBytes!, backingFile: args.backingFile });
    process.stdout.write(`created ${args.file}: ${args.format}, ${formatDiskSize(sizeBytes!)}${backingNote}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`popek disk: ${(e as Error).message}\n`);
    return 1;
  }
}
