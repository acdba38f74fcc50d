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
import { HostNetworkEndpoint, type HostNetworkOptions } from './hostNetwork.ts';

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

export class NetworkHub {
  private readonly switches = new Map<string, VirtualSwitch>();
  private readonly endpoints = new Map<string, Promise<HostNetworkEndpoint | null>>();
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

  /** Leaves the host-wide networks (the switches inside this process keep working). */
  async close(): Promise<void> {
    this.closed = true;
    for (const endpoint of (await this.hostEndpoints()).values()) endpoint?.close();
  }

  private async openEndpoint(network: string, sw: VirtualSwitch, options: HostNetworkOptions): Promise<HostNetworkEndpoint | null> {
    try {
      const endpoint = await HostNetworkEndpoint.open(network, sw, options);
      if (this.closed) endpoint.close();
      return endpoint;
    } catch (e) {
      this.options.onHostNetworkError?.(network, e as Error);
      return null;
    }
  }
}
