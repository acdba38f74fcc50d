#!/usr/bin/env node
// Entry of the `popek` command. It runs the core as one esbuild bundle (scripts/coreBundle.mjs:
// built on first use and whenever core/ changes), as the app and the benchmark do; without
// esbuild (an install without dev dependencies) it runs the TypeScript sources through tsx.
import { coreBundle } from '../scripts/coreBundle.mjs';

let bundle = null;
try {
  bundle = await coreBundle();
} catch (e) {
  process.stderr.write(`popek: could not bundle the core (${e instanceof Error ? e.message : e}); running the TypeScript sources\n`);
}
let main;
if (bundle) {
  ({ main } = await import(bundle.cli));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../core/cli/main.ts'));
}
process.exitCode = await main(process.argv.slice(2), bundle ? { worker: bundle.worker, machine: bundle.machine } : undefined);
// The command is done: do not let a handle (a terminal stdin, the loader's worker) keep the
// process alive. The grace period lets buffered output reach a pipe first.
setTimeout(() => process.exit(), 250).unref();
