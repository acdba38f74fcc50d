/**
 * The host API's disk operations (inspectDisk, createDisk) over the library:
 * argument checks for untrusted requests, path resolution against the VM
 * folder, and the messages the Storage page shows next to its fields.
 */
import { existsSync, statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { DISK_MIB_MAX, PATH_MAX_LENGTH } from '../machine/config.ts';
import type { CreateDiskRequest, CreateDiskResult, DiskInspection, FieldError } from './api.ts';
import { createDiskImage, inspectDiskImage } from './diskImages.ts';
import type { VmLibrary } from './library.ts';
import { BUNDLED_PREFIX } from './presets.ts';

function pathProblem(path: unknown): string | undefined {
  if (typeof path !== 'string' || path.trim() === '') return 'Choose a file name for the disk image';
  if (path.length > PATH_MAX_LENGTH) return `Path must be at most ${PATH_MAX_LENGTH} characters`;
  if (path.includes('\0')) return 'Path contains a NUL character';
  return undefined;
}

/** Where `path` points for VM `vmId` (undefined: a VM not created yet, so only absolute paths), or the reason it cannot be used. */
function resolveFor(library: VmLibrary, vmId: string | undefined, path: string): { full: string } | { problem: string } {
  if (vmId === undefined && !isAbsolute(path) && !path.startsWith(BUNDLED_PREFIX)) {
    return { problem: 'Use an absolute path (the new VM has no folder yet)' };
  }
  try {
    return { full: library.resolvePath(vmId ?? '', path) };
  } catch (e) {
    return { problem: (e as Error).message };
  }
}

export function inspectDisk(library: VmLibrary, vmId: string | undefined, path: unknown): DiskInspection {
  const bad = pathProblem(path);
  if (bad !== undefined) return { ok: false, message: bad };
  const where = resolveFor(library, vmId, (path as string).trim());
  if ('problem' in where) return { ok: false, message: where.problem };
  const info = statSync(where.full, { throwIfNoEntry: false });
  if (info === undefined) return { ok: false, message: `No such file: ${where.full}` };
  if (!info.isFile()) return { ok: false, message: `Not a file: ${where.full}` };
  try {
    return { ok: true, image: inspectDiskImage(where.full) };
  } catch (e) {
    return { ok: false, message: (e as Error).message };
  }
}

export function createDisk(library: VmLibrary, request: CreateDiskRequest): CreateDiskResult {
  const errors: FieldError[] = [];
  const pathBad = pathProblem(request.path);
  if (pathBad !== undefined) errors.push({ field: 'path', message: pathBad });
  if (request.format !== 'raw' && request.format !== 'qcow2') errors.push({ field: 'format', message: 'Disk format must be raw or qcow2' });
  const size = request.sizeMiB;
  if (typeof size !== 'number' || !Number.isInteger(size) || size < 1 || size > DISK_MIB_MAX) {
    errors.push({ field: 'sizeMiB', message: `Disk size must be a whole number of MiB from 1 to ${DISK_MIB_MAX}` });
  }
  if (errors.length) return { ok: false, errors };
  const path = request.path.trim();
  const where = resolveFor(library, request.vmId, path);
  if ('problem' in where) return { ok: false, errors: [{ field: 'path', message: where.problem }] };
  if (existsSync(where.full)) return { ok: false, errors: [{ field: 'path', message: `A file already exists at ${where.full}` }] };
  try {
    createDiskImage(where.full, request.format, size);
  } catch (e) {
    return { ok: false, errors: [{ field: 'path', message: `Cannot create ${where.full}: ${(e as Error).message}` }] };
  }
  return { ok: true, disk: { path, format: request.format, sizeMiB: size } };
}
