/**
 * virtio-blk throughput: a 64 MiB sequential write and read of the guest's
 * /dev/vda with O_DIRECT (busybox dd, 1 MiB requests, so the guest's page
 * cache is out of the way), timed in guest seconds from /proc/uptime; and the
 * host's own figure for the same bytes in the same image file (written and
 * fsynced, then read back through the host's page cache), for scale.
 */
import { closeSync, fsyncSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDisk } from '../core/dom0/block/blockBackend.ts';
import type { MachineOptions } from '../core/machine/types.ts';
import { GuestConsole } from '../scripts/guestConsole.ts';
import { timedInGuest } from './linuxBench.ts';

const MiB = 1024 * 1024;
export const VIRTIO_BENCH_MIB = 64;

export interface VirtioBenchResult {
  writeMBps: number;
  readMBps: number;
  hostWriteMBps: number;
  hostReadMBps: number;
}

export async function runVirtioBench(kernelPath: string, options: Partial<MachineOptions>): Promise<VirtioBenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'popek-bench-virtio-'));
  try {
    const disk = join(dir, 'bench.raw');
    createDisk(disk, { format: 'raw', sizeBytes: (VIRTIO_BENCH_MIB + 8) * MiB });
    const guest = GuestConsole.tinyLinux({ memoryMiB: 128, clock: 'realtime', ...options, disks: [{ path: disk, format: 'raw' }] }, kernelPath);
    await guest.waitFor('POPEK-READY', 1800);
    await guest.waitFor(/\n# (\x1b\[6n)?$/, 120);
    const n = VIRTIO_BENCH_MIB;
    const write = await timedInGuest(guest, `dd if=/dev/zero of=/dev/vda bs=1M count=${n} oflag=direct 2>/dev/null`);
    const read = await timedInGuest(guest, `dd if=/dev/vda of=/dev/null bs=1M count=${n} iflag=direct 2>/dev/null`);
    guest.type('poweroff -f\n');
    await guest.waitForStop(120);
    const host = hostFigures(disk, n);
    return { writeMBps: (n * MiB) / 1e6 / write, readMBps: (n * MiB) / 1e6 / read, ...host };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function hostFigures(path: string, mib: number): { hostWriteMBps: number; hostReadMBps: number } {
  const chunk = Buffer.alloc(MiB, 0x5a);
  const fd = openSync(path, 'r+');
  try {
    let t = performance.now();
    for (let i = 0; i < mib; i++) writeSync(fd, chunk, 0, MiB, i * MiB);
    fsyncSync(fd);
    const write = (performance.now() - t) / 1000;
    t = performance.now();
    for (let i = 0; i < mib; i++) readSync(fd, chunk, 0, MiB, i * MiB);
    const read = (performance.now() - t) / 1000;
    return { hostWriteMBps: (mib * MiB) / 1e6 / write, hostReadMBps: (mib * MiB) / 1e6 / read };
  } finally {
    closeSync(fd);
  }
}
