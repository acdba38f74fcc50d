/**
 * dom0 in its own worker thread holding the disks: it opens the image files
 * (raw and qcow2, read-only ones) and reports each one's geometry, which is
 * all the machine's thread knows of a disk (its virtio-blk configuration
 * space); the disk's I/O is dom0's alone (its virtqueues are served there:
 * test/devices/virtio/virtioBlk.test.ts), so a block call from the machine's
 * thread is refused. An image dom0 cannot open stops the start with dom0's
 * reason.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDisk } from '../../core/dom0/block/blockBackend.ts';
import { DiskServedByDom0, Dom0, Dom0Error } from '../../core/dom0/worker/dom0.ts';
import { VirtioBlk } from '../../core/devices/virtio/virtioBlk.ts';

const MiB = 1024 * 1024;

describe('dom0 in a worker thread holding the disks', () => {
  let dir: string;
  let dom0: Dom0;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'popek-dom0-'));
    writeFileSync(join(dir, 'a.raw'), new Uint8Array(4 * MiB));
    createDisk(join(dir, 'b.qcow2'), { format: 'qcow2', sizeBytes: 8 * MiB });
    writeFileSync(join(dir, 'ro.raw'), new Uint8Array(MiB));
    dom0 = Dom0.start([{ path: join(dir, 'a.raw') }, { path: join(dir, 'b.qcow2'), format: 'qcow2' }, { path: join(dir, 'ro.raw'), readOnly: true }]);
  }, 60_000);

  afterAll(async () => {
    await dom0?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('reports each disk as dom0 opened it', () => {
    expect(dom0.disks).toEqual([
      { format: 'raw', sizeBytes: 4 * MiB, readOnly: false },
      { format: 'qcow2', sizeBytes: 8 * MiB, readOnly: false },
      { format: 'raw', sizeBytes: MiB, readOnly: true },
    ]);
  });

  it('gives the device model in the machine\'s thread the disk\'s geometry and no I/O', () => {
    const disk = new DiskServedByDom0(dom0.disks[2]);
    const blk = new VirtioBlk(disk, { serial: 'dom0-vdc' });
    expect(blk.readConfig(0, 4)).toBe(MiB / 512); // capacity in sectors
    expect(() => disk.read(0, new Uint8Array(512))).toThrow(Dom0Error);
    expect(() => disk.write(0, new Uint8Array(512))).toThrow('this disk\'s I/O is dom0\'s: its virtqueues are served there');
    expect(() => disk.flush()).toThrow(Dom0Error);
  });

  it('refuses to start on an image it cannot open, with dom0\'s reason', () => {
    let error: unknown = null;
    try {
      Dom0.start([{ path: join(dir, 'missing.raw') }]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(Dom0Error);
    expect((error as Error).message).toMatch(/^disk 1 \(.*missing\.raw\): /);
  }, 60_000);
});
