/**
 * A virtio-blk device on the test board, in either place dom0 can serve it:
 * the device model and a MemoryDisk in the machine's thread, or the whole
 * device served by dom0's worker thread (core/dom0/worker/): a raw image
 * file opened there, the virtqueue processed there over the board's shared
 * RAM and page map through the grant check, kicks and completions crossing
 * as event-channel notifications (the board waits for each kick's completion,
 * as a machine on the deterministic clock does). Either way the test sees
 * the disk's bytes (`data`) and the flushes and discards that reached the
 * disk (counted where the disk is).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BlockBackend } from '../../../core/dom0/block/blockBackend.ts';
import { busRamMap } from '../../../core/dom0/grantCheck.ts';
import { DiskServedByDom0, Dom0 } from '../../../core/dom0/worker/dom0.ts';
import type { DiskOperationCounts } from '../../../core/dom0/worker/dom0Protocol.ts';
import { RemoteVirtioDevice } from '../../../core/dom0/worker/remoteDevice.ts';
import { VirtioBlk } from '../../../core/devices/virtio/virtioBlk.ts';
import { MemoryDisk, VirtioTestBoard } from './virtioTestDriver.ts';

export interface BlkTestDisk {
  /** The disk's bytes now. */
  readonly data: Uint8Array;
  readonly flushes: number;
  readonly discards: readonly [number, number][];
}

export interface BlkDiskMode {
  readonly name: string;
  setUp(): void;
  /** A test board whose virtio-blk device (GET_ID answering `serial`) serves a disk of `bytes.length` bytes holding `bytes`. */
  board(bytes: Uint8Array, readOnly: boolean, serial: string): { board: VirtioTestBoard; disk: BlkTestDisk };
  tearDown(): Promise<void>;
}

/** A backend that counts the flushes and discards passed on to `inner`. */
class Observed implements BlockBackend {
  flushes = 0;
  readonly discards: [number, number][] = [];
  constructor(private readonly inner: BlockBackend) {}
  get format() {
    return this.inner.format;
  }
  get sizeBytes() {
    return this.inner.sizeBytes;
  }
  get readOnly() {
    return this.inner.readOnly;
  }
  read(offset: number, dest: Uint8Array): void {
    this.inner.read(offset, dest);
  }
  write(offset: number, src: Uint8Array): void {
    this.inner.write(offset, src);
  }
  flush(): void {
    this.flushes++;
    this.inner.flush();
  }
  discard(offset: number, length: number): void {
    this.discards.push([offset, length]);
    this.inner.discard(offset, length);
  }
  close(): void {
    this.inner.close();
  }
}

function testDisk(backend: Observed, data: () => Uint8Array): BlkTestDisk {
  return {
    get data() {
      return data();
    },
    get flushes() {
      return backend.flushes;
    },
    get discards() {
      return backend.discards;
    },
  };
}

export const inMachineThread: BlkDiskMode = {
  name: 'the disk in the machine\'s thread',
  setUp() {},
  board(bytes, readOnly, serial) {
    const disk = new MemoryDisk(bytes.length, readOnly);
    disk.data.set(bytes);
    const observed = new Observed(disk);
    return { board: new VirtioTestBoard(new VirtioBlk(observed, { serial })), disk: testDisk(observed, () => disk.data) };
  },
  async tearDown() {},
};

/**
 * dom0's worker holds two raw images of `sizeBytes` (one read-only) and
 * serves the board's virtio-blk over one of them; each board() starts a dom0
 * for its board (dom0 gets that board's RAM) after rewriting the image.
 */
export function inDom0Worker(sizeBytes: number): BlkDiskMode {
  let dir = '';
  let dom0: Dom0 | null = null;
  const stopping: Promise<void>[] = [];
  const path = (readOnly: boolean) => join(dir, readOnly ? 'ro.raw' : 'rw.raw');
  return {
    name: 'the device served by dom0\'s worker thread',
    setUp() {
      dir = mkdtempSync(join(tmpdir(), 'popek-blk-dom0-'));
      writeFileSync(path(false), new Uint8Array(sizeBytes));
      writeFileSync(path(true), new Uint8Array(sizeBytes));
    },
    board(bytes, readOnly, serial) {
      if (bytes.length !== sizeBytes) throw new Error(`dom0's test disks hold ${sizeBytes} bytes`);
      if (dom0) stopping.push(dom0.stop());
      writeFileSync(path(readOnly), bytes);
      const disk = readOnly ? 1 : 0;
      let remote!: RemoteVirtioDevice;
      const board = new VirtioTestBoard((bus) => {
        const ram = busRamMap(bus);
        const d = Dom0.start([{ path: path(false), format: 'raw' }, { path: path(true), format: 'raw', readOnly: true }], {
          ram: ram.shared!,
          devices: [{ kind: 'blk', disk, serial }],
        });
        dom0 = d;
        remote = new RemoteVirtioDevice(new VirtioBlk(new DiskServedByDom0(d.disks[disk]), { serial }), d, d.devices[0], ram, true);
        return remote;
      });
      // What dom0 counted on the image, asked through the device's link.
      const operations = () => remote.statistics() as DiskOperationCounts;
      return {
        board,
        disk: {
          get data() {
            return new Uint8Array(readFileSync(path(readOnly)));
          },
          get flushes() {
            return operations().flushes;
          },
          get discards() {
            return operations().discards;
          },
        },
      };
    },
    async tearDown() {
      if (dom0) stopping.push(dom0.stop());
      await Promise.all(stopping);
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
