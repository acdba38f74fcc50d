/**
 * IPC channel names and envelopes shared by the Electron main process and
 * the preload. Kept free of Node and Electron imports so both bundles can
 * include it.
 *
 * Requests: `ipcRenderer.invoke('popek:<method>', ...args)` answers with an
 * `IpcResult` envelope instead of throwing, because Electron flattens thrown
 * errors into "Error invoking remote method ..." and drops their code.
 */
import type { HostErrorInfo, MenuCommand, ScreenSnapshot, ConsolePort, VmStateEvent, VmStats } from '../core/host/api.ts';

export const INVOKE_PREFIX = 'popek:';

/** invoke: native file picker (DesktopApi.pickFile). */
export const PICK_FILE = 'popek-desktop:pickFile';
/** invoke: open a console window (DesktopApi.openConsoleWindow). */
export const OPEN_CONSOLE_WINDOW = 'popek-desktop:openConsoleWindow';
/** send (renderer -> main): start / stop receiving a VM port's serial output. */
export const SERIAL_SUBSCRIBE = 'popek-events:subscribeSerial';
export const SERIAL_UNSUBSCRIBE = 'popek-events:unsubscribeSerial';
/** main -> renderer: one serial chunk (`SerialChunk`). */
export const SERIAL_DATA = 'popek-events:serial';
/** send (renderer -> main): start (`ScreenSubscribeRequest`) / stop (the subscription number) receiving a VM's screen. */
export const SCREEN_SUBSCRIBE = 'popek-events:subscribeScreen';
export const SCREEN_UNSUBSCRIBE = 'popek-events:unsubscribeScreen';
/** main -> renderer: one screen picture (`ScreenPicture`). */
export const SCREEN_DATA = 'popek-events:screen';
/** main -> renderer: a host event (`HostEventMessage`). */
export const HOST_EVENT = 'popek-events:host';
/** main -> renderer: an application menu command (`MenuCommand`). */
export const MENU_COMMAND = 'popek-events:menu';

export type IpcResult = { ok: true; value: unknown } | { ok: false; error: HostErrorInfo };

export interface SerialChunk {
  /** The subscription this chunk belongs to (one per subscribeSerial call). */
  subscription: number;
  data: Uint8Array;
}

export interface SerialSubscribeRequest {
  subscription: number;
  vmId: string;
  port: ConsolePort;
}

export interface ScreenSubscribeRequest {
  subscription: number;
  vmId: string;
}

export interface ScreenPicture {
  subscription: number;
  screen: ScreenSnapshot;
}

export type HostEventMessage = { type: 'state'; event: VmStateEvent } | { type: 'stats'; stats: VmStats } | { type: 'library' };

export const MENU_COMMANDS: readonly MenuCommand[] = ['newVm', 'start', 'pause', 'reset', 'powerOff', 'about'];
