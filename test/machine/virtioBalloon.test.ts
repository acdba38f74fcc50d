/**
 * Guest-level test: Tiny Linux's virtio_balloon inflates to the target the
 * host sets (its MemTotal drops by exactly the balloon, and the device
 * holds that many checked, zeroed pages) and deflates when the target goes
 * back to zero. Deterministic clock.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GuestConsole } from '../../scripts/guestConsole.ts';

const PAGES = 4096; // 16 MiB

describe('virtio-balloon in Tiny Linux', () => {
  let guest: GuestConsole;
  let memTotalKiB: number;
  const memTotal = async () => Number((await guest.command('grep MemTotal /proc/meminfo')).match(/^MemTotal:\s+(\d+) kB\n$/)?.[1]);

  beforeAll(async () => {
    guest = GuestConsole.tinyLinux({ virtioBalloon: true });
    await guest.waitFor('POPEK-READY\r\n', 600);
    await guest.waitFor(/\n# (\x1b\[6n)?$/, 120);
    memTotalKiB = await memTotal();
  }, 900_000);

  afterAll(() => {
    guest?.machine.pause();
  });

  it('starts with an empty balloon bound by virtio_balloon', async () => {
    expect(await guest.command('basename $(readlink /sys/bus/virtio/devices/virtio0/driver)')).toBe('virtio_balloon\n');
    expect(guest.machine.stats().balloon).toEqual({ targetPages: 0, actualPages: 0, reclaimedPages: 0 });
    expect(memTotalKiB).toBeGreaterThan(100_000);
  });

  it('inflates to the target: MemTotal drops by the balloon, the host holds the pages', async () => {
    guest.machine.setBalloonTarget!(PAGES);
    await guest.command('sleep 2');
    expect(guest.machine.stats().balloon).toEqual({ targetPages: PAGES, actualPages: PAGES, reclaimedPages: PAGES });
    expect(await memTotal()).toBe(memTotalKiB - PAGES * 4);
  });

  it('deflates when the target goes back to zero', async () => {
    guest.machine.setBalloonTarget!(0);
    await guest.command('sleep 2');
    expect(guest.machine.stats().balloon).toEqual({ targetPages: 0, actualPages: 0, reclaimedPages: 0 });
    expect(await memTotal()).toBe(memTotalKiB);
  });
});
