/**
 * The browser transport of the host API (protocol in ./wire.ts): HTTP
 * requests and one event WebSocket, plus the built UI as static files. Binds
 * 127.0.0.1 only.
 *
 * Access control, since any web page the user opens could try to reach a
 * local port:
 * - a random token: every /api/ request (Authorization: Bearer) and the
 *   WebSocket (?token=) must carry it; compared in constant time;
 * - the Host header must name this server (127.0.0.1:PORT or localhost:PORT),
 *   which defeats DNS rebinding;
 * - no CORS headers, so other origins cannot read responses;
 * - Referrer-Policy no-referrer, so the token in the page URL does not leak.
 */
import { timingSafeEqual } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { extname, normalize, resolve, sep } from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { HOST_API_METHODS, HostError, type HostApiMethod, type Unsubscribe } from './api.ts';
import type { HostService } from './hostService.ts';
import {
  API_PREFIX,
  bytesToBase64,
  EVENTS_PATH,
  fromWire,
  HTTP_STATUS_BY_CODE,
  TOKEN_QUERY_PARAM,
  toWire,
  type ClientMessage,
  type ServerMessage,
} from './wire.ts';

export interface HostServerOptions {
  host: HostService;
  token: string;
  /** 0 picks a free port. */
  port: number;
  /** The built renderer (index.html and assets); omitted = API only. */
  staticDir?: string;
}

export interface RunningHostServer {
  port: number;
  /** The URL to open, token included. */
  url: string;
  close(): Promise<void>;
}

/** Largest request body accepted (a config, or 64 KiB of serial input as base64). */
const MAX_BODY_BYTES = 1024 * 1024;
/** Largest WebSocket message accepted from a client (they only subscribe and unsubscribe). */
const MAX_WS_MESSAGE_BYTES = 4096;
const MAX_SUBSCRIPTIONS_PER_SOCKET = 64;
/** Unsent WebSocket bytes above which a screen picture waits (retried every SCREEN_RETRY_MS, only the newest kept). */
const SCREEN_BACKLOG_BYTES = 1024 * 1024;
const SCREEN_RETRY_MS = 50;

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};

export async function startHostServer(options: HostServerOptions): Promise<RunningHostServer> {
  const tokenBytes = Buffer.from(options.token, 'utf8');
  const tokenMatches = (candidate: string | null | undefined): boolean => {
    if (typeof candidate !== 'string') return false;
    const c = Buffer.from(candidate, 'utf8');
    return c.length === tokenBytes.length && timingSafeEqual(c, tokenBytes);
  };

  let port = options.port;
  const hostAllowed = (req: IncomingMessage) => req.headers.host === `127.0.0.1:${port}` || req.headers.host === `localhost:${port}`;

  const server: Server = createServer((req, res) => {
    handleRequest(req, res).catch((e) => {
      if (!res.headersSent) sendJson(res, 500, { error: { code: 'INTERNAL', message: (e as Error).message } });
      else res.destroy();
    });
  });

  const handleRequest = async (req: IncomingMessage, res: ServerResponse) => {
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Cache-Control', 'no-store');
    if (!hostAllowed(req)) return sendJson(res, 403, { error: { code: 'FORBIDDEN', message: 'wrong Host header' } });
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    if (url.pathname.startsWith(API_PREFIX)) {
      const auth = req.headers.authorization;
      const bearer = auth?.startsWith('Bearer ') ? auth.slice(7) : undefined;
      if (!tokenMatches(bearer)) return sendJson(res, 403, { error: { code: 'FORBIDDEN', message: 'missing or wrong token' } });
      if (req.method !== 'POST') return sendJson(res, 405, { error: { code: 'INVALID_ARGUMENT', message: 'use POST' } });
      return handleApi(url.pathname.slice(API_PREFIX.length), req, res);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: { code: 'INVALID_ARGUMENT', message: 'use GET' } });
    return serveStatic(url.pathname, req, res);
  };

  const handleApi = async (name: string, req: IncomingMessage, res: ServerResponse) => {
    if (!(HOST_API_METHODS as readonly string[]).includes(name)) {
      return sendJson(res, 404, { error: { code: 'NOT_FOUND', message: `no such operation: ${name.slice(0, 64)}` } });
    }
    let args: unknown[];
    try {
      const body = JSON.parse((await readBody(req)).toString('utf8')) as unknown;
      const raw = (body as { args?: unknown } | null)?.args;
      if (!Array.isArray(raw) || raw.length > 4) throw new Error('body must be { "args": [...] }');
      args = fromWire(raw) as unknown[];
    } catch (e) {
      return sendJson(res, 400, { error: { code: 'INVALID_ARGUMENT', message: `bad request: ${(e as Error).message}` } });
    }
    try {
      const method = options.host[name as HostApiMethod] as (...a: unknown[]) => Promise<unknown>;
      const value = await method.apply(options.host, args);
      sendJson(res, 200, value === undefined ? {} : { value: toWire(value) });
    } catch (e) {
      if (e instanceof HostError) return sendJson(res, HTTP_STATUS_BY_CODE[e.code], { error: { code: e.code, message: e.message } });
      // Wrong argument types from a hostile client end up here (e.g. a number where an id belongs).
      sendJson(res, 500, { error: { code: 'INTERNAL', message: (e as Error).message } });
    }
  };

  const staticRoot = options.staticDir ? resolve(options.staticDir) : undefined;
  const serveStatic = async (pathname: string, req: IncomingMessage, res: ServerResponse) => {
    if (!staticRoot) return sendText(res, 404, 'this server has no UI (API only)');
    let rel: string;
    try {
      rel = decodeURIComponent(pathname);
    } catch {
      return sendText(res, 400, 'bad path');
    }
    if (rel.includes('\0')) return sendText(res, 400, 'bad path');
    if (rel.endsWith('/')) rel += 'index.html';
    const file = resolve(staticRoot, '.' + normalize('/' + rel));
    if (file !== staticRoot && !file.startsWith(staticRoot + sep)) return sendText(res, 404, 'not found');
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) return sendText(res, 404, 'not found');
    const type = CONTENT_TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
    res.writeHead(200, {
      'Content-Type': type,
      'Content-Length': info.size,
      ...(type.startsWith('text/html') ? { 'Content-Security-Policy': contentSecurityPolicy(port) } : {}),
    });
    if (req.method === 'HEAD') return res.end();
    createReadStream(file).pipe(res);
  };

  // ---- events ---------------------------------------------------------------------

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_WS_MESSAGE_BYTES });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    if (!hostAllowed(req) || url.pathname !== EVENTS_PATH || !tokenMatches(url.searchParams.get(TOKEN_QUERY_PARAM))) {
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => attachEvents(ws));
  });

  const attachEvents = (ws: WebSocket) => {
    const host = options.host;
    const send = (m: ServerMessage) => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(m));
    };
    const subscriptions = new Map<string, Unsubscribe>();
    const globals: Unsubscribe[] = [
      host.onStateChange((e) => send({ type: 'state', vmId: e.vmId, status: e.status })),
      host.onStats((stats) => send({ type: 'stats', stats })),
      host.onLibraryChange(() => send({ type: 'library' })),
    ];
    ws.on('message', (raw, isBinary) => {
      if (isBinary) return;
      let m: ClientMessage;
      try {
        m = JSON.parse(raw.toString()) as ClientMessage;
      } catch {
        return;
      }
      if (m === null || typeof m !== 'object' || typeof m.vmId !== 'string') return;
      if (m.type === 'subscribeScreen' || m.type === 'unsubscribeScreen') {
        handleScreenMessage(m);
        return;
      }
      if (m.port !== 0 && m.port !== 1) return;
      const key = `${m.vmId}\0${m.port}`;
      if (m.type === 'subscribeSerial') {
        if (subscriptions.has(key) || subscriptions.size >= MAX_SUBSCRIPTIONS_PER_SOCKET) return;
        const { vmId, port } = m;
        try {
          subscriptions.set(
            key,
            host.subscribeSerialSink(vmId, port, {
              deliver: (data) => send({ type: 'serial', vmId, port, data: bytesToBase64(data) }),
              backlog: () => ws.bufferedAmount,
            }),
          );
        } catch {
          // a malformed id: nothing to subscribe to
        }
      } else if (m.type === 'unsubscribeSerial') {
        subscriptions.get(key)?.();
        subscriptions.delete(key);
      }
    });
    const screenSubscriptions = new Map<string, Unsubscribe>();
    /** A client far behind skips pictures (a later one replaces them anyway); the last one waits until it catches up. */
    const handleScreenMessage = (m: Extract<ClientMessage, { type: 'subscribeScreen' | 'unsubscribeScreen' }>) => {
      const { vmId } = m;
      if (m.type === 'unsubscribeScreen') {
        screenSubscriptions.get(vmId)?.();
        screenSubscriptions.delete(vmId);
        return;
      }
      if (screenSubscriptions.has(vmId) || screenSubscriptions.size >= MAX_SUBSCRIPTIONS_PER_SOCKET) return;
      let waiting: ServerMessage | null = null;
      let timer: NodeJS.Timeout | undefined;
      const flush = () => {
        timer = undefined;
        if (!waiting || ws.readyState !== ws.OPEN) return;
        if (ws.bufferedAmount > SCREEN_BACKLOG_BYTES) {
          timer = setTimeout(flush, SCREEN_RETRY_MS);
          return;
        }
        send(waiting);
        waiting = null;
      };
      try {
        const unsubscribe = host.subscribeScreen(vmId, (screen) => {
          waiting = { type: 'screen', vmId, screen: toWire(screen) };
          if (timer === undefined) flush();
        });
        screenSubscriptions.set(vmId, () => {
          unsubscribe();
          clearTimeout(timer);
        });
      } catch {
        // a malformed id: nothing to subscribe to
      }
    };
    ws.on('error', () => ws.terminate());
    ws.on('close', () => {
      for (const u of subscriptions.values()) u();
      subscriptions.clear();
      for (const u of screenSubscriptions.values()) u();
      screenSubscriptions.clear();
      for (const u of globals) u();
    });
  };

  await new Promise<void>((resolvePromise, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => {
      server.off('error', reject);
      resolvePromise();
    });
  });
  const address = server.address();
  port = typeof address === 'object' && address ? address.port : options.port;

  return {
    port,
    url: `http://127.0.0.1:${port}/?${TOKEN_QUERY_PARAM}=${options.token}`,
    close: async () => {
      for (const client of wss.clients) client.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** The policy sent with the UI page (the page also carries it as a meta tag). */
export function contentSecurityPolicy(port: number): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    // xterm.js themes its terminal through <style> elements; styles cannot run code.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src 'self' ws://127.0.0.1:${port} ws://localhost:${port}`,
    "base-uri 'none'",
    "form-action 'none'",
    "object-src 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolvePromise, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error(`body larger than ${MAX_BODY_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolvePromise(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
