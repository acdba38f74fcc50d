/**
 * Argument parsing for `popek disk`, the disk image tool (`popek run --disk`
 * is parsed in diskArg.ts). Pure: argv to a DiskArgs value or a UsageError
 * whose message is the one line the user sees.
 */
import type { DiskFormat } from '../dom0/block/diskTypes.ts';
import { UsageError } from './runArgs.ts';

export const DISK_USAGE = `usage: popek disk create FILE [--size SIZE] [--format raw|qcow2] [--backing FILE]

  create FILE          create a new, empty disk image (refuses to overwrite FILE)
  --size SIZE          virtual size: bytes, or a number with K, M, G or T (binary
                       units: 2G = 2 GiB); a multiple of 512 bytes. Optional with
                       --backing (default: the backing image's size)
  --format raw|qcow2   default: raw for a FILE ending in .img or .raw, else qcow2
  --backing FILE       qcow2 overlay on a base image (raw or qcow2), which is only
                       read; a relative FILE is relative to the new image's folder

A raw image is a sparse file; a qcow2 image is version 3 with 64 KiB clusters.
exit status: 0 created; 1 bad arguments or the image could not be created
`;

export interface DiskCreateArgs {
  command: 'create';
  file: string;
  sizeBytes?: number;
  format: DiskFormat;
  backingFile?: string;
}

export type DiskArgs = DiskCreateArgs | { command: 'help' };

const UNITS: Record<string, number> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/** "2G", "512M", "1048576", "1.5G", "4GiB" -> bytes; a UsageError unless a positive multiple of 512. */
export function parseDiskSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/i.exec(text.trim());
  if (m === null) throw new UsageError(`bad size '${text}' (e.g. 2G, 512M, 1048576)`);
  const bytes = Number(m[1]) * UNITS[m[2].toUpperCase()];
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new UsageError(`bad size '${text}'`);
  if (bytes % 512 !== 0) throw new UsageError(`size ${text} (${bytes} bytes) is not a multiple of 512 bytes`);
  return bytes;
}

export function parseDiskArgs(argv: string[]): DiskArgs {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '-h' || sub === '--help' || sub === 'help') return { command: 'help' };
  if (sub !== 'create') throw new UsageError(`unknown disk command '${sub}' (only 'create')`);
  let file: string | undefined;
  let size: string | undefined;
  let format: string | undefined;
  let backing: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    const eq = arg.indexOf('=');
    const [name, inline] = arg.startsWith('--') && eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg, undefined];
    const value = (): string => {
      if (inline !== undefined) return inline;
      const v = rest[++i];
      if (v === undefined) throw new UsageError(`${name} needs a value`);
      return v;
    };
    switch (name) {
      case '--size': size = value(); break;
      case '--format': format = value(); break;
      case '--backing': backing = value(); break;
      case '-h':
      case '--help':
        return { command: 'help' };
      default:
        if (name.startsWith('-')) throw new UsageError(`unknown option '${name}'`);
        if (file !== undefined) throw new UsageError(`one image per command ('${file}' and '${name}')`);
        file = name;
    }
  }
  if (file === undefined) throw new UsageError('disk create needs the FILE to create');
  if (format !== undefined && format !== 'raw' && format !== 'qcow2') throw new UsageError(`--format must be raw or qcow2, not '${format}'`);
  const chosen: DiskFormat = (format as DiskFormat | undefined) ?? (backing !== undefined ? 'qcow2' : /\.(img|raw)$/i.test(file) ? 'raw' : 'qcow2');
  if (chosen === 'raw' && backing !== undefined) throw new UsageError('--backing needs the qcow2 format (a raw image has no backing file)');
  if (size === undefined && backing === undefined) throw new UsageError('--size is required (e.g. --size 2G)');
  return {
    command: 'create',
    file,
    format: chosen,
    ...(size !== undefined ? { sizeBytes: parseDiskSize(size) } : {}),
    ...(backing !== undefined ? { backingFile: backing } : {}),
  };
}
