/**
 * dom0's virtual Ethernet switch for an internal network: NICs attach as
 * ports; a frame's source MAC is learned for the port it came from; a
 * frame to a learned unicast MAC goes to that port only, and a broadcast,
 * multicast or unknown destination is flooded to every other port (as a
 * learning bridge does). Frames are delivered synchronously (the NICs of
 * one process share its thread).
 *
 * A port may be attached as isolated (Linux bridge's `isolated` port flag):
 * frames between two isolated ports are never forwarded. The host-wide
 * network (core/host/hostNetwork.ts) attaches each other process as an
 * isolated port: the processes form a full mesh where every process sends
 * its frames to the others itself, so relaying one process's frame to a
 * third would duplicate it and loop a broadcast.
 *
 * `internalNetwork(name)` gives every machine of this process that names
 * the same network the same switch; other processes reach it through the
 * machine's uplink (MachineHooks.onNetworkFrame) and core/host/networkHub.ts.
 */

/** Shortest and longest Ethernet frames accepted (without FCS; 14-byte header + up to 1500 payload, VLAN tag allowed). */
export const MIN_FRAME = 14;
export const MAX_FRAME = 1518;

export type FrameSink = (frame: Uint8Array) => void;

export class VirtualSwitch {
  readonly name: string;
  private readonly ports = new Map<number, FrameSink>();
  private readonly isolated = new Set<number>();
  private readonly macTable = new Map<string, number>();
  private nextPort = 1;
  /** Frames forwarded and dropped (malformed), for the app. */
  forwarded = 0;
  dropped = 0;

  constructor(name: string) {
    this.name = name;
  }

  attach(sink: FrameSink, options: { isolated?: boolean } = {}): number {
    const port = this.nextPort++;
    this.ports.set(port, sink);
    if (options.isolated) this.isolated.add(port);
    return port;
  }

  detach(port: number): void {
    this.ports.delete(port);
    this.isolated.delete(port);
    for (const [mac, p] of this.macTable) if (p === port) this.macTable.delete(mac);
  }

  /** A frame sent by the NIC on `port`. */
  send(port: number, frame: Uint8Array): void {
    if (!this.ports.has(port) || frame.length < MIN_FRAME || frame.length > MAX_FRAME) {
      this.dropped++;
      return;
    }
    const src = macKey(frame, 6);
    if ((frame[6] & 1) === 0) this.macTable.set(src, port);
    const multicast = (frame[0] & 1) !== 0;
    const target = multicast ? undefined : this.macTable.get(macKey(frame, 0));
    const fromIsolated = this.isolated.has(port);
    const reachable = (p: number): boolean => p !== port && !(fromIsolated && this.isolated.has(p));
    if (target !== undefined) {
      if (reachable(target)) this.deliver(target, frame);
      return;
    }
    for (const p of this.ports.keys()) if (reachable(p)) this.deliver(p, frame);
  }

  private deliver(port: number, frame: Uint8Array): void {
    this.forwarded++;
    this.ports.get(port)!(frame.slice());
  }
}

function macKey(frame: Uint8Array, at: number): string {
  let key = '';
  for (let i = 0; i < 6; i++) key += frame[at + i].toString(16).padStart(2, '0');
  return key;
}

const networks = new Map<string, VirtualSwitch>();

/** The switch of the internal network `name` in this process (created on first use). */
export function internalNetwork(name: string): VirtualSwitch {
  let sw = networks.get(name);
  if (!sw) {
    sw = new VirtualSwitch(name);
    networks.set(name, sw);
  }
  return sw;
}
