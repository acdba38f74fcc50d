/**
 * Picks the transport the page runs under:
 * - Electron: the preload exposed `window.popek` (contextBridge), which is the
 *   whole PopekBridge including native pickers and console windows.
 * - Browser: `popek serve` printed `http://127.0.0.1:PORT/?token=...`; the
 *   token from this page's URL authenticates the HTTP+WebSocket client.
 */
import type { PopekBridge, ConsolePort } from '../../../core/host/api.ts';
import { consoleRouteHash } from '../logic/route.ts';
import type { RendererHost } from './hostContext.ts';
import { createServerBridge, type ServerBridge } from './serverBridge.ts';

declare global {
  interface Window {
    popek?: PopekBridge;
  }
}

export type HostConnection =
  | { ok: true; host: RendererHost; server: ServerBridge | null }
  | { ok: false; message: string };

export function connectHost(win: Window = window): HostConnection {
  const electron = win.popek;
  if (electron) {
    return {
      ok: true,
      server: null,
      host: {
        api: electron,
        desktop: electron,
        openConsoleWindow: (vmId: string, port: ConsolePort) => electron.openConsoleWindow(vmId, port),
        onConnectionChange: () => () => {},
      },
    };
  }
  const url = new URL(win.location.href);
  const token = url.searchParams.get('token');
  if (!token) {
    return {
      ok: false,
      message: 'This page needs the access token. Open the exact URL that `popek serve` printed (it ends in ?token=…).',
    };
  }
  const server = createServerBridge({ origin: url.origin, token });
  return {
    ok: true,
    server,
    host: {
      api: server,
      desktop: null,
      onConnectionChange: (listener) => server.onConnectionChange(listener),
      openConsoleWindow: async (vmId: string, port: ConsolePort) => {
        // Same page, same token (it is in the query string), console route in the hash.
        const target = `${url.pathname}${url.search}${consoleRouteHash(vmId, port)}`;
        const opened = win.open(target, `popek-console-${vmId}-${port}`, 'popup,width=900,height=600');
        if (!opened) throw new Error('The browser blocked the console window (allow pop-ups for this page).');
      },
    },
  };
}
