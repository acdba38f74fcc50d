/**
 * Hostile and damaged qcow2 images: every one gets a BlockFormatError that
 * says what is wrong (at open, or at the request that touches the bad
 * metadata), never a crash, a hang, or a write over metadata.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlockFormatError, createDisk, openDisk } from '../../../core/dom0/block/blockBackend.ts';
import { qemuImg } from './qemuImg.ts';

const CLUSTER = 65536;
// Our creator's layout: header, refcount table, refcount block, L1 table.
const L1_AT = 3 * CLUSTER;

describe('hostile qcow2 images', () => {
  let dir: string;
  let n = 0;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'popek-hostile-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** A fresh valid image (one data cluster written at guest offset 0), then `damage` applied to its bytes. */
  function image(damage: (b: Buffer) => void): string {
    const file = path.join(dir, `img${n++}.qcow2`);
    createDisk(file, { format: 'qcow2', sizeBytes: 16 * 1024 * 1024 });
    const d = openDisk(file);
    d.write(0, new Uint8Array(CLUSTER).fill(0x5c));
    d.close();
    const bytes = fs.readFileSync(file);
    damage(bytes);
    fs.writeFileSync(file, bytes);
    return file;
  }

  function expectOpenFails(file: string, message: RegExp, opts: { readOnly?: boolean } = {}): void {
    let error: unknown;
    try {
      openDisk(file, opts).close();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(BlockFormatError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toContain(file);
  }

  function expectReadFails(file: string, message: RegExp): void {
    const disk = openDisk(file);
    let error: unknown;
    try {
      disk.read(0, new Uint8Array(512));
    } catch (e) {
      error = e;
    }
    disk.close();
    expect(error).toBeInstanceOf(BlockFormatError);
    expect((error as Error).message).toMatch(message);
  }

  it('refuses bad header fields', () => {
    expectOpenFails(image((b) => b.writeUInt32BE(4, 4)), /version 4/);
    expectOpenFails(image((b) => b.writeUInt32BE(30, 20)), /cluster_bits 30 outside 9\.\.21/);
    expectOpenFails(image((b) => b.writeUInt32BE(2, 32)), /encrypted \(crypt_method 2\)/);
    expectOpenFails(image((b) => b.writeBigUInt64BE(1n << 40n, 72)), /unknown incompatible features 0x10000000000/);
    expectOpenFails(image((b) => b.writeBigUInt64BE(1n << 2n, 72)), /external data file/);
    expectOpenFails(image((b) => b.writeBigUInt64BE(1n << 4n, 72)), /extended L2 entries/);
    expectOpenFails(image((b) => b.writeUInt32BE(7, 96)), /refcount_order 7/);
    expectOpenFails(image((b) => b.writeUInt32BE(100, 100)), /header_length 100/);
    expectOpenFails(image((b) => b.writeBigUInt64BE(1n << 60n, 24)), /absurd virtual size/);
    expectOpenFails(image((b) => b.writeBigUInt64BE(16n * 1024n * 1024n + 1n, 24)), /not a multiple of 512/);
    expectOpenFails(image((b) => b.writeBigUInt64BE(1n << 50n, 24)), /L1 table \(1 entries\) too small/);
    expectOpenFails(image((b) => b.writeUInt32BE(0xffffffff, 36)), /absurdly large/);
    expectOpenFails(image((b) => b.writeUInt32BE(0x100000, 56)), /refcount table of 1048576 clusters is absurdly large/);
  });

  it('refuses tables that point past the end of the file or are misaligned', () => {
    expectOpenFails(image((b) => b.writeBigUInt64BE(1n << 40n, 40)), /L1 table .* reaches past the end of the file/);
    expectOpenFails(image((b) => b.writeBigUInt64BE(BigInt(L1_AT + 8), 40)), /L1 table offset \d+ is not a non-zero cluster boundary/);
    expectOpenFails(image((b) => b.writeBigUInt64BE(1n << 40n, 48)), /refcount table .* reaches past the end of the file/);
    expectOpenFails(image((b) => b.writeBigUInt64BE(0n, 48)), /refcount table offset 0/);
    expectOpenFails(image((b) => b.writeBigUInt64BE(0xffffffffffffffffn, CLUSTER)), /refcount table entry 0 is malformed/);
    expectReadFails(image((b) => b.writeBigUInt64BE((1n << 63n) | (1n << 40n), L1_AT)), /L2 table at \d+ lies past the end of the file/);
    expectReadFails(image((b) => b.writeBigUInt64BE((1n << 63n) | 0x1234n * 512n, L1_AT)), /L2 table offset \d+ is not a non-zero cluster boundary/);
    expectReadFails(image((b) => b.writeBigUInt64BE((1n << 63n) | 3n, L1_AT)), /L1 entry 0 has reserved bits set/);
  });

  it('refuses metadata that points into other metadata (loops through the tables)', () => {
    // The L1 entry names the L1 table itself as its L2 table.
    expectReadFails(image((b) => b.writeBigUInt64BE((1n << 63n) | BigInt(L1_AT), L1_AT)), /L2 table at \d+ overlaps the L1 table/);
    // The first data cluster is the header.
    const l2Of = (b: Buffer): number => Number(b.readBigUInt64BE(L1_AT) & 0x00fffffffffffe00n);
    expectReadFails(image((b) => b.writeBigUInt64BE((1n << 63n) | BigInt(CLUSTER), l2Of(b))), /data cluster at 65536 overlaps the refcount table/);
    expectReadFails(image((b) => b.writeBigUInt64BE(1n << 63n, l2Of(b))), /marked copied but has no cluster/);
    expectReadFails(image((b) => b.writeBigUInt64BE((1n << 63n) | (1n << 45n), l2Of(b))), /data cluster at \d+ lies past the end of the file/);
    // The refcount table names the L1 table as a refcount block: found when a write needs a refcount.
    const file = image((b) => b.writeBigUInt64BE(BigInt(L1_AT), CLUSTER)); // refcount block "at" the L1 table
    const disk = openDisk(file);
    expect(() => disk.write(5 * 1024 * 1024, new Uint8Array(1))).toThrow(/refcount block at \d+ overlaps the L1 table/);
    disk.close();
  });

  it('never allocates over the L1 table, an L2 table or a refcount block, even where a damaged image counts them 0', () => {
    // Refcount block at cluster 2 (16-bit entries): zero the counts of cluster 2 (itself), 3 (the L1 table)
    // and 4 (the L2 table of guest offset 0; its data cluster, 5, keeps its count).
    const file = image((b) => {
      b.writeUInt32BE(0, 2 * CLUSTER + 4);
      b.writeUInt16BE(0, 2 * CLUSTER + 8);
    });
    const disk = openDisk(file);
    disk.write(8 * 1024 * 1024, new Uint8Array(3 * CLUSTER).fill(0x77)); // needs a new L2 table and data clusters
    disk.close();
    const again = openDisk(file, { readOnly: true });
    const first = new Uint8Array(CLUSTER);
    again.read(0, first);
    expect(first.every((b) => b === 0x5c)).toBe(true);
    const second = new Uint8Array(3 * CLUSTER);
    again.read(8 * 1024 * 1024, second);
    expect(second.every((b) => b === 0x77)).toBe(true);
    again.close();
  });

  it('refuses a header extension area that does not end inside the first cluster', () => {
    expectOpenFails(image((b) => {
      for (let at = 112; at < CLUSTER; at += 8) {
        b.writeUInt32BE(0x12345678, at);
        b.writeUInt32BE(0, at + 4);
      }
    }), /header extension area is not terminated/);
    expectOpenFails(image((b) => {
      b.writeUInt32BE(0x12345678, 112);
      b.writeUInt32BE(0x7fffffff, 116);
    }), /header extension 0x12345678 reaches past the first cluster/);
  });

  it('refuses a file too short to be a qcow2 image, and an absurd backing file name', () => {
    const short = path.join(dir, 'short.qcow2');
    fs.writeFileSync(short, Buffer.from([0x51, 0x46, 0x49, 0xfb, 0, 0, 0, 3]));
    expectOpenFails(short, /file too short for a qcow2 header/);
    expectOpenFails(image((b) => {
      b.writeBigUInt64BE(512n, 8);
      b.writeUInt32BE(5000, 16);
    }), /backing file name length 5000/);
  });

  it('refuses compressed clusters when a request touches one', () => {
    const raw = path.join(dir, 'compressible.raw');
    fs.writeFileSync(raw, Buffer.alloc(1024 * 1024, 0x61));
    const compressed = path.join(dir, 'compressed.qcow2');
    qemuImg(['convert', '-q', '-c', '-f', 'raw', '-O', 'qcow2', raw, compressed]);
    expectReadFails(compressed, /guest cluster 0 is compressed; compressed clusters are not supported/);
  });

  it('refuses backing file loops and missing backing files', () => {
    const a = path.join(dir, 'loop-a.qcow2');
    const b = path.join(dir, 'loop-b.qcow2');
    qemuImg(['create', '-q', '-u', '-f', 'qcow2', '-b', 'loop-b.qcow2', '-F', 'qcow2', a, '1M']);
    qemuImg(['create', '-q', '-u', '-f', 'qcow2', '-b', 'loop-a.qcow2', '-F', 'qcow2', b, '1M']);
    expectOpenFails(a, /backing file loop/, { readOnly: true });
    const self = path.join(dir, 'self.qcow2');
    qemuImg(['create', '-q', '-u', '-f', 'qcow2', '-b', 'self.qcow2', '-F', 'qcow2', self, '1M']);
    expectOpenFails(self, /backing file loop/);
    const orphan = path.join(dir, 'orphan.qcow2');
    qemuImg(['create', '-q', '-u', '-f', 'qcow2', '-b', 'nowhere.qcow2', '-F', 'qcow2', orphan, '1M']);
    expect(() => openDisk(orphan)).toThrow(/nowhere\.qcow2 \(backing file of .*orphan\.qcow2\): cannot open/);
    const odd = path.join(dir, 'oddformat.qcow2');
    fs.writeFileSync(path.join(dir, 'base.vmdk'), Buffer.alloc(512));
    qemuImg(['create', '-q', '-u', '-f', 'qcow2', '-b', 'base.vmdk', '-F', 'vmdk', odd, '1M']);
    expectOpenFails(odd, /backing file format 'vmdk' is not supported/);
  });

  it('opens dirty, corrupt-marked and snapshotted images read-only only', () => {
    const dirty = image((b) => b.writeBigUInt64BE(1n, 72));
    expectOpenFails(dirty, /cannot open for writing: the image is marked dirty/);
    const ro = openDisk(dirty, { readOnly: true });
    const buf = new Uint8Array(4);
    ro.read(0, buf);
    expect([...buf]).toEqual([0x5c, 0x5c, 0x5c, 0x5c]);
    ro.close();
    expectOpenFails(image((b) => b.writeBigUInt64BE(2n, 72)), /cannot open for writing: the image is marked corrupt/);
    const snap = path.join(dir, 'snap.qcow2');
    qemuImg(['create', '-q', '-f', 'qcow2', snap, '1M']);
    qemuImg(['snapshot', '-c', 'one', snap]);
    expectOpenFails(snap, /1 internal snapshot/);
    openDisk(snap, { readOnly: true }).close();
  });

  it('clears unknown auto-clear feature bits before writing, as the spec asks', () => {
    const file = image((b) => b.writeBigUInt64BE(0x8000n, 88));
    openDisk(file, { readOnly: true }).close();
    expect(fs.readFileSync(file).readBigUInt64BE(88)).toBe(0x8000n);
    openDisk(file).close();
    expect(fs.readFileSync(file).readBigUInt64BE(88)).toBe(0n);
  });
});
