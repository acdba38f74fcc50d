/** `popek disk create` as a process: real files, checked by qemu-img. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { qemuCheck, qemuInfo } from '../dom0/block/qemuImg.ts';

const POPEK = path.join(import.meta.dirname, '../../bin/popek.mjs');

function popek(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [POPEK, ...args], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('popek disk create', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'popek-disk-cli-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('creates a qcow2 image qemu-img accepts, a raw sparse image, and an overlay on it', () => {
    const q = path.join(dir, 'NAME.qcow2');
    let r = popek(['disk', 'create', q, '--size', '2G']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`created ${q}: qcow2, 2 GiB\n`);
    expect(r.status).toBe(0);
    expect(qemuInfo(q)).toMatchObject({ format: 'qcow2', 'virtual-size': 2 ** 31 });
    expect(qemuCheck(q).status).toBe(0);

    const raw = path.join(dir, 'base.img');
    r = popek(['disk', 'create', raw, '--size', '64M']);
    expect(r.stdout).toBe(`created ${raw}: raw, 64 MiB\n`);
    expect(r.status).toBe(0);
    expect(fs.statSync(raw).size).toBe(64 * 2 ** 20);
    expect(qemuInfo(raw)).toMatchObject({ format: 'raw', 'virtual-size': 64 * 2 ** 20 });

    const overlay = path.join(dir, 'overlay.qcow2');
    r = popek(['disk', 'create', overlay, '--backing', 'base.img']);
    expect(r.stdout).toBe(`created ${overlay}: qcow2, 64 MiB, backing file base.img (raw, 64 MiB)\n`);
    expect(r.status).toBe(0);
    expect(qemuInfo(overlay)).toMatchObject({ 'virtual-size': 64 * 2 ** 20, 'backing-filename': 'base.img', 'backing-filename-format': 'raw' });
    expect(qemuCheck(overlay).status).toBe(0);
  });

  it('exits 1 with a clear message: existing file, missing backing file, bad size', () => {
    const existing = path.join(dir, 'exists.qcow2');
    fs.writeFileSync(existing, 'keep me');
    let r = popek(['disk', 'create', existing, '--size', '1G']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^popek disk: EEXIST: file already exists/);
    expect(fs.readFileSync(existing, 'utf8')).toBe('keep me');

    r = popek(['disk', 'create', path.join(dir, 'o.qcow2'), '--backing', 'missing.qcow2']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^popek disk: .*missing\.qcow2: cannot open: ENOENT/);
    expect(fs.existsSync(path.join(dir, 'o.qcow2'))).toBe(false);

    r = popek(['disk', 'create', path.join(dir, 'x.qcow2'), '--size', '1000']);
    expect(r.status).toBe(1);
    expect(r.stderr.split('\n')[0]).toBe('popek disk: size 1000 (1000 bytes) is not a multiple of 512 bytes');
  });
});
