/** The grant check: only ranges that are entirely plain guest RAM give views. */
import { describe, expect, it } from 'vitest';
import { MemoryBus } from '../../core/memory/bus.ts';
import { PhysicalMemory } from '../../core/memory/physicalMemory.ts';
import { busRamMap, CheckedGuestMemory } from '../../core/dom0/grantCheck.ts';
import { GuestMemoryError } from '../../core/devices/virtio/guestMemory.ts';

describe('grant-checked guest memory', () => {
  const RAM = 1 << 20;
  const physical = new PhysicalMemory(RAM, 0x10000);
  const bus = new MemoryBus(physical);
  bus.addMmio(0xa0000, 0x20000, { read: () => 0, write: () => {} }, 'vga-hole');
  bus.mapRom(0xffff_0000, physical.allocateRom(new Uint8Array(0x10000)), 0x10000);
  const mem = new CheckedGuestMemory(busRamMap(bus));

  it('gives views of RAM and reads and writes little-endian values', () => {
    mem.write32(0x1000, 0x1234_5678);
    expect(mem.read32(0x1000)).toBe(0x1234_5678);
    expect(mem.read16(0x1002)).toBe(0x1234);
    mem.write32(0x1004, 0x9);
    expect(mem.read64(0x1000)).toBe(9 * 0x1_0000_0000 + 0x1234_5678);
    expect(mem.view(0x1000, 4, false)).toEqual(new Uint8Array([0x78, 0x56, 0x34, 0x12]));
    expect(mem.view(RAM - 4096, 4096, true).length).toBe(4096);
  });

  it('refuses ranges that reach past RAM, into an MMIO hole inside RAM, into ROM, past 4 GiB, or that are too long', () => {
    const refused = (address: number, length: number) => {
      try {
        mem.view(address, length, true);
      } catch (e) {
        return e instanceof GuestMemoryError;
      }
      return false;
    };
    expect(refused(RAM - 4, 8)).toBe(true);
    expect(refused(0x9ffff, 2)).toBe(true); // the page after is MMIO shadowing RAM
    expect(refused(0xb0000, 1)).toBe(true);
    expect(refused(0xffff_0000, 16)).toBe(true);
    expect(refused(0xffff_fff0, 0x20)).toBe(true);
    expect(refused(2 ** 40, 1)).toBe(true);
    expect(refused(0, 0xffff_ffff)).toBe(true);
    expect(refused(-1, 1)).toBe(true);
    expect(refused(0.5, 1)).toBe(true);
    expect(refused(0x9f000, 0x1000)).toBe(false);
    expect(mem.refusals).toBe(9);
  });
});
