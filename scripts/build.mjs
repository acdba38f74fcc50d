#!/usr/bin/env node
// Builds what the Electron app and `popek serve` load from dist/:
//   dist/renderer/                 the manager UI (Vite, config renderer/vite.config.ts)
//   dist/electron/main.cjs         Electron main process (esbuild; package.json "main")
//   dist/electron/preload.cjs      preload of the sandboxed renderer (CommonJS: sandboxed preloads cannot load ESM)
//   dist/electron/machineWorker.mjs  one machine worker thread (core/host/machineWorkerThread.ts)
//   dist/electron/machine.mjs      core/machine/machine.ts, loaded by the worker (when present in the tree)
//
// usage: node scripts/build.mjs [--renderer] [--electron]   (default: both)
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const args = new Set(process.argv.slice(2));
const unknown = [...args].filter((a) => a !== '--renderer' && a !== '--electron');
if (unknown.length) {
  console.error(`build.mjs: unknown option ${unknown.join(' ')}\nusage: node scripts/build.mjs [--renderer] [--electron]`);
  process.exit(1);
}
const all = args.size === 0;

async function buildRenderer() {
  const { build } = await import('vite');
  await build({ configFile: `${root}renderer/vite.config.ts`, logLevel: 'warn' });
  console.log('built dist/renderer/');
}

async function buildElectron() {
  const esbuild = await import('esbuild');
  const outdir = `${root}dist/electron`;
  await rm(outdir, { recursive: true, force: true });
  const common = {
    absWorkingDir: root,
    bundle: true,
    platform: 'node',
    target: 'node20',
    sourcemap: true,
    logLevel: 'warning',
    // The machine module is loaded by URL at run time (a separate bundle below).
    external: ['electron'],
  };
  await esbuild.build({
    ...common,
    entryPoints: { main: 'electron/main.ts', preload: 'electron/preload.ts' },
    outdir,
    outExtension: { '.js': '.cjs' },
    format: 'cjs',
    // CommonJS has no import.meta; give the shared core code a real one.
    define: { 'import.meta.url': '__popekImportMetaUrl' },
    banner: { js: "const __popekImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  });
  const esm = [['machineWorker', 'core/host/machineWorkerThread.ts']];
  if (existsSync(`${root}core/machine/machine.ts`)) esm.push(['machine', 'core/machine/machine.ts']);
  else console.warn('build.mjs: core/machine/machine.ts does not exist yet; the app cannot start machines');
  // dom0's worker entries, started beside the bundle that holds the machine (core/dom0/worker/dom0.ts: dom0ThreadUrl;
  // netService.ts: netThreadUrl, the internal networks' switches).
  esm.push(['dom0Thread', 'core/dom0/worker/dom0Thread.ts'], ['netThread', 'core/dom0/worker/netThread.ts']);
  await esbuild.build({
    ...common,
    entryPoints: Object.fromEntries(esm),
    outdir,
    outExtension: { '.js': '.mjs' },
    format: 'esm',
    // Bundled CommonJS dependencies may call require(); give ESM output one.
    banner: { js: "import { createRequire as __popekCreateRequire } from 'node:module'; const require = __popekCreateRequire(import.meta.url);" },
  });
  console.log('built dist/electron/');
}

try {
  if (all || args.has('--renderer')) await buildRenderer();
  if (all || args.has('--electron')) await buildElectron();
} catch (e) {
  console.error(`build.mjs: ${e instanceof Error ? e.message : e}`);
  process.exit(1);
}
