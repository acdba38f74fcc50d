// The bundled core that `npx popek` runs: the CLI, the machine worker and the machine module,
// each one esbuild bundle, the way the app (scripts/build.mjs) and `npm run bench` run them.
// Through the TypeScript loader every imported constant and function is a module-binding load
// with a hole check, which costs the interpreter loop about a tenth of its speed.
//
// The bundles live in .cache/core/<key>/ where the key is a digest of the path, size and mtime
// of every file under core/: a changed source gives a new folder, an unchanged tree reuses the
// old one (no build at all). A folder is built under a temporary name and renamed into place,
// so two commands starting at once never see a half-written bundle. Older folders are removed
// once they are a day old (a server started from one may still start workers from it).
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const cacheDir = join(root, '.cache', 'core');
const KEEP_MS = 24 * 3600 * 1000;

function sourceKey() {
  const hash = createHash('sha256');
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else {
        const s = statSync(path);
        hash.update(`${path}\0${s.size}\0${s.mtimeMs}\n`);
      }
    }
  };
  walk(join(root, 'core'));
  return hash.digest('hex').slice(0, 16);
}

function urls(dir) {
  return {
    dir,
    cli: pathToFileURL(join(dir, 'cli.mjs')).href,
    worker: pathToFileURL(join(dir, 'machineWorker.mjs')).href,
    machine: pathToFileURL(join(dir, 'machine.mjs')).href,
  };
}

function removeOld(keep) {
  const now = Date.now();
  for (const name of readdirSync(cacheDir)) {
    if (name === keep) continue;
    const path = join(cacheDir, name);
    try {
      if (now - statSync(path).mtimeMs > KEEP_MS) rmSync(path, { recursive: true, force: true });
    } catch {
      // another command removed it first
    }
  }
}

/**
 * Returns the file URLs of the bundled CLI, worker and machine, building them when the sources
 * changed. Returns null when esbuild is not installed (an install without dev dependencies);
 * the caller then runs the TypeScript sources.
 */
export async function coreBundle() {
  let esbuild;
  try {
    esbuild = await import('esbuild');
  } catch {
    return null;
  }
  const key = sourceKey();
  const dir = join(cacheDir, key);
  try {
    statSync(join(dir, 'machine.mjs'));
    return urls(dir);
  } catch {
    // not built yet
  }
  const tmp = join(cacheDir, `.tmp-${process.pid}-${Date.now()}`);
  mkdirSync(tmp, { recursive: true });
  try {
    await esbuild.build({
      absWorkingDir: root,
      entryPoints: { cli: 'core/cli/main.ts', machineWorker: 'core/host/machineWorkerThread.ts', machine: 'core/machine/machine.ts', dom0Thread: 'core/dom0/worker/dom0Thread.ts', netThread: 'core/dom0/worker/netThread.ts' },
      outdir: tmp,
      outExtension: { '.js': '.mjs' },
      bundle: true,
      splitting: false,
      platform: 'node',
      target: 'node20',
      format: 'esm',
      packages: 'external',
      sourcemap: true,
      logLevel: 'warning',
    });
    try {
      renameSync(tmp, dir);
    } catch (e) {
      // Another command built the same sources first: use its folder.
      if (e.code !== 'ENOTEMPTY' && e.code !== 'EEXIST') throw e;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  removeOld(key);
  return urls(dir);
}
