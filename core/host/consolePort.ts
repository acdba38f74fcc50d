/**
 * The consoles of a VM the host streams: its serial ports (0 = COM1, 1 =
 * COM2) and the ports of its VirtIO console ('hvc0', 'hvc1', ...: the guest's
 * /dev/hvcN). Browser-safe: the renderer names its console tabs with it.
 */
import type { SerialIndex } from '../machine/types.ts';

export type VirtioConsolePort = `hvc${number}`;
export type ConsolePort = SerialIndex | VirtioConsolePort;

/** Ports a VirtIO console may have (Linux's hvc layer has 16 console slots; core/devices/virtio/virtioConsole.ts MAX_CONSOLE_PORTS). */
export const MAX_VIRTIO_CONSOLE_PORTS = 16;

const VIRTIO_PORT = /^hvc(\d{1,2})$/;

/** The port index of a VirtIO console port ('hvc2' -> 2), null for a serial port. */
export function virtioConsoleIndex(port: ConsolePort): number | null {
  if (typeof port === 'number') return null;
  return Number(VIRTIO_PORT.exec(port)![1]);
}

export function isConsolePort(port: unknown): port is ConsolePort {
  if (port === 0 || port === 1) return true;
  if (typeof port !== 'string') return false;
  const m = VIRTIO_PORT.exec(port);
  return m !== null && String(Number(m[1])) === m[1] && Number(m[1]) < MAX_VIRTIO_CONSOLE_PORTS;
}

/** What the app calls the port: COM1, COM2, hvc0, ... */
export function consolePortLabel(port: ConsolePort): string {
  return typeof port === 'number' ? `COM${port + 1}` : port;
}

/** The VirtIO console ports of a VM with `count` of them, in order. */
export function virtioConsolePortList(count: number): VirtioConsolePort[] {
  return Array.from({ length: count }, (_, i) => `hvc${i}` as VirtioConsolePort);
}
