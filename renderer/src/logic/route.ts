/**
 * The app has two kinds of window: the manager (`#/` or no hash) and a
 * detached console (`#/console/<vmId>/<port>`). Parsing is strict so a
 * hand-edited URL can never address something that is not a console.
 */
export type AppRoute = { kind: 'manager' } | { kind: 'console'; vmId: string; port: 0 | 1 };

const CONSOLE_ROUTE = /^#\/console\/([A-Za-z0-9-]{1,64})\/([01])$/;

export function parseRoute(hash: string): AppRoute {
  const match = CONSOLE_ROUTE.exec(hash);
  if (!match) return { kind: 'manager' };
  return { kind: 'console', vmId: match[1]!, port: match[2] === '1' ? 1 : 0 };
}

export function consoleRouteHash(vmId: string, port: 0 | 1): string {
  return `#/console/${vmId}/${port}`;
}
