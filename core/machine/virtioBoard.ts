/**
 * The board's virtio devices: each configured disk becomes a virtio-blk
 * function (in order, so the guest names them /dev/vda, /dev/vdb, ...), plus
 * an optional virtio-console (/dev/hvc0, hvc1, ...: one console port each) and virtio-rng, all on PCI bus 0
 * behind the host bridge's memory window, their INTA# routed by the PIIX3
 * PIRQ links the DSDT describes.
 *
 * The device models reach guest memory only through dom0's grant check
 * (against the bus's page map on the bare board, the domain's p2m under the
 * hypervisor) and talk to their backends over event channels. virtio-blk
 * and virtio-rng are served whole by dom0's worker thread (core/dom0/worker/:
 * images, entropy source, virtqueue processing over the domain's shared RAM
 * and map) unless options.dom0Thread is false; so are the virtio-net
 * adapters on an internal network, whose frames dom0 exchanges with the
 * switch in dom0's network thread (core/dom0/worker/netBackend.ts,
 * netService.ts), and the virtio-console and virtio-balloon, whose host
 * side stays here: the console's bytes are relayed to and from the host's
 * terminals (consoleRelay.ts), the balloon's PFNs to the hypervisor's frames
 * and pool (balloonRelay.ts). Their transports stay here and take dom0's
 * completions at the run loop's device checks (`poll`). With
 * dom0Thread false every device runs in the machine's thread. Their registers are MMIO in the PCI memory window: under the hypervisor every
 * access is an EPT violation the MMIO emulator completes
 * (core/hypervisor/exits/mmio.ts).
 *
 * BARs are left unassigned at power-on: Linux assigns them from the root
 * bridge's _CRS window, as it does on any board whose firmware did not.
 */
import type { MemoryBus } from '../memory/bus.ts';
import type { Pci } from '../devices/pci.ts';
import { PciMemoryWindow } from '../devices/pciMemoryWindow.ts';
import { VirtioPciFunction } from '../devices/virtio/virtioPci.ts';
import { VirtioBlk } from '../devices/virtio/virtioBlk.ts';
import { MAX_CONSOLE_PORTS, VirtioConsole } from '../devices/virtio/virtioConsole.ts';
import { VirtioRng } from '../devices/virtio/virtioRng.ts';
import { VirtioBalloon } from '../devices/virtio/virtioBalloon.ts';
import { parseMac, VirtioNet } from '../devices/virtio/virtioNet.ts';
import { internalNetwork } from '../dom0/virtualSwitch.ts';
import { randomBytes } from 'node:crypto';
import type { VirtioCounters } from '../devices/virtio/virtioDevice.ts';
import { openDisk, type BlockBackend } from '../dom0/block/blockBackend.ts';
import { CheckedGuestMemory, type GuestRamMap } from '../dom0/grantCheck.ts';
import { EventChannels } from '../dom0/eventChannel.ts';
import { DiskServedByDom0, Dom0, Dom0Error, entropyServedByDom0 } from '../dom0/worker/dom0.ts';
import { awaitThreadWake, threadWakeCount } from '../dom0/worker/threadWake.ts';
import type { Dom0DeviceKind } from '../dom0/worker/dom0Protocol.ts';
import { RemoteVirtioDevice, type MachineHalf } from '../dom0/worker/remoteDevice.ts';
import { ConsoleRelay, newConsoleRings } from '../dom0/worker/consoleRelay.ts';
import { BalloonHost, newBalloonRing } from '../dom0/worker/balloonRelay.ts';
import type { BalloonFrames } from '../devices/virtio/virtioBalloonPages.ts';
import type { VirtioDeviceType } from '../devices/virtio/virtioDevice.ts';
import { NetFrontend, NetServiceError } from '../dom0/worker/netService.ts';
import { deterministicEntropy, hostEntropy } from '../dom0/entropySource.ts';
import { BootError } from './boot/bootError.ts';
import type { MachineOptions } from './types.ts';

/** PCI slots: disks from 3 on, then the console and the entropy device. */
const FIRST_DISK_SLOT = 3;
export const MAX_VIRTIO_DISKS = 12;
const FIRST_NIC_SLOT = 20;
export const MAX_VIRTIO_NICS = 4;
const CONSOLE_SLOT = 16;
const RNG_SLOT = 17;
const BALLOON_SLOT = 18;

/** The serial virtio-blk's GET_ID returns for disk `i` (popek-vda, ...). */
function diskSerial(i: number): string {
  return `popek-vd${String.fromCharCode(0x61 + i)}`;
}

export interface VirtioDeviceStats {
  /** e.g. "virtio-blk vda", "virtio-console hvc0" */
  name: string;
  counters: VirtioCounters;
  /** What the device dropped (VirtioDeviceType.dropped: a NIC's lost frames); absent for devices that never drop. */
  dropped?: number;
}

export class VirtioBoard {
  private readonly functions: { name: string; fn: VirtioPciFunction }[] = [];
  private readonly disks: BlockBackend[] = [];
  /** dom0's worker holding the disks' images and the entropy source (options.dom0Thread), else null: they are in this thread. */
  readonly dom0: Dom0 | null = null;
  private readonly console: VirtioConsole | null = null;
  /** The devices whose queues dom0's thread serves. */
  private readonly remote: RemoteVirtioDevice[] = [];
  /** Network adapters whose queues dom0's thread serves: a frame for one raises its done port, which a halted guest waits on. */
  private readonly servedNics: number = 0;
  private readonly balloon: VirtioBalloon | null = null;
  /** The console served by dom0: the relay of the host's bytes and the device in front of dom0's. */
  private readonly consoleRelay: { relay: ConsoleRelay; remote: RemoteVirtioDevice } | null = null;

  /** Per internal network: this machine's uplink port on its switch (frames to and from other processes' machines). */
  private readonly uplinks = new Map<string, { send(frame: Uint8Array): void }>();
  /**
   * Unless options.dom0Thread is false: the NICs' and uplinks' links to the switches in dom0's network
   * thread (core/dom0/worker/netService.ts); a served NIC's frames go to dom0, an uplink's are taken by
   * the run loop at each device check. Null with no adapter on an internal network.
   */
  readonly net: NetFrontend | null = null;

  /**
   * @param uplink carries the frames of an internal network that leave this
   *   process (the host relays them to the other VMs' workers); without it the
   *   network reaches only the machines of this process
   */
  constructor(
    bus: MemoryBus,
    pci: Pci,
    options: MachineOptions,
    guestRam: GuestRamMap,
    onConsoleOutput: (port: number, bytes: Uint8Array) => void,
    uplink?: (network: string, frame: Uint8Array) => void,
  ) {
    const disks = options.disks ?? [];
    if (disks.length > MAX_VIRTIO_DISKS) throw new BootError(`at most ${MAX_VIRTIO_DISKS} disks, got ${disks.length}`);
    const mem = new CheckedGuestMemory(guestRam);
    const channels = new EventChannels();
    // Only a board with virtio devices decodes the PCI memory window (nothing else lives there yet).
    let window: PciMemoryWindow | null = null;
    const attach = (slot: number, name: string, fn: VirtioPciFunction) => {
      pci.bus.attach(fn, slot);
      window ??= new PciMemoryWindow(bus);
      window.add(fn);
      this.functions.push({ name, fn });
    };
    const entropy = options.virtioRng ? (options.clock === 'deterministic' ? 'deterministic' : 'host') : undefined;
    const dom0Thread = options.dom0Thread ?? true;
    const nics = options.nics ?? [];
    if (nics.length > MAX_VIRTIO_NICS) throw new BootError(`at most ${MAX_VIRTIO_NICS} network adapters, got ${nics.length}`);
    const macs = nics.map((nic, i) => {
      try {
        // Without a configured address: a random locally administered one under QEMU's 52:54:00 prefix.
        return nic.mac ? parseMac(nic.mac) : new Uint8Array([0x52, 0x54, 0x00, ...randomBytes(3)]);
      } catch (e) {
        throw new BootError(`network adapter ${i + 1}: ${(e as Error).message}`);
      }
    });
    // The switches are in dom0's network thread unless MachineOptions.dom0Thread is false.
    if (dom0Thread && nics.some((n) => n.network !== undefined)) this.net = new NetFrontend();
    // Per NIC on an internal network: its link to the switch, for dom0's thread to serve the device (when dom0 reaches the domain's RAM).
    const nicLinks = nics.map((nic) => (this.net && guestRam.shared && nic.network !== undefined ? this.net.reserveBackend(nic.network) : null));
    /** dom0's device index of each NIC dom0 serves. */
    const nicDevices = new Map<number, number>();
    const consolePorts = options.virtioConsolePorts ?? 1;
    if (options.virtioConsole && (!Number.isInteger(consolePorts) || consolePorts < 1 || consolePorts > MAX_CONSOLE_PORTS)) {
      throw new BootError(`virtio console ports: 1 to ${MAX_CONSOLE_PORTS}, got ${consolePorts}`);
    }
    // The console's and the balloon's relays to dom0 (their queues are served there when dom0 reaches the domain's RAM).
    const consoleRings = dom0Thread && options.virtioConsole && guestRam.shared ? newConsoleRings() : null;
    const balloonRing = dom0Thread && options.virtioBalloon && guestRam.shared ? newBalloonRing() : null;
    let consoleIndex = -1;
    let balloonIndex = -1;
    // dom0 serves the disks, the entropy device, the NICs, the console and the balloon from its own thread unless
    // MachineOptions.dom0Thread is false; it needs the domain's RAM and map in shared memory (both maps have them).
    const shared = guestRam.shared;
    if (dom0Thread && shared && (disks.length > 0 || entropy || nicLinks.some((l) => l !== null) || consoleRings || balloonRing)) {
      try {
        const served: Dom0DeviceKind[] = [
          ...disks.map((_, i): Dom0DeviceKind => ({ kind: 'blk', disk: i, serial: diskSerial(i) })),
          ...(entropy ? [{ kind: 'rng' } as const] : []),
        ];
        nicLinks.forEach((l, i) => {
          if (!l) return;
          nicDevices.set(i, served.length);
          served.push({ kind: 'net', mac: [...macs[i]], net: l.link });
        });
        if (consoleRings) {
          consoleIndex = served.length;
          served.push({ kind: 'console', ports: consolePorts, input: consoleRings.input.buffer, output: consoleRings.output.buffer });
        }
        if (balloonRing) {
          balloonIndex = served.length;
          served.push({ kind: 'balloon', pooled: guestRam.frames !== undefined, relay: balloonRing.buffer });
        }
        this.dom0 = Dom0.start(
          disks.map((d) => ({ path: d.path, format: d.format, readOnly: d.readOnly })),
          { ...(entropy ? { entropy } : {}), ram: shared, devices: served },
        );
        // The switch's frames for a NIC raise its device's port in dom0's channels.
        const dom0 = this.dom0;
        this.servedNics = nicDevices.size;
        for (const [i, index] of nicDevices) nicLinks[i]!.connect(dom0.channels.buffer, dom0.channels.portCount, dom0.devices[index].port);
      } catch (e) {
        this.close();
        // dom0's reason names the disk as this thread would (`disk N (path): ...`).
        if (e instanceof Dom0Error) throw new BootError(e.message);
        if (e instanceof NetServiceError) throw new BootError(`network adapter: ${e.message}`);
        throw e;
      }
    }
    try {
      disks.forEach((disk, i) => {
        const letter = String.fromCharCode(0x61 + i);
        let backend: BlockBackend;
        try {
          // Served by dom0: the device model here answers for the configuration space, from the disk's geometry.
          backend = this.dom0 ? new DiskServedByDom0(this.dom0.disks[i]) : openDisk(disk.path, { format: disk.format, readOnly: disk.readOnly });
        } catch (e) {
          throw new BootError(`disk ${i + 1} (${disk.path}): ${(e as Error).message}`);
        }
        this.disks.push(backend);
        attach(FIRST_DISK_SLOT + i, `virtio-blk vd${letter}`, new VirtioPciFunction(this.served(new VirtioBlk(backend, { serial: diskSerial(i) }), i, guestRam, options), mem, channels));
      });
    } catch (e) {
      this.close();
      throw e;
    }
    nics.forEach((nic, i) => {
      const device = new VirtioNet(macs[i]);
      if (nic.network !== undefined && this.net) {
        const network = nic.network;
        const net = this.net;
        try {
          // Served by dom0 (its link connected above), or in this thread over a link of its own.
          if (!nicDevices.has(i)) device.port = net.attach(network, (frame) => device.receive(frame));
          if (uplink && !this.uplinks.has(network)) this.uplinks.set(network, net.attach(network, (frame) => uplink(network, frame)));
        } catch (e) {
          this.close();
          throw new BootError(`network adapter ${i + 1}: ${(e as Error).message}`);
        }
      } else if (nic.network !== undefined) {
        const network = nic.network;
        const sw = internalNetwork(network);
        const port = sw.attach((frame) => device.receive(frame));
        device.port = { send: (frame) => sw.send(port, frame) };
        if (uplink && !this.uplinks.has(network)) {
          const up = sw.attach((frame) => uplink(network, frame));
          this.uplinks.set(network, { send: (frame) => sw.send(up, frame) });
        }
      }
      const index = nicDevices.get(i);
      attach(FIRST_NIC_SLOT + i, `virtio-net eth${i}`, new VirtioPciFunction(index === undefined ? device : this.served(device, index, guestRam, options), mem, channels));
    });
    if (options.virtioConsole) {
      const ports = consolePorts;
      // In dom0: this instance answers for the console's identity and configuration; the bytes cross through the relay.
      this.console = new VirtioConsole(ports, onConsoleOutput);
      const relay = consoleRings ? new ConsoleRelay(consoleRings, onConsoleOutput) : null;
      const device = relay ? this.served(this.console, consoleIndex, guestRam, options, relay) : this.console;
      if (relay && device instanceof RemoteVirtioDevice) this.consoleRelay = { relay, remote: device };
      attach(CONSOLE_SLOT, ports === 1 ? 'virtio-console hvc0' : `virtio-console hvc0-hvc${ports - 1}`, new VirtioPciFunction(device, mem, channels));
    }
    if (options.virtioRng) {
      const source = this.dom0 ? entropyServedByDom0 : options.clock === 'deterministic' ? deterministicEntropy() : hostEntropy();
      attach(RNG_SLOT, 'virtio-rng', new VirtioPciFunction(this.served(new VirtioRng(source), disks.length, guestRam, options), mem, channels));
    }
    if (options.virtioBalloon) {
      this.balloon = new VirtioBalloon(guestRam.frames);
      // In dom0: the PFNs dom0 reads come back here, where this instance's frames (the hypervisor's) act on them.
      const host = balloonRing ? new BalloonHost(this.balloon, this.balloon.pages as BalloonFrames, balloonRing) : null;
      const device = host ? this.served(this.balloon, balloonIndex, guestRam, options, host) : this.balloon;
      attach(BALLOON_SLOT, 'virtio-balloon', new VirtioPciFunction(device, mem, channels));
    }
  }

  /**
   * `device` as the transport is to drive it: itself, or, when dom0's thread
   * serves its queues (dom0's device `index`), the remote device in front of
   * it (`device` then answers only for its identity and configuration).
   */
  private served(device: VirtioDeviceType, index: number, guestRam: GuestRamMap, options: MachineOptions, half: MachineHalf | null = null): VirtioDeviceType {
    const link = this.dom0?.devices[index];
    if (!this.dom0 || !link) return device;
    const remote = new RemoteVirtioDevice(device, this.dom0, link, guestRam, options.clock === 'deterministic', half);
    this.remote.push(remote);
    return remote;
  }

  /**
   * The run loop's interrupt-check point: takes what dom0's thread completed
   * (used buffers, interrupts, errors) when its done ports say it acted, and
   * the frames dom0's network thread delivered to the NICs; one Atomics.load
   * each otherwise.
   */
  poll(): void {
    if (this.dom0?.takeDone()) for (const r of this.remote) r.takeCompletion();
    this.net?.poll();
  }

  /**
   * A halted guest on the realtime clock waits here, at most `timeoutMs`, for
   * dom0 to complete a request (instead of sleeping to its next timer event);
   * true when it did and its completions were taken.
   */
  awaitDom0(timeoutMs: number): boolean {
    if (!this.dom0 || this.remote.length === 0 || timeoutMs <= 0) return false;
    // Nothing kicked and not yet served: no need to hold the thread (the driver's messages wait while it blocks; a frame: awaitWake).
    const done = this.remote.some((r) => r.awaitingDom0) ? this.dom0.waitDone(timeoutMs) : this.dom0.takeDone();
    if (!done) return false;
    for (const r of this.remote) r.takeCompletion();
    return true;
  }

  /**
   * The guest is halted and its driver would sleep (MachineApi.waitIdle):
   * on an internal network a frame can come from another thread at any time
   * (dom0 raises a served adapter's done port once it has written one into
   * the guest's buffers; dom0's network thread raises the port of a link
   * this thread receives on: an uplink, an adapter whose model runs here),
   * so block on this thread's wake word (threadWake.ts) instead, at most
   * `timeoutMs`: it ends as soon as any of them leaves something for a
   * machine of this thread (this one or another the thread also runs). What
   * came is taken at the next run's device check. 'nothing-can-wake' at
   * once without a network adapter on an internal network (the driver
   * sleeps as before).
   */
  awaitWake(timeoutMs: number): 'woken' | 'timed-out' | 'nothing-can-wake' {
    const dom0 = this.dom0?.running ? this.dom0 : null;
    const served = dom0 !== null && this.servedNics > 0;
    if (!served && !this.net?.receivesHere) return 'nothing-can-wake';
    const seen = threadWakeCount();
    // Raised after the run loop's last check and before `seen`: no wait.
    if ((served && dom0.doneRaised) || this.net?.raised) return 'woken';
    return awaitThreadWake(seen, timeoutMs) ? 'woken' : 'timed-out';
  }

  /** Whether the board has any virtio device at all. */
  get empty(): boolean {
    return this.functions.length === 0;
  }

  /** A frame of internal network `network` from another process's machine (dropped when no adapter of this machine is on it). */
  networkInput(network: string, frame: Uint8Array): void {
    this.uplinks.get(network)?.send(frame);
  }

  /** Bytes typed into virtio console port `port` (hvc<port>; dropped when the machine has no such port). */
  consoleInput(bytes: Uint8Array, port = 0): void {
    if (!this.console || !(port >= 0 && port < this.console.portCount)) return;
    if (!this.consoleRelay) {
      this.console.hostInput(bytes, port);
      return;
    }
    // The board was closed: dom0 has ended, nothing takes input any more.
    if (!this.dom0?.running) return;
    const { relay, remote } = this.consoleRelay;
    relay.input(bytes, port);
    // On the deterministic clock the guest gets the bytes here, as from the console in this thread.
    remote.signal(() => relay.inputTaken);
  }

  /** Asks the guest to grow (or shrink) its balloon to `pages` 4 KiB pages; false without a balloon. */
  setBalloonTarget(pages: number): boolean {
    if (!this.balloon) return false;
    this.balloon.setTarget(pages);
    return true;
  }

  /**
   * The balloon's target, the guest's reported size and the pages the host
   * holds, in 4 KiB pages, and under the hypervisor the machine pool's free
   * frames (the bare PC has no pool: its balloon only holds zeroed pages).
   */
  balloonStats(): { targetPages: number; actualPages: number; reclaimedPages: number; poolFreeFrames?: number } | null {
    const b = this.balloon;
    if (!b) return null;
    const pool = b.poolFreeFrames;
    return { targetPages: b.targetPages, actualPages: b.actualPages, reclaimedPages: b.reclaimedPages, ...(pool === null ? {} : { poolFreeFrames: pool }) };
  }

  stats(): VirtioDeviceStats[] {
    return this.functions.map(({ name, fn }) => {
      const dropped = fn.device.dropped;
      return { name, counters: { ...fn.counters }, ...(dropped === undefined ? {} : { dropped }) };
    });
  }

  /** Closes the disk images (the machine is done with them); dom0's worker closes its own and ends. */
  close(): void {
    for (const d of this.disks.splice(0)) d.close();
    this.net?.close();
    void this.dom0?.stop();
  }
}
