/**
 * How the rest of the renderer reaches the host: one `RendererHost` provided
 * at the app root (Electron bridge or the `popek serve` client), injected by
 * stores and components. Tests provide a fake through the same key.
 */
import { inject, type InjectionKey } from 'vue';
import type { ConsolePort, DesktopApi, HostBridge, Unsubscribe } from '../../../core/host/api.ts';

export interface RendererHost {
  /** Operations and events (the same in both modes). */
  api: HostBridge;
  /** Native pickers, console windows and menu commands; null in browser mode. */
  desktop: DesktopApi | null;
  /** Opens a detached console window for a VM's serial port or VirtIO console port. */
  openConsoleWindow(vmId: string, port: ConsolePort): Promise<void>;
  /**
   * Connection to the host went away (false) or came back (true). Browser
   * mode only: the Electron bridge never disconnects, so it never calls back.
   */
  onConnectionChange(listener: (connected: boolean) => void): Unsubscribe;
}

export const HOST_KEY: InjectionKey<RendererHost> = Symbol('popek-host');

export function useHost(): RendererHost {
  const host = inject(HOST_KEY, null);
  if (!host) throw new Error('Popek host not provided: the app root must provide HOST_KEY');
  return host;
}
