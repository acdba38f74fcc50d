/**
 * The browser transport of the host API (`popek serve`): HTTP for requests,
 * one WebSocket for events. Shared by the server (core/host/httpServer.ts) and
 * the renderer's browser client, so both sides agree byte for byte. Browser
 * safe: no Node APIs.
 *
 * Authentication: the server prints `http://127.0.0.1:PORT/?token=TOKEN`.
 * Static files of the UI are served without the token (they hold no data);
 * everything under /api/ needs it, otherwise 403:
 * - HTTP requests send the header `Authorization: Bearer TOKEN`.
 * - The WebSocket (browsers cannot set headers on it) connects to
 *   `ws://127.0.0.1:PORT/api/events?token=TOKEN`.
 * The server also refuses requests whose Host header is not 127.0.0.1:PORT or
 * localhost:PORT (DNS-rebinding defence), with 403.
 *
 * Requests: `POST /api/<method>` (method from HOST_API_METHODS) with the JSON
 * body `{ "args": [...] }` (the method's arguments in order, encoded with
 * `toWire`). Responses are JSON: 200 `{ "value": ... }` (decode with
 * `fromWire`; a `void` method gives `{}`), or an error status with
 * `{ "error": HostErrorInfo }` (see HTTP_STATUS_BY_CODE).
 *
 * Byte arrays (serial input) travel inside JSON as `{ "$bytes": "<base64>" }`.
 */
import type { ConsolePort, HostErrorCode, HostErrorInfo, VmStats, VmStatus } from './api.ts';

export const API_PREFIX = '/api/';
export const EVENTS_PATH = '/api/events';
export const TOKEN_QUERY_PARAM = 'token';

/** HTTP status used for each error code. 403 is reserved for a missing/wrong token or Host. */
export const HTTP_STATUS_BY_CODE: Record<HostErrorCode, number> = {
  NOT_FOUND: 404,
  INACCESSIBLE: 409,
  ILLEGAL_TRANSITION: 409,
  BUSY: 409,
  INVALID_ARGUMENT: 400,
  IO: 500,
  UNSUPPORTED: 501,
  INTERNAL: 500,
};

export interface ApiRequestBody {
  args: unknown[];
}

export type ApiResponseBody = { value: unknown } | { error: HostErrorInfo };

/** Messages the client sends on the event WebSocket. */
export type ClientMessage =
  /** Start receiving a VM port's serial output; the scrollback arrives first as one `serial` message. */
  | { type: 'subscribeSerial'; vmId: string; port: ConsolePort }
  | { type: 'unsubscribeSerial'; vmId: string; port: ConsolePort }
  /** Start receiving a VM's display pictures; the latest arrives first. */
  | { type: 'subscribeScreen'; vmId: string }
  | { type: 'unsubscribeScreen'; vmId: string };

/** Messages the server sends on the event WebSocket. State, stats and library events go to every client. */
export type ServerMessage =
  | { type: 'state'; vmId: string; status: VmStatus }
  | { type: 'stats'; stats: VmStats }
  | { type: 'library' }
  /** `data` is base64 of the raw bytes. */
  | { type: 'serial'; vmId: string; port: ConsolePort; data: string }
  /** `screen` is a ScreenSnapshot encoded with `toWire` (its attribute bytes as `$bytes`). */
  | { type: 'screen'; vmId: string; screen: unknown };

// ---- byte encoding ----------------------------------------------------------------

const CHUNK = 0x8000;

export function bytesToBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += CHUNK) {
    binary += String.fromCharCode.apply(null, Array.from(bytes.subarray(i, i + CHUNK)));
  }
  return btoa(binary);
}

/** Throws on malformed base64 (callers treat that as a bad request). */
export function base64ToBytes(text: string): Uint8Array {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Replaces every Uint8Array in a value by `{ $bytes: base64 }` so it survives JSON. */
export function toWire(value: unknown): unknown {
  if (value instanceof Uint8Array) return { $bytes: bytesToBase64(value) };
  if (Array.isArray(value)) return value.map(toWire);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = toWire(v);
    return out;
  }
  return value;
}

/** Inverse of `toWire`. */
export function fromWire(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(fromWire);
  if (value !== null && typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj);
    if (keys.length === 1 && keys[0] === '$bytes' && typeof obj.$bytes === 'string') return base64ToBytes(obj.$bytes);
    const out: Record<string, unknown> = {};
    for (const k of keys) out[k] = fromWire(obj[k]);
    return out;
  }
  return value;
}
