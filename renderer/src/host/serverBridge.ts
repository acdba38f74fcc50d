/**
 * Browser-mode client of `popek serve`: HostApi requests over HTTP, events
 * over one WebSocket, exactly as core/host/wire.ts specifies (POST
 * /api/<method> with a Bearer token; ws /api/events?token=...).
 *
 * The WebSocket reconnects on its own (backoff up to 5 s). After a reconnect
 * it re-subscribes every serial stream; the server then replays the
 * scrollback, so connection listeners run first (a terminal clears itself
 * there, and the replay redraws it without duplicates).
 */
import {
  HOST_API_METHODS,
  HostError,
  type HostApi,
  type HostApiMethod,
  type HostBridge,
  type HostErrorCode,
  type ScreenSnapshot,
  type ConsolePort,
  type Unsubscribe,
  type VmStateEvent,
  type VmStats,
} from '../../../core/host/api.ts';
import {
  API_PREFIX,
  EVENTS_PATH,
  TOKEN_QUERY_PARAM,
  base64ToBytes,
  fromWire,
  toWire,
  type ClientMessage,
  type ServerMessage,
} from '../../../core/host/wire.ts';

export interface ServerBridgeOptions {
  /** Origin of the server, e.g. "http://127.0.0.1:4123". */
  origin: string;
  token: string;
  fetchImpl?: typeof fetch;
  WebSocketImpl?: typeof WebSocket;
}

export interface ServerBridge extends HostBridge {
  /** Connection state of the event socket; the listener is called on every change. */
  onConnectionChange(listener: (connected: boolean) => void): Unsubscribe;
  /** Closes the event socket for good. */
  close(): void;
}

const KNOWN_CODES: readonly HostErrorCode[] = [
  'NOT_FOUND', 'INACCESSIBLE', 'ILLEGAL_TRANSITION', 'BUSY', 'INVALID_ARGUMENT', 'IO', 'UNSUPPORTED', 'INTERNAL',
];

/** Turns an HTTP error response into the HostError the API promises. */
function errorFromResponse(status: number, body: unknown): HostError {
  const error = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  if (error && typeof error.message === 'string') {
    const code = KNOWN_CODES.includes(error.code as HostErrorCode) ? (error.code as HostErrorCode) : 'INTERNAL';
    return new HostError(code, error.message);
  }
  if (status === 403) return new HostError('UNSUPPORTED', 'The host refused the request (403): the access token in the page URL is missing or wrong.');
  return new HostError('INTERNAL', `The host answered HTTP ${status}.`);
}

function serialKey(vmId: string, port: ConsolePort): string {
  return `${vmId}\u0000${port}`;
}

export function createServerBridge(options: ServerBridgeOptions): ServerBridge {
  const fetchImpl = options.fetchImpl ?? fetch.bind(globalThis);
  const WebSocketImpl = options.WebSocketImpl ?? WebSocket;
  const origin = options.origin.replace(/\/$/, '');

  async function call(method: HostApiMethod, args: unknown[]): Promise<unknown> {
    let response: Response;
    try {
      response = await fetchImpl(`${origin}${API_PREFIX}${method}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${options.token}` },
        body: JSON.stringify({ args: toWire(args) }),
      });
    } catch (cause) {
      throw new HostError('IO', `Cannot reach the Popek host (${cause instanceof Error ? cause.message : String(cause)}).`);
    }
    let body: unknown = null;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    if (!response.ok) throw errorFromResponse(response.status, body);
    if (body === null || typeof body !== 'object') throw new HostError('INTERNAL', 'The host sent a malformed response.');
    return fromWire((body as { value?: unknown }).value);
  }

  // ---- events ---------------------------------------------------------------
  const stateListeners = new Set<(event: VmStateEvent) => void>();
  const statsListeners = new Set<(stats: VmStats) => void>();
  const libraryListeners = new Set<() => void>();
  const connectionListeners = new Set<(connected: boolean) => void>();
  const serialListeners = new Map<string, { vmId: string; port: ConsolePort; listeners: Set<(data: Uint8Array) => void> }>();
  /** Per VM: its screen listeners and the latest picture (a listener added later gets it at once). */
  const screenListeners = new Map<string, { listeners: Set<(screen: ScreenSnapshot) => void>; latest: ScreenSnapshot | null }>();

  let socket: WebSocket | null = null;
  let connected = false;
  let closed = false;
  let retryMs = 250;
  let retryTimer: ReturnType<typeof setTimeout> | null = null;

  function send(message: ClientMessage): void {
    if (socket && connected) socket.send(JSON.stringify(message));
  }

  function setConnected(value: boolean): void {
    if (connected === value) return;
    connected = value;
    for (const listener of connectionListeners) listener(value);
  }

  function dispatch(message: ServerMessage): void {
    switch (message.type) {
      case 'state':
        for (const l of stateListeners) l({ vmId: message.vmId, status: message.status });
        break;
      case 'stats':
        for (const l of statsListeners) l(message.stats);
        break;
      case 'library':
        for (const l of libraryListeners) l();
        break;
      case 'serial': {
        const entry = serialListeners.get(serialKey(message.vmId, message.port));
        if (!entry) break;
        const data = base64ToBytes(message.data);
        for (const l of entry.listeners) l(data);
        break;
      }
      case 'screen': {
        const entry = screenListeners.get(message.vmId);
        if (!entry) break;
        const screen = fromWire(message.screen) as ScreenSnapshot;
        entry.latest = screen;
        for (const l of entry.listeners) l(screen);
        break;
      }
    }
  }

  function connect(): void {
    if (closed) return;
    const wsOrigin = origin.replace(/^http/, 'ws');
    const ws = new WebSocketImpl(`${wsOrigin}${EVENTS_PATH}?${TOKEN_QUERY_PARAM}=${encodeURIComponent(options.token)}`);
    socket = ws;
    ws.onopen = () => {
      retryMs = 250;
      setConnected(true);
      for (const entry of serialListeners.values()) send({ type: 'subscribeSerial', vmId: entry.vmId, port: entry.port });
      for (const vmId of screenListeners.keys()) send({ type: 'subscribeScreen', vmId });
    };
    ws.onmessage = (event: MessageEvent) => {
      if (typeof event.data !== 'string') return;
      let message: ServerMessage;
      try {
        message = JSON.parse(event.data) as ServerMessage;
      } catch {
        return; // a garbled frame is dropped, not fatal
      }
      try {
        dispatch(message);
      } catch (error) {
        console.error('popek: event listener failed', error);
      }
    };
    ws.onclose = () => {
      if (socket !== ws) return;
      socket = null;
      setConnected(false);
      if (closed) return;
      retryTimer = setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 5000);
    };
    ws.onerror = () => {
      // onclose follows and schedules the retry.
    };
  }

  function addListener<T>(set: Set<T>, listener: T): Unsubscribe {
    set.add(listener);
    return () => set.delete(listener);
  }

  const methods = {} as Record<HostApiMethod, (...args: unknown[]) => Promise<unknown>>;
  for (const name of HOST_API_METHODS) methods[name] = (...args: unknown[]) => call(name, args);

  connect();

  const bridge: ServerBridge = {
    ...(methods as unknown as HostApi),
    subscribeSerial(vmId, port, listener) {
      const key = serialKey(vmId, port);
      let entry = serialListeners.get(key);
      if (!entry) {
        entry = { vmId, port, listeners: new Set() };
        serialListeners.set(key, entry);
        send({ type: 'subscribeSerial', vmId, port });
      }
      entry.listeners.add(listener);
      return () => {
        const current = serialListeners.get(key);
        if (!current) return;
        current.listeners.delete(listener);
        if (current.listeners.size === 0) {
          serialListeners.delete(key);
          send({ type: 'unsubscribeSerial', vmId, port });
        }
      };
    },
    subscribeScreen(vmId, listener) {
      let entry = screenListeners.get(vmId);
      if (!entry) {
        entry = { listeners: new Set(), latest: null };
        screenListeners.set(vmId, entry);
        send({ type: 'subscribeScreen', vmId });
      }
      entry.listeners.add(listener);
      if (entry.latest) listener(entry.latest);
      return () => {
        const current = screenListeners.get(vmId);
        if (!current) return;
        current.listeners.delete(listener);
        if (current.listeners.size === 0) {
          screenListeners.delete(vmId);
          send({ type: 'unsubscribeScreen', vmId });
        }
      };
    },
    onStateChange: (listener) => addListener(stateListeners, listener),
    onStats: (listener) => addListener(statsListeners, listener),
    onLibraryChange: (listener) => addListener(libraryListeners, listener),
    onConnectionChange: (listener) => addListener(connectionListeners, listener),
    close() {
      closed = true;
      if (retryTimer) clearTimeout(retryTimer);
      socket?.close();
      socket = null;
    },
  };
  return bridge;
}
