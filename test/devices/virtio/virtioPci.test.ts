/**
 * The virtio 1.x PCI transport as a driver finds and programs it: identity,
 * capabilities, feature negotiation, device reset, queue setup rules, kicks
 * through event channels, and INTx through the PIIX3 PIRQ routing.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { VirtioRng } from '../../../core/devices/virtio/virtioRng.ts';
import { F_EVENT_IDX, F_INDIRECT_DESC, F_VERSION_1 } from '../../../core/devices/virtio/virtioConstants.ts';
import { VirtioTestBoard, BAR_ADDRESS } from './virtioTestDriver.ts';

describe('virtio-pci transport', () => {
  let board: VirtioTestBoard;
  let fills = 0;

  beforeEach(() => {
    fills = 0;
    board = new VirtioTestBoard(new VirtioRng((dest) => { fills++; dest.fill(0xa5); }));
    board.assignResources();
    board.locate();
  });

  it('identifies as a modern virtio device with INTA#', () => {
    expect(board.configRead(0x00, 4)).toBe(0x1044_1af4);
    expect(board.configRead(0x08, 1)).toBe(1); // revision 1: modern only
    expect(board.configRead(0x2c, 4)).toBe(0x0044_1af4);
    expect(board.configRead(0x3d, 1)).toBe(1);
    expect(board.configRead(0x06, 2) & 0x10).toBe(0x10); // capability list
  });

  it('lists common, ISR and notify capabilities in BAR0 (no device config for rng)', () => {
    expect(board.capabilities()).toEqual([
      { type: 1, bar: 0, offset: 0x0000, length: 0x3c },
      { type: 3, bar: 0, offset: 0x1000, length: 1 },
      { type: 2, bar: 0, offset: 0x3000, length: 4, multiplier: 4 },
    ]);
  });

  it('sizes BAR0 as 16 KiB of 32-bit non-prefetchable memory', () => {
    board.configWrite(0x10, 4, 0xffff_ffff);
    expect(board.configRead(0x10, 4)).toBe(0xffff_c000);
    board.configWrite(0x10, 4, BAR_ADDRESS);
  });

  it('reads all ones when Memory Space is disabled', () => {
    board.configWrite(0x04, 2, 0);
    expect(board.bus.read32(BAR_ADDRESS)).toBe(0xffff_ffff);
  });

  it('offers VERSION_1, INDIRECT_DESC and EVENT_IDX', () => {
    expect(board.deviceFeatures()).toBe(F_VERSION_1 | F_INDIRECT_DESC | F_EVENT_IDX);
    expect(board.bus.read16(board.common + 18)).toBe(1); // num_queues
    expect(board.bus.read16(board.common + 16)).toBe(0xffff); // config_msix_vector: no MSI-X
  });

  it('refuses FEATURES_OK without VERSION_1 or with a feature it did not offer', () => {
    board.status = 1 | 2;
    board.writeDriverFeatures(F_INDIRECT_DESC);
    board.status = 1 | 2 | 8;
    expect(board.status).toBe(1 | 2);
    board.writeDriverFeatures(F_VERSION_1 | (1n << 40n));
    board.status = 1 | 2 | 8;
    expect(board.status).toBe(1 | 2);
    board.writeDriverFeatures(F_VERSION_1 | F_EVENT_IDX);
    board.status = 1 | 2 | 8;
    expect(board.status).toBe(1 | 2 | 8);
    expect(board.fn.negotiatedFeatures).toBe(F_VERSION_1 | F_EVENT_IDX);
    // Frozen after FEATURES_OK.
    board.writeDriverFeatures(F_VERSION_1);
    expect(board.fn.negotiatedFeatures).toBe(F_VERSION_1 | F_EVENT_IDX);
  });

  it('resets everything when status 0 is written', () => {
    board.initialize(F_VERSION_1);
    expect(board.status).toBe(15);
    board.status = 0;
    expect(board.status).toBe(0);
    board.bus.write16(board.common + 22, 0);
    expect(board.bus.read16(board.common + 28)).toBe(0); // queue_enable
    expect(board.bus.read32(board.common + 32)).toBe(0); // queue_desc
    expect(board.bus.read16(board.common + 24)).toBe(64); // queue_size back to the maximum
    expect(board.fn.negotiatedFeatures).toBe(0n);
  });

  it('reads queue_size 0 for a queue that does not exist', () => {
    board.bus.write16(board.common + 22, 1);
    expect(board.bus.read16(board.common + 24)).toBe(0);
  });

  it('ignores queue register writes once the queue is enabled', () => {
    const [q] = board.initialize(F_VERSION_1);
    board.bus.write16(board.common + 22, 0);
    board.bus.write32(board.common + 32, 0x5000);
    board.bus.write16(board.common + 24, 8);
    expect(board.bus.read32(board.common + 32)).toBe(q.desc);
    expect(board.bus.read16(board.common + 24)).toBe(64);
  });

  it('fills a buffer on a kick, raises INTx through PIRQD to IRQ 11, and an ISR read lowers it', () => {
    const [q] = board.initialize(F_VERSION_1);
    q.post(q.writeChain([{ address: 0x20000, length: 64, write: true }]));
    board.kick(0);
    expect(q.takeUsed()).toEqual([[0, 64]]);
    expect([...board.bus.u8.subarray(0x20000, 0x20040)].every((b) => b === 0xa5)).toBe(true);
    expect(board.irq).toBe(true);
    expect(board.readIsr()).toBe(1);
    expect(board.irq).toBe(false);
    expect(board.readIsr()).toBe(0);
    expect(board.fn.counters).toMatchObject({ kicks: 1, interrupts: 1, requests: 1, bytesRead: 64 });
    expect(fills).toBe(1);
  });

  it('sends kicks over an event channel: a masked kick port holds the kick until unmasked', () => {
    const [q] = board.initialize(F_VERSION_1);
    const port = 1; // the first port bound: queue 0's kick
    expect(board.channels.nameOf(port)).toBe('virtio-rng queue 0 kick');
    board.channels.mask(port);
    q.post(q.writeChain([{ address: 0x20000, length: 8, write: true }]));
    board.kick(0);
    expect(q.takeUsed()).toEqual([]);
    expect(board.channels.isPending(port)).toBe(true);
    board.channels.unmask(port);
    expect(board.channels.isPending(port)).toBe(false);
    expect(q.takeUsed()).toEqual([[0, 8]]);
  });

  it('suppresses the interrupt when the driver asks for none (EVENT_IDX used_event behind)', () => {
    const [q] = board.initialize(F_VERSION_1 | F_EVENT_IDX);
    for (let i = 0; i < 3; i++) {
      q.setUsedEvent(5);
      q.post(q.writeChain([{ address: 0x20000, length: 8, write: true }]));
      board.kick(0);
    }
    // The first completion always notifies; the next two do not cross used_event 5.
    expect(board.fn.counters.interrupts).toBe(1);
    expect(q.availEvent).toBe(3); // drained: the device asks for a kick at the next buffer
  });

  it('puts the device in DEVICE_NEEDS_RESET for a queue outside RAM, with a config interrupt once live', () => {
    board.status = 1 | 2;
    board.writeDriverFeatures(F_VERSION_1);
    board.status = 1 | 2 | 8;
    board.bus.write16(board.common + 22, 0);
    board.bus.write32(board.common + 32, 0xffff_0000);
    board.bus.write16(board.common + 28, 1);
    expect(board.status & 0x40).toBe(0x40);
    expect(board.bus.read16(board.common + 28)).toBe(0);
    expect(board.fn.lastError).toMatch(/queue 0: virtqueue area/);
    board.status = 0;
    expect(board.status).toBe(0);
    expect(board.fn.lastError).toBeNull();
  });
});
