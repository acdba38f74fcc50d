/**
 * Crash-safe file replacement: after a crash or power loss at any point the
 * file holds either its old contents or its new contents, never a mix.
 *
 * Write a temp file in the same directory (rename is only atomic within one
 * file system), fsync it (the data is on disk before the name points at it),
 * rename it over the target, then fsync the directory (the rename itself is
 * on disk). A crash before the rename leaves a stray `.<name>.tmp-*` file,
 * which readers ignore (see isTempFileName).
 */
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface AtomicWriteHooks {
  /** Test hook: runs after the temp file is written and synced, before the rename. */
  beforeRename?: (tempPath: string) => void | Promise<void>;
}

let counter = 0;

export async function writeFileAtomic(path: string, data: string | Uint8Array, hooks: AtomicWriteHooks = {}): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.tmp-${process.pid}-${Date.now()}-${counter++}`);
  let renamed = false;
  try {
    const handle = await open(temp, 'wx', 0o644);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (hooks.beforeRename) await hooks.beforeRename(temp);
    await rename(temp, path);
    renamed = true;
    await syncDirectory(dir);
  } finally {
    if (!renamed) await rm(temp, { force: true }).catch(() => {});
  }
}

/** Makes a directory's entries (creations, renames) durable. */
export async function syncDirectory(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch (e) {
    // Some platforms (Windows) cannot open or fsync a directory; the rename is still atomic there.
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EBADF') throw e;
  } finally {
    await handle?.close();
  }
}

/** True for the temp files writeFileAtomic leaves behind after a crash. */
export function isTempFileName(name: string): boolean {
  return name.startsWith('.') && name.includes('.tmp-');
}
