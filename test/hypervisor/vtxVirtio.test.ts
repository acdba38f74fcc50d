/**
 * Guest-level test: the virtio devices under the VT-x hypervisor. Their
 * registers are MMIO in the PCI window, which EPT leaves unmapped, so every
 * access of the unmodified virtio_pci driver is an EPT violation the
 * hypervisor's instruction emulator completes; their DMA goes through dom0's
 * grant check against the domain's p2m. Tiny Linux with a raw disk, a
 * virtio console and a virtio-rng, deterministic clock. The disk and the
 * entropy device are served by dom0 in its own worker thread
 * (options.dom0Thread): their virtqueues are processed there over the
 * domain's machine memory, checked against the p2m in shared memory.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GuestConsole } from '../../scripts/guestConsole.ts';
import { createDisk } from '../../core/dom0/block/blockBackend.ts';

const MiB = 1024 * 1024;

describe('virtio devices in Tiny Linux under the VT-x hypervisor', () => {
  let dir: string;
  let disk: string;
  let guest: GuestConsole;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'popek-vtx-virtio-'));
    disk = join(dir, 'disk.raw');
    createDisk(disk, { format: 'raw', sizeBytes: 4 * MiB });
    guest = GuestConsole.tinyLinux({ acceleration: 'vtx', disks: [{ path: disk, format: 'raw' }], virtioConsole: true, virtioRng: true, dom0Thread: true });
    await guest.waitFor('POPEK-READY\r\n', 900);
    await guest.waitFor(/\n# (\x1b\[6n)?$/, 120);
  }, 1_100_000);

  afterAll(() => {
    guest?.machine.pause();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('binds virtio_pci, virtio_blk, virtio_console and virtio_rng to the three functions', async () => {
    expect(guest.output).not.toMatch(/Oops|BUG|WARNING|Kernel panic|Call Trace/);
    expect(await guest.command('cat /proc/partitions')).toBe('major minor  #blocks  name\n\n 254        0       4096 vda\n');
    expect(await guest.command('cd /sys/bus/virtio/devices; cat */device; cd /')).toBe('0x0002\n0x0003\n0x0004\n');
    expect(await guest.command('basename $(readlink /sys/bus/virtio/devices/virtio1/driver)')).toBe('virtio_console\n');
    expect(await guest.command('basename $(readlink /sys/bus/virtio/devices/virtio2/driver)')).toBe('virtio_rng\n');
  });

  it('writes the disk and reads it back through the page cache and from the device, equal to the image on the host', async () => {
    // 1 MiB the guest makes itself, at 512 KiB into the disk.
    await guest.command('dd if=/dev/urandom of=/tmp/pattern bs=4096 count=256 2>/dev/null', 300);
    expect(await guest.command('wc -c < /tmp/pattern')).toBe('1048576\n');
    // (Command lines stay under the terminal's 80 columns: a wrapped echo would mix with the output.)
    expect(await guest.command('dd if=/tmp/pattern of=/dev/vda bs=4k seek=128 conv=fsync; echo $?', 600)).toMatch(/\n0\n$/);
    const sum = (await guest.command('md5sum < /tmp/pattern')).split(' ')[0];
    expect(await guest.command('echo 3 > /proc/sys/vm/drop_caches')).toBe('');
    expect(await guest.command('dd if=/dev/vda bs=4k skip=128 count=256 | md5sum', 600)).toMatch(new RegExp(`\n${sum}  -\n$`));
    const image = readFileSync(disk);
    expect(createHash('md5').update(image.subarray(512 * 1024, 512 * 1024 + MiB)).digest('hex')).toBe(sum);
  }, 1_200_000);

  it('carries guest output on hvc0 to the host', async () => {
    expect(await guest.command('echo hello over hvc0 under vt-x > /dev/hvc0')).toBe('');
    expect(guest.virtioConsoleOutput).toBe('hello over hvc0 under vt-x\r\n');
  });

  it('counts the EPT violations of the driver and the requests of the disk', () => {
    const stats = guest.machine.stats();
    expect(stats.hypervisor!.eptViolations).toBeGreaterThan(100);
    const vda = stats.virtio!.find((d) => d.name === 'virtio-blk vda')!;
    expect(vda.counters.bytesWritten).toBeGreaterThanOrEqual(MiB);
    expect(vda.counters.bytesRead).toBeGreaterThanOrEqual(MiB);
    expect(vda.counters.errors).toBe(0);
  });
});
