import { describe, expect, it } from 'vitest';
import { PhysicalMemory } from '../../../core/memory/physicalMemory.ts';
import { MemoryBus } from '../../../core/memory/bus.ts';
import { biosShadow, mapFirmware, mapRomImage, validateRomImage } from '../../../core/machine/firmware/romImage.ts';
import { BootError } from '../../../core/machine/boot/bootError.ts';

const KiB = 1024;

function image(size: number): Uint8Array {
  const img = new Uint8Array(size);
  for (let i = 0; i < size; i += 4096) img[i] = (i / 4096) & 0xff;
  img[size - 16] = 0xea; // the reset vector's far jump
  return img;
}

describe('firmware ROM mapping', () => {
  it('maps a 256 KiB image ending at 4 GiB and its last 128 KiB ending at 0xFFFFF', () => {
    const size = 256 * KiB;
    const mem = new PhysicalMemory(4 * 1024 * KiB, size);
    const bus = new MemoryBus(mem);
    const m = mapRomImage(mem, bus, image(size));
    expect(m.highBase).toBe(0xfffc0000);
    expect(m.lowBase).toBe(0xe0000);
    expect(bus.read8(0xfffffff0)).toBe(0xea);
    expect(bus.read8(0xffff0)).toBe(0xea);
    expect(bus.read8(0xfffc0000)).toBe(0);
    expect(bus.read8(0xfffc1000)).toBe(1);
    // 0xE0000 shows image offset 128 KiB (page 32)
    expect(bus.read8(0xe0000)).toBe(32);
  });

  it('maps all of a 64 KiB image below 1 MiB at 0xF0000', () => {
    const size = 64 * KiB;
    const mem = new PhysicalMemory(4 * 1024 * KiB, size);
    const bus = new MemoryBus(mem);
    const m = mapRomImage(mem, bus, image(size));
    expect(m.lowBase).toBe(0xf0000);
    expect(m.lowSize).toBe(size);
    expect(bus.read8(0xffff0)).toBe(0xea);
    expect(bus.read8(0xf1000)).toBe(1);
    expect(bus.read8(0xffff1000)).toBe(1);
  });

  it('ignores guest writes to the ROM', () => {
    const mem = new PhysicalMemory(4 * 1024 * KiB, 64 * KiB);
    const bus = new MemoryBus(mem);
    mapRomImage(mem, bus, image(64 * KiB));
    bus.write8(0xffff0, 0x90);
    expect(bus.read8(0xffff0)).toBe(0xea);
  });

  it('on the PC board maps the image only at 4 GiB and hands its last 128 KiB to the BIOS area shadow RAM', () => {
    const size = 256 * KiB;
    const mem = new PhysicalMemory(4 * 1024 * KiB, size);
    const bus = new MemoryBus(mem);
    const img = image(size);
    expect(mapFirmware(mem, bus, img).highBase).toBe(0xfffc0000);
    expect(bus.read8(0xfffffff0)).toBe(0xea);
    expect(bus.read8(0xffff0)).toBe(0); // RAM until the board copies the shadow in
    const shadow = biosShadow(img);
    expect(shadow.base).toBe(0xe0000);
    expect(shadow.bytes.length).toBe(128 * KiB);
    expect(shadow.bytes[0]).toBe(32);
    expect(shadow.bytes[128 * KiB - 16]).toBe(0xea);
    mem.u8.set(shadow.bytes, shadow.base);
    bus.write8(0xe0000, 0x77); // shadow RAM is writable, the flash is not
    expect(bus.read8(0xe0000)).toBe(0x77);
    expect(bus.read8(0xfffe0000)).toBe(32);
    expect(biosShadow(image(64 * KiB)).base).toBe(0xf0000);
  });

  it('rejects sizes that are not a multiple of 64 KiB', () => {
    expect(() => validateRomImage(new Uint8Array(1000))).toThrow(new BootError('ROM image size 1000 bytes is not a multiple of 64 KiB'));
    expect(() => validateRomImage(new Uint8Array(0))).toThrow(/not a multiple of 64 KiB/);
  });

  it('rejects images above 16 MiB', () => {
    expect(() => validateRomImage(new Uint8Array(17 * 1024 * KiB))).toThrow(new BootError('ROM image is 17 MiB; at most 16 MiB is supported'));
  });
});
