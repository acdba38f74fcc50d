/**
 * Library-level validation of a VM draft: the schema (core/machine/config.ts)
 * plus the rules that need the file system or the other VMs: unique names,
 * boot files and disks that exist, a ROM of a usable size, a CPU count that
 * can actually run today.
 */
import { stat } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { checkVmDraft, CPUS_SUPPORTED, type FieldError, type VmConfigDraft } from '../machine/config.ts';
import type { VmLibrary } from './library.ts';
import { ACCELERATION_INFO, accelerationProblem } from '../machine/acceleration.ts';
import { BUNDLED_PREFIX } from './presets.ts';

const ROM_ALIGN = 64 * 1024;
/** Largest firmware image mapped below 4 GiB (the top 16 MiB). */
export const ROM_MAX_BYTES = 16 * 1024 * 1024;

export type DraftCheck = { ok: true; value: VmConfigDraft } | { ok: false; errors: FieldError[] };

export interface ValidateOptions {
  /** The VM being edited (settings dialog); omitted for a new VM. */
  forId?: string;
  /** Guest type ids accepted for a new VM. */
  knownGuestTypes?: string[];
}

export async function validateDraft(library: VmLibrary, draft: unknown, options: ValidateOptions = {}): Promise<DraftCheck> {
  const checked = checkVmDraft(draft);
  if (!checked.ok) return checked;
  const d = checked.value;
  const errors: FieldError[] = [];

  if (d.cpus > CPUS_SUPPORTED) {
    errors.push({
      field: 'cpus',
      message: `Only ${CPUS_SUPPORTED} processor can run for now: multiprocessor (SMP) support is not implemented yet`,
    });
  }
  const accelProblem = accelerationProblem(d.acceleration, d.nestedPaging);
  if (accelProblem !== undefined) {
    errors.push({ field: d.acceleration === 'vtx' && ACCELERATION_INFO.vtx.built ? 'nestedPaging' : 'acceleration', message: accelProblem });
  }
  if (options.forId === undefined && options.knownGuestTypes && !options.knownGuestTypes.includes(d.guestType)) {
    errors.push({ field: 'guestType', message: `Unknown guest type ${d.guestType}` });
  }

  const wanted = d.name.toLowerCase();
  for (const entry of await library.list()) {
    if (entry.accessible && entry.id !== options.forId && entry.config.name.toLowerCase() === wanted) {
      errors.push({ field: 'name', message: `A VM named "${entry.config.name}" already exists` });
      break;
    }
  }

  const fileChecks: { field: string; path: string; what: string; rom?: boolean }[] = [];
  if (d.boot.kind === 'linux') {
    fileChecks.push({ field: 'boot.kernel', path: d.boot.kernel, what: 'Kernel' });
    if (d.boot.initrd !== undefined) fileChecks.push({ field: 'boot.initrd', path: d.boot.initrd, what: 'Initrd' });
  } else {
    fileChecks.push({ field: 'boot.rom', path: d.boot.rom, what: 'ROM image', rom: true });
  }
  d.disks.forEach((disk, i) => fileChecks.push({ field: `disks.${i}.path`, path: disk.path, what: 'Disk image' }));

  for (const check of fileChecks) {
    const message = await checkFile(library, options.forId, check.path, check.what, check.rom === true);
    if (message) errors.push({ field: check.field, message });
  }
  return errors.length ? { ok: false, errors } : { ok: true, value: d };
}

async function checkFile(library: VmLibrary, vmId: string | undefined, path: string, what: string, rom: boolean): Promise<string | undefined> {
  if (vmId === undefined && !isAbsolute(path) && !path.startsWith(BUNDLED_PREFIX)) {
    return `${what}: use an absolute path (the new VM has no folder yet)`;
  }
  let full: string;
  try {
    full = library.resolvePath(vmId ?? '', path);
  } catch (e) {
    return `${what}: ${(e as Error).message}`;
  }
  const info = await stat(full).catch(() => undefined);
  if (!info) return `${what} not found: ${full}`;
  if (!info.isFile()) return `${what} is not a file: ${full}`;
  if (rom) {
    if (info.size === 0 || info.size % ROM_ALIGN !== 0) return `${what} must be a multiple of 64 KiB (it is ${info.size} bytes)`;
    if (info.size > ROM_MAX_BYTES) return `${what} must be at most 16 MiB`;
  }
  return undefined;
}
