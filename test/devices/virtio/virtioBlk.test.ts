/**
 * virtio-blk over a BlockBackend, driven through the PCI transport by the
 * test driver: read, write, flush, get-id, discard, read-only disks, and the
 * hostile requests (buffers past RAM, in MMIO, zero and 4 GiB lengths, wrong
 * directions, loops), each answered with a guest-visible error while the
 * device keeps working. Every case runs twice: with the disk in the
 * machine's thread, and with it held by dom0's worker thread (the device
 * model's requests cross to dom0 through its ring and event channels).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { VirtioBlk, VIRTIO_BLK_F_DISCARD, VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_F_RO, VIRTIO_BLK_F_SEG_MAX, VIRTIO_BLK_F_BLK_SIZE } from '../../../core/devices/virtio/virtioBlk.ts';
import { F_EVENT_IDX, F_INDIRECT_DESC, F_VERSION_1, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from '../../../core/devices/virtio/virtioConstants.ts';
import { RAM_BYTES, BAR_ADDRESS, VirtioTestBoard } from './virtioTestDriver.ts';
import { inDom0Worker, inMachineThread, type BlkTestDisk } from './blkTestDisks.ts';
import type { QueueDriver } from './queueDriver.ts';

const HEADER = 0x20000;
const DATA = 0x21000;
const STATUS = 0x30000;
const STATUS_OK = 0;
const STATUS_IOERR = 1;
const STATUS_UNSUPP = 2;
const FEATURES = F_VERSION_1 | F_INDIRECT_DESC | F_EVENT_IDX | VIRTIO_BLK_F_FLUSH | VIRTIO_BLK_F_DISCARD;

const DISK_BYTES = 1 << 20;
const CONTENTS = Uint8Array.from({ length: DISK_BYTES }, (_, i) => (i * 7 + (i >> 9)) & 0xff);

describe.each([inMachineThread, inDom0Worker(DISK_BYTES)])('virtio-blk, $name', (mode) => {
  let disk: BlkTestDisk;
  let board: VirtioTestBoard;
  let q: QueueDriver;

  beforeAll(() => mode.setUp(), 60_000);
  afterAll(() => mode.tearDown());

  function setUp(readOnly = false): void {
    ({ board, disk } = mode.board(CONTENTS, readOnly, 'popek-disk-0'));
    board.assignResources();
    board.locate();
    [q] = board.initialize(FEATURES & (board.deviceFeatures() | F_VERSION_1));
  }

  function header(type: number, sector: number): void {
    board.bus.write32(HEADER, type);
    board.bus.write32(HEADER + 4, 0);
    board.bus.write32(HEADER + 8, sector);
    board.bus.write32(HEADER + 12, 0);
    board.bus.write8(STATUS, 0xff);
  }

  /** Posts a chain, kicks, and returns [used length, status byte]. */
  function request(chain: { address: number; length: number; write?: boolean }[]): [number, number] {
    q.post(q.writeChain(chain));
    board.kick(0);
    const used = q.takeUsed();
    expect(used.length).toBe(1);
    return [used[0][1], board.bus.read8(STATUS)];
  }

  const read = (sector: number, length: number, address = DATA) => {
    header(0, sector);
    return request([{ address: HEADER, length: 16 }, { address, length, write: true }, { address: STATUS, length: 1, write: true }]);
  };
  const write = (sector: number, length: number, address = DATA) => {
    header(1, sector);
    return request([{ address: HEADER, length: 16 }, { address, length }, { address: STATUS, length: 1, write: true }]);
  };

  beforeEach(() => setUp());

  it('offers SEG_MAX, BLK_SIZE, FLUSH and DISCARD, and describes the disk in its configuration', () => {
    expect(board.deviceFeatures()).toBe(F_VERSION_1 | F_INDIRECT_DESC | F_EVENT_IDX | VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_BLK_SIZE | VIRTIO_BLK_F_FLUSH | VIRTIO_BLK_F_DISCARD);
    expect(board.bus.read32(board.deviceCfg)).toBe(2048); // capacity in sectors
    expect(board.bus.read32(board.deviceCfg + 4)).toBe(0);
    expect(board.bus.read32(board.deviceCfg + 12)).toBe(254); // seg_max
    expect(board.bus.read32(board.deviceCfg + 20)).toBe(512); // blk_size
    expect(board.configRead(0x02, 2)).toBe(0x1042);
  });

  it('reads sectors into guest memory', () => {
    expect(read(3, 1024)).toEqual([1025, STATUS_OK]);
    expect([...board.bus.u8.subarray(DATA, DATA + 1024)]).toEqual([...disk.data.subarray(1536, 2560)]);
    expect(board.fn.counters).toMatchObject({ requests: 1, bytesRead: 1024, errors: 0 });
  });

  it('writes sectors from guest memory', () => {
    board.bus.u8.fill(0x3c, DATA, DATA + 512);
    expect(write(10, 512)).toEqual([1, STATUS_OK]);
    expect(disk.data.subarray(5120, 5632).every((b) => b === 0x3c)).toBe(true);
    expect(board.fn.counters.bytesWritten).toBe(512);
  });

  it('reads through an indirect table spanning several buffers', () => {
    header(0, 0);
    q.post(q.writeIndirect(0x40000, [
      { address: HEADER, length: 16 },
      { address: DATA, length: 512, write: true },
      { address: DATA + 0x2000, length: 512, write: true },
      { address: STATUS, length: 1, write: true },
    ]));
    board.kick(0);
    expect(q.takeUsed()).toEqual([[0, 1025]]);
    expect([...board.bus.u8.subarray(DATA + 0x2000, DATA + 0x2200)]).toEqual([...disk.data.subarray(512, 1024)]);
  });

  it('flushes the backend', () => {
    header(4, 0);
    expect(request([{ address: HEADER, length: 16 }, { address: STATUS, length: 1, write: true }])).toEqual([1, STATUS_OK]);
    expect(disk.flushes).toBe(1);
  });

  it('returns its serial for GET_ID', () => {
    header(8, 0);
    expect(request([{ address: HEADER, length: 16 }, { address: DATA, length: 20, write: true }, { address: STATUS, length: 1, write: true }])).toEqual([21, STATUS_OK]);
    expect(new TextDecoder().decode(board.bus.u8.subarray(DATA, DATA + 12))).toBe('popek-disk-0');
    expect(board.bus.u8[DATA + 12]).toBe(0);
  });

  it('discards ranges', () => {
    header(11, 0);
    board.bus.write32(DATA, 4); // sector 4
    board.bus.write32(DATA + 4, 0);
    board.bus.write32(DATA + 8, 2); // 2 sectors
    board.bus.write32(DATA + 12, 0);
    expect(request([{ address: HEADER, length: 16 }, { address: DATA, length: 16 }, { address: STATUS, length: 1, write: true }])).toEqual([1, STATUS_OK]);
    expect(disk.discards).toEqual([[2048, 1024]]);
  });

  it('answers an unknown request type with UNSUPP', () => {
    header(99, 0);
    expect(request([{ address: HEADER, length: 16 }, { address: STATUS, length: 1, write: true }])).toEqual([1, STATUS_UNSUPP]);
  });

  it('advertises RO for a read-only disk and fails writes and discards with IOERR', () => {
    setUp(true);
    expect(board.deviceFeatures() & VIRTIO_BLK_F_RO).toBe(VIRTIO_BLK_F_RO);
    const before = disk.data.slice(0, 1024);
    expect(write(0, 512)).toEqual([1, STATUS_IOERR]);
    expect(Buffer.compare(disk.data.subarray(0, 1024), before)).toBe(0);
    expect(read(0, 512)).toEqual([513, STATUS_OK]);
  });

  describe('hostile requests get an error status and the device keeps working', () => {
    const cases: [string, () => [number, number]][] = [
      ['a read into a buffer past the end of RAM', () => read(0, 512, RAM_BYTES - 256)],
      ['a read into the device\'s own BAR (MMIO)', () => read(0, 512, BAR_ADDRESS)],
      ['a write from a buffer above 4 GiB', () => write(0, 512, 2 ** 33)],
      ['a read of 4 GiB - 1 bytes', () => read(0, 0xffff_ffff)],
      ['a read of zero bytes', () => read(0, 0)],
      ['a read of part of a sector', () => read(0, 100)],
      ['a read past the end of the disk', () => read(2047, 1024)],
      ['a read at sector 2^40', () => { header(0, 0); board.bus.write32(HEADER + 12, 0x100); return request([{ address: HEADER, length: 16 }, { address: DATA, length: 512, write: true }, { address: STATUS, length: 1, write: true }]); }],
      ['a read whose data buffer is device-readable (wrong direction)', () => { header(0, 0); return request([{ address: HEADER, length: 16 }, { address: DATA, length: 512 }, { address: STATUS, length: 1, write: true }]); }],
      ['a write whose data buffer is device-writable (wrong direction)', () => { header(1, 0); return request([{ address: HEADER, length: 16 }, { address: DATA, length: 512, write: true }, { address: STATUS, length: 1, write: true }]); }],
      ['a header shorter than 16 bytes', () => { header(0, 0); return request([{ address: HEADER, length: 8 }, { address: STATUS, length: 1, write: true }]); }],
      ['a header in MMIO', () => { board.bus.write8(STATUS, 0xff); return request([{ address: BAR_ADDRESS, length: 16 }, { address: STATUS, length: 1, write: true }]); }],
    ];
    for (const [name, post] of cases) {
      it(name, () => {
        const disk0 = disk.data.slice();
        const [length, status] = post();
        expect(status).toBe(STATUS_IOERR);
        expect(length).toBe(1);
        expect(Buffer.compare(disk.data, disk0)).toBe(0);
        expect(board.status).toBe(15); // no reset needed: only this request failed
        expect(read(1, 512)).toEqual([513, STATUS_OK]);
        expect(board.fn.counters.errors).toBe(1);
      });
    }
  });

  describe('hostile chains put the device in DEVICE_NEEDS_RESET; after a reset it works again', () => {
    const cases: [string, () => void][] = [
      ['a two-descriptor loop', () => {
        q.writeDescriptor(q.desc, 0, { address: HEADER, length: 16, flags: VIRTQ_DESC_F_NEXT, next: 1 });
        q.writeDescriptor(q.desc, 1, { address: STATUS, length: 1, flags: VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, next: 0 });
        q.post(0);
      }],
      ['a next index past the table', () => {
        q.writeDescriptor(q.desc, 0, { address: HEADER, length: 16, flags: VIRTQ_DESC_F_NEXT, next: 4000 });
        q.post(0);
      }],
      ['a head index past the table', () => q.post(300)],
      ['an indirect table in MMIO', () => {
        q.writeDescriptor(q.desc, 0, { address: BAR_ADDRESS, length: 64, flags: 4 });
        q.post(0);
      }],
      ['a status byte past the end of RAM', () => {
        header(0, 0);
        q.post(q.writeChain([{ address: HEADER, length: 16 }, { address: DATA, length: 512, write: true }, { address: RAM_BYTES, length: 1, write: true }]));
      }],
      ['a request with no device-writable buffer at all', () => {
        header(1, 0);
        q.post(q.writeChain([{ address: HEADER, length: 16 }, { address: DATA, length: 512 }]));
      }],
      ['an avail index far ahead of the device', () => board.bus.write16(q.avail + 2, 1000)],
    ];
    for (const [name, post] of cases) {
      it(name, () => {
        const disk0 = disk.data.slice();
        board.readIsr();
        post();
        board.kick(0);
        expect(board.status & 0x40).toBe(0x40);
        expect(board.irq).toBe(true);
        expect(board.readIsr()).toBe(2); // configuration change
        expect(q.takeUsed()).toEqual([]);
        expect(Buffer.compare(disk.data, disk0)).toBe(0);
        // Kicks are ignored until the driver resets the device.
        board.kick(0);
        expect(q.takeUsed()).toEqual([]);
        [q] = board.initialize(FEATURES);
        expect(board.status).toBe(15);
        expect(read(1, 512)).toEqual([513, STATUS_OK]);
      });
    }
  });
});
