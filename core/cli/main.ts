/**
 * `popek` command-line entry: dispatches to the subcommands.
 */
const USAGE = `usage: popek <command> [options]

commands:
  run     run a machine headless, COM1 on stdin/stdout (popek run --help)
  serve   serve the manager UI and host API on 127.0.0.1 (popek serve --help)
  disk    create disk images: popek disk create FILE --size 2G (popek disk --help)
`;

/**
 * Where the machine worker and machine module come from when the CLI itself
 * runs as the bundled core (bin/popek.mjs, scripts/coreBundle.mjs); absent
 * when it runs from the TypeScript sources.
 */
export interface CoreBundle {
  worker: string;
  machine: string;
}

export async function main(argv: string[], bundle?: CoreBundle): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'run': {
      const { runCommand } = await import('./run.ts');
      return runCommand(rest);
    }
    case 'serve': {
      const { serveCommand } = await import('./serve.ts');
      return serveCommand(rest, bundle);
    }
    case 'disk': {
      const { diskCommand } = await import('./disk.ts');
      return diskCommand(rest);
    }
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(USAGE);
      return command === undefined ? 1 : 0;
    default:
      process.stderr.write(`popek: unknown command '${command}'\n${USAGE}`);
      return 1;
  }
}
