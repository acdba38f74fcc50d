/**
 * The host's end of the internal networks: each running VM's worker is a port
 * on the network's switch here (the same learning switch dom0 uses inside a
 * process, core/dom0/virtualSwitch.ts), so a frame one VM sends reaches the
 * VMs of other workers on the same network, and only those.
 */
import { VirtualSwitch } from '../dom0/virtualSwitch.ts';

export interface NetworkLink {
  /** A frame from this VM's worker. */
  send(frame: Uint8Array): void;
  detach(): void;
}

export class NetworkHub {
  private readonly switches = new Map<string, VirtualSwitch>();

  /** Connects a VM's worker to `network`; frames for it arrive through `deliver`. */
  attach(network: string, deliver: (frame: Uint8Array) => void): NetworkLink {
    let sw = this.switches.get(network);
    if (!sw) {
      sw = new VirtualSwitch(network);
      this.switches.set(network, sw);
    }
    const s = sw;
    const port = s.attach(deliver);
    return { send: (frame) => s.send(port, frame), detach: () => s.detach(port) };
  }
}
