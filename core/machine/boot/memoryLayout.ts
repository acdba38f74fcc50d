/**
 * The guest-physical layout a kernel boot sets up, and the e820 memory map
 * that describes it to the guest. One place, so the Linux zero page, the
 * Multiboot info and the ACPI tables all agree.
 *
 *   0x00000-0x004FF  real-mode IVT + BIOS data area (BDA)
 *   0x00500          boot GDT
 *   0x10000          Linux boot_params / Multiboot info (+ mmap, mods)
 *   0x20000          kernel command line (up to 64 KiB)
 *   0x30000          boot loader name, initrd module string
 *   0x9F000          initial stack top (grows down, below the EBDA)
 *   0x9FC00-0xA0000  EBDA (reserved)
 *   0xA0000-0xE0000  legacy VGA window / option ROMs: a hole in the map
 *   0xE0000-0x100000 BIOS area (reserved); the ACPI RSDP and the MP floating pointer live here
 *   0x100000         protected-mode kernel
 *   ...              initrd at the top of usable RAM
 *   top - 64 KiB     ACPI tables (e820 type 3, ACPI data)
 */
import { BootError } from './bootError.ts';

export const BOOT_PARAMS_ADDR = 0x10000;
export const CMDLINE_ADDR = 0x20000;
export const CMDLINE_MAX = 0x10000;
export const LOADER_STRINGS_ADDR = 0x30000;
export const BOOT_STACK_TOP = 0x9f000;
export const EBDA_BASE = 0x9fc00;
export const BIOS_AREA_BASE = 0xe0000;
export const HIGH_MEMORY_BASE = 0x100000;
/** The RSDP: 16-byte aligned inside 0xE0000-0xFFFFF where the OS scans for it. */
export const RSDP_ADDR = 0xf0000;
/** The MP floating pointer (and its configuration table right after it), past the 36-byte RSDP, on a board with the APICs. */
export const MP_FLOATING_ADDR = 0xf0040;
export const ACPI_AREA_SIZE = 0x10000;
/** Smallest machine a kernel boot accepts: 1 MiB of low memory + the ACPI area + room for a kernel. */
export const MIN_RAM_BYTES = 2 * 1024 * 1024;

export const E820_RAM = 1;
export const E820_RESERVED = 2;
export const E820_ACPI = 3;

export interface E820Entry {
  base: number;
  length: number;
  type: number;
}

/** Where the ACPI tables go for a machine with `ramSize` bytes of RAM. */
export function acpiAreaBase(ramSize: number): number {
  return ramSize - ACPI_AREA_SIZE;
}

/** Top of RAM the OS may use freely (the ACPI area above it is reserved). */
export function usableTop(ramSize: number): number {
  return acpiAreaBase(ramSize);
}

export function checkRamSize(ramSize: number): void {
  if (ramSize < MIN_RAM_BYTES) {
    throw new BootError(`a kernel boot needs at least ${MIN_RAM_BYTES >> 20} MiB of RAM, machine has ${ramSize / 1048576} MiB`);
  }
}

export function buildE820Map(ramSize: number): E820Entry[] {
  checkRamSize(ramSize);
  const acpi = acpiAreaBase(ramSize);
  return [
    { base: 0, length: EBDA_BASE, type: E820_RAM },
    { base: EBDA_BASE, length: 0xa0000 - EBDA_BASE, type: E820_RESERVED },
    { base: BIOS_AREA_BASE, length: HIGH_MEMORY_BASE - BIOS_AREA_BASE, type: E820_RESERVED },
    { base: HIGH_MEMORY_BASE, length: acpi - HIGH_MEMORY_BASE, type: E820_RAM },
    { base: acpi, length: ACPI_AREA_SIZE, type: E820_ACPI },
  ];
}
