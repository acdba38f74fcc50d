#!/usr/bin/env node
// Entry of the `popek` command: registers the TypeScript loader, then runs the CLI.
import { register } from 'tsx/esm/api';
register();
const { main } = await import('../core/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
// The command is done: do not let a handle (a terminal stdin, the loader's worker) keep the
// process alive. The grace period lets buffered output reach a pipe first.
setTimeout(() => process.exit(), 250).unref();
