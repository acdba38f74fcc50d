/** Images written by QEMU (qemu-img, qemu-io) read and write correctly through the qcow2 backend. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDisk } from '../../../core/dom0/block/blockBackend.ts';
import { qemuCheck, qemuImg, qemuIo } from './qemuImg.ts';

const MiB = 1024 * 1024;

describe('qcow2 images made by QEMU', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'popek-qemu-made-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** A raw file with a recognisable pattern and holes. */
  function patternRaw(file: string, size: number): Uint8Array {
    const bytes = new Uint8Array(size);
    for (let i = 0; i < size; i += 1) if ((i >> 16) % 3 !== 1) bytes[i] = (i * 31 + (i >> 9)) & 0xff;
    fs.writeFileSync(file, bytes);
    return bytes;
  }

  it('reads a qcow2 v3 image converted by qemu-img from raw, zero clusters included', () => {
    const raw = path.join(dir, 'pattern.raw');
    const want = patternRaw(raw, 4 * MiB);
    const image = path.join(dir, 'converted.qcow2');
    qemuImg(['convert', '-q', '-f', 'raw', '-O', 'qcow2', '-o', 'compat=1.1', raw, image]);
    qemuIo(image, 'qcow2', ['write -z 3M 128k']); // an all-zero cluster (v3 zero flag)
    want.fill(0, 3 * MiB, 3 * MiB + 128 * 1024);
    const disk = openDisk(image);
    expect(disk.format).toBe('qcow2');
    expect(disk.sizeBytes).toBe(4 * MiB);
    const got = new Uint8Array(4 * MiB);
    disk.read(0, got);
    expect(Buffer.compare(got, want)).toBe(0);
    // Write over the zero cluster and elsewhere, then qemu-io must read what we wrote.
    disk.write(3 * MiB + 1000, new Uint8Array(70000).fill(0xc3));
    disk.close();
    expect(qemuCheck(image).corruptions).toBe(0);
    expect(qemuCheck(image).leaks).toBe(0);
    qemuIo(image, 'qcow2', ['read -P 0xc3 3146728 70000', 'read -P 0 3145728 1000']);
  });

  it('reads and writes a version 2 (compat=0.10) image, discard included, and qemu-img finds it clean', () => {
    const base = path.join(dir, 'v2-base.raw');
    fs.writeFileSync(base, Buffer.alloc(MiB, 0x5e));
    const image = path.join(dir, 'v2.qcow2');
    qemuImg(['create', '-q', '-f', 'qcow2', '-o', 'compat=0.10', '-b', 'v2-base.raw', '-F', 'raw', image, '2M']);
    qemuIo(image, 'qcow2', ['write -P 0x61 64k 64k']);
    const disk = openDisk(image);
    const got = new Uint8Array(2 * MiB);
    disk.read(0, got);
    const model = new Uint8Array(2 * MiB);
    model.fill(0x5e, 0, MiB);
    model.fill(0x61, 65536, 131072);
    expect(Buffer.compare(got, model)).toBe(0);
    disk.write(300_000, new Uint8Array(5000).fill(0x62));
    disk.discard(65536, 65536); // no zero flag in version 2: zeros are written over the backing data
    disk.close();
    expect(qemuCheck(image)).toEqual({ status: 0, corruptions: 0, leaks: 0, checkErrors: 0 });
    qemuIo(image, 'qcow2', ['read -P 0 64k 64k', 'read -P 0x62 300000 5000', 'read -P 0x5e 0 64k', 'read -P 0 1M 1M']);
  });

  it('reads a qcow2 overlay made by qemu-img on a raw base, with data qemu-io wrote into the overlay', () => {
    const base = path.join(dir, 'base.raw');
    const want = patternRaw(base, 2 * MiB);
    const overlay = path.join(dir, 'overlay.qcow2');
    qemuImg(['create', '-q', '-f', 'qcow2', '-b', 'base.raw', '-F', 'raw', overlay, '3M']);
    qemuIo(overlay, 'qcow2', ['write -P 0xab 1000 5000', 'write -P 0xcd 2047k 4k']);
    const model = new Uint8Array(3 * MiB);
    model.set(want);
    model.fill(0xab, 1000, 6000);
    model.fill(0xcd, 2047 * 1024, 2051 * 1024);
    const disk = openDisk(overlay, { readOnly: true });
    expect(disk.sizeBytes).toBe(3 * MiB);
    const got = new Uint8Array(3 * MiB);
    disk.read(0, got);
    expect(Buffer.compare(got, model)).toBe(0);
    disk.close();
  });

  it('reads a qcow2 overlay on a qcow2 base, both made by qemu-img, and writes into it cleanly', () => {
    const base = path.join(dir, 'base2.qcow2');
    qemuImg(['create', '-q', '-f', 'qcow2', base, '4M']);
    qemuIo(base, 'qcow2', ['write -P 0x11 0 1M', 'write -P 0x22 3M 64k']);
    const overlay = path.join(dir, 'overlay2.qcow2');
    qemuImg(['create', '-q', '-f', 'qcow2', '-b', base, '-F', 'qcow2', overlay]);
    qemuIo(overlay, 'qcow2', ['write -P 0x33 512k 100k']);
    const disk = openDisk(overlay);
    expect(disk.sizeBytes).toBe(4 * MiB);
    const got = new Uint8Array(4 * MiB);
    disk.read(0, got);
    const model = new Uint8Array(4 * MiB);
    model.fill(0x11, 0, MiB);
    model.fill(0x22, 3 * MiB, 3 * MiB + 65536);
    model.fill(0x33, 512 * 1024, 612 * 1024);
    expect(Buffer.compare(got, model)).toBe(0);
    disk.write(3 * MiB + 100, new Uint8Array(10).fill(0x44));
    disk.close();
    expect(qemuCheck(overlay)).toEqual({ status: 0, corruptions: 0, leaks: 0, checkErrors: 0 });
    qemuIo(overlay, 'qcow2', ['read -P 0x22 3M 100', 'read -P 0x44 3145828 10', 'read -P 0x22 3145838 65426']);
    qemuIo(base, 'qcow2', ['read -P 0x22 3145828 10']); // the base is untouched
  });
});
