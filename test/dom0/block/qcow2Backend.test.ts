/**
 * The qcow2 backend against an in-memory model, with qemu-img as the oracle:
 * every image this backend wrote must be clean under `qemu-img check` and
 * hold the same bytes when qemu-img converts it to raw.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlockReadOnlyError, BlockRangeError, createDisk, openDisk, type BlockBackend } from '../../../core/dom0/block/blockBackend.ts';
import { SeededRandom, randomRequest } from './diskModel.ts';
import { qemuCheck, qemuImg, qemuInfo } from './qemuImg.ts';

const MiB = 1024 * 1024;
const CLUSTER = 65536;

function readAll(disk: BlockBackend): Uint8Array {
  const all = new Uint8Array(disk.sizeBytes);
  disk.read(0, all);
  return all;
}

/** The virtual disk's bytes as qemu-img sees them. */
function qemuRaw(image: string, dir: string): Uint8Array {
  const out = path.join(dir, `${path.basename(image)}.converted.raw`);
  fs.rmSync(out, { force: true });
  qemuImg(['convert', '-O', 'raw', image, out]);
  const bytes = new Uint8Array(fs.readFileSync(out));
  fs.rmSync(out);
  return bytes;
}

/** refcount_table_offset and refcount_table_clusters from the header. */
function refcountTableField(image: string): { offset: number; clusters: number } {
  const head = fs.readFileSync(image).subarray(0, 64);
  return { offset: Number(head.readBigUInt64BE(48)), clusters: head.readUInt32BE(56) };
}

function expectSame(got: Uint8Array, want: Uint8Array): void {
  expect(got.length).toBe(want.length);
  const i = got.findIndex((b, k) => b !== want[k]);
  expect(i, `first difference at byte ${i}`).toBe(-1);
}

function exerciseRandomly(disk: BlockBackend, model: Uint8Array, seed: number, rounds: number, clusterSize = CLUSTER): void {
  const rng = new SeededRandom(seed);
  for (let i = 0; i < rounds; i++) {
    const w = randomRequest(rng, model.length, clusterSize);
    const data = rng.bytes(w.length);
    disk.write(w.offset, data);
    model.set(data, w.offset);
    const r = randomRequest(rng, model.length, clusterSize);
    const got = new Uint8Array(r.length);
    disk.read(r.offset, got);
    expectSame(got, model.subarray(r.offset, r.offset + r.length));
  }
}

describe('qcow2 backend', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'popek-qcow2-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('creates a version 3 image that qemu-img accepts, with the requested size', () => {
    const file = path.join(dir, 'new.qcow2');
    createDisk(file, { format: 'qcow2', sizeBytes: 2 * 1024 * MiB });
    const info = qemuInfo(file);
    expect(info.format).toBe('qcow2');
    expect(info['virtual-size']).toBe(2 * 1024 * MiB);
    expect(info['format-specific']?.data?.compat).toBe('1.1');
    expect(info['backing-filename']).toBeUndefined();
    expect(qemuCheck(file)).toEqual({ status: 0, corruptions: 0, leaks: 0, checkErrors: 0 });
    const disk = openDisk(file);
    expect(disk.format).toBe('qcow2');
    expect(disk.sizeBytes).toBe(2 * 1024 * MiB);
    const buf = new Uint8Array(3 * CLUSTER).fill(1);
    disk.read(1024 * MiB - CLUSTER - 7, buf);
    expect(buf.every((b) => b === 0)).toBe(true); // sparse reads as zeros
    disk.close();
  });

  it('reads back random writes (unaligned, cluster-crossing), after reopening too, and qemu-img agrees', () => {
    const file = path.join(dir, 'random.qcow2');
    const size = 8 * MiB;
    createDisk(file, { format: 'qcow2', sizeBytes: size });
    const model = new Uint8Array(size);
    let disk = openDisk(file);
    exerciseRandomly(disk, model, 11, 400);
    disk.flush();
    disk.close();
    disk = openDisk(file);
    expectSame(readAll(disk), model);
    exerciseRandomly(disk, model, 12, 100);
    disk.close();
    expect(qemuCheck(file)).toEqual({ status: 0, corruptions: 0, leaks: 0, checkErrors: 0 });
    expectSame(qemuRaw(file, dir), model);
  });

  it('an overlay reads its base (raw or qcow2) where it has not written, zeros past the base, and never writes the base', () => {
    for (const baseFormat of ['raw', 'qcow2'] as const) {
      const base = path.join(dir, `base.${baseFormat}`);
      const overlay = path.join(dir, `overlay-on-${baseFormat}.qcow2`);
      const baseSize = 3 * MiB + 512; // smaller than the overlay, not cluster-aligned
      createDisk(base, { format: baseFormat, sizeBytes: baseSize });
      const model = new Uint8Array(6 * MiB);
      const b = openDisk(base);
      exerciseRandomly(b, model.subarray(0, baseSize), 21, 60);
      b.close();
      const baseBytesBefore = fs.readFileSync(base);

      createDisk(overlay, { format: 'qcow2', sizeBytes: model.length, backingFile: path.basename(base) });
      const info = qemuInfo(overlay);
      expect(info['backing-filename']).toBe(path.basename(base));
      expect(info['backing-filename-format']).toBe(baseFormat);
      expect(info['virtual-size']).toBe(6 * MiB);

      const o = openDisk(overlay);
      expectSame(readAll(o), model);
      exerciseRandomly(o, model, 22, 200);
      // A small write in a cluster that straddles the base's end: the rest comes from the base, then zeros.
      o.write(baseSize - 10, new Uint8Array([1, 2, 3]));
      model.set([1, 2, 3], baseSize - 10);
      o.close();
      expect(Buffer.compare(fs.readFileSync(base), baseBytesBefore)).toBe(0);
      const again = openDisk(overlay, { readOnly: true });
      expectSame(readAll(again), model);
      again.close();
      expect(qemuCheck(overlay)).toEqual({ status: 0, corruptions: 0, leaks: 0, checkErrors: 0 });
      expectSame(qemuRaw(overlay, dir), model);
    }
  });

  it('refuses writes and discards when read-only, and requests outside the disk', () => {
    const file = path.join(dir, 'ro.qcow2');
    createDisk(file, { format: 'qcow2', sizeBytes: MiB });
    const w = openDisk(file);
    w.write(100, new Uint8Array([7]));
    w.close();
    const before = fs.readFileSync(file);
    const disk = openDisk(file, { readOnly: true });
    expect(disk.readOnly).toBe(true);
    expect(() => disk.write(0, new Uint8Array(1))).toThrow(BlockReadOnlyError);
    expect(() => disk.discard(0, CLUSTER)).toThrow(BlockReadOnlyError);
    expect(() => disk.read(MiB - 1, new Uint8Array(2))).toThrow(BlockRangeError);
    const one = new Uint8Array(1);
    disk.read(100, one);
    expect(one[0]).toBe(7);
    disk.close();
    expect(Buffer.compare(fs.readFileSync(file), before)).toBe(0);
  });

  it('discard deallocates whole clusters (reused later), zeroes partial ones; with a backing file the range reads as zeros', () => {
    const base = path.join(dir, 'discard-base.raw');
    fs.writeFileSync(base, Buffer.alloc(2 * MiB, 0x77));
    for (const backing of [undefined, path.basename(base)]) {
      const file = path.join(dir, `discard-${backing ? 'overlay' : 'plain'}.qcow2`);
      createDisk(file, { format: 'qcow2', sizeBytes: 2 * MiB, backingFile: backing });
      const model = new Uint8Array(2 * MiB).fill(backing ? 0x77 : 0);
      const disk = openDisk(file);
      disk.write(0, new Uint8Array(2 * MiB).fill(0x11));
      model.fill(0x11);
      const sizeAfterWrite = fs.statSync(file).size;
      disk.discard(CLUSTER - 100, 4 * CLUSTER + 200); // partial, 4 whole, partial
      model.fill(0, CLUSTER - 100, 5 * CLUSTER + 100);
      expectSame(readAll(disk), model);
      disk.write(20 * CLUSTER, new Uint8Array(CLUSTER).fill(0x22)); // already allocated: in place
      model.fill(0x22, 20 * CLUSTER, 21 * CLUSTER);
      disk.discard(2 * CLUSTER, CLUSTER); // already discarded: stays zero
      disk.write(3 * CLUSTER + 5, new Uint8Array([9])); // reallocates a freed cluster
      model[3 * CLUSTER + 5] = 9;
      disk.close();
      expect(fs.statSync(file).size).toBe(sizeAfterWrite); // the freed cluster was reused, the file did not grow
      expect(qemuCheck(file)).toEqual({ status: 0, corruptions: 0, leaks: 0, checkErrors: 0 });
      expectSame(qemuRaw(file, dir), model);
      const re = openDisk(file);
      expectSame(readAll(re), model);
      re.close();
    }
  });

  it('grows refcount blocks and the refcount table (512-byte clusters, 64-bit refcounts) and stays clean', () => {
    const file = path.join(dir, 'small-clusters.qcow2');
    qemuImg(['create', '-q', '-f', 'qcow2', '-o', 'cluster_size=512,refcount_bits=64', file, '4M']);
    // One refcount block counts 64 clusters (32 KiB); one table cluster names 64 blocks (2 MiB of file).
    const tableBefore = refcountTableField(file);
    const model = new Uint8Array(4 * MiB);
    const disk = openDisk(file);
    const rng = new SeededRandom(31);
    for (let at = 0; at < model.length; ) {
      const n = Math.min(1 + rng.below(3000), model.length - at);
      const data = rng.bytes(n);
      disk.write(at, data);
      model.set(data, at);
      at += n;
    }
    disk.close();
    expect(fs.statSync(file).size).toBeGreaterThan(4 * MiB);
    const tableAfter = refcountTableField(file);
    expect(tableAfter.clusters).toBeGreaterThan(tableBefore.clusters); // the table moved and grew
    expect(tableAfter.offset).not.toBe(tableBefore.offset);
    expect(qemuCheck(file)).toEqual({ status: 0, corruptions: 0, leaks: 0, checkErrors: 0 });
    expectSame(qemuRaw(file, dir), model);
    const re = openDisk(file, { readOnly: true });
    expectSame(readAll(re), model);
    re.close();
  });

  it('handles sub-byte refcounts (refcount_bits=1) and 2 MiB clusters', () => {
    for (const opts of ['cluster_size=4096,refcount_bits=1', 'cluster_size=2M,refcount_bits=8']) {
      const file = path.join(dir, `opts-${opts.replace(/[=,]/g, '_')}.qcow2`);
      qemuImg(['create', '-q', '-f', 'qcow2', '-o', opts, file, '8M']);
      const model = new Uint8Array(8 * MiB);
      const disk = openDisk(file);
      exerciseRandomly(disk, model, 41, opts.includes('2M') ? 40 : 150, opts.includes('2M') ? 2 * MiB : 4096);
      disk.close();
      expect(qemuCheck(file)).toEqual({ status: 0, corruptions: 0, leaks: 0, checkErrors: 0 });
      expectSame(qemuRaw(file, dir), model);
    }
  });
});
