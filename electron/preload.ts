/**
 * Preload of the sandboxed renderer: exposes `window.popek` (a PopekBridge)
 * through contextBridge, one function per host operation, and nothing else of
 * Electron or Node. Bundled to CommonJS (dist/electron/preload.cjs) because
 * sandboxed preloads cannot load ES modules.
 *
 * Errors: a failed operation rejects with an Error carrying the host's
 * message, which is written for the user. contextBridge copies an Error's
 * message but drops custom properties, so the renderer cannot rely on `code`
 * in Electron (browser mode has it).
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import {
  HOST_API_METHODS,
  type FileKind,
  type HostApi,
  type MenuCommand,
  type PopekBridge,
  type ScreenSnapshot,
  type ConsolePort,
  type Unsubscribe,
  type VmStateEvent,
  type VmStats,
} from '../core/host/api.ts';
import {
  HOST_EVENT,
  INVOKE_PREFIX,
  MENU_COMMAND,
  MENU_COMMANDS,
  OPEN_CONSOLE_WINDOW,
  PICK_FILE,
  SCREEN_DATA,
  SCREEN_SUBSCRIBE,
  SCREEN_UNSUBSCRIBE,
  SERIAL_DATA,
  SERIAL_SUBSCRIBE,
  SERIAL_UNSUBSCRIBE,
  type HostEventMessage,
  type IpcResult,
  type ScreenPicture,
  type ScreenSubscribeRequest,
  type SerialChunk,
  type SerialSubscribeRequest,
} from './ipcChannels.ts';

async function invoke(channel: string, ...args: unknown[]): Promise<unknown> {
  const result = (await ipcRenderer.invoke(channel, ...args)) as IpcResult;
  if (result.ok) return result.value;
  const error = new Error(result.error.message);
  error.name = 'HostError';
  throw Object.assign(error, { code: result.error.code });
}

const api = Object.fromEntries(HOST_API_METHODS.map((method) => [method, (...args: unknown[]) => invoke(INVOKE_PREFIX + method, ...args)])) as unknown as HostApi;

// ---- events -------------------------------------------------------------------

const stateListeners = new Set<(e: VmStateEvent) => void>();
const statsListeners = new Set<(s: VmStats) => void>();
const libraryListeners = new Set<() => void>();
const menuListeners = new Set<(c: MenuCommand) => void>();
const serialListeners = new Map<number, (data: Uint8Array) => void>();
const screenListeners = new Map<number, (screen: ScreenSnapshot) => void>();
let nextSubscription = 1;

function callAll<T>(listeners: Iterable<(value: T) => void>, value: T): void {
  for (const l of listeners) {
    try {
      l(value);
    } catch (e) {
      console.error('popek: event listener failed', e);
    }
  }
}

ipcRenderer.on(HOST_EVENT, (_e: IpcRendererEvent, m: HostEventMessage) => {
  if (m.type === 'state') callAll(stateListeners, m.event);
  else if (m.type === 'stats') callAll(statsListeners, m.stats);
  else if (m.type === 'library') callAll(libraryListeners, undefined);
});
ipcRenderer.on(SERIAL_DATA, (_e: IpcRendererEvent, chunk: SerialChunk) => {
  const listener = serialListeners.get(chunk.subscription);
  if (listener) callAll([listener], chunk.data);
});
ipcRenderer.on(SCREEN_DATA, (_e: IpcRendererEvent, picture: ScreenPicture) => {
  const listener = screenListeners.get(picture.subscription);
  if (listener) callAll([listener], picture.screen);
});
ipcRenderer.on(MENU_COMMAND, (_e: IpcRendererEvent, command: MenuCommand) => {
  if (MENU_COMMANDS.includes(command)) callAll(menuListeners, command);
});

function listen<T>(set: Set<T>, listener: T): Unsubscribe {
  set.add(listener);
  return () => {
    set.delete(listener);
  };
}

const bridge: PopekBridge = {
  ...api,
  subscribeSerial(vmId: string, port: ConsolePort, listener: (data: Uint8Array) => void): Unsubscribe {
    const subscription = nextSubscription++;
    serialListeners.set(subscription, listener);
    const request: SerialSubscribeRequest = { subscription, vmId, port };
    ipcRenderer.send(SERIAL_SUBSCRIBE, request);
    return () => {
      if (serialListeners.delete(subscription)) ipcRenderer.send(SERIAL_UNSUBSCRIBE, subscription);
    };
  },
  subscribeScreen(vmId: string, listener: (screen: ScreenSnapshot) => void): Unsubscribe {
    const subscription = nextSubscription++;
    screenListeners.set(subscription, listener);
    const request: ScreenSubscribeRequest = { subscription, vmId };
    ipcRenderer.send(SCREEN_SUBSCRIBE, request);
    return () => {
      if (screenListeners.delete(subscription)) ipcRenderer.send(SCREEN_UNSUBSCRIBE, subscription);
    };
  },
  onStateChange: (listener) => listen(stateListeners, listener),
  onStats: (listener) => listen(statsListeners, listener),
  onLibraryChange: (listener) => listen(libraryListeners, listener),
  onMenuCommand: (listener) => listen(menuListeners, listener),
  pickFile: (kind: FileKind) => invoke(PICK_FILE, kind) as Promise<string | null>,
  openConsoleWindow: (vmId: string, port: ConsolePort) => invoke(OPEN_CONSOLE_WINDOW, vmId, port) as Promise<void>,
};

contextBridge.exposeInMainWorld('popek', bridge);
