/**
 * The board's virtio wiring without booting: which functions appear on PCI
 * bus 0 for a configuration, and a disk that cannot be opened refused with a
 * BootError naming it (the CLI turns that into exit status 1).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createMachine } from '../../core/machine/machine.ts';
import { BootError } from '../../core/machine/boot/bootError.ts';
import { createDisk } from '../../core/dom0/block/blockBackend.ts';
import type { MachineOptions } from '../../core/machine/types.ts';

const dir = mkdtempSync(join(tmpdir(), 'popek-virtio-board-'));
// An empty kernel: every case fails while the board is built, before a kernel is loaded.
const base: MachineOptions = { memoryMiB: 16, clock: 'deterministic', kernel: new Uint8Array(0) };

describe('virtio devices on the board', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses a missing disk image with a BootError naming it', () => {
    const missing = join(dir, 'missing.img');
    expect(() => createMachine({ ...base, disks: [{ path: missing }] }, {})).toThrow(BootError);
    expect(() => createMachine({ ...base, disks: [{ path: missing }] }, {})).toThrow(`disk 1 (${missing}): `);
  });

  it('refuses a file that is not a disk image', () => {
    const text = join(dir, 'notes.txt');
    writeFileSync(text, 'not a disk');
    expect(() => createMachine({ ...base, disks: [{ path: text }] }, {})).toThrow(/disk 1 .*not a disk image/);
  });

  it('refuses more disks than the board has slots for', () => {
    const img = join(dir, 'one.raw');
    createDisk(img, { format: 'raw', sizeBytes: 512 });
    expect(() => createMachine({ ...base, disks: Array.from({ length: 13 }, () => ({ path: img, readOnly: true })) }, {})).toThrow('at most 12 disks, got 13');
  });
});
