/**
 * virtio-console's control messages (virtio 1.2, 5.3.6.2): with
 * VIRTIO_CONSOLE_F_MULTIPORT the driver and the device tell each other about
 * ports over the control receiveq (device -> driver) and control transmitq
 * (driver -> device). A message is `struct virtio_console_control { le32 id;
 * le16 event; le16 value; }`, followed for PORT_NAME by the name's bytes.
 */

/** Device-type feature bits (5.3.3). */
export const VIRTIO_CONSOLE_F_SIZE = 1n << 0n;
export const VIRTIO_CONSOLE_F_MULTIPORT = 1n << 1n;
export const VIRTIO_CONSOLE_F_EMERG_WRITE = 1n << 2n;

/** Control events (5.3.6.2). */
export const CONSOLE_DEVICE_READY = 0;
export const CONSOLE_DEVICE_ADD = 1;
export const CONSOLE_DEVICE_REMOVE = 2;
export const CONSOLE_PORT_READY = 3;
export const CONSOLE_CONSOLE_PORT = 4;
export const CONSOLE_RESIZE = 5;
export const CONSOLE_PORT_OPEN = 6;
export const CONSOLE_PORT_NAME = 7;

export const CONTROL_HEADER_BYTES = 8;

export interface ConsoleControlMessage {
  id: number;
  event: number;
  value: number;
}

export function encodeControl(id: number, event: number, value: number, name?: string): Uint8Array {
  const nameBytes = name === undefined ? new Uint8Array(0) : new TextEncoder().encode(name);
  const out = new Uint8Array(CONTROL_HEADER_BYTES + nameBytes.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, id, true);
  view.setUint16(4, event, true);
  view.setUint16(6, value, true);
  out.set(nameBytes, CONTROL_HEADER_BYTES);
  return out;
}

/** The header of a message from the driver, or null when it is shorter than one. */
export function decodeControl(bytes: Uint8Array): ConsoleControlMessage | null {
  if (bytes.length < CONTROL_HEADER_BYTES) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { id: view.getUint32(0, true), event: view.getUint16(4, true), value: view.getUint16(6, true) };
}

/**
 * Queue indexes of port `port` with MULTIPORT (5.3.2): port 0 keeps queues 0
 * and 1, the control queues are 2 and 3, port n > 0 has 2(n+1) and 2(n+1)+1.
 */
export function portReceiveQueue(port: number): number {
  return port === 0 ? 0 : 2 * (port + 1);
}
export const CONTROL_RECEIVEQ = 2;
export const CONTROL_TRANSMITQ = 3;
