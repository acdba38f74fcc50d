/**
 * `popek serve`: the manager UI and host API for a browser, on 127.0.0.1
 * only, protected by a random token printed in the URL. Runs until SIGINT or
 * SIGTERM, then powers off the running VMs and exits.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { HostService } from '../host/hostService.ts';
import { workerThreadRunnerFactory } from '../host/machineRunner.ts';
import { startHostServer } from '../host/httpServer.ts';
import { defaultLibraryFolder, VmLibrary } from '../host/library.ts';
import type { CoreBundle } from './main.ts';

const USAGE = `usage: popek serve [--port N] [--library DIR] [--guests DIR]

Serves the Popek manager and its host API on http://127.0.0.1:PORT/ and prints
the URL to open (it carries the access token).

  --port N        TCP port (default 0: pick a free one)
  --library DIR   VM library folder (default $XDG_DATA_HOME/popek/machines,
                  else ~/.local/share/popek/machines)
  --guests DIR    bundled guests folder (default resources/guests of this tree)
`;

/** The project folder: the nearest one above this module with package.json (the sources or the bundled core in .cache/). */
function findRepoRoot(): string {
  let dir = fileURLToPath(new URL('.', import.meta.url));
  for (;;) {
    if (existsSync(resolve(dir, 'package.json'))) return dir;
    const parent = resolve(dir, '..');
    if (parent === dir) throw new Error(`popek serve: no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
}

const repoRoot = findRepoRoot();

export async function serveCommand(argv: string[], bundle?: CoreBundle): Promise<number> {
  let values: { port?: string; library?: string; guests?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        port: { type: 'string' },
        library: { type: 'string' },
        guests: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    process.stderr.write(`popek serve: ${(e as Error).message}\n${USAGE}`);
    return 1;
  }
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write(`popek serve: --port must be 0..65535, not ${values.port}\n`);
    return 1;
  }

  const staticDir = resolve(repoRoot, 'dist', 'renderer');
  if (!existsSync(resolve(staticDir, 'index.html'))) {
    process.stderr.write('popek serve: the UI is not built yet; building it (node scripts/build.mjs --renderer) ...\n');
    const ok = await buildRenderer();
    if (!ok || !existsSync(resolve(staticDir, 'index.html'))) {
      process.stderr.write('popek serve: building the UI failed; build it with `npm run build` and try again\n');
      return 1;
    }
  }

  const library = new VmLibrary(resolve(values.library ?? defaultLibraryFolder()), resolve(values.guests ?? resolve(repoRoot, 'resources', 'guests')));
  try {
    await library.ensureFolder();
  } catch (e) {
    process.stderr.write(`popek serve: cannot use the library folder ${library.folder}: ${(e as Error).message}\n`);
    return 1;
  }
  // Machines run the same bundled core as this command when it was started from one.
  const runtime = bundle ? { runnerFactory: workerThreadRunnerFactory(new URL(bundle.worker)), machineModuleUrl: bundle.machine } : {};
  const host = new HostService({ library, mode: 'server', version: packageVersion(), ...runtime });
  const token = randomBytes(24).toString('hex');
  let server;
  try {
    server = await startHostServer({ host, token, port, staticDir });
  } catch (e) {
    process.stderr.write(`popek serve: cannot listen on 127.0.0.1:${port}: ${(e as Error).message}\n`);
    return 1;
  }
  process.stdout.write(`Popek manager: ${server.url}\nLibrary: ${library.folder}\nPress Ctrl+C to stop.\n`);

  const signal = await new Promise<NodeJS.Signals>((resolveSignal) => {
    process.once('SIGINT', () => resolveSignal('SIGINT'));
    process.once('SIGTERM', () => resolveSignal('SIGTERM'));
  });
  process.stdout.write(`popek serve: ${signal}: powering off running VMs and stopping\n`);
  await host.shutdown();
  await server.close();
  return 0;
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(resolve(repoRoot, 'package.json'), 'utf8')) as { version?: string }).version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}

function buildRenderer(): Promise<boolean> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [resolve(repoRoot, 'scripts', 'build.mjs'), '--renderer'], {
      cwd: repoRoot,
      stdio: ['ignore', 2, 2], // keep stdout for the URL line
    });
    child.on('error', () => done(false));
    child.on('exit', (code) => done(code === 0));
  });
}
