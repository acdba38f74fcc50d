/**
 * The two BIOS data area words an OS reads even when it was booted directly
 * (no BIOS ran): the EBDA segment (0x40E) and the base memory size in KiB
 * (0x413). Linux uses them to reserve the EBDA and to bound its low-memory
 * scans; leaving them zero makes it fall back to guesses.
 */
import type { GuestRam } from './guestRam.ts';
import { write16 } from './guestRam.ts';
import { EBDA_BASE } from './memoryLayout.ts';

export const BDA_EBDA_SEGMENT = 0x40e;
export const BDA_BASE_MEMORY_KIB = 0x413;

export function writeBiosDataArea(ram: GuestRam): void {
  write16(ram, BDA_EBDA_SEGMENT, EBDA_BASE >>> 4);
  write16(ram, BDA_BASE_MEMORY_KIB, EBDA_BASE >>> 10);
}
