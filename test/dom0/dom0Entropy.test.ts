/**
 * virtio-rng with the device and its entropy source in the machine's
 * thread, and served whole by dom0's worker thread (MachineOptions.dom0Thread:
 * the virtqueue processed there over the board's shared RAM, the source
 * there): the same driver requests get the same answers either way. On the deterministic clock the bytes are
 * the fixed-seed stream, so the guest's buffers hold exactly that stream's
 * next bytes; hostile chains (a device-readable buffer, a buffer past RAM or
 * in MMIO) complete empty and draw nothing from the source, a loop puts the
 * device in DEVICE_NEEDS_RESET, and it serves again afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirtioRng } from '../../core/devices/virtio/virtioRng.ts';
import { F_VERSION_1, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from '../../core/devices/virtio/virtioConstants.ts';
import { deterministicEntropy } from '../../core/dom0/entropySource.ts';
import { Dom0, entropyServedByDom0 } from '../../core/dom0/worker/dom0.ts';
import { RemoteVirtioDevice } from '../../core/dom0/worker/remoteDevice.ts';
import { busRamMap } from '../../core/dom0/grantCheck.ts';
import type { MemoryBus } from '../../core/memory/bus.ts';
import type { VirtioDeviceType } from '../../core/devices/virtio/virtioDevice.ts';
import { BAR_ADDRESS, RAM_BYTES, VirtioTestBoard } from '../devices/virtio/virtioTestDriver.ts';
import type { QueueDriver } from '../devices/virtio/queueDriver.ts';

const BUF = 0x20000;

/** The fixed-seed stream's next `n` bytes, from a reference source read alongside the device's. */
function reference(): (n: number) => number[] {
  const source = deterministicEntropy();
  return (n) => {
    const bytes = new Uint8Array(n);
    source(bytes);
    return [...bytes];
  };
}

interface Mode {
  name: string;
  /** The virtio-rng device on a board with bus `bus`. */
  device(bus: MemoryBus): VirtioDeviceType;
  stop(): Promise<void>;
}

let dom0: Dom0 | null = null;
const modes: Mode[] = [
  { name: 'the device and its source in the machine\'s thread', device: () => new VirtioRng(deterministicEntropy()), stop: async () => {} },
  {
    name: 'the device served by dom0\'s worker thread, the source there',
    device: (bus) => {
      const ram = busRamMap(bus);
      dom0 = Dom0.start([], { entropy: 'deterministic', ram: ram.shared!, devices: [{ kind: 'rng' }] });
      return new RemoteVirtioDevice(new VirtioRng(entropyServedByDom0), dom0, dom0.devices[0], ram, true);
    },
    stop: async () => {
      await dom0?.stop();
      dom0 = null;
    },
  },
];

describe.each(modes)('virtio-rng, $name', (mode) => {
  let board: VirtioTestBoard;
  let q: QueueDriver;
  let next: (n: number) => number[];

  beforeAll(() => {
    board = new VirtioTestBoard((bus) => mode.device(bus));
    board.assignResources();
    board.locate();
    [q] = board.initialize(F_VERSION_1);
    next = reference();
  }, 60_000);
  afterAll(() => mode.stop());

  const request = (chain: { address: number; length: number; write?: boolean }[]) => {
    q.post(q.writeChain(chain));
    board.kick(0);
    return q.takeUsed();
  };
  const guest = (address: number, n: number) => [...board.bus.u8.subarray(address, address + n)];

  it('fills a buffer with the stream\'s next bytes', () => {
    expect(request([{ address: BUF, length: 64, write: true }])).toEqual([[0, 64]]);
    expect(guest(BUF, 64)).toEqual(next(64));
  });

  it('fills at most 4 KiB per request, across the chain\'s buffers', () => {
    const [[, length]] = request([
      { address: BUF, length: 3000, write: true },
      { address: BUF + 0x2000, length: 3000, write: true },
    ]);
    expect(length).toBe(4096);
    const expected = next(4096);
    expect(guest(BUF, 3000)).toEqual(expected.slice(0, 3000));
    expect(guest(BUF + 0x2000, 1096)).toEqual(expected.slice(3000));
  });

  it('completes hostile chains empty without drawing from the source, and keeps serving', () => {
    const errors = board.fn.counters.errors;
    const cases = [
      [{ address: BUF, length: 64 }], // device-readable: the driver must not post one
      [{ address: RAM_BYTES - 16, length: 64, write: true }], // past the end of RAM
      [{ address: BAR_ADDRESS, length: 64, write: true }], // the device's own registers
      [{ address: 2 ** 33, length: 64, write: true }], // above 4 GiB
    ];
    for (const chain of cases) expect(request(chain).map(([, length]) => length)).toEqual([0]);
    expect(board.fn.counters.errors).toBe(errors + cases.length);
    expect(board.status).toBe(15);
    expect(request([{ address: BUF, length: 32, write: true }]).map(([, length]) => length)).toEqual([32]);
    expect(guest(BUF, 32)).toEqual(next(32));
  });

  it('enters DEVICE_NEEDS_RESET on a descriptor loop, and serves again after a reset', () => {
    q.writeDescriptor(q.desc, 0, { address: BUF, length: 16, flags: VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, next: 1 });
    q.writeDescriptor(q.desc, 1, { address: BUF + 16, length: 16, flags: VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, next: 0 });
    board.readIsr();
    q.post(0);
    board.kick(0);
    expect(board.status & 0x40).toBe(0x40);
    expect(board.readIsr()).toBe(2);
    expect(q.takeUsed()).toEqual([]);
    [q] = board.initialize(F_VERSION_1);
    expect(request([{ address: BUF, length: 16, write: true }])).toEqual([[0, 16]]);
    expect(guest(BUF, 16)).toEqual(next(16));
  });
});
