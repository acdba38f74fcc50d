/**
 * Maps a raw firmware image the way a PC's flash is decoded: the whole image
 * ends at 4 GiB (the reset vector is at 0xFFFFFFF0), and its last 128 KiB are
 * also visible below 1 MiB, ending at 0xFFFFF (the legacy BIOS segment
 * 0xE000-0xFFFF).
 *
 * The PC board (mapFirmware + biosShadow) comes out of reset with that low
 * alias already shadowed: the BIOS area is RAM holding a copy of the image's
 * last 128 KiB, as if the 440FX's PAM registers had been set to "read and
 * write DRAM" and the BIOS copied itself there, which is the first thing
 * SeaBIOS (and any PC BIOS) asks the chipset for: it keeps its variables in
 * the F segment. Switching PAM at run time would mean changing the bus's page
 * map and the hypervisor's EPT under a running guest; starting shadowed gives
 * firmware the state it asks for. The one visible difference: the BIOS area
 * stays writable after firmware asks for it to be write-protected again.
 *
 * mapRomImage maps both windows as ROM (writes ignored), for processor test
 * harnesses that run a ROM without a board.
 */
import { BootError } from '../boot/bootError.ts';
import type { MemoryBus } from '../../memory/bus.ts';
import type { PhysicalMemory } from '../../memory/physicalMemory.ts';

export const ROM_GRANULE = 64 * 1024;
export const ROM_MAX_SIZE = 16 * 1024 * 1024;
export const LOW_ROM_WINDOW = 128 * 1024;
const FOUR_GIB = 0x1_0000_0000;
const LOW_ROM_END = 0x100000;

/** Checks a firmware image's size; throws a BootError with a one-line reason. */
export function validateRomImage(image: Uint8Array): void {
  if (image.length === 0 || image.length % ROM_GRANULE !== 0) {
    throw new BootError(`ROM image size ${image.length} bytes is not a multiple of 64 KiB`);
  }
  if (image.length > ROM_MAX_SIZE) {
    throw new BootError(`ROM image is ${image.length >> 20} MiB; at most 16 MiB is supported`);
  }
}

export interface RomMapping {
  bufferOffset: number;
  highBase: number;
  lowBase: number;
  lowSize: number;
}

/** Copies the image into the ROM space of `memory` and maps both windows on `bus`. */
export function mapRomImage(memory: PhysicalMemory, bus: MemoryBus, image: Uint8Array): RomMapping {
  validateRomImage(image);
  const bufferOffset = memory.allocateRom(image);
  const highBase = FOUR_GIB - image.length;
  bus.mapRom(highBase, bufferOffset, image.length);
  const lowSize = Math.min(LOW_ROM_WINDOW, image.length);
  const lowBase = LOW_ROM_END - lowSize;
  bus.mapRom(lowBase, bufferOffset + image.length - lowSize, lowSize);
  return { bufferOffset, highBase, lowBase, lowSize };
}

/** Maps the whole image as ROM ending at 4 GiB only; the BIOS area below 1 MiB is the board's shadow RAM (biosShadow). */
export function mapFirmware(memory: PhysicalMemory, bus: MemoryBus, image: Uint8Array): { bufferOffset: number; highBase: number } {
  validateRomImage(image);
  const bufferOffset = memory.allocateRom(image);
  const highBase = FOUR_GIB - image.length;
  bus.mapRom(highBase, bufferOffset, image.length);
  return { bufferOffset, highBase };
}

/** What the board copies into RAM at power-on: the image's last 128 KiB (or all of a smaller image), ending at 0xFFFFF. */
export function biosShadow(image: Uint8Array): { base: number; bytes: Uint8Array } {
  const size = Math.min(LOW_ROM_WINDOW, image.length);
  return { base: LOW_ROM_END - size, bytes: image.subarray(image.length - size) };
}
