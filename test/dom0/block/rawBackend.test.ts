/** The raw backend: sparse creation, reads and writes against a model, read-only, range checks, discard, probing. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlockFormatError, BlockRangeError, BlockReadOnlyError, createDisk, openDisk } from '../../../core/dom0/block/blockBackend.ts';
import { SeededRandom, randomRequest } from './diskModel.ts';

describe('raw backend', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'popek-raw-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('creates a sparse file of the requested size that reads as zeros', () => {
    const file = path.join(dir, 'sparse.img');
    createDisk(file, { format: 'raw', sizeBytes: 64 * 1024 * 1024 });
    const st = fs.statSync(file);
    expect(st.size).toBe(64 * 1024 * 1024);
    expect(st.blocks * 512).toBeLessThan(1024 * 1024); // no 64 MiB of zeros on the host disk
    const disk = openDisk(file);
    expect(disk.format).toBe('raw');
    expect(disk.sizeBytes).toBe(64 * 1024 * 1024);
    expect(disk.readOnly).toBe(false);
    const buf = new Uint8Array(4096).fill(0xee);
    disk.read(10 * 1024 * 1024 + 3, buf);
    expect(buf.every((b) => b === 0)).toBe(true);
    disk.close();
  });

  it('reads back what was written at random offsets and sizes, also after reopening', () => {
    const file = path.join(dir, 'model.img');
    const size = 1024 * 1024;
    createDisk(file, { format: 'raw', sizeBytes: size });
    const model = new Uint8Array(size);
    const rng = new SeededRandom(7);
    let disk = openDisk(file);
    for (let i = 0; i < 300; i++) {
      const { offset, length } = randomRequest(rng, size, 4096);
      const data = rng.bytes(length);
      disk.write(offset, data);
      model.set(data, offset);
      const r = randomRequest(rng, size, 4096);
      const got = new Uint8Array(r.length);
      disk.read(r.offset, got);
      expect(Buffer.compare(got, model.subarray(r.offset, r.offset + r.length))).toBe(0);
    }
    disk.flush();
    disk.close();
    disk = openDisk(file, { format: 'raw' });
    const all = new Uint8Array(size);
    disk.read(0, all);
    expect(Buffer.compare(all, model)).toBe(0);
    disk.close();
    expect(Buffer.compare(fs.readFileSync(file), model)).toBe(0);
  });

  it('refuses writes and discards on a read-only disk but reads', () => {
    const file = path.join(dir, 'ro.img');
    fs.writeFileSync(file, Buffer.alloc(2048, 0x5a));
    const disk = openDisk(file, { readOnly: true });
    expect(disk.readOnly).toBe(true);
    expect(() => disk.write(0, new Uint8Array(1))).toThrow(BlockReadOnlyError);
    expect(() => disk.discard(0, 512)).toThrow(BlockReadOnlyError);
    const buf = new Uint8Array(3);
    disk.read(2045, buf);
    expect([...buf]).toEqual([0x5a, 0x5a, 0x5a]);
    disk.close();
    expect(fs.readFileSync(file).every((b) => b === 0x5a)).toBe(true);
  });

  it('throws BlockRangeError for requests outside the disk', () => {
    const file = path.join(dir, 'range.img');
    createDisk(file, { format: 'raw', sizeBytes: 4096 });
    const disk = openDisk(file);
    expect(() => disk.read(4095, new Uint8Array(2))).toThrow(BlockRangeError);
    expect(() => disk.write(4096, new Uint8Array(1))).toThrow(BlockRangeError);
    expect(() => disk.read(-1, new Uint8Array(1))).toThrow(BlockRangeError);
    expect(() => disk.discard(0, 4097)).toThrow(BlockRangeError);
    disk.read(4095, new Uint8Array(1));
    disk.close();
    expect(() => disk.read(0, new Uint8Array(1))).toThrow(/closed/);
  });

  it('discard makes the range read as zeros; a tail discard gives the space back', () => {
    const file = path.join(dir, 'discard.img');
    const size = 4 * 1024 * 1024;
    createDisk(file, { format: 'raw', sizeBytes: size });
    const disk = openDisk(file);
    disk.write(0, new Uint8Array(size).fill(0xab));
    disk.flush();
    const fullBlocks = fs.statSync(file).blocks;
    disk.discard(1000, 5000);
    disk.discard(2 * 1024 * 1024, 2 * 1024 * 1024);
    const all = new Uint8Array(size);
    disk.read(0, all);
    for (let i = 0; i < size; i += 1) {
      const expected = (i >= 1000 && i < 6000) || i >= 2 * 1024 * 1024 ? 0 : 0xab;
      if (all[i] !== expected) throw new Error(`byte ${i} is ${all[i]}, expected ${expected}`);
    }
    disk.flush();
    expect(fs.statSync(file).size).toBe(size);
    expect(fs.statSync(file).blocks).toBeLessThan(fullBlocks - 3000); // about 2 MiB (4096 blocks) freed
    disk.close();
  });

  it('probes: a file whose size is not a multiple of 512 is not a disk image', () => {
    const odd = path.join(dir, 'notes.txt');
    fs.writeFileSync(odd, 'hello\n');
    expect(() => openDisk(odd)).toThrow(BlockFormatError);
    expect(() => openDisk(odd)).toThrow(/not a disk image.*size 6 is not a non-zero multiple of 512/);
    const empty = path.join(dir, 'empty.img');
    fs.writeFileSync(empty, '');
    expect(() => openDisk(empty)).toThrow(/not a disk image/);
    expect(() => openDisk(odd, { format: 'raw' })).toThrow(/size 6/);
  });

  it('createDisk refuses bad sizes, an existing file, and a backing file for raw', () => {
    expect(() => createDisk(path.join(dir, 'a.img'), { format: 'raw', sizeBytes: 1000 })).toThrow(/not a positive multiple of 512/);
    expect(() => createDisk(path.join(dir, 'b.img'), { format: 'raw', sizeBytes: 0 })).toThrow(/not a positive multiple of 512/);
    const existing = path.join(dir, 'exists.img');
    fs.writeFileSync(existing, Buffer.alloc(512));
    expect(() => createDisk(existing, { format: 'raw', sizeBytes: 512 })).toThrow(/EEXIST/);
    expect(fs.statSync(existing).size).toBe(512);
    expect(() => createDisk(path.join(dir, 'c.img'), { format: 'raw', sizeBytes: 512, backingFile: 'exists.img' })).toThrow(/raw image cannot have a backing file/);
  });
});
