/**
 * The app has two kinds of window: the manager (`#/` or no hash) and a
 * detached console (`#/console/<vmId>/<port>`, port 0 or 1 for COM1/COM2 or
 * hvcN for a VirtIO console port). Parsing is strict so a
 * hand-edited URL can never address something that is not a console.
 */
import { isConsolePort, type ConsolePort } from '../../../core/host/consolePort.ts';

export type AppRoute = { kind: 'manager' } | { kind: 'console'; vmId: string; port: ConsolePort };

const CONSOLE_ROUTE = /^#\/console\/([A-Za-z0-9-]{1,64})\/([01]|hvc\d{1,2})$/;

export function parseRoute(hash: string): AppRoute {
  const match = CONSOLE_ROUTE.exec(hash);
  if (!match) return { kind: 'manager' };
  const port = match[2] === '0' ? 0 : match[2] === '1' ? 1 : match[2]!;
  if (!isConsolePort(port)) return { kind: 'manager' };
  return { kind: 'console', vmId: match[1]!, port };
}

export function consoleRouteHash(vmId: string, port: ConsolePort): string {
  return `#/console/${vmId}/${port}`;
}
