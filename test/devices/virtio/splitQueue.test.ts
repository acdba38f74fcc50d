/**
 * The split virtqueue against guest memory checked by dom0's grant check:
 * descriptor chains, indirect tables, EVENT_IDX, index wrap-around, and every
 * malformed-chain case as a VirtqueueError of its kind.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryBus } from '../../../core/memory/bus.ts';
import { PhysicalMemory } from '../../../core/memory/physicalMemory.ts';
import { busRamMap, CheckedGuestMemory } from '../../../core/dom0/grantCheck.ts';
import { SplitQueue } from '../../../core/devices/virtio/splitQueue.ts';
import { VirtqueueError, type Descriptor } from '../../../core/devices/virtio/descriptorChain.ts';
import { VIRTQ_AVAIL_F_NO_INTERRUPT, VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE, VIRTQ_USED_F_NO_NOTIFY } from '../../../core/devices/virtio/virtioConstants.ts';
import { QueueDriver } from './queueDriver.ts';

const RAM = 1 << 20;
const RINGS = 0x10000;
const MMIO_BASE = 0x8000_0000;

describe('split virtqueue', () => {
  let bus: MemoryBus;
  let mem: CheckedGuestMemory;
  let queue: SplitQueue;
  let driver: QueueDriver;

  function setUp(size: number, features: { indirect?: boolean; eventIdx?: boolean } = {}): void {
    bus = new MemoryBus(new PhysicalMemory(RAM));
    bus.addMmio(MMIO_BASE, 0x1000, { read: () => 0, write: () => {} }, 'test-mmio');
    mem = new CheckedGuestMemory(busRamMap(bus));
    driver = new QueueDriver(bus, RINGS, size);
    queue = new SplitQueue(256);
    queue.size = size;
    queue.desc = driver.desc;
    queue.avail = driver.avail;
    queue.used = driver.used;
    queue.indirect = features.indirect ?? false;
    queue.eventIdx = features.eventIdx ?? false;
    queue.validate(mem);
    queue.ready = true;
  }

  const errorOf = (f: () => unknown): string => {
    try {
      f();
    } catch (e) {
      if (e instanceof VirtqueueError) return e.kind;
      throw e;
    }
    return 'no error';
  };
  const walk = (): Descriptor[] => [...queue.pop(mem)!];

  beforeEach(() => setUp(16));

  it('has nothing to pop until the driver publishes a chain', () => {
    expect(queue.pop(mem)).toBeNull();
    expect(queue.hasAvailable(mem)).toBe(false);
  });

  it('walks a chain of readable then writable descriptors in order', () => {
    const head = driver.writeChain([
      { address: 0x20000, length: 16 },
      { address: 0x21000, length: 512, write: true },
      { address: 0x22000, length: 1, write: true },
    ]);
    driver.post(head);
    const chain = queue.pop(mem)!;
    expect(chain.head).toBe(head);
    expect([...chain]).toEqual([
      { address: 0x20000, length: 16, writable: false },
      { address: 0x21000, length: 512, writable: true },
      { address: 0x22000, length: 1, writable: true },
    ]);
    expect(queue.pop(mem)).toBeNull();
  });

  it('returns chains to the used ring with their lengths', () => {
    const a = driver.writeChain([{ address: 0x20000, length: 8 }]);
    const b = driver.writeChain([{ address: 0x21000, length: 8, write: true }]);
    driver.post(a);
    driver.post(b);
    const ca = queue.pop(mem)!;
    const cb = queue.pop(mem)!;
    queue.addUsed(mem, cb.head, 8);
    queue.addUsed(mem, ca.head, 0);
    expect(driver.takeUsed()).toEqual([[b, 8], [a, 0]]);
  });

  it('follows an indirect table when VIRTIO_F_INDIRECT_DESC is negotiated', () => {
    setUp(16, { indirect: true });
    const head = driver.writeIndirect(0x30000, [
      { address: 0x20000, length: 16 },
      { address: 0x21000, length: 4096, write: true },
    ]);
    driver.post(head);
    expect(walk()).toEqual([
      { address: 0x20000, length: 16, writable: false },
      { address: 0x21000, length: 4096, writable: true },
    ]);
  });

  it('wraps the 16-bit ring indexes and the ring slots', () => {
    setUp(4);
    // 70000 chains: the avail and used indexes wrap past 65535 and the slots past 3 many times.
    for (let n = 0; n < 70_000; n++) {
      const head = driver.writeChain([{ address: 0x20000 + (n % 4) * 8, length: 8 }]);
      driver.post(head);
      const chain = queue.pop(mem)!;
      expect(chain.head).toBe(head);
      queue.addUsed(mem, chain.head, n & 0xff);
      const used = driver.takeUsed();
      if (used.length !== 1 || used[0][0] !== head || used[0][1] !== (n & 0xff)) throw new Error(`chain ${n}: ${JSON.stringify(used)}`);
    }
    expect(driver.availIdx).toBe(70_000 & 0xffff);
    expect(driver.usedIdx).toBe(70_000 & 0xffff);
  });

  it('without EVENT_IDX notifies unless the driver sets NO_INTERRUPT, and toggles NO_NOTIFY', () => {
    expect(queue.needsNotification(mem)).toBe(true);
    driver.setAvailFlags(VIRTQ_AVAIL_F_NO_INTERRUPT);
    expect(queue.needsNotification(mem)).toBe(false);
    queue.disableNotification(mem);
    expect(driver.usedFlags).toBe(VIRTQ_USED_F_NO_NOTIFY);
    queue.enableNotification(mem);
    expect(driver.usedFlags).toBe(0);
  });

  it('with EVENT_IDX notifies exactly when used_event is crossed, and publishes avail_event', () => {
    setUp(16, { eventIdx: true });
    const complete = (count: number) => {
      for (let i = 0; i < count; i++) {
        driver.post(driver.writeChain([{ address: 0x20000, length: 8 }]));
        queue.addUsed(mem, queue.pop(mem)!.head, 0);
      }
      return queue.needsNotification(mem);
    };
    // The first decision always notifies (nothing signalled yet).
    expect(complete(1)).toBe(true);
    // The driver wants an interrupt once used idx passes 3 (used_event = 3): entries 2 and 3 do not cross it...
    driver.setUsedEvent(3);
    expect(complete(1)).toBe(false); // used idx 2
    expect(complete(1)).toBe(false); // used idx 3: event index 3 means "after entry 3 is used", i.e. idx 4
    expect(complete(1)).toBe(true); // used idx 4 crosses it
    expect(complete(2)).toBe(false); // 6: past the event already signalled
    driver.setUsedEvent(6);
    expect(complete(3)).toBe(true); // 9: the window 7..9 contains 6 + 1
    queue.enableNotification(mem);
    expect(driver.availEvent).toBe(9);
    // NO_INTERRUPT is ignored under EVENT_IDX.
    driver.setAvailFlags(VIRTQ_AVAIL_F_NO_INTERRUPT);
    driver.setUsedEvent(9);
    expect(complete(1)).toBe(true);
  });

  it('with EVENT_IDX publishes avail_event whenever pop finds the ring empty', () => {
    setUp(16, { eventIdx: true });
    expect(queue.pop(mem)).toBeNull();
    expect(driver.availEvent).toBe(0);
    for (let i = 0; i < 3; i++) driver.post(driver.writeChain([{ address: 0x20000, length: 8 }]));
    while (queue.pop(mem)) {}
    expect(driver.availEvent).toBe(3);
  });

  it('refuses a queue layout that is misaligned, not a power of two, or outside RAM', () => {
    queue.size = 12;
    expect(errorOf(() => queue.validate(mem))).toBe('queue-layout');
    queue.size = 16;
    queue.desc = RINGS + 8;
    expect(errorOf(() => queue.validate(mem))).toBe('queue-layout');
    queue.desc = RAM - 16 * 8; // runs past the end of RAM
    expect(errorOf(() => queue.validate(mem))).toBe('memory');
    queue.desc = MMIO_BASE; // device memory, not RAM
    expect(errorOf(() => queue.validate(mem))).toBe('memory');
  });

  describe('malformed chains', () => {
    it('a head index past the table', () => {
      driver.post(16);
      expect(errorOf(() => queue.pop(mem))).toBe('head-index');
    });

    it('a next index past the table', () => {
      driver.writeDescriptor(driver.desc, 0, { address: 0x20000, length: 8, flags: VIRTQ_DESC_F_NEXT, next: 99 });
      driver.post(0);
      expect(errorOf(walk)).toBe('next-index');
    });

    it('a loop of two descriptors', () => {
      driver.writeDescriptor(driver.desc, 0, { address: 0x20000, length: 8, flags: VIRTQ_DESC_F_NEXT, next: 1 });
      driver.writeDescriptor(driver.desc, 1, { address: 0x20000, length: 8, flags: VIRTQ_DESC_F_NEXT, next: 0 });
      driver.post(0);
      expect(errorOf(walk)).toBe('chain-too-long');
    });

    it('a descriptor pointing at itself', () => {
      driver.writeDescriptor(driver.desc, 5, { address: 0x20000, length: 8, flags: VIRTQ_DESC_F_NEXT, next: 5 });
      driver.post(5);
      expect(errorOf(walk)).toBe('chain-too-long');
    });

    it('a loop inside an indirect table', () => {
      setUp(16, { indirect: true });
      driver.writeDescriptor(0x30000, 0, { address: 0x20000, length: 8, flags: VIRTQ_DESC_F_NEXT, next: 1 });
      driver.writeDescriptor(0x30000, 1, { address: 0x20000, length: 8, flags: VIRTQ_DESC_F_NEXT, next: 0 });
      driver.writeDescriptor(driver.desc, 0, { address: 0x30000, length: 32, flags: VIRTQ_DESC_F_INDIRECT });
      driver.post(0);
      expect(errorOf(walk)).toBe('chain-too-long');
    });

    it('an indirect descriptor without the feature', () => {
      driver.post(driver.writeIndirect(0x30000, [{ address: 0x20000, length: 8 }]));
      expect(errorOf(walk)).toBe('indirect-not-negotiated');
    });

    it('a nested indirect table', () => {
      setUp(16, { indirect: true });
      driver.writeDescriptor(0x30000, 0, { address: 0x31000, length: 16, flags: VIRTQ_DESC_F_INDIRECT });
      driver.writeDescriptor(driver.desc, 0, { address: 0x30000, length: 16, flags: VIRTQ_DESC_F_INDIRECT });
      driver.post(0);
      expect(errorOf(walk)).toBe('indirect-nested');
    });

    it('an indirect descriptor with NEXT', () => {
      setUp(16, { indirect: true });
      driver.writeDescriptor(driver.desc, 0, { address: 0x30000, length: 16, flags: VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, next: 1 });
      driver.post(0);
      expect(errorOf(walk)).toBe('indirect-with-next');
    });

    it('indirect table lengths of 0, 17 and 4 GiB - 16', () => {
      setUp(16, { indirect: true });
      for (const length of [0, 17]) {
        driver.writeDescriptor(driver.desc, 0, { address: 0x30000, length, flags: VIRTQ_DESC_F_INDIRECT });
        driver.post(0);
        expect(errorOf(walk)).toBe('indirect-length');
      }
      driver.writeDescriptor(driver.desc, 0, { address: 0x30000, length: 0xffff_fff0, flags: VIRTQ_DESC_F_INDIRECT });
      driver.post(0);
      expect(errorOf(walk)).toBe('memory');
    });

    it('an indirect table past the end of RAM or in MMIO', () => {
      setUp(16, { indirect: true });
      for (const address of [RAM - 16, MMIO_BASE, 0xffff_fff0, 2 ** 40]) {
        driver.writeDescriptor(driver.desc, 0, { address, length: 32, flags: VIRTQ_DESC_F_INDIRECT });
        driver.post(0);
        expect(errorOf(walk)).toBe('memory');
      }
    });

    it('a device-readable descriptor after a device-writable one', () => {
      driver.post(driver.writeChain([{ address: 0x20000, length: 8, write: true }, { address: 0x21000, length: 8 }]));
      expect(errorOf(walk)).toBe('read-after-write');
    });

    it('an avail.idx more than a queue size ahead', () => {
      bus.write16(driver.avail + 2, 17);
      expect(errorOf(() => queue.pop(mem))).toBe('avail-index');
    });

    it('rings that were moved out of RAM after validation', () => {
      queue.avail = MMIO_BASE;
      expect(errorOf(() => queue.pop(mem))).toBe('memory');
    });

    it('yields buffers past RAM unchecked, and the grant check refuses to map them', () => {
      driver.post(driver.writeChain([{ address: RAM - 4, length: 8, write: true }]));
      const [d] = walk();
      expect(() => mem.view(d.address, d.length, true)).toThrow(/leaves RAM|not RAM/);
      expect(() => mem.view(MMIO_BASE, 4, false)).toThrow(/not RAM/);
      expect(() => mem.view(0x1000, 0xffff_ffff, true)).toThrow(/longer than/);
      expect(mem.view(0x20000, 0, true).length).toBe(0);
      expect(() => mem.view(RAM, 0, true)).toThrow(/not RAM/);
    });
  });

  it('does not mistake WRITE on an indirect descriptor for the chain direction', () => {
    setUp(16, { indirect: true });
    driver.writeDescriptor(0x30000, 0, { address: 0x20000, length: 8 });
    driver.writeDescriptor(driver.desc, 0, { address: 0x30000, length: 16, flags: VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE });
    driver.post(0);
    expect(walk()).toEqual([{ address: 0x20000, length: 8, writable: false }]);
  });

  describe('split between the machine\'s thread and dom0\'s', () => {
    it('pops only up to the kick\'s avail index, writes used elements without used.idx, which the machine\'s side publishes', () => {
      setUp(8, { eventIdx: true });
      for (let i = 0; i < 3; i++) driver.post(driver.writeChain([{ address: 0x20000 + 0x100 * i, length: 16, write: true }]));
      // The machine's side at the kick: avail.idx, published as avail_event.
      const machineSide = queue;
      const kick = machineSide.takeKick(mem);
      expect(kick).toBe(3);
      expect(bus.read16(driver.used + 4 + 8 * 8)).toBe(3);
      // dom0's side: a queue over the same rings, bounded by the kick, used.idx left alone.
      const dom0Side = new SplitQueue(256);
      Object.assign(dom0Side, { size: 8, desc: driver.desc, avail: driver.avail, used: driver.used, eventIdx: true, ready: true });
      dom0Side.publishUsedIndex = false;
      dom0Side.availLimit = 2; // an older kick: the third buffer is not taken yet
      const heads: number[] = [];
      for (let c = dom0Side.pop(mem); c; c = dom0Side.pop(mem)) {
        heads.push(c.head);
        dom0Side.addUsed(mem, c.head, 16);
      }
      expect(heads).toEqual([0, 1]);
      expect(dom0Side.usedIndex).toBe(2);
      expect(bus.read16(driver.used + 2)).toBe(0); // not published yet
      expect(bus.read16(driver.used + 4 + 8 * 8)).toBe(3); // dom0 did not touch avail_event
      machineSide.publishUsed(mem, dom0Side.usedIndex);
      expect(driver.takeUsed()).toEqual([[0, 16], [1, 16]]);
      dom0Side.availLimit = kick;
      const c = dom0Side.pop(mem)!;
      expect(c.head).toBe(2);
      expect(dom0Side.pop(mem)).toBeNull();
    });
  });
});
