/**
 * Maps a raw firmware image the way a PC's flash is decoded: the whole image
 * ends at 4 GiB (the reset vector is at 0xFFFFFFF0), and its last 128 KiB are
 * also visible below 1 MiB, ending at 0xFFFFF (the legacy BIOS segment
 * 0xE000-0xFFFF). Both windows share the same bytes.
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
