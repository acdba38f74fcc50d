/**
 * Guest-level test: Tiny Linux with a virtio-console and a virtio-rng.
 *  - virtio_console binds the console's two ports (MULTIPORT) as console
 *    ports /dev/hvc0 and /dev/hvc1: bytes flow both ways on each, and a
 *    shell runs on hvc1 driven from the host.
 *  - virtio_pci binds the entropy function too (device ID 4 on the virtio
 *    bus) and virtio_rng claims it: /dev/hwrng gives exactly the bytes the
 *    host's entropy stream served (the deterministic clock's fixed-seed
 *    stream, so the test knows them).
 *  - Hostile descriptors on a live machine: the guest then unbinds virtio_rng
 *    (the driver resets the device and lets it go, /dev/hwrng has no source
 *    any more), and the unclaimed entropy device is taken over by a rogue
 *    driver on the machine's bus (this test, issuing the same port and MMIO
 *    cycles a guest driver would) that posts malformed chains in the BIOS
 *    area the e820 map reserves (so Linux never uses it). Every case gets a
 *    guest-visible error (an empty completion or DEVICE_NEEDS_RESET), the
 *    device works again after a reset, and the guest keeps running.
 * Deterministic clock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GuestConsole } from '../../scripts/guestConsole.ts';
import { deterministicEntropy } from '../../core/dom0/entropySource.ts';
import type { VirtioCounters } from '../../core/devices/virtio/virtioDevice.ts';
import type { MemoryBus } from '../../core/memory/bus.ts';
import { F_INDIRECT_DESC, F_VERSION_1, VIRTQ_AVAIL_F_NO_INTERRUPT, VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE } from '../../core/devices/virtio/virtioConstants.ts';
import { VirtioPciTestDriver } from '../devices/virtio/virtioTestDriver.ts';
import type { QueueDriver } from '../devices/virtio/queueDriver.ts';

const RNG_SLOT = 0x11;
/** Inside 0xE0000-0xFFFFF, which the e820 map reserves and nothing of the firmware uses below the RSDP at 0xF0000. */
const RINGS = 0xe1000;
const BUFFER = 0xe4000;
const TABLE = 0xe6000;
const RAM = 128 * 1024 * 1024;

/** The first `n` bytes of the entropy stream a deterministic-clock machine's virtio-rng serves. */
function servedStream(n: number): Uint8Array {
  const bytes = new Uint8Array(n);
  deterministicEntropy()(bytes);
  return bytes;
}

describe('virtio-console and virtio-rng in Tiny Linux', () => {
  let guest: GuestConsole;
  const rngCounters = (): VirtioCounters => ({ ...guest.machine.stats().virtio!.find((d) => d.name === 'virtio-rng')!.counters });

  beforeAll(async () => {
    guest = GuestConsole.tinyLinux({ virtioConsole: true, virtioConsolePorts: 2, virtioRng: true });
    await guest.waitFor('POPEK-READY\r\n', 600);
    await guest.waitFor(/\n# (\x1b\[6n)?$/, 120);
  }, 900_000);

  afterAll(() => {
    guest?.machine.pause();
  });

  it('binds virtio_pci to both functions, virtio_console to the console and virtio_rng to the entropy device', async () => {
    expect(await guest.command('ls /sys/bus/virtio/devices')).toBe('virtio0  virtio1\n');
    expect(await guest.command('cd /sys/bus/virtio/devices; cat */device; cd /')).toBe('0x0003\n0x0004\n');
    expect(await guest.command('basename $(readlink /sys/bus/virtio/devices/virtio0/driver)')).toBe('virtio_console\n');
    expect(await guest.command('basename $(readlink /sys/bus/virtio/devices/virtio1/driver)')).toBe('virtio_rng\n');
  });

  it('gives /dev/hwrng bytes the host served, through virtio_rng', async () => {
    expect(await guest.command('cat /sys/class/misc/hw_random/rng_current')).toBe('virtio_rng.0\n');
    const before = rngCounters();
    const dump = await guest.command('dd if=/dev/hwrng bs=64 count=1 2>/dev/null | od -An -tx1 -v');
    const after = rngCounters();
    // virtio_rng keeps one 32-byte request posted (the device filled it with the stream's last 32 bytes so far): dd's
    // 64 bytes are that buffer, then the refill it posts on emptying it; emptying that one posts (and the host fills) another.
    // The kernel's hwrng thread may take a buffer first (between the two counter reads), which moves dd's window on
    // by whole 32-byte requests: the bytes must be one such window of the served stream, exactly.
    const served = servedStream(after.bytesRead);
    const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
    const windows = Array.from({ length: (after.bytesRead - before.bytesRead) / 32 - 1 }, (_, j) => hex(served.subarray(before.bytesRead - 32 + 32 * j, before.bytesRead + 32 + 32 * j)));
    expect(windows).toContain(dump.trim().split(/\s+/).join(' '));
    // Every request virtio_rng makes is its one 32-byte buffer, filled whole.
    expect(after.bytesRead).toBe(32 * after.requests);
    expect(after.errors).toBe(0);
    // dd's two refills, and the hwrng thread's reads if it woke before the host looked: after the prompt the rest of
    // the 50 ms slice runs the idle guest, whose deterministic clock skips ahead to each timer, so how much guest
    // time passes (and whether a reseed interval ends in it) depends on the host's speed.
    expect(after.requests - before.requests).toBeGreaterThanOrEqual(2);
  });

  it('carries guest output on hvc0 to the host', async () => {
    expect(await guest.command('echo hello over hvc0 > /dev/hvc0')).toBe('');
    expect(guest.virtioConsoleOutput).toBe('hello over hvc0\r\n');
  });

  it('carries host input to a reader of hvc0', async () => {
    // Started by a shell that exits at once, so the console shell has no job to report.
    await guest.command('sh -c \'(read -r l </dev/hvc0; echo "got $l" >/tmp/got) &\'');
    // Let the reader open hvc0 (input sent to a closed tty is dropped, like a terminal's).
    await guest.command('sleep 1');
    guest.machine.virtioConsoleInput!(new TextEncoder().encode('typed on the host\n'));
    expect(await guest.command('sleep 1; cat /tmp/got')).toBe('got typed on the host\n');
    // The tty echoes the line back out of hvc0.
    expect(guest.virtioConsoleOutput.endsWith('typed on the host\r\n')).toBe(true);
  });

  it('makes port 1 a second console port, /dev/hvc1', async () => {
    expect(await guest.command('ls /sys/class/virtio-ports')).toBe('vport0p0  vport0p1\n');
    // The hvc driver makes /dev/hvc0-7 up front; opening one no port backs fails (ENODEV).
    expect(await guest.command('(: > /dev/hvc1) 2>/dev/null && echo opens')).toBe('opens\n');
    expect(await guest.command('(: > /dev/hvc2) 2>/dev/null || echo no hvc2')).toBe('no hvc2\n');
  });

  it('carries guest output on hvc1 to the host\'s port 1 only', async () => {
    const before = guest.virtioConsoleOutput;
    expect(await guest.command('echo hello over hvc1 > /dev/hvc1')).toBe('');
    expect(guest.virtioConsolePortOutput[1]).toBe('hello over hvc1\r\n');
    expect(guest.virtioConsoleOutput).toBe(before);
  });

  it('runs a shell on hvc1 that the host drives', async () => {
    // A shell with hvc1 as its terminal, started by a shell that exits at once (no job to report on ttyS0).
    await guest.command("sh -c '(setsid sh -c \"exec sh -i </dev/hvc1 >/dev/hvc1 2>&1\") &'");
    await guest.command('sleep 1');
    const from = guest.virtioConsolePortOutput[1].length;
    guest.machine.virtioConsoleInput!(new TextEncoder().encode('echo answer $((6 * 7)) from $(tty)\n'), 1);
    expect(await guest.command('sleep 1; echo')).toBe('\n');
    expect(guest.virtioConsolePortOutput[1].slice(from)).toContain('answer 42 from /dev/hvc1\r\n');
  });

  it('lets the entropy device go when the guest unbinds virtio_rng: /dev/hwrng has no source left', async () => {
    expect(await guest.command('echo virtio1 > /sys/bus/virtio/drivers/virtio_rng/unbind')).toBe('');
    expect(await guest.command('ls /sys/bus/virtio/devices/virtio1/driver 2>&1')).toBe(
      'ls: /sys/bus/virtio/devices/virtio1/driver: No such file or directory\n',
    );
    expect(await guest.command('cat /sys/class/misc/hw_random/rng_current')).toBe('none\n');
    expect(await guest.command('dd if=/dev/hwrng bs=64 count=1 2>&1 >/dev/null')).toBe('dd: /dev/hwrng: No such device\n');
  });

  // On the function the guest let go (it stays where Linux put it, with virtio_pci's IRQ handler on its line).
  describe('hostile descriptors from a rogue driver on the live machine', () => {
    let driver: VirtioPciTestDriver;
    let q: QueueDriver;
    const start = () => {
      [q] = driver.initialize(F_VERSION_1 | F_INDIRECT_DESC, RINGS);
      q.setAvailFlags(VIRTQ_AVAIL_F_NO_INTERRUPT);
    };
    /** Posts `head`, kicks, returns [device status, used entries]. */
    const submit = (head: number) => {
      q.post(head);
      driver.kick(0);
      return [driver.status, q.takeUsed()] as const;
    };

    let start0: VirtioCounters;

    beforeAll(() => {
      start0 = rngCounters();
      // The board's device bus (the bare PC's is the processor's own): the rogue driver shares it with the guest's CPU.
      driver = new VirtioPciTestDriver((guest.machine as unknown as { side: { deviceBus: MemoryBus } }).side.deviceBus, RNG_SLOT);
      // INTx Disable, so the shared IRQ line is never raised for a driver that polls.
      driver.configWrite(0x04, 2, 0x0406);
      driver.locate();
      start();
    });

    it('finds the function where Linux put it and gets random bytes from a well-formed request', () => {
      expect(driver.configRead(0x00, 4)).toBe(0x1044_1af4);
      expect(driver.bar).toBeGreaterThanOrEqual(0x8000_0000);
      const [status, used] = submit(q.writeChain([{ address: BUFFER, length: 64, write: true }]));
      expect(status).toBe(15);
      expect(used).toEqual([[0, 64]]);
    });

    const emptyCompletions: [string, () => number][] = [
      ['a buffer past the end of RAM', () => q.writeChain([{ address: RAM - 16, length: 64, write: true }])],
      ['a buffer in the device\'s own BAR', () => q.writeChain([{ address: driver.bar, length: 64, write: true }])],
      ['a buffer above 4 GiB', () => q.writeChain([{ address: 2 ** 36, length: 64, write: true }])],
      // The device fills at most 4 KiB per request, so only a long buffer that leaves RAM within that is refused.
      ['a 4 GiB - 1 buffer 64 bytes below the end of RAM', () => q.writeChain([{ address: RAM - 64, length: 0xffff_ffff, write: true }])],
      ['a device-readable buffer (wrong direction)', () => q.writeChain([{ address: BUFFER, length: 64 }])],
      // Well-formed, just empty: answered with the 0 bytes it holds, not counted as an error.
      ['a zero-length buffer', () => q.writeChain([{ address: BUFFER, length: 0, write: true }])],
    ];
    for (const [name, post] of emptyCompletions) {
      it(`completes ${name} with no bytes and keeps going`, async () => {
        const [status, used] = submit(post());
        expect(status).toBe(15);
        expect(used.map(([, length]) => length)).toEqual([0]);
        const [, again] = submit(q.writeChain([{ address: BUFFER, length: 16, write: true }]));
        expect(again.map(([, length]) => length)).toEqual([16]);
        expect(await guest.command('echo alive')).toBe('alive\n');
      });
    }

    const resets: [string, () => number][] = [
      ['a descriptor loop', () => {
        const first = q.reserve(2);
        q.writeDescriptor(q.desc, first, { address: BUFFER, length: 8, flags: VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, next: first + 1 });
        q.writeDescriptor(q.desc, first + 1, { address: BUFFER, length: 8, flags: VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, next: first });
        return first;
      }],
      ['a next index past the table', () => {
        const first = q.reserve(1);
        q.writeDescriptor(q.desc, first, { address: BUFFER, length: 8, flags: VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, next: 1000 });
        return first;
      }],
      ['a head index past the table', () => 500],
      ['an indirect table in MMIO', () => {
        const first = q.reserve(1);
        q.writeDescriptor(q.desc, first, { address: driver.bar, length: 64, flags: VIRTQ_DESC_F_INDIRECT });
        return first;
      }],
      ['a zero-length indirect table', () => {
        const first = q.reserve(1);
        q.writeDescriptor(q.desc, first, { address: TABLE, length: 0, flags: VIRTQ_DESC_F_INDIRECT });
        return first;
      }],
      ['a 4 GiB - 16 indirect table (past the end of RAM)', () => {
        const first = q.reserve(1);
        q.writeDescriptor(q.desc, first, { address: TABLE, length: 0xffff_fff0, flags: VIRTQ_DESC_F_INDIRECT });
        return first;
      }],
      ['a nested indirect table', () => {
        q.writeDescriptor(TABLE, 0, { address: TABLE, length: 16, flags: VIRTQ_DESC_F_INDIRECT });
        const first = q.reserve(1);
        q.writeDescriptor(q.desc, first, { address: TABLE, length: 16, flags: VIRTQ_DESC_F_INDIRECT });
        return first;
      }],
    ];
    for (const [name, post] of resets) {
      it(`answers ${name} with DEVICE_NEEDS_RESET, and works again after a reset`, async () => {
        const [status, used] = submit(post());
        expect(status).toBe(15 | 0x40);
        expect(used).toEqual([]);
        start();
        const [after, again] = submit(q.writeChain([{ address: BUFFER, length: 32, write: true }]));
        expect(after).toBe(15);
        expect(again.map(([, length]) => length)).toEqual([32]);
        expect(await guest.command('echo alive')).toBe('alive\n');
      });
    }

    it('counted the errors, and the guest kernel noticed nothing', async () => {
      const rng = rngCounters();
      // The five refused buffers (not the zero-length one).
      expect(rng.errors - start0.errors).toBe(5);
      expect(rng.resetsNeeded - start0.resetsNeeded).toBe(7);
      // One configuration-change interrupt per DEVICE_NEEDS_RESET, kept off the wire by INTx Disable.
      expect(rng.interrupts - start0.interrupts).toBe(7);
      // (Case-sensitive: the boot log's pci=nocrs notice says "report a bug".)
      const log = await guest.command('dmesg | grep -cE "nobody cared|Oops|BUG|Call Trace"');
      expect(log).toBe('0\n');
    });
  });
});
