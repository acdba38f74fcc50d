/**
 * Guest-level test: Debian 12's unmodified i386 kernel with its own ata_piix,
 * libata, sd_mod and sr_mod modules (extracted from the same package by
 * scripts/fetch-debian-ata-modules.sh, never committed; Tiny Linux is built
 * without ATA) finds Popek's PIIX3 IDE controller: a raw disk on the primary
 * master as /dev/sda with its size, which it reads and writes (by DMA), and an
 * ISO image in the CD-ROM drive on the primary slave as /dev/sr0, which it
 * reads. One boot, deterministic clock; the host checks what the guest
 * wrote in the image afterwards.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GuestConsole, TINY_LINUX } from '../../scripts/guestConsole.ts';

const CACHE = new URL('../../.cache/debian-kernel/', import.meta.url).pathname;
const KERNEL = CACHE + 'vmlinuz-debian-686';
const MODULES = CACHE + 'ata-modules/';
const MiB = 1024 * 1024;
const DISK_BYTES = 8 * MiB;
const ISO_BYTES = 1 * MiB;
/** Host seconds for commands that load drivers or move a MiB inside the emulated guest. */
const SLOW = 400;

const md5 = (data: Uint8Array) => createHash('md5').update(data).digest('hex');
/** Two sectors the guest writes to the disk (from /ata/msg). */
const MESSAGE = new TextEncoder().encode(Array.from({ length: 64 }, (_, i) => `popek-ide-${String(i).padStart(6, '0')}`).join(''));

/**
 * Tiny Linux's initramfs followed by a second (uncompressed newc) archive
 * with /ata/*.ko and /ata/load.sh, which insmods them in dependency order:
 * the kernel unpacks both (the second starting on a 4-byte boundary, as its
 * unpacker requires; the zero padding is skipped).
 */
function initrdWithModules(dir: string): Uint8Array {
  const stage = join(dir, 'stage');
  mkdirSync(join(stage, 'ata'), { recursive: true });
  const order = readFileSync(MODULES + 'load-order.txt', 'utf8').trim().split('\n');
  for (const m of order) copyFileSync(MODULES + `${m}.ko`, join(stage, 'ata', `${m}.ko`));
  const script = order.map((m) => `insmod /ata/${m}.ko || echo FAILED ${m}`).join('\n') + '\necho loaded\n';
  writeFileSync(join(stage, 'ata', 'load.sh'), script, { mode: 0o755 });
  writeFileSync(join(stage, 'ata', 'msg'), MESSAGE);
  const list = ['ata', ...order.map((m) => `ata/${m}.ko`), 'ata/load.sh', 'ata/msg'].join('\n') + '\n';
  const archive = execFileSync('cpio', ['--quiet', '-o', '-H', 'newc', '--owner=0:0'], { cwd: stage, input: list });
  const base = readFileSync(TINY_LINUX + 'initramfs.cpio.gz');
  const at = (base.length + 3) & ~3;
  const out = new Uint8Array(at + archive.length);
  out.set(base, 0);
  out.set(archive, at);
  return out;
}

describe('PIIX3 IDE disk and CD-ROM under Debian\'s ata_piix', () => {
  let dir: string;
  let diskPath: string;
  let disk: Uint8Array;
  let iso: Uint8Array;
  let guest: GuestConsole;

  beforeAll(async () => {
    if (!existsSync(KERNEL)) throw new Error(`${KERNEL} is missing: run scripts/fetch-debian-kernel.sh (CI does)`);
    if (!existsSync(MODULES + 'load-order.txt')) throw new Error(`${MODULES} is missing: run scripts/fetch-debian-ata-modules.sh`);
    dir = mkdtempSync(join(tmpdir(), 'popek-ide-'));
    disk = new Uint8Array(DISK_BYTES).map((_, i) => (i * 31 + (i >>> 9)) & 0xff);
    iso = new Uint8Array(ISO_BYTES).map((_, i) => (i * 17 + (i >>> 11) * 3) & 0xff);
    diskPath = join(dir, 'disk.raw');
    writeFileSync(diskPath, disk);
    writeFileSync(join(dir, 'disc.iso'), iso);
    guest = GuestConsole.tinyLinux(
      {
        memoryMiB: 256,
        initrd: initrdWithModules(dir),
        ideDisks: [{ path: diskPath, format: 'raw' }],
        cdroms: [{ path: join(dir, 'disc.iso') }],
      },
      KERNEL,
    );
    await guest.waitFor('POPEK-READY\r\n', 1500);
    await guest.waitFor(/\n# (\x1b\[6n)?$/, 120);
  }, 1_800_000);

  afterAll(() => {
    guest?.machine.pause();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('loads the unmodified drivers; ata_piix finds the ATA disk and the ATAPI drive on the primary channel', async () => {
    // Kernel messages off the console, so that command output is only the command's (commands stay short: no line wrap).
    await guest.command('dmesg -n 1');
    expect(await guest.command('sh /ata/load.sh', SLOW)).toBe('loaded\n');
    // Probing is asynchronous: wait for both block devices.
    await guest.command('while [ ! -e /sys/block/sr0 ]; do sleep 1; done', SLOW);
    await guest.command('while [ ! -e /sys/block/sda ]; do sleep 1; done', SLOW);
    const log = await guest.command('dmesg | grep -E "ata1|sd 0|sr 0"', SLOW);
    expect(log).toMatch(/\] ata1: PATA max MWDMA2 cmd 0x1f0 ctl 0x3f6 bmdma 0x[0-9a-f]+ irq 14\n/);
    expect(log).toMatch(/\] ata1\.00: ATA-6: POPEK HARDDISK, 1\.0, max UDMA\/100\n/);
    // No firmware set a multiple count (IDENTIFY word 59), so Linux transfers one sector per PIO block.
    expect(log).toMatch(/\] ata1\.00: 16384 sectors, multi 0: LBA48 \n/);
    expect(log).toMatch(/\] ata1\.01: ATAPI: POPEK CD-ROM, 1\.0, max UDMA\/100\n/);
    expect(log).toMatch(/\] sd 0:0:0:0: \[sda\] 16384 512-byte logical blocks: \(8\.39 MB\/8\.00 MiB\)\n/);
    expect(log).toMatch(/\] sr 0:0:1:0: \[sr0\] scsi3-mmc drive: 4x\/4x tray\n/);
    expect(log).not.toMatch(/error|failed|timeout|exception/i);
    // The PIIX3's multiword DMA mode 2 (it has no Ultra DMA) for both devices: reads and writes go through the bus master.
    expect(await guest.command('cat /sys/class/ata_device/dev1.0/xfer_mode')).toBe('XFER_MW_DMA_2\n');
    expect(await guest.command('cat /sys/class/ata_device/dev1.1/xfer_mode')).toBe('XFER_MW_DMA_2\n');
    expect(guest.output).not.toMatch(/Oops|BUG|WARNING|Kernel panic|Call Trace/);
  });

  it('sees /dev/sda with the image\'s size and contents', async () => {
    expect(await guest.command('cat /sys/block/sda/size')).toBe('16384\n');
    expect(await guest.command('cat /sys/block/sda/device/model')).toBe('POPEK HARDDISK  \n');
    expect(await guest.command('dd if=/dev/sda bs=64k 2>/dev/null | md5sum', SLOW)).toBe(`${md5(disk)}  -\n`);
  });

  it('writes /dev/sda; the data is in the image file and reads back', async () => {
    expect(MESSAGE.length).toBe(1024);
    expect(await guest.command('dd if=/ata/msg of=/dev/sda bs=512 seek=4000 2>/dev/null; sync', SLOW)).toBe('');
    const image = readFileSync(diskPath);
    expect(md5(image.subarray(4000 * 512, 4002 * 512))).toBe(md5(MESSAGE));
    // Around the write the image is untouched.
    expect(md5(image.subarray(0, 4000 * 512))).toBe(md5(disk.subarray(0, 4000 * 512)));
    expect(md5(image.subarray(4002 * 512))).toBe(md5(disk.subarray(4002 * 512)));
    await guest.command('echo 3 > /proc/sys/vm/drop_caches');
    expect(await guest.command('dd if=/dev/sda bs=512 skip=4000 count=2 2>/dev/null | md5sum', SLOW)).toBe(`${md5(MESSAGE)}  -\n`);
  });

  it('sees /dev/sr0 with the disc\'s size and reads it', async () => {
    expect(await guest.command('cat /sys/block/sr0/size')).toBe(`${ISO_BYTES / 512}\n`);
    expect(await guest.command('dd if=/dev/sr0 bs=2048 2>/dev/null | md5sum', SLOW)).toBe(`${md5(iso)}  -\n`);
  });

  it('takes the disk\'s and the drive\'s interrupts on IRQ 14', async () => {
    const text = await guest.command('cat /proc/interrupts');
    expect(Number(text.match(/^\s*14:\s+(\d+)\s+XT-PIC\s+ata_piix/m)?.[1])).toBeGreaterThan(0);
  });

  it('powers off', async () => {
    guest.type('poweroff -f\n');
    expect(await guest.waitForStop(300)).toEqual({ kind: 'poweroff' });
  });
});
