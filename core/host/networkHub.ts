/**
 * The host's end of the internal networks: each running VM's worker is a port
 * on the network's switch here (the same learning switch dom0 uses inside a
 * process, core/dom0/virtualSwitch.ts), so a frame one VM sends reaches the
 * VMs of other workers on the same network, and only those.
 *
 * With `hostWide`, each network's switch also joins the host-wide network of
 * that name (core/host/hostNetwork.ts): the VMs of other processes on this
 * host (`popek run`, another `popek serve`) become reachable through it.
 */
import { VirtualSwitch } from '../dom0/virtualSwitch.ts';
import { HostNetworkEndpoint, type HostNetworkCounters, type HostNetworkOptions } from './hostNetwork.ts';

export interface NetworkLink {
  /** A frame from this VM's worker. */
  send(frame: Uint8Array): void;
  detach(): void;
}

export interface NetworkHubOptions {
  /** Join the host-wide network of each internal network (options for its endpoint). */
  hostWide?: HostNetworkOptions;
  /** Told when a network stays inside this process because its host-wide endpoint could not open. */
  onHostNetworkError?(network: string, error: Error): void;
}

/** This process's link to a host-wide internal network: the other processes it reaches and what crossed it, since it opened. */
export interface HostLinkStats {
  network: string;
  /** Other processes on the network that this one sends to. */
  peers: number;
  counters: HostNetworkCounters;
}

export class NetworkHub {
  private readonly switches = new Map<string, VirtualSwitch>();
  private readonly endpoints = new Map<string, Promise<HostNetworkEndpoint | null>>();
  /** The endpoints that have opened, for synchronous readers (statistics). */
  private readonly openEndpoints = new Map<string, HostNetworkEndpoint>();
  private closed = false;

  constructor(private readonly options: NetworkHubOptions = {}) {}

  /** Connects a VM's worker to `network`; frames for it arrive through `deliver`. */
  attach(network: string, deliver: (frame: Uint8Array) => void): NetworkLink {
    let sw = this.switches.get(network);
    if (!sw) {
      sw = new VirtualSwitch(network);
      this.switches.set(network, sw);
      if (this.options.hostWide && !this.closed) this.endpoints.set(network, this.openEndpoint(network, sw, this.options.hostWide));
    }
    const s = sw;
    const port = s.attach(deliver);
    return { send: (frame) => s.send(port, frame), detach: () => s.detach(port) };
  }

  /** The host-wide endpoint of every network attached so far, once open (null where it could not open). */
  async hostEndpoints(): Promise<Map<string, HostNetworkEndpoint | null>> {
    const out = new Map<string, HostNetworkEndpoint | null>();
    for (const [network, endpoint] of this.endpoints) out.set(network, await endpoint);
    return out;
  }

  /** The host-wide link of `network` with a copy of its counters, or null when it has none (not host-wide, not open yet, or it could not open). */
  hostLinkStats(network: string): HostLinkStats | null {
    const endpoint = this.openEndpoints.get(network);
    if (!endpoint) return null;
    return { network, peers: endpoint.peerPorts().length, counters: { ...endpoint.counters } };
  }

  /** Leaves the host-wide networks (the switches inside this process keep working). */
  async close(): Promise<void> {
    this.closed = true;
    for (const endpoint of (await this.hostEndpoints()).values()) endpoint?.close();
    this.openEndpoints.clear();
  }

  private async openEndpoint(network: string, sw: VirtualSwitch, options: HostNetworkOptions): Promise<HostNetworkEndpoint | null> {
    try {
      const endpoint = await HostNetworkEndpoint.open(network, sw, options);
      if (this.closed) endpoint.close();
      else this.openEndpoints.set(network, endpoint);
      return endpoint;
    } catch (e) {
      this.options.onHostNetworkError?.(network, e as Error);
      return null;
    }
  }
}
