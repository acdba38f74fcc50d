/**
 * Guest-level test: Tiny Linux's virtio_balloon under the VT-x hypervisor,
 * its domain's memory leased from a host MachinePool as `popek serve` does.
 * Inflating to the host's target drops the guest's MemTotal and MemFree by
 * the balloon and gives exactly those frames back to the pool (its free
 * frames, as the host counts them, grow by the balloon); deflating takes
 * them again and the guest's memory is back. Deterministic clock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GuestConsole } from '../../scripts/guestConsole.ts';
import { MachinePool } from '../../core/host/machinePool.ts';

const PAGES = 4096; // 16 MiB
const MiB = 1024 * 1024;

describe('virtio-balloon in Tiny Linux under VT-x: frames back to the machine pool', () => {
  let guest: GuestConsole;
  let pool: MachinePool;
  let owner: number;
  let memTotalKiB: number;
  let poolFree: number;
  const meminfo = async () => {
    const text = await guest.command('grep -E "^Mem(Total|Free)" /proc/meminfo');
    const [, total, free] = text.match(/^MemTotal:\s+(\d+) kB\nMemFree:\s+(\d+) kB\n$/) ?? [];
    return { total: Number(total), free: Number(free) };
  };
  /** Lets the guest's balloon driver work (its worker runs when the shell sleeps), until it reports `pages`. */
  const settle = async (pages: number) => {
    for (let i = 0; i < 30 && guest.machine.stats().balloon!.actualPages !== pages; i++) await guest.command('sleep 1', 300);
  };

  beforeAll(async () => {
    pool = new MachinePool(256 * MiB);
    const lease = pool.lease();
    owner = lease.owner;
    guest = GuestConsole.tinyLinux({ acceleration: 'vtx', virtioBalloon: true, machineMemory: lease });
    await guest.waitFor('POPEK-READY\r\n', 900);
    await guest.waitFor(/\n# (\x1b\[6n)?$/, 120);
    memTotalKiB = (await meminfo()).total;
    poolFree = pool.freeFrames;
  }, 1_100_000);

  afterAll(() => {
    guest?.machine.pause();
    if (pool) pool.release(owner);
  });

  it('starts with an empty balloon bound by virtio_balloon, the pool counting the domain\'s frames as used', async () => {
    expect(await guest.command('basename $(readlink /sys/bus/virtio/devices/virtio0/driver)')).toBe('virtio_balloon\n');
    expect(guest.machine.stats().balloon).toEqual({ targetPages: 0, actualPages: 0, reclaimedPages: 0, poolFreeFrames: poolFree });
    expect(memTotalKiB).toBeGreaterThan(100_000);
    // 128 MiB of RAM and the hypervisor's own frames are out of the 256 MiB pool.
    expect(poolFree).toBeLessThan((128 * MiB) / 4096);
  });

  it('inflates to the target: MemTotal and MemFree drop by the balloon, the pool gets exactly those frames', async () => {
    const before = await meminfo();
    guest.machine.setBalloonTarget!(PAGES);
    await settle(PAGES);
    expect(guest.machine.stats().balloon).toEqual({ targetPages: PAGES, actualPages: PAGES, reclaimedPages: PAGES, poolFreeFrames: poolFree + PAGES });
    expect(pool.freeFrames).toBe(poolFree + PAGES);
    const after = await meminfo();
    expect(after.total).toBe(memTotalKiB - PAGES * 4);
    // MemFree moves with the shell's own allocations too: the balloon's 16 MiB within 1 MiB.
    expect(Math.abs(before.free - after.free - PAGES * 4)).toBeLessThan(1024);
    // The guest runs on with the holes (a fork and exec touch fresh pages).
    expect(await guest.command('echo $((6 * 7))')).toBe('42\n');
  }, 600_000);

  it('deflates when the target goes back to zero: the frames leave the pool and the guest has its memory again', async () => {
    guest.machine.setBalloonTarget!(0);
    await settle(0);
    expect(guest.machine.stats().balloon).toEqual({ targetPages: 0, actualPages: 0, reclaimedPages: 0, poolFreeFrames: poolFree });
    expect(pool.freeFrames).toBe(poolFree);
    expect((await meminfo()).total).toBe(memTotalKiB);
    // The guest runs on with its pages back (a 256 KiB tmpfs file written and counted).
    expect(await guest.command('dd if=/dev/zero of=/tmp/z bs=64k count=4 2>&-; wc -c </tmp/z', 600)).toBe('262144\n');
    expect(guest.output).not.toMatch(/Oops|BUG|WARNING|Kernel panic|Call Trace/);
  }, 600_000);
});
