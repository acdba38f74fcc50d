/**
 * The CPU state a boot loader hands over: general registers, EFLAGS, the GDT
 * it wrote into guest memory and the segment selectors to load from it. The
 * CPU's `loadEntryState` performs real descriptor loads from that GDT, so the
 * hidden descriptor caches match what the guest would read back.
 *
 * Both supported protocols (Linux 32-bit boot, Multiboot v1) enter in 32-bit
 * protected mode, paging off, interrupts off, with flat 4 GiB segments.
 */
import type { GuestRam } from './guestRam.ts';
import { writeBytes } from './guestRam.ts';

export interface EntryState {
  eax: number;
  ebx: number;
  ecx: number;
  edx: number;
  esi: number;
  edi: number;
  ebp: number;
  esp: number;
  eip: number;
  eflags: number;
  gdtBase: number;
  gdtLimit: number;
  cs: number;
  ds: number;
  es: number;
  ss: number;
  fs: number;
  gs: number;
}

/** Where the boot GDT lives: 0x500 is free conventional memory just above the BIOS data area. */
export const BOOT_GDT_ADDR = 0x500;
/** Linux's __BOOT_CS / __BOOT_DS; Multiboot leaves the choice to the loader, so it gets the same. */
export const BOOT_CS = 0x10;
export const BOOT_DS = 0x18;
/** EFLAGS with only the always-one bit 1 set: IF=0, DF=0. */
export const EFLAGS_BOOT = 0x2;

/**
 * GDT: null, null (Linux reserves entry 1), flat code (base 0, limit 4 GiB,
 * G=1, D=1, present, DPL 0, execute/read, accessed) and flat data
 * (read/write, accessed). Accessed bits are preset so the CPU need not write
 * the descriptors back.
 */
const BOOT_GDT = new Uint8Array([
  0, 0, 0, 0, 0, 0, 0, 0, //
  0, 0, 0, 0, 0, 0, 0, 0, //
  0xff, 0xff, 0x00, 0x00, 0x00, 0x9b, 0xcf, 0x00, // 0x10: code, type 0xB
  0xff, 0xff, 0x00, 0x00, 0x00, 0x93, 0xcf, 0x00, // 0x18: data, type 0x3
]);

/** Writes the flat boot GDT and returns an entry state that uses it; callers fill in the registers they define. */
export function flatEntryState(ram: GuestRam, eip: number): EntryState {
  writeBytes(ram, BOOT_GDT_ADDR, BOOT_GDT, 'boot GDT');
  return {
    eax: 0,
    ebx: 0,
    ecx: 0,
    edx: 0,
    esi: 0,
    edi: 0,
    ebp: 0,
    esp: 0,
    eip: eip >>> 0,
    eflags: EFLAGS_BOOT,
    gdtBase: BOOT_GDT_ADDR,
    gdtLimit: BOOT_GDT.length - 1,
    cs: BOOT_CS,
    ds: BOOT_DS,
    es: BOOT_DS,
    ss: BOOT_DS,
    fs: BOOT_DS,
    gs: BOOT_DS,
  };
}
