/**
 * Library-level validation of a VM draft: the schema (core/machine/config.ts)
 * plus the rules that need the file system or the other VMs: unique names,
 * boot files that exist, disks that are usable images of the stated format
 * (core/dom0/block opens each read-only), serial output files that are not a
 * folder or one of the VM's disks, relative paths that stay inside the VM
 * folder, a ROM of a usable size, ISO images of whole CD sectors, a CPU count that can actually run today.
 */
import { realpath, stat } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { checkVmDraft, CPUS_SUPPORTED, type FieldError, type VmConfigDraft } from '../machine/config.ts';
import type { VmLibrary } from './library.ts';
import { ACCELERATION_INFO, accelerationProblem, apicProblem } from '../machine/acceleration.ts';
import { BUNDLED_PREFIX, FIRMWARE_PREFIX } from './presets.ts';
import { escapesVmFolder, inspectDiskImage } from './diskImages.ts';

const ROM_ALIGN = 64 * 1024;
const CD_SECTOR_BYTES = 2048;
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
  const accelProblem = accelerationProblem(d.acceleration, d.nestedPaging, d.boot.kind === 'linux');
  if (accelProblem !== undefined) {
    errors.push({ field: (d.acceleration === 'vtx' || d.acceleration === 'svm') && ACCELERATION_INFO[d.acceleration].built ? 'nestedPaging' : 'acceleration', message: accelProblem });
  }
  const apicRefused = d.apic ? apicProblem(d.acceleration) : undefined;
  if (apicRefused !== undefined) errors.push({ field: 'apic', message: apicRefused });
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

  for (const check of fileChecks) {
    const message = await checkFile(library, options.forId, check.path, check.what, check.rom === true);
    if (message) errors.push({ field: check.field, message });
  }
  errors.push(...(await checkDisks(library, options.forId, d)));
  errors.push(...(await checkCdroms(library, options.forId, d)));
  errors.push(...(await checkSerialFiles(library, options.forId, d)));
  return errors.length ? { ok: false, errors } : { ok: true, value: d };
}

/** Real paths of the disk images other VMs attach, with whether each attaches it read-only. */
async function otherVmsDisks(library: VmLibrary, vmId: string | undefined): Promise<Map<string, { vm: string; readOnly: boolean }>> {
  const used = new Map<string, { vm: string; readOnly: boolean }>();
  for (const entry of await library.list()) {
    if (!entry.accessible || entry.id === vmId) continue;
    for (const disk of entry.config.disks) {
      let full: string;
      try {
        full = library.resolvePath(entry.id, disk.path);
      } catch {
        continue;
      }
      used.set(await realpath(full).catch(() => full), { vm: entry.config.name, readOnly: disk.readOnly === true });
    }
  }
  return used;
}

/**
 * Each disk must be a usable image (header checks, backing chain) of the
 * format the config states, attached once, and not written by two VMs (an
 * image open for writing in two machines would be corrupted).
 */
async function checkDisks(library: VmLibrary, vmId: string | undefined, d: VmConfigDraft): Promise<FieldError[]> {
  const errors: FieldError[] = [];
  const seen = new Map<string, number>();
  const others = d.disks.length > 0 ? await otherVmsDisks(library, vmId) : new Map();
  for (const [i, disk] of d.disks.entries()) {
    const field = `disks.${i}.path`;
    const message = await checkFile(library, vmId, disk.path, 'Disk image', false);
    if (message) {
      errors.push({ field, message });
      continue;
    }
    const full = library.resolvePath(vmId ?? '', disk.path);
    let info;
    try {
      info = inspectDiskImage(full);
    } catch (e) {
      errors.push({ field, message: `Disk image: ${(e as Error).message}` });
      continue;
    }
    if (info.format !== disk.format) errors.push({ field: `disks.${i}.format`, message: `Disk image ${full} is a ${info.format} image, not ${disk.format}` });
    const real = await realpath(full).catch(() => full);
    if (seen.has(real)) errors.push({ field, message: `Disk ${seen.get(real)} already uses this image` });
    seen.set(real, i);
    const other = others.get(real);
    if (other !== undefined && !(other.readOnly && disk.readOnly === true)) {
      errors.push({ field, message: `VM "${other.vm}" also attaches this image; two VMs may share an image only when both attach it read-only` });
    }
  }
  return errors;
}

/** An ISO image in a CD-ROM drive must be a file of whole 2048-byte CD sectors (the drive reads it read-only). */
async function checkCdroms(library: VmLibrary, vmId: string | undefined, d: VmConfigDraft): Promise<FieldError[]> {
  const errors: FieldError[] = [];
  for (const [i, cd] of (d.cdroms ?? []).entries()) {
    if (cd.path === undefined) continue; // an empty drive
    const field = `cdroms.${i}.path`;
    const message = await checkFile(library, vmId, cd.path, 'ISO image', false);
    if (message) {
      errors.push({ field, message });
      continue;
    }
    const size = (await stat(library.resolvePath(vmId ?? '', cd.path))).size;
    if (size < CD_SECTOR_BYTES || size % CD_SECTOR_BYTES !== 0) {
      errors.push({ field, message: `ISO image is not a CD image: its size (${size} bytes) is not a whole number of 2048-byte sectors` });
    }
  }
  return errors;
}

/** A serial output file is appended to: never a folder, never one of the VM's disk images, never outside the VM folder by a relative path. */
async function checkSerialFiles(library: VmLibrary, vmId: string | undefined, d: VmConfigDraft): Promise<FieldError[]> {
  const errors: FieldError[] = [];
  const diskPaths = new Set<string>();
  for (const disk of d.disks) {
    try {
      const full = library.resolvePath(vmId ?? '', disk.path);
      diskPaths.add(await realpath(full).catch(() => full));
    } catch {
      // Reported by checkDisks.
    }
  }
  for (const [i, port] of d.serial.entries()) {
    if (port.mode !== 'file' || port.path === undefined) continue;
    const field = `serial.${i}.path`;
    const what = `COM${i + 1} output file`;
    if (escapesVmFolder(port.path)) {
      errors.push({ field, message: `${what}: ${port.path} points outside the VM folder (use an absolute path for files elsewhere)` });
      continue;
    }
    if (vmId === undefined && !isAbsolute(port.path)) continue; // inside the folder the new VM will get
    const full = library.resolvePath(vmId ?? '', port.path);
    const info = await stat(full).catch(() => undefined);
    if (info?.isDirectory()) errors.push({ field, message: `${what} is a folder: ${full}` });
    else if (diskPaths.has(await realpath(full).catch(() => full))) errors.push({ field, message: `${what} is one of this VM's disk images: ${full}` });
  }
  return errors;
}

async function checkFile(library: VmLibrary, vmId: string | undefined, path: string, what: string, rom: boolean): Promise<string | undefined> {
  if (vmId === undefined && !isAbsolute(path) && !path.startsWith(BUNDLED_PREFIX) && !path.startsWith(FIRMWARE_PREFIX)) {
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
