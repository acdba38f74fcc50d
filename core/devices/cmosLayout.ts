/**
 * The PC/AT CMOS NVRAM layout a firmware-less boot expects: memory size
 * bytes and the standard checksum over 0x10-0x2D stored big-endian at
 * 0x2E/0x2F. Values follow the AT BIOS conventions (also what SeaBIOS reads).
 */

export const CMOS_EQUIPMENT = 0x14;
export const CMOS_BASE_MEMORY_LO = 0x15; // KiB below 1 MiB (640)
export const CMOS_EXT_MEMORY_LO = 0x17; // KiB above 1 MiB, capped at 65535
export const CMOS_CHECKSUM_HI = 0x2e;
export const CMOS_EXT_MEMORY2_LO = 0x30; // same value as 0x17/0x18 (POST-reported copy)
export const CMOS_MEMORY_ABOVE_16M_LO = 0x34; // 64 KiB units above 16 MiB, capped at 65535
export const CMOS_CENTURY = 0x32;

/** Writes the equipment and memory-size bytes for `ramBytes` of RAM and the checksum. */
export function writeStandardCmos(nvram: Uint8Array, ramBytes: number): void {
  const set16 = (index: number, value: number) => {
    nvram[index] = value & 0xff;
    nvram[index + 1] = (value >>> 8) & 0xff;
  };
  nvram[CMOS_EQUIPMENT] = 0x02; // math coprocessor present, no floppy, VGA/EGA display
  set16(CMOS_BASE_MEMORY_LO, 640);
  const extKiB = Math.min(Math.max(0, Math.floor(ramBytes / 1024) - 1024), 0xffff);
  set16(CMOS_EXT_MEMORY_LO, extKiB);
  set16(CMOS_EXT_MEMORY2_LO, extKiB);
  const above16M = ramBytes > 16 * 1024 * 1024 ? Math.min(Math.floor((ramBytes - 16 * 1024 * 1024) / 65536), 0xffff) : 0;
  set16(CMOS_MEMORY_ABOVE_16M_LO, above16M);
  updateCmosChecksum(nvram);
}

/** The AT checksum: 16-bit sum of bytes 0x10-0x2D, high byte at 0x2E. */
export function updateCmosChecksum(nvram: Uint8Array): void {
  let sum = 0;
  for (let i = 0x10; i <= 0x2d; i++) sum += nvram[i];
  nvram[CMOS_CHECKSUM_HI] = (sum >>> 8) & 0xff;
  nvram[CMOS_CHECKSUM_HI + 1] = sum & 0xff;
}
