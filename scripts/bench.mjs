#!/usr/bin/env node
// `npm run bench [cpu|tiny-linux|debian-686]`: bundles bench/main.ts with esbuild, the way
// scripts/build.mjs bundles the machine the app runs (dist/electron/machine.mjs), and runs
// the bundle, so the figures are those of the code users run. (Run through the TypeScript
// loader instead, every imported constant and function is a module-binding load with a
// hole check, which costs the interpreter loop about a tenth of its speed.)
// The bundle is written next to its entry (bench/.bundle.mjs, and dom0's workers bench/dom0Thread.mjs and bench/netThread.mjs, ignored by git) so that the
// import.meta.url-relative paths in bench/ and scripts/ still resolve.
import { build } from 'esbuild';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outfile = `${root}bench/.bundle.mjs`;
await build({
  absWorkingDir: root,
  entryPoints: ['bench/main.ts'],
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  outfile,
  logLevel: 'warning',
});
// dom0's worker entries beside the bundle, where the bundled machine starts them (core/dom0/worker/dom0.ts:
// dom0ThreadUrl; netService.ts: netThreadUrl, the internal networks' switches).
await build({
  absWorkingDir: root,
  entryPoints: { dom0Thread: 'core/dom0/worker/dom0Thread.ts', netThread: 'core/dom0/worker/netThread.ts' },
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  outdir: `${root}bench`,
  outExtension: { '.js': '.mjs' },
  logLevel: 'warning',
});
await import(pathToFileURL(outfile).href);
