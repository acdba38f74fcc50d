/**
 * The VM library on disk: one folder per VM, named by the VM's id, holding
 * `vm.json` and the disks created for it.
 *
 *   <library>/<uuid>/vm.json
 *   <library>/<uuid>/disk0.qcow2   (or disk0.img, raw)
 *
 * Folders are named by id rather than by name so renaming a VM never moves
 * files (a running VM keeps its disk open). The library is re-read from disk
 * on every listing: the files are the truth, and a vm.json that cannot be used
 * (malformed, truncated, newer version) is listed as inaccessible with the
 * reason and is never rewritten.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve, sep } from 'node:path';
import {
  parseVmConfigFile,
  serializeVmConfig,
  VM_CONFIG_VERSION,
  type FieldError,
  type VmConfig,
  type VmConfigDraft,
} from '../machine/config.ts';
import { isTempFileName, syncDirectory, writeFileAtomic } from './atomicWrite.ts';
import { HostError } from './api.ts';
import { BUNDLED_PREFIX, FIRMWARE_PREFIX } from './presets.ts';
import { createDiskImage, escapesVmFolder } from './diskImages.ts';
import type { DiskFormat } from '../dom0/block/diskTypes.ts';

export const CONFIG_FILE = 'vm.json';

export type LibraryEntry =
  | { accessible: true; id: string; folder: string; config: VmConfig }
  | { accessible: false; id: string; folder: string; problem: string; errors?: FieldError[] };

/** The CLI's default library: $XDG_DATA_HOME/popek/machines or ~/.local/share/popek/machines. */
export function defaultLibraryFolder(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_DATA_HOME;
  const base = xdg && isAbsolute(xdg) ? xdg : join(homedir(), '.local', 'share');
  return join(base, 'popek', 'machines');
}

/** A folder name the library may touch: a direct child, never a path. */
function isSafeFolderName(name: string): boolean {
  return name.length > 0 && name !== '.' && name !== '..' && !/[/\\\0]/.test(name);
}

export class VmLibrary {
  readonly folder: string;
  readonly guestsFolder: string;

  /**
   * @param folder the library folder (created on first use)
   * @param guestsFolder the bundled guests folder that `@guests/...` paths resolve against
   */
  constructor(folder: string, guestsFolder: string) {
    this.folder = resolve(folder);
    this.guestsFolder = resolve(guestsFolder);
  }

  async ensureFolder(): Promise<void> {
    await mkdir(this.folder, { recursive: true });
  }

  vmFolder(id: string): string {
    if (!isSafeFolderName(id)) throw new HostError('INVALID_ARGUMENT', `not a VM id: ${JSON.stringify(id)}`);
    return join(this.folder, id);
  }

  /** Every VM folder in the library, accessible or not, sorted by name (inaccessible ones by folder). */
  async list(): Promise<LibraryEntry[]> {
    await this.ensureFolder();
    const names = await readdir(this.folder, { withFileTypes: true });
    const entries: LibraryEntry[] = [];
    for (const d of names) {
      if (!d.isDirectory() || isTempFileName(d.name) || !isSafeFolderName(d.name)) continue;
      const entry = await this.read(d.name);
      if (entry) entries.push(entry);
    }
    const key = (e: LibraryEntry) => (e.accessible ? e.config.name : e.id).toLowerCase();
    return entries.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  }

  /** One VM, or undefined when no such folder (or it has no vm.json). */
  async get(id: string): Promise<LibraryEntry | undefined> {
    if (!isSafeFolderName(id)) return undefined;
    return this.read(id);
  }

  private async read(id: string): Promise<LibraryEntry | undefined> {
    const folder = join(this.folder, id);
    let text: string;
    try {
      text = await readFile(join(folder, CONFIG_FILE), 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined; // not a VM folder
      return { accessible: false, id, folder, problem: `vm.json cannot be read: ${(e as Error).message}` };
    }
    const parsed = parseVmConfigFile(text);
    if (!parsed.ok) return { accessible: false, id, folder, problem: parsed.problem, ...(parsed.errors ? { errors: parsed.errors } : {}) };
    if (parsed.config.id !== id) {
      return { accessible: false, id, folder, problem: `vm.json belongs to VM ${parsed.config.id} but lies in folder ${id}` };
    }
    return { accessible: true, id, folder, config: parsed.config };
  }

  /**
   * Creates a VM from a validated draft: its folder, an optional new empty disk
   * image (`disk<N>.qcow2`, or `disk<N>.img` for raw; attached last), then
   * vm.json. On failure nothing is left.
   */
  async create(draft: VmConfigDraft, newDiskMiB?: number, newDiskFormat: DiskFormat = 'raw'): Promise<VmConfig> {
    await this.ensureFolder();
    const id = randomUUID();
    const folder = join(this.folder, id);
    await mkdir(folder);
    try {
      const config: VmConfig = { version: VM_CONFIG_VERSION, id, ...draft, disks: [...draft.disks] };
      if (newDiskMiB !== undefined) {
        const name = `disk${config.disks.length}.${newDiskFormat === 'qcow2' ? 'qcow2' : 'img'}`;
        createDiskImage(join(folder, name), newDiskFormat, newDiskMiB);
        config.disks.push({ path: name, format: newDiskFormat, sizeMiB: newDiskMiB });
      }
      await writeFileAtomic(join(folder, CONFIG_FILE), serializeVmConfig(config));
      await syncDirectory(this.folder);
      return config;
    } catch (e) {
      await rm(folder, { recursive: true, force: true }).catch(() => {});
      throw e;
    }
  }

  /** Replaces an accessible VM's vm.json atomically. An inaccessible one is never rewritten. */
  async update(config: VmConfig): Promise<void> {
    const existing = await this.get(config.id);
    if (!existing) throw new HostError('NOT_FOUND', `no VM with id ${config.id}`);
    if (!existing.accessible) throw new HostError('INACCESSIBLE', `VM ${config.id} cannot be changed: ${existing.problem}`);
    await writeFileAtomic(join(existing.folder, CONFIG_FILE), serializeVmConfig(config));
  }

  /** Deletes a VM folder and everything in it. */
  async remove(id: string): Promise<void> {
    const folder = this.vmFolder(id);
    const info = await stat(folder).catch(() => undefined);
    if (!info?.isDirectory()) throw new HostError('NOT_FOUND', `no VM with id ${id}`);
    await rm(folder, { recursive: true, force: true });
    await syncDirectory(this.folder);
  }

  /**
   * Where a path from a VM config points: `@guests/x` -> bundled guests folder
   * (and nowhere outside it), `@firmware/x` -> the bundled firmware folder
   * beside it, absolute -> itself, relative -> inside the VM
   * folder (a relative path that climbs out of it, `../x`, is refused).
   */
  resolvePath(id: string, path: string): string {
    if (path.startsWith(FIRMWARE_PREFIX)) {
      // The firmware folder sits beside the guests folder (resources/firmware, <resources>/firmware when packaged).
      const folder = join(dirname(this.guestsFolder), 'firmware');
      const full = resolve(folder, path.slice(FIRMWARE_PREFIX.length));
      if (full !== folder && !full.startsWith(folder + sep)) {
        throw new HostError('INVALID_ARGUMENT', `${path} points outside the bundled firmware folder`);
      }
      return full;
    }
    if (path.startsWith(BUNDLED_PREFIX)) {
      const full = resolve(this.guestsFolder, path.slice(BUNDLED_PREFIX.length));
      if (full !== this.guestsFolder && !full.startsWith(this.guestsFolder + sep)) {
        throw new HostError('INVALID_ARGUMENT', `${path} points outside the bundled guests folder`);
      }
      return full;
    }
    if (isAbsolute(path)) return path;
    if (escapesVmFolder(path)) throw new HostError('INVALID_ARGUMENT', `${path} points outside the VM folder (use an absolute path for files elsewhere)`);
    return resolve(this.vmFolder(id), path);
  }
}
