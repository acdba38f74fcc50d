/**
 * The disk under a virtio-blk device model in the device tests, in either
 * place dom0 can hold it: a MemoryDisk in the machine's thread, or a raw
 * image file held by dom0's worker thread (core/dom0/worker/) and reached
 * through its ring and event channels. Either way the test sees the disk's
 * bytes (`data`) and the flushes and discards the device model asked for
 * (counted on the machine's side of the boundary).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BlockBackend } from '../../../core/dom0/block/blockBackend.ts';
import { Dom0 } from '../../../core/dom0/worker/dom0.ts';
import { MemoryDisk } from './virtioTestDriver.ts';

export interface BlkTestDisk {
  readonly backend: BlockBackend;
  /** The disk's bytes now. */
  readonly data: Uint8Array;
  readonly flushes: number;
  readonly discards: readonly [number, number][];
}

export interface BlkDiskMode {
  readonly name: string;
  setUp(): void;
  /** A disk of `bytes.length` bytes holding `bytes`. */
  disk(bytes: Uint8Array, readOnly: boolean): BlkTestDisk;
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
    backend,
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
  disk(bytes, readOnly) {
    const disk = new MemoryDisk(bytes.length, readOnly);
    disk.data.set(bytes);
    return testDisk(new Observed(disk), () => disk.data);
  },
  async tearDown() {},
};

/** dom0's worker holds two raw images of `sizeBytes` (one read-only); each disk() rewrites one in place. */
export function inDom0Worker(sizeBytes: number): BlkDiskMode {
  let dir = '';
  let dom0: Dom0 | null = null;
  const path = (readOnly: boolean) => join(dir, readOnly ? 'ro.raw' : 'rw.raw');
  return {
    name: 'the disk held by dom0\'s worker thread',
    setUp() {
      dir = mkdtempSync(join(tmpdir(), 'popek-blk-dom0-'));
      writeFileSync(path(false), new Uint8Array(sizeBytes));
      writeFileSync(path(true), new Uint8Array(sizeBytes));
      dom0 = Dom0.start([{ path: path(false), format: 'raw' }, { path: path(true), format: 'raw', readOnly: true }]);
    },
    disk(bytes, readOnly) {
      if (bytes.length !== sizeBytes) throw new Error(`dom0's test disks hold ${sizeBytes} bytes`);
      writeFileSync(path(readOnly), bytes);
      return testDisk(new Observed(dom0!.backends[readOnly ? 1 : 0]), () => new Uint8Array(readFileSync(path(readOnly))));
    },
    async tearDown() {
      await dom0?.stop();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
