/**
 * Guest-level test: Debian 12's unmodified i386 kernel with its own modules
 * (extracted from the same package by scripts/fetch-debian-modules.sh, never
 * committed) drives Popek's devices, in one boot (deterministic clock) and
 * a second one that reads a disk back:
 *  - PIIX3 IDE (ata_piix, libata, sd_mod, sr_mod; Tiny Linux is built
 *    without ATA): a raw disk on the primary master as /dev/sda with its
 *    size, read and written by DMA, and an ISO image in the CD-ROM drive on
 *    the primary slave as /dev/sr0, read;
 *  - virtio (virtio_pci and the device drivers, which Tiny Linux builds in):
 *    a raw virtio-blk disk as /dev/vda, read and written; a virtio-net
 *    adapter as eth0 on an internal network (dom0's switch) with a second
 *    VM (Tiny Linux) on it: they ping each other and move a file with nc; the
 *    virtio console as /dev/hvc0 both ways; the virtio-rng behind /dev/hwrng
 *    (Tiny Linux has no HW_RANDOM); the balloon inflated and deflated;
 *  - ext4 (Debian's ext4 module with jbd2, mbcache, crc16, crc32c): a
 *    second virtio disk, a qcow2 image, formatted by busybox mke2fs (an
 *    ext2 layout: no journal, no metadata checksums) and mounted as ext4;
 *    files written, their checksums taken, unmounted, powered off.
 * The host checks what the guest wrote in the images afterwards (qemu-img
 * check, e2fsck and debugfs for the qcow2 disk). Then a second machine boots
 * the same kernel on the same disks, loading only virtio-blk and ext4, and
 * reads the files back with the first boot's checksums.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEBIAN_TEST_CMDLINE, GuestConsole, TINY_LINUX } from '../../scripts/guestConsole.ts';
import { createDisk } from '../../core/dom0/block/blockBackend.ts';
import { bringUpEth0, pingEachOther, sendRandomFile, type NetworkGuest } from './guestNetwork.ts';

const CACHE = new URL('../../.cache/debian-kernel/', import.meta.url).pathname;
const KERNEL = CACHE + 'vmlinuz-debian-686';
/** The module sets of scripts/fetch-debian-modules.sh, unpacked in the guest as /SET/*.ko with /SET/load.sh. */
const SETS = ['ata', 'virtio', 'ext4'] as const;
type ModuleSet = (typeof SETS)[number];
const MiB = 1024 * 1024;
const DISK_BYTES = 8 * MiB;
const ISO_BYTES = 1 * MiB;
const VDA_BYTES = 4 * MiB;
/** The qcow2 disk (the product's default disk format) the guest formats and mounts with ext4, then reads back in a second boot. */
const VDB_BYTES = 16 * MiB;
/** Host seconds for commands that load drivers or move a MiB inside the emulated guest. */
const SLOW = 400;

const md5 = (data: Uint8Array) => createHash('md5').update(data).digest('hex');
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');
/** Two sectors the guest writes to the IDE disk (from /ata/msg). */
const MESSAGE = new TextEncoder().encode(Array.from({ length: 64 }, (_, i) => `popek-ide-${String(i).padStart(6, '0')}`).join(''));
/** Three sectors the guest writes to the virtio disk (from /virtio/msg). */
const VDA_MESSAGE = new TextEncoder().encode(Array.from({ length: 96 }, (_, i) => `popek-vda-${String(i).padStart(6, '0')}`).join(''));

/**
 * The internal network of the guest's eth0 and of the second VM (Tiny Linux), and their addresses on it
 * (documentation range: the frames never leave this process).
 */
const NETWORK = 'debian-drivers-test';
const GUEST_MAC = '52:54:00:00:00:d1';
const GUEST_IP = '192.0.2.30';
const PEER_MAC = '52:54:00:00:00:d2';
const PEER_IP = '192.0.2.31';
const BALLOON_PAGES = 2048; // 8 MiB

/** The text file the guest writes on vdb's file system (echo adds the newline). */
const HELLO = 'hello from Debian\'s ext4 on a qcow2 disk\n';
/** Every path on vdb's file system, as `find . | sort` lists them: mke2fs's lost+found and the files the first boot writes. */
const VDB_FILES = '.\n./blob\n./docs\n./docs/hello.txt\n./lost+found\n./msg\n';
/** The sha256sum command of both boots (short: no line wrap) and what it prints but for blob's unknown (random) sum. */
const VDB_SUMS = 'sha256sum blob msg docs/hello.txt';
const vdbSums = (blob: string) => `${blob}  blob\n${sha256(VDA_MESSAGE)}  msg\n${sha256(new TextEncoder().encode(HELLO))}  docs/hello.txt\n`;

/**
 * Tiny Linux's initramfs followed by a second (uncompressed newc) archive
 * with, per module set, /SET/*.ko and /SET/load.sh, which insmods them in
 * dependency order (`sh /SET/load.sh LAST` stops after module LAST), plus
 * `files` (path in the archive -> contents): the kernel unpacks both
 * archives (the second starting on a 4-byte boundary, as its unpacker
 * requires; the zero padding is skipped).
 */
function initrdWithModules(dir: string, sets: readonly ModuleSet[], files: Record<string, string | Uint8Array>): Uint8Array {
  const stage = mkdtempSync(join(dir, 'stage-'));
  const list: string[] = [];
  for (const set of sets) {
    const modules = `${CACHE}${set}-modules/`;
    mkdirSync(join(stage, set), { recursive: true });
    const order = readFileSync(modules + 'load-order.txt', 'utf8').trim().split('\n');
    for (const m of order) copyFileSync(modules + `${m}.ko`, join(stage, set, `${m}.ko`));
    // `load.sh [LAST]`: all of the set, or its modules up to LAST (those before it in load order include what it needs).
    const script = `for m in ${order.join(' ')}; do\n\tinsmod /${set}/$m.ko || echo FAILED $m\n\t[ "$m" = "$1" ] && break\ndone\necho loaded\n`;
    writeFileSync(join(stage, set, 'load.sh'), script, { mode: 0o755 });
    list.push(set, ...order.map((m) => `${set}/${m}.ko`), `${set}/load.sh`);
  }
  for (const [path, contents] of Object.entries(files)) {
    writeFileSync(join(stage, path), contents);
    list.push(path);
  }
  const archive = execFileSync('cpio', ['--quiet', '-o', '-H', 'newc', '--owner=0:0'], { cwd: stage, input: list.join('\n') + '\n', maxBuffer: 64 * MiB });
  const base = readFileSync(TINY_LINUX + 'initramfs.cpio.gz');
  const at = (base.length + 3) & ~3;
  const out = new Uint8Array(at + archive.length);
  out.set(base, 0);
  out.set(archive, at);
  return out;
}

/** `qemu-img check`'s verdict on a qcow2 image (the test-only oracle; it exits non-zero on errors or leaks, which throws). */
const qcow2Check = (path: string) => execFileSync('qemu-img', ['check', '-f', 'qcow2', path], { encoding: 'utf8' }).split('\n')[0];
const QCOW2_CLEAN = 'No errors were found on the image.';

describe('Debian\'s own drivers for Popek\'s devices: PIIX3 IDE, virtio, and ext4 on a virtio disk across two boots', () => {
  let dir: string;
  let diskPath: string;
  let vdaPath: string;
  let vdbPath: string;
  /** The sha256 of the MiB of random bytes the first boot writes to vdb's /blob. */
  let blobSum: string;
  let disk: Uint8Array;
  let iso: Uint8Array;
  let vda: Uint8Array;
  /** The second VM on eth0's internal network. */
  let peer: GuestConsole;
  let guest: GuestConsole;
  /** The two machines' shells with their addresses on the internal network. */
  let guestOnNetwork: NetworkGuest;
  let peerOnNetwork: NetworkGuest;

  /**
   * The guest writes `message` (a whole number of sectors, its copy at
   * `from`) to /dev/`device` at `sector` and syncs; the raw image file then
   * holds it there and is still `original` around it; with the page cache
   * dropped, the device reads it back.
   */
  async function writeSectors(write: { device: string; from: string; sector: number; message: Uint8Array }, imagePath: string, original: Uint8Array): Promise<void> {
    const { device, from, sector, message } = write;
    const start = sector * 512;
    const end = start + message.length;
    expect(await guest.command(`dd if=${from} of=/dev/${device} bs=512 seek=${sector} 2>/dev/null; sync`, SLOW)).toBe('');
    const image = readFileSync(imagePath);
    expect(md5(image.subarray(start, end))).toBe(md5(message));
    expect(md5(image.subarray(0, start))).toBe(md5(original.subarray(0, start)));
    expect(md5(image.subarray(end))).toBe(md5(original.subarray(end)));
    await guest.command('echo 3 > /proc/sys/vm/drop_caches');
    expect(await guest.command(`dd if=/dev/${device} bs=512 skip=${sector} count=${message.length / 512} 2>/dev/null | md5sum`, SLOW)).toBe(`${md5(message)}  -\n`);
  }

  beforeAll(async () => {
    if (!existsSync(KERNEL)) throw new Error(`${KERNEL} is missing: run scripts/fetch-debian-kernel.sh (CI does)`);
    for (const set of SETS) {
      const order = `${CACHE}${set}-modules/load-order.txt`;
      if (!existsSync(order)) throw new Error(`${order} is missing: run scripts/fetch-debian-modules.sh (CI does)`);
    }
    dir = mkdtempSync(join(tmpdir(), 'popek-debian-drivers-'));
    disk = new Uint8Array(DISK_BYTES).map((_, i) => (i * 31 + (i >>> 9)) & 0xff);
    iso = new Uint8Array(ISO_BYTES).map((_, i) => (i * 17 + (i >>> 11) * 3) & 0xff);
    vda = new Uint8Array(VDA_BYTES).map((_, i) => (i * 13 + (i >>> 9) * 7) & 0xff);
    diskPath = join(dir, 'disk.raw');
    vdaPath = join(dir, 'vda.raw');
    writeFileSync(diskPath, disk);
    writeFileSync(join(dir, 'disc.iso'), iso);
    writeFileSync(vdaPath, vda);
    vdbPath = join(dir, 'vdb.qcow2');
    createDisk(vdbPath, { format: 'qcow2', sizeBytes: VDB_BYTES });
    peer = GuestConsole.tinyLinux({ memoryMiB: 64, nics: [{ network: NETWORK, mac: PEER_MAC }] });
    peerOnNetwork = { shell: peer, ip: PEER_IP };
    await peer.waitFor('POPEK-READY\r\n', 600);
    await peer.waitFor(/\n# (\x1b\[6n)?$/, 120);
    await bringUpEth0(peerOnNetwork, 120);
    guest = GuestConsole.tinyLinux(
      {
        memoryMiB: 256,
        cmdline: DEBIAN_TEST_CMDLINE,
        initrd: initrdWithModules(dir, SETS, {
          'ata/msg': MESSAGE,
          'virtio/msg': VDA_MESSAGE,
          // Per virtio device: its name, device ID, feature bit 32 (VERSION_1) as negotiated, and its driver (a script: the line would wrap on the console).
          'virtio/devices.sh': 'cd /sys/bus/virtio/devices\nfor d in *; do echo $d $(cat $d/device) $(cut -c33 $d/features) $(basename $(readlink $d/driver)); done\n',
        }),
        ideDisks: [{ path: diskPath, format: 'raw' }],
        cdroms: [{ path: join(dir, 'disc.iso') }],
        disks: [
          { path: vdaPath, format: 'raw' },
          { path: vdbPath, format: 'qcow2' },
        ],
        nics: [{ network: NETWORK, mac: GUEST_MAC }],
        virtioConsole: true,
        virtioRng: true,
        virtioBalloon: true,
      },
      KERNEL,
    );
    guestOnNetwork = { shell: guest, ip: GUEST_IP };
    await guest.waitFor('POPEK-READY\r\n', 1500);
    await guest.waitFor(/\n# (\x1b\[6n)?$/, 120);
    // Kernel messages off the console, so that command output is only the command's (commands stay short: no line wrap).
    await guest.command('dmesg -n 1');
  }, 1_800_000);

  afterAll(() => {
    guest?.machine.pause();
    peer?.machine.pause();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  describe('PIIX3 IDE disk and CD-ROM under ata_piix', () => {
    it('loads the unmodified drivers; ata_piix finds the ATA disk and the ATAPI drive on the primary channel', async () => {
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
      await writeSectors({ device: 'sda', from: '/ata/msg', sector: 4000, message: MESSAGE }, diskPath, disk);
    });

    it('sees /dev/sr0 with the disc\'s size and reads it', async () => {
      expect(await guest.command('cat /sys/block/sr0/size')).toBe(`${ISO_BYTES / 512}\n`);
      expect(await guest.command('dd if=/dev/sr0 bs=2048 2>/dev/null | md5sum', SLOW)).toBe(`${md5(iso)}  -\n`);
    });

    it('takes the disk\'s and the drive\'s interrupts on IRQ 14', async () => {
      const text = await guest.command('cat /proc/interrupts');
      expect(Number(text.match(/^\s*14:\s+(\d+)\s+XT-PIC\s+ata_piix/m)?.[1])).toBeGreaterThan(0);
    });
  });

  describe('virtio devices under virtio_pci and the device drivers', () => {
    const counters = (name: string) => guest.machine.stats().virtio!.find((d) => d.name === name)!.counters;

    it('loads the unmodified drivers; virtio_pci binds the six functions, each to its driver', async () => {
      expect(await guest.command('sh /virtio/load.sh', SLOW)).toBe('loaded\n');
      await guest.command('while [ ! -e /sys/block/vdb ]; do sleep 1; done', SLOW);
      // Numbered in PCI slot order: the disks (slots 3 and 4), console (16), entropy (17), balloon (18), NIC (20); each negotiated VERSION_1 (the modern transport).
      expect(await guest.command('sh /virtio/devices.sh')).toBe(
        'virtio0 0x0002 1 virtio_blk\nvirtio1 0x0002 1 virtio_blk\nvirtio2 0x0003 1 virtio_console\nvirtio3 0x0004 1 virtio_rng\nvirtio4 0x0005 1 virtio_balloon\nvirtio5 0x0001 1 virtio_net\n',
      );
      expect(await guest.command('dmesg | grep -ciE "virtio.*(error|fail|bad|invalid)"')).toBe('0\n');
      expect(guest.output).not.toMatch(/Oops|BUG|WARNING|Kernel panic|Call Trace/);
    }, 900_000);

    it('sees /dev/vda in /proc/partitions with the image\'s size and contents', async () => {
      expect(await guest.command('grep vda /proc/partitions')).toMatch(new RegExp(`^ +\\d+ +0 +${VDA_BYTES / 1024} vda\\n$`));
      expect(await guest.command('cat /sys/block/vda/size')).toBe(`${VDA_BYTES / 512}\n`);
      // This kernel's serial attribute ends without a newline (the echo gives the prompt its line).
      expect(await guest.command('cat /sys/block/vda/serial; echo')).toBe('popek-vda\n');
      expect(await guest.command('dd if=/dev/vda bs=64k 2>/dev/null | md5sum', SLOW)).toBe(`${md5(vda)}  -\n`);
    }, 900_000);

    it('writes /dev/vda; the data is in the image file and reads back', async () => {
      expect(VDA_MESSAGE.length).toBe(1536);
      await writeSectors({ device: 'vda', from: '/virtio/msg', sector: 3000, message: VDA_MESSAGE }, vdaPath, vda);
      expect(counters('virtio-blk vda').errors).toBe(0);
    }, 900_000);

    it('brings eth0 up with its MAC address and pings the second VM on its internal network, and back', async () => {
      expect(await guest.command('cat /sys/class/net/eth0/address')).toBe(`${GUEST_MAC}\n`);
      await bringUpEth0(guestOnNetwork, 120);
      // No VIRTIO_NET_F_STATUS: the driver takes the carrier as on (LOWER_UP).
      expect(await guest.command('ip link show eth0')).toMatch(/^\d+: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 /);
      expect(await guest.command('cat /sys/class/net/eth0/operstate')).toBe('up\n');
      // From here on, each machine runs in turns with the other while it waits for its command.
      guest.companions = [peer];
      peer.companions = [guest];
      await pingEachOther(guestOnNetwork, peerOnNetwork, { there: 2, back: 2 }, SLOW);
      expect(counters('virtio-net eth0').errors).toBe(0);
    }, 900_000);

    it('moves a file to the second VM with nc and one back, byte for byte', async () => {
      await sendRandomFile(guestOnNetwork, peerOnNetwork, { kib: 64, port: 5000 }, SLOW);
      await sendRandomFile(peerOnNetwork, guestOnNetwork, { kib: 64, port: 5001 }, SLOW);
      expect(counters('virtio-net eth0').errors).toBe(0);
      // The second VM's part is done: the rest of the test runs the Debian guest alone.
      guest.companions = [];
    }, 900_000);

    it('carries hvc0 both ways', async () => {
      expect(await guest.command('echo hello over hvc0 > /dev/hvc0')).toBe('');
      expect(guest.virtioConsoleOutput).toBe('hello over hvc0\r\n');
      // Started by a shell that exits at once, so the console shell has no job to report; the reader must have opened hvc0 before input comes.
      await guest.command('sh -c \'(read -r l </dev/hvc0; echo "got $l" >/tmp/got) &\'; sleep 1');
      guest.machine.virtioConsoleInput!(new TextEncoder().encode('typed on the host\n'));
      expect(await guest.command('sleep 1; cat /tmp/got')).toBe('got typed on the host\n');
    });

    it('gives /dev/hwrng bytes from the virtio-rng', async () => {
      expect(await guest.command('cat /sys/class/misc/hw_random/rng_current')).toBe('virtio_rng.0\n');
      const before = counters('virtio-rng').bytesRead;
      const dump = await guest.command('head -c 64 /dev/hwrng | od -An -tx1 -v');
      const bytes = dump.trim().split(/\s+/);
      expect(bytes).toHaveLength(64);
      expect(new Set(bytes).size).toBeGreaterThan(16);
      // Bytes the device put in guest buffers during the read (virtio_rng refills its buffer as the reader empties it).
      expect(counters('virtio-rng').bytesRead - before).toBeGreaterThan(0);
    });

    it('inflates the balloon to the host\'s target and deflates it again: MemTotal follows', async () => {
      const memTotal = async () => Number((await guest.command('grep MemTotal /proc/meminfo')).match(/^MemTotal:\s+(\d+) kB\n$/)?.[1]);
      /** Lets the driver's worker run (the shell sleeps) until the guest reports `pages`. */
      const settle = async (pages: number) => {
        for (let i = 0; i < 30 && guest.machine.stats().balloon!.actualPages !== pages; i++) await guest.command('sleep 1', 300);
      };
      const total = await memTotal();
      guest.machine.setBalloonTarget!(BALLOON_PAGES);
      await settle(BALLOON_PAGES);
      // The bare PC has no machine pool: the device holds the (zeroed) pages.
      expect(guest.machine.stats().balloon).toEqual({ targetPages: BALLOON_PAGES, actualPages: BALLOON_PAGES, reclaimedPages: BALLOON_PAGES });
      expect(await memTotal()).toBe(total - BALLOON_PAGES * 4);
      guest.machine.setBalloonTarget!(0);
      await settle(0);
      expect(guest.machine.stats().balloon).toEqual({ targetPages: 0, actualPages: 0, reclaimedPages: 0 });
      expect(await memTotal()).toBe(total);
      expect(counters('virtio-balloon').errors).toBe(0);
    }, 900_000);
  });

  describe('ext4 on the qcow2 virtio disk /dev/vdb: formatted, mounted and written in this boot', () => {
    it('loads Debian\'s ext4 module and its dependencies', async () => {
      expect(await guest.command('sh /ext4/load.sh', SLOW)).toBe('loaded\n');
      expect(await guest.command('grep -w ext4 /proc/filesystems')).toBe('\text4\n');
    }, 900_000);

    it('formats /dev/vdb (busybox mke2fs) and mounts it as ext4', async () => {
      // Commands stay shorter than the 80-column line, so the shell's echo does not wrap.
      expect(await guest.command('mke2fs -L popek-vdb /dev/vdb >/dev/null 2>&1 && echo ok', SLOW)).toBe('ok\n');
      expect(await guest.command('mkdir /mnt/vdb && mount -t ext4 /dev/vdb /mnt/vdb && echo ok', SLOW)).toBe('ok\n');
      expect(await guest.command('grep vdb /proc/mounts')).toBe('/dev/vdb /mnt/vdb ext4 rw,relatime 0 0\n');
    }, 900_000);

    it('writes files, syncs, and unmounts cleanly', async () => {
      // 1 MiB of random bytes (16 qcow2 clusters' worth, several requests), the virtio message and a text file in a directory.
      expect(await guest.command('cd /mnt/vdb; dd if=/dev/urandom of=blob bs=64k count=16 2>&1', SLOW)).toMatch(/^16\+0 records in\n16\+0 records out\n/);
      expect(await guest.command('cp /virtio/msg /mnt/vdb/msg; mkdir /mnt/vdb/docs; echo ok')).toBe('ok\n');
      expect(await guest.command(`echo "${HELLO.trimEnd()}" >/mnt/vdb/docs/hello.txt`)).toBe('');
      expect(await guest.command('sync; cd /mnt/vdb; find . | sort')).toBe(VDB_FILES);
      const sums = await guest.command(`cd /mnt/vdb; ${VDB_SUMS}`, SLOW);
      blobSum = sums.slice(0, 64);
      expect(blobSum).toMatch(/^[0-9a-f]{64}$/);
      expect(sums).toBe(vdbSums(blobSum));
      expect(await guest.command('cd /; umount /mnt/vdb && echo ok', SLOW)).toBe('ok\n');
      expect(await guest.command('dmesg | grep -ci "EXT4-fs.*error"')).toBe('0\n');
      expect((await guest.command('dmesg | grep EXT4-fs')).replace(/^\[ *[0-9.]+\] /gm, '')).toBe(
        'EXT4-fs (vdb): mounted filesystem without journal. Quota mode: none.\nEXT4-fs (vdb): unmounting filesystem.\n',
      );
      const vdb = guest.machine.stats().virtio!.find((d) => d.name === 'virtio-blk vdb')!.counters;
      expect(vdb.bytesWritten).toBeGreaterThan(1 * MiB);
      expect(vdb.errors).toBe(0);
    }, 900_000);
  });

  it('powers off', async () => {
    expect(guest.output).not.toMatch(/Oops|BUG|WARNING|Kernel panic|Call Trace/);
    guest.type('poweroff -f\n');
    expect(await guest.waitForStop(300)).toEqual({ kind: 'poweroff' });
  });

  it('left a qcow2 image qemu-img finds clean, holding a file system e2fsck finds clean with the guest\'s files', () => {
    expect(qcow2Check(vdbPath)).toBe(QCOW2_CLEAN);
    const raw = join(dir, 'vdb-after-first-boot.raw');
    execFileSync('qemu-img', ['convert', '-f', 'qcow2', '-O', 'raw', vdbPath, raw]);
    // -f: check even though the file system is marked clean; -n: read-only. Exit status 0: no errors.
    execFileSync('e2fsck', ['-fn', raw], { stdio: 'ignore' });
    const cat = (path: string) => execFileSync('debugfs', ['-R', `cat ${path}`, raw], { stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 16 * MiB });
    expect(sha256(cat('/blob'))).toBe(blobSum);
    expect(cat('/msg').equals(Buffer.from(VDA_MESSAGE))).toBe(true);
    expect(cat('/docs/hello.txt').toString()).toBe(HELLO);
  });

  describe('a second boot on the same disks: Debian\'s ext4 reads the first boot\'s files back', () => {
    let second: GuestConsole;

    beforeAll(async () => {
      second = GuestConsole.tinyLinux(
        {
          memoryMiB: 128,
          cmdline: DEBIAN_TEST_CMDLINE,
          initrd: initrdWithModules(dir, ['virtio', 'ext4'], {}),
          disks: [
            { path: vdaPath, format: 'raw' },
            { path: vdbPath, format: 'qcow2' },
          ],
        },
        KERNEL,
      );
      await second.waitFor('POPEK-READY\r\n', 1500);
      await second.waitFor(/\n# (\x1b\[6n)?$/, 120);
      await second.command('dmesg -n 1');
    }, 1_800_000);

    afterAll(() => second?.machine.pause());

    it('mounts /dev/vdb as ext4 again', async () => {
      // Only the virtio transport and the block driver: this machine has no other virtio device.
      expect(await second.command('sh /virtio/load.sh virtio_blk; sh /ext4/load.sh', SLOW)).toBe('loaded\nloaded\n');
      expect(await second.command('ls /sys/bus/virtio/drivers')).toBe('virtio_blk\n');
      await second.command('while [ ! -e /sys/block/vdb ]; do sleep 1; done', SLOW);
      expect(await second.command('mkdir /mnt/vdb && mount -t ext4 /dev/vdb /mnt/vdb && echo ok', SLOW)).toBe('ok\n');
      expect(await second.command('grep vdb /proc/mounts')).toBe('/dev/vdb /mnt/vdb ext4 rw,relatime 0 0\n');
    }, 900_000);

    it('lists the same files with the same checksums as the first boot', async () => {
      expect(await second.command('cd /mnt/vdb; find . | sort')).toBe(VDB_FILES);
      expect(await second.command(`cd /mnt/vdb; ${VDB_SUMS}`, SLOW)).toBe(vdbSums(blobSum));
      expect(await second.command('cat /mnt/vdb/docs/hello.txt')).toBe(HELLO);
    }, 900_000);

    it('unmounts cleanly, with no ext4 error in the kernel log, and powers off', async () => {
      expect(await second.command('cd /; umount /mnt/vdb && echo ok', SLOW)).toBe('ok\n');
      expect(await second.command('dmesg | grep -ci "EXT4-fs.*error"')).toBe('0\n');
      expect((await second.command('dmesg | grep EXT4-fs')).replace(/^\[ *[0-9.]+\] /gm, '')).toBe(
        'EXT4-fs (vdb): mounted filesystem without journal. Quota mode: none.\nEXT4-fs (vdb): unmounting filesystem.\n',
      );
      expect(second.machine.stats().virtio!.find((d) => d.name === 'virtio-blk vdb')!.counters.errors).toBe(0);
      expect(second.output).not.toMatch(/Oops|BUG|WARNING|Kernel panic|Call Trace/);
      second.type('poweroff -f\n');
      expect(await second.waitForStop(300)).toEqual({ kind: 'poweroff' });
      expect(qcow2Check(vdbPath)).toBe(QCOW2_CLEAN);
    }, 900_000);
  });
});
