/** Messages between the machines' threads and dom0's network thread (core/dom0/worker/netThread.ts). */

/** What dom0's network thread is started with (workerData). */
export interface NetInit {
  /** The service's EventChannels buffer: the control port and every link's transmit port, all in the first pending word. */
  channels: SharedArrayBuffer;
  portCount: number;
  /** Raised after a message was posted: dom0's network thread leaves its wait to read it. */
  controlPort: number;
  /** Raised once an attach message has been acted on (outside the first pending word: the thread does not wait on it). */
  ackPort: number;
}

/**
 * Connects one link to the switch of internal network `network`: a NIC, or
 * a machine's uplink (the frames that leave the process). Frames from the
 * machine arrive on `tx` with an event on `txPort` (the service's channels);
 * the switch's frames for it go on `rx` with an event on `rxPort` of the
 * machine's own channels (`rxChannels`), which its run loop polls.
 */
export interface NetAttach {
  type: 'attach';
  id: number;
  network: string;
  tx: SharedArrayBuffer;
  txPort: number;
  rx: SharedArrayBuffer;
  rxChannels: SharedArrayBuffer;
  rxPortCount: number;
  rxPort: number;
  /**
   * For a link whose receiver is the machine's thread (an uplink, a NIC whose
   * model runs there): that thread's wake word (threadWake.ts), raised with
   * `rxPort`, so its idle driver's wait ends. Absent for a NIC dom0 serves
   * (dom0 raises it once it has written the frame into the guest's buffers).
   */
  wake?: SharedArrayBuffer;
}

/**
 * A NIC's link whose virtio-net device dom0's thread serves (core/dom0/worker/netBackend.ts):
 * dom0 pushes the frames the guest transmitted on `tx` and raises `txPort` in
 * the network thread's channels (`netChannels`); the switch's frames for the
 * NIC arrive on `rx`, with an event on the device's own port in dom0's channels.
 */
export interface NetBackendLink {
  tx: SharedArrayBuffer;
  rx: SharedArrayBuffer;
  netChannels: SharedArrayBuffer;
  netPortCount: number;
  txPort: number;
}

export type NetMessage = NetAttach | { type: 'detach'; id: number } | { type: 'stop' };
