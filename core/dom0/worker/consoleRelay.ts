/**
 * virtio-console served in dom0's thread, and the host's terminals it still
 * reaches: dom0 runs the device model on the console's queues (control
 * messages, every port's receive and transmit buffers, read and written
 * through the grant check); the host's side of each port (the app's console
 * tabs, `popek run --console hvcK`) is in the machine's thread
 * (MachineHooks.onVirtioConsoleOutput, Machine.virtioConsoleInput), so the
 * bytes are relayed between the two:
 *
 *   - output: the guest's transmitted bytes go on the output RecordRing
 *     (tag = port), taken by the machine's thread when it takes dom0's
 *     completion (before the used index that covers them is stored: on the
 *     deterministic clock the host sees them at the guest's notify write, as
 *     with the device in the machine's thread); a full ring makes dom0 wait
 *     for the machine's thread to take it;
 *   - input: the host's bytes go on the input RecordRing (tag = port) and an
 *     event on the device's port; dom0 hands them to the device (which keeps
 *     them until the driver posts receive buffers) and acknowledges the
 *     ring's head once it has published what it delivered. Input the ring
 *     has no room for is dropped and counted, as a terminal's bytes past the
 *     device's own buffer are.
 */
import { VirtioConsole } from '../../devices/virtio/virtioConsole.ts';
import { pushWaiting, RecordRing } from './recordRing.ts';
import type { MachineHalf } from './remoteDevice.ts';

/** Bytes each way the ring holds: the device keeps 64 KiB of input per port itself. */
const RING_BYTES = 64 * 1024;

export interface ConsoleRings {
  input: RecordRing;
  output: RecordRing;
}

export function newConsoleRings(): ConsoleRings {
  return { input: new RecordRing(null, RING_BYTES), output: new RecordRing(null, RING_BYTES) };
}

/** Calls `each` with `bytes` cut into pieces a record of `ring` holds. */
function pieces(ring: RecordRing, bytes: Uint8Array, each: (piece: Uint8Array) => void): void {
  for (let at = 0; at < bytes.length; at += ring.maxRecord) each(bytes.subarray(at, at + ring.maxRecord));
}

export interface ConsoleBackend {
  readonly device: VirtioConsole;
  /**
   * Hands the host's bytes relayed so far to the device through `deliver`
   * (QueueService.deliver, which publishes what the device did), then
   * acknowledges them: also when `deliver` did not run the work (a device
   * waiting for its reset), so the machine's thread never waits on them.
   */
  serveInput(deliver: (work: () => void) => void): void;
}

/** dom0's console of `ports` ports over the relay's rings; `wake` raises the device's done port. */
export function consoleBackend(ports: number, input: SharedArrayBuffer, output: SharedArrayBuffer, wake: () => void): ConsoleBackend {
  const inRing = new RecordRing(input);
  const outRing = new RecordRing(output);
  const device = new VirtioConsole(ports, (port, bytes) => pieces(outRing, bytes, (piece) => pushWaiting(outRing, port, piece, wake)));
  return {
    device,
    serveInput: (deliver) => {
      const head = inRing.head;
      if (head === inRing.acknowledged) return;
      deliver(() => inRing.drain((port, bytes) => device.hostInput(bytes, port)));
      inRing.acknowledge(head);
    },
  };
}

/** The machine's thread's half: the host's bytes to dom0, the guest's to the host. */
export class ConsoleRelay implements MachineHalf {
  readonly errors = 0;
  /** Host bytes dropped because dom0 had not taken the earlier ones. */
  droppedInput = 0;

  constructor(
    private readonly rings: ConsoleRings,
    private readonly onOutput: (port: number, bytes: Uint8Array) => void,
  ) {}

  /** Queues the host's bytes for port `port` (hvc<port>); the caller signals dom0. */
  input(bytes: Uint8Array, port: number): void {
    pieces(this.rings.input, bytes, (piece) => {
      if (!this.rings.input.push(port, piece)) this.droppedInput += piece.length;
    });
  }

  /** Whether dom0 has acted on every byte queued so far. */
  get inputTaken(): boolean {
    return this.rings.input.acknowledged === this.rings.input.head;
  }

  get awaiting(): boolean {
    return !this.inputTaken;
  }

  take(): void {
    this.rings.output.drain((port, bytes) => this.onOutput(port, bytes));
  }
}
