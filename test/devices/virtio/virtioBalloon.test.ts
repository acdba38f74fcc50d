/** virtio-balloon through the PCI transport: target in the config, inflate and deflate PFN arrays, PFNs outside RAM refused. */
import { beforeEach, describe, expect, it } from 'vitest';
import { VirtioBalloon, VIRTIO_BALLOON_F_MUST_TELL_HOST } from '../../../core/devices/virtio/virtioBalloon.ts';
import { F_VERSION_1 } from '../../../core/devices/virtio/virtioConstants.ts';
import { RAM_BYTES, VirtioTestBoard } from './virtioTestDriver.ts';
import type { QueueDriver } from './queueDriver.ts';

const PFNS = 0x20000;

describe('virtio-balloon', () => {
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
    board = new VirtioTestBoard(balloon);
    board.assignResources();
    board.locate();
    [inflate, deflate] = board.initialize(F_VERSION_1 | VIRTIO_BALLOON_F_MUST_TELL_HOST);
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
});
