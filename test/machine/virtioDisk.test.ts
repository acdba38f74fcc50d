/**
 * Guest-level test: the unmodified virtio_pci and virtio_blk drivers of the
 * bundled Tiny Linux drive Popek's virtio-blk over raw and qcow2 images.
 * The guest formats a disk with busybox mke2fs, mounts it, writes files and
 * powers off; a second machine boots from scratch with the same images and
 * reads them back with equal checksums; the host reads the same file out of
 * the image with e2fsprogs' debugfs. A read-only disk is advertised as such
 * and refuses writes. Deterministic clock.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GuestConsole } from '../../scripts/guestConsole.ts';
import { createDisk } from '../../core/dom0/block/blockBackend.ts';
import type { VirtioDiskOption } from '../../core/machine/types.ts';

const MiB = 1024 * 1024;
/** Host seconds for the commands that move or hash a MiB inside the emulated guest (generous: a loaded host is slow). */
const SLOW = 400;

async function boot(disks: VirtioDiskOption[]): Promise<GuestConsole> {
  const guest = GuestConsole.tinyLinux({ disks });
  await guest.waitFor('POPEK-READY\r\n', 600);
  await guest.waitFor(/\n# (\x1b\[6n)?$/, 60);
  return guest;
}

describe('virtio-blk disks in Tiny Linux', () => {
  let dir: string;
  let disks: VirtioDiskOption[];
  let guest: GuestConsole;
  let sums: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'popek-virtio-disk-'));
    createDisk(join(dir, 'a.raw'), { format: 'raw', sizeBytes: 8 * MiB });
    createDisk(join(dir, 'b.qcow2'), { format: 'qcow2', sizeBytes: 16 * MiB });
    createDisk(join(dir, 'c.raw'), { format: 'raw', sizeBytes: 1 * MiB });
    disks = [
      { path: join(dir, 'a.raw'), format: 'raw' },
      { path: join(dir, 'b.qcow2') },
      { path: join(dir, 'c.raw'), readOnly: true },
    ];
    guest = await boot(disks);
  }, 900_000);

  afterAll(() => {
    guest?.machine.pause();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('binds virtio_pci and virtio_blk to the three modern virtio-blk functions', () => {
    expect(guest.output).not.toMatch(/Oops|BUG|WARNING|Kernel panic|Call Trace/);
  });

  it('lists the disks in /proc/partitions in configuration order, with their sizes', async () => {
    expect(await guest.command('cat /proc/partitions')).toBe(
      'major minor  #blocks  name\n\n 254        0       8192 vda\n 254       16      16384 vdb\n 254       32       1024 vdc\n',
    );
    const log = await guest.command('dmesg | grep -E "virtio_blk|virtio-pci"');
    expect(log.replace(/^\[ *[0-9.]+\] /gm, '')).toBe(
      [
        'virtio-pci 0000:00:03.0: enabling device (0000 -> 0002)',
        'virtio-pci 0000:00:04.0: enabling device (0000 -> 0002)',
        'virtio-pci 0000:00:05.0: enabling device (0000 -> 0002)',
        'virtio_blk virtio0: 1/0/0 default/read/poll queues',
        'virtio_blk virtio0: [vda] 16384 512-byte logical blocks (8.39 MB/8.00 MiB)',
        'virtio_blk virtio1: 1/0/0 default/read/poll queues',
        'virtio_blk virtio1: [vdb] 32768 512-byte logical blocks (16.8 MB/16.0 MiB)',
        'virtio_blk virtio2: 1/0/0 default/read/poll queues',
        'virtio_blk virtio2: [vdc] 2048 512-byte logical blocks (1.05 MB/1.00 MiB)',
        '',
      ].join('\n'),
    );
    // The serial (GET_ID) has no newline of its own.
    expect(await guest.command('cat /sys/block/vda/ro /sys/block/vdc/ro /sys/block/vda/serial; echo')).toBe('0\n1\npopek-vda\n');
  });

  it('shares PCI interrupts through the PIIX3 links the DSDT describes', async () => {
    const log = await guest.command('dmesg | grep -E "LNK.: Enabled"');
    expect(log.replace(/^\[ *[0-9.]+\] /gm, '')).toBe('ACPI: \\_SB_.LNKD: Enabled at IRQ 11\nACPI: \\_SB_.LNKA: Enabled at IRQ 10\nACPI: \\_SB_.LNKB: Enabled at IRQ 9\n');
    const interrupts = await guest.command('cat /proc/interrupts');
    expect(Number(interrupts.match(/^\s*11:\s+(\d+)\s+XT-PIC\s+virtio0$/m)?.[1])).toBeGreaterThan(0);
  });

  it('formats, mounts and fills an ext2 file system on the raw and the qcow2 disk', async () => {
    // Commands stay shorter than the 80-column line, so the shell's echo does not wrap.
    expect(await guest.command('mke2fs /dev/vda >/dev/null 2>&1 && echo ok', SLOW)).toBe('ok\n');
    expect(await guest.command('mke2fs /dev/vdb >/dev/null 2>&1 && echo ok', SLOW)).toBe('ok\n');
    expect(await guest.command('mkdir /mnt/a /mnt/b; echo ok')).toBe('ok\n');
    expect(await guest.command('mount -t ext2 /dev/vda /mnt/a && echo ok')).toBe('ok\n');
    expect(await guest.command('mount -t ext2 /dev/vdb /mnt/b && echo ok')).toBe('ok\n');
    // 1 MiB of pseudo-random data (several requests) and a small text file on each.
    expect(await guest.command('dd if=/dev/urandom of=/mnt/a/blob bs=64k count=16 2>&1', SLOW)).toMatch(/^16\+0 records in\n16\+0 records out\n/);
    await guest.command('echo "hello from vda" > /mnt/a/hello.txt');
    await guest.command('cp /mnt/a/blob /mnt/b/blob', SLOW);
    await guest.command('echo "hello from vdb" > /mnt/b/hello.txt');
    sums = await guest.command('cd /mnt; sha256sum a/blob a/hello.txt b/blob b/hello.txt', SLOW);
    expect(sums).toMatch(/^([0-9a-f]{64}  [ab]\/(blob|hello\.txt)\n){4}$/);
    const [a, , b] = sums.split('\n');
    expect(a.slice(0, 64)).toBe(b.slice(0, 64));
    expect(await guest.command('cd /; umount /mnt/a && umount /mnt/b && echo ok')).toBe('ok\n');
  }, 900_000);

  it('refuses writes to the read-only disk', async () => {
    expect(await guest.command('dd if=/dev/zero of=/dev/vdc count=1 2>&1')).toBe("dd: error writing '/dev/vdc': Operation not permitted\n1+0 records in\n0+0 records out\n");
  });

  it('counts the requests, bytes, kicks and interrupts per disk', () => {
    const stats = guest.machine.stats().virtio!;
    expect(stats.map((s) => s.name)).toEqual(['virtio-blk vda', 'virtio-blk vdb', 'virtio-blk vdc']);
    const vda = stats[0].counters;
    expect(vda.bytesWritten).toBeGreaterThan(1 * MiB);
    expect(vda.requests).toBeGreaterThan(10);
    expect(vda.kicks).toBeGreaterThan(0);
    expect(vda.interrupts).toBeGreaterThan(0);
    expect(vda.errors).toBe(0);
    expect(vda.resetsNeeded).toBe(0);
    expect(stats[2].counters.bytesWritten).toBe(0);
  });

  it('powers off, and a fresh machine on the same images reads the same files back', async () => {
    guest.type('poweroff -f\n');
    expect(await guest.waitForStop(120)).toEqual({ kind: 'poweroff' });
    guest = await boot(disks);
    expect(await guest.command('mkdir /mnt/a /mnt/b; echo ok')).toBe('ok\n');
    expect(await guest.command('mount -t ext2 -o ro /dev/vda /mnt/a && echo ok')).toBe('ok\n');
    expect(await guest.command('mount -t ext2 -o ro /dev/vdb /mnt/b && echo ok')).toBe('ok\n');
    expect(await guest.command('cd /mnt; sha256sum a/blob a/hello.txt b/blob b/hello.txt', SLOW)).toBe(sums);
    expect(await guest.command('cat /mnt/a/hello.txt /mnt/b/hello.txt')).toBe('hello from vda\nhello from vdb\n');
  }, 900_000);

  it('wrote a file system the host reads the same file out of (debugfs on the raw image)', () => {
    const blob = execFileSync('debugfs', ['-R', 'cat /blob', disks[0].path], { stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 16 * MiB });
    expect(blob.length).toBe(1 * MiB);
    expect(createHash('sha256').update(blob).digest('hex')).toBe(sums.slice(0, 64));
  });
});
