/**
 * virtio-balloon through the PCI transport: target in the config, inflate
 * and deflate PFN arrays, PFNs outside RAM refused. Every case runs with the
 * device in the machine's thread and with its queues served by dom0's worker
 * thread, which relays the PFNs to the machine's thread's half
 * (core/dom0/worker/balloonRelay.ts): the pages the host holds are counted
 * there in both.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VirtioBalloon, VIRTIO_BALLOON_F_MUST_TELL_HOST } from '../../../core/devices/virtio/virtioBalloon.ts';
import type { BalloonFrames } from '../../../core/devices/virtio/virtioBalloonPages.ts';
import { busRamMap } from '../../../core/dom0/grantCheck.ts';
import { Dom0 } from '../../../core/dom0/worker/dom0.ts';
import { BalloonHost, newBalloonRing } from '../../../core/dom0/worker/balloonRelay.ts';
import { RemoteVirtioDevice } from '../../../core/dom0/worker/remoteDevice.ts';
import { F_VERSION_1 } from '../../../core/devices/virtio/virtioConstants.ts';
import { RAM_BYTES, VirtioTestBoard } from './virtioTestDriver.ts';
import type { QueueDriver } from './queueDriver.ts';

const PFNS = 0x20000;

/** dom0s started for the dom0 placement's boards, stopped after each test. */
const started: Dom0[] = [];

const placements = [
  {
    name: 'in the machine\'s thread',
    board: (balloon: VirtioBalloon) => new VirtioTestBoard(balloon),
  },
  {
    name: 'served by dom0\'s worker thread',
    board: (balloon: VirtioBalloon) => new VirtioTestBoard((bus) => {
      const ram = busRamMap(bus);
      const ring = newBalloonRing();
      const dom0 = Dom0.start([], { ram: ram.shared!, devices: [{ kind: 'balloon', pooled: false, relay: ring.buffer }] });
      started.push(dom0);
      return new RemoteVirtioDevice(balloon, dom0, dom0.devices[0], ram, true, new BalloonHost(balloon, balloon.pages as BalloonFrames, ring));
    }),
  },
];

describe.each(placements)('virtio-balloon, $name', (placement) => {
  let balloon: VirtioBalloon;
  let board: VirtioTestBoard;
  let inflate: QueueDriver;
  let deflate: QueueDriver;

  const post = (q: QueueDriver, pfns: number[]) => {
    pfns.forEach((pfn, i) => board.bus.write32(PFNS + 4 * i, pfn));
    q.post(q.writeChain([{ address: PFNS, length: 4 * pfns.length }]));
  };

  beforeEach(() => {
    balloon = new VirtioBalloon();
    board = placement.board(balloon);
    board.assignResources();
    board.locate();
    [inflate, deflate] = board.initialize(F_VERSION_1 | VIRTIO_BALLOON_F_MUST_TELL_HOST);
  });

  afterEach(async () => {
    await Promise.all(started.splice(0).map((d) => d.stop()));
  });

  it('shows the target in num_pages with a configuration change interrupt, and takes actual from the driver', () => {
    balloon.setTarget(300);
    expect(board.bus.read32(board.deviceCfg)).toBe(300);
    board.bus.write32(board.deviceCfg + 4, 120);
    expect(balloon.actualPages).toBe(120);
  });

  it('zeroes and holds inflated pages, and releases deflated ones', () => {
    board.bus.u8.fill(0x77, 0x300000, 0x302000);
    post(inflate, [0x300, 0x301]);
    board.kick(0);
    expect(inflate.takeUsed()).toEqual([[0, 0]]);
    expect(balloon.reclaimedPages).toBe(2);
    expect(board.bus.u8.subarray(0x300000, 0x302000).every((b) => b === 0)).toBe(true);
    post(deflate, [0x300]);
    board.kick(1);
    expect(balloon.reclaimedPages).toBe(1);
  });

  it('refuses PFNs that are not guest RAM and keeps working', () => {
    post(inflate, [RAM_BYTES / 4096, 0xfffff, 0x300]);
    board.kick(0);
    expect(balloon.reclaimedPages).toBe(1);
    expect(board.fn.counters.errors).toBe(2);
    expect(board.status).toBe(15);
  });

  it('refuses a deflate of a page the host does not hold, counted with the device\'s errors', () => {
    post(inflate, [0x300]);
    board.kick(0);
    post(deflate, [0x300, 0x301]);
    board.kick(1);
    expect(deflate.takeUsed()).toEqual([[0, 0]]);
    expect(balloon.reclaimedPages).toBe(0);
    expect(board.fn.counters.requests).toBe(2);
    expect(board.fn.counters.errors).toBe(1);
  });

  it('gives every page back at a device reset, and serves the new driver', () => {
    post(inflate, [0x300, 0x301, 0x302]);
    board.kick(0);
    expect(balloon.reclaimedPages).toBe(3);
    balloon.setTarget(3);
    [inflate, deflate] = board.initialize(F_VERSION_1 | VIRTIO_BALLOON_F_MUST_TELL_HOST);
    expect(balloon.reclaimedPages).toBe(0);
    expect(balloon.actualPages).toBe(0);
    post(inflate, [0x310]);
    board.kick(0);
    expect(inflate.takeUsed()).toEqual([[0, 0]]);
    expect(balloon.reclaimedPages).toBe(1);
  });
});
