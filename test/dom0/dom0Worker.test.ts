/**
 * dom0 in its own worker thread, first step: the image files are opened and
 * read and written by dom0's thread; the machine's thread reaches them only
 * through each disk's ring in shared memory and its event-channel ports
 * (request and completion pending bits, Atomics.wait / notify). A
 * virtio-blk device model over such a disk serves a driver's reads and
 * writes unchanged; dom0's refusals (range, read-only) come back as the
 * backend's own errors, so the guest sees the same status as with a local
 * image.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDisk, openDisk } from '../../core/dom0/block/blockBackend.ts';
import { BlockRangeError, BlockReadOnlyError } from '../../core/dom0/block/blockErrors.ts';
import { Dom0, Dom0Error } from '../../core/dom0/worker/dom0.ts';
import { DATA_BYTES } from '../../core/dom0/worker/blockRing.ts';
import { VirtioBlk, VIRTIO_BLK_F_FLUSH } from '../../core/devices/virtio/virtioBlk.ts';
import { F_VERSION_1 } from '../../core/devices/virtio/virtioConstants.ts';
import { VirtioTestBoard } from '../devices/virtio/virtioTestDriver.ts';

const MiB = 1024 * 1024;
const pattern = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 13 + seed + (i >>> 12)) & 0xff);

describe('dom0 in a worker thread holding the block backends', () => {
  let dir: string;
  let dom0: Dom0;
  let rawPath: string;
  let qcowPath: string;
  const raw = pattern(4 * MiB, 1);

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'popek-dom0-'));
    rawPath = join(dir, 'a.raw');
    writeFileSync(rawPath, raw);
    qcowPath = join(dir, 'b.qcow2');
    createDisk(qcowPath, { format: 'qcow2', sizeBytes: 8 * MiB });
    writeFileSync(join(dir, 'ro.raw'), new Uint8Array(MiB));
    dom0 = Dom0.start([{ path: rawPath }, { path: qcowPath, format: 'qcow2' }, { path: join(dir, 'ro.raw'), readOnly: true }]);
  }, 60_000);

  afterAll(async () => {
    await dom0?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('reports each disk as dom0 opened it', () => {
    expect(dom0.backends.map((b) => [b.format, b.sizeBytes, b.readOnly])).toEqual([
      ['raw', 4 * MiB, false],
      ['qcow2', 8 * MiB, false],
      ['raw', MiB, true],
    ]);
  });

  it('reads and writes raw and qcow2 images through the rings, longer requests split at the data area', () => {
    const [a, b] = dom0.backends;
    const got = new Uint8Array(DATA_BYTES + 8192);
    a.read(MiB - 4096, got);
    expect(Buffer.compare(got, raw.subarray(MiB - 4096, MiB - 4096 + got.length))).toBe(0);
    const data = pattern(DATA_BYTES + 512, 9);
    b.write(3 * MiB + 512, data);
    b.flush();
    const back = new Uint8Array(data.length);
    b.read(3 * MiB + 512, back);
    expect(Buffer.compare(back, data)).toBe(0);
    // On the file: what a local backend opened afterwards reads.
    const local = openDisk(qcowPath, { readOnly: true });
    const check = new Uint8Array(data.length);
    local.read(3 * MiB + 512, check);
    local.close();
    expect(Buffer.compare(check, data)).toBe(0);
    a.write(0, pattern(512, 5));
    a.flush();
    expect(Buffer.compare(readFileSync(rawPath).subarray(0, 512), pattern(512, 5))).toBe(0);
  });

  it('returns dom0\'s refusals as the backend errors, and keeps serving', () => {
    const [a, , ro] = dom0.backends;
    expect(() => a.read(4 * MiB - 512, new Uint8Array(1024))).toThrow(BlockRangeError);
    expect(() => ro.write(0, new Uint8Array(512))).toThrow(BlockReadOnlyError);
    const one = new Uint8Array(512);
    a.read(512, one);
    expect(Buffer.compare(one, raw.subarray(512, 1024))).toBe(0);
  });

  it('serves a virtio-blk device model unchanged: a driver\'s write and read of the qcow2 disk', () => {
    const board = new VirtioTestBoard(new VirtioBlk(dom0.backends[1], { serial: 'dom0-vdb' }));
    board.assignResources();
    board.locate();
    const [q] = board.initialize(F_VERSION_1 | VIRTIO_BLK_F_FLUSH);
    const header = (type: number, sector: number) => {
      board.bus.write32(0x20000, type);
      board.bus.write32(0x20004, 0);
      board.bus.write32(0x20008, sector);
      board.bus.write32(0x2000c, 0);
      board.bus.write8(0x30000, 0xff);
    };
    const data = pattern(8192, 77);
    board.bus.u8.set(data, 0x21000);
    header(1, 100); // OUT
    q.post(q.writeChain([{ address: 0x20000, length: 16 }, { address: 0x21000, length: 8192 }, { address: 0x30000, length: 1, write: true }]));
    board.kick(0);
    expect(q.takeUsed()).toEqual([[0, 1]]);
    expect(board.bus.read8(0x30000)).toBe(0);
    board.bus.u8.fill(0, 0x24000, 0x26000);
    header(0, 100); // IN
    q.post(q.writeChain([{ address: 0x20000, length: 16 }, { address: 0x24000, length: 8192, write: true }, { address: 0x30000, length: 1, write: true }]));
    board.kick(0);
    expect(q.takeUsed()).toEqual([[3, 8193]]); // the second chain starts at descriptor 3
    expect(board.bus.read8(0x30000)).toBe(0);
    expect(Buffer.compare(board.bus.u8.subarray(0x24000, 0x26000), data)).toBe(0);
    expect(board.fn.counters.requests).toBe(2);
  });

  it('refuses to start on an image it cannot open, with dom0\'s reason', () => {
    let error: unknown = null;
    try {
      Dom0.start([{ path: join(dir, 'missing.raw') }]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(Dom0Error);
    expect((error as Error).message).toMatch(/missing\.raw/);
  }, 60_000);
});
