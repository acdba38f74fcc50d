/**
 * The PC/AT CMOS NVRAM layout a firmware-less boot expects: memory size
 * bytes and the standard checksum over 0x10-0x2D stored big-endian at
 * 0x2E/0x2F. Values follow the AT BIOS conventions (also what SeaBIOS reads).
 *
 * Beyond the AT layout, the bytes QEMU's PC keeps for its firmware, which
 * SeaBIOS reads when fw_cfg does not say otherwise: RAM above 4 GiB (0x5B-0x5D,
 * 64 KiB units; always 0 here, as RAM ends below the PCI hole), the CPU count
 * less one (0x5F), and the boot order (0x3D low/high nibble = first/second
 * device, 0x38 high nibble = third; 1 floppy, 2 hard disk, 3 CD-ROM, 4
 * network; 0x38 bit 0 set = do not check a floppy's boot signature).
 */

export const CMOS_EQUIPMENT = 0x14;
export const CMOS_BASE_MEMORY_LO = 0x15; // KiB below 1 MiB (640)
export const CMOS_EXT_MEMORY_LO = 0x17; // KiB above 1 MiB, capped at 65535
export const CMOS_CHECKSUM_HI = 0x2e;
export const CMOS_EXT_MEMORY2_LO = 0x30; // same value as 0x17/0x18 (POST-reported copy)
export const CMOS_MEMORY_ABOVE_16M_LO = 0x34; // 64 KiB units above 16 MiB, capped at 65535
export const CMOS_CENTURY = 0x32;
export const CMOS_BOOT_FLAG1 = 0x38; // third boot device (high nibble), floppy signature check off (bit 0)
export const CMOS_BOOT_FLAG2 = 0x3d; // first (low nibble) and second (high nibble) boot device
export const CMOS_MEMORY_ABOVE_4G = 0x5b; // 3 bytes, 64 KiB units
export const CMOS_CPU_COUNT_LESS_ONE = 0x5f;

/** Boot devices in the CMOS boot order bytes. */
export type CmosBootDevice = 'floppy' | 'disk' | 'cdrom' | 'network';
const BOOT_DEVICE_CODE: Record<CmosBootDevice, number> = { floppy: 1, disk: 2, cdrom: 3, network: 4 };
/** QEMU's default for a PC without floppy: hard disk, then CD-ROM. */
export const DEFAULT_CMOS_BOOT_ORDER: readonly CmosBootDevice[] = ['disk', 'cdrom'];

/** Writes the equipment, memory-size, CPU-count and boot-order bytes for `ramBytes` of RAM, and the checksum. */
export function writeStandardCmos(nvram: Uint8Array, ramBytes: number, bootOrder: readonly CmosBootDevice[] = DEFAULT_CMOS_BOOT_ORDER): void {
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
  nvram.fill(0, CMOS_MEMORY_ABOVE_4G, CMOS_MEMORY_ABOVE_4G + 3);
  nvram[CMOS_CPU_COUNT_LESS_ONE] = 0; // one CPU
  writeCmosBootOrder(nvram, bootOrder);
  updateCmosChecksum(nvram);
}

/** The boot order bytes for up to three devices (more are ignored, as the bytes have room for three). */
export function writeCmosBootOrder(nvram: Uint8Array, order: readonly CmosBootDevice[]): void {
  const code = (i: number) => (i < order.length ? BOOT_DEVICE_CODE[order[i]] : 0);
  nvram[CMOS_BOOT_FLAG2] = code(0) | (code(1) << 4);
  nvram[CMOS_BOOT_FLAG1] = (code(2) << 4) | 0x01; // no floppy here, so no floppy signature check
}

/** The AT checksum: 16-bit sum of bytes 0x10-0x2D, high byte at 0x2E. */
export function updateCmosChecksum(nvram: Uint8Array): void {
  let sum = 0;
  for (let i = 0x10; i <= 0x2d; i++) sum += nvram[i];
  nvram[CMOS_CHECKSUM_HI] = (sum >>> 8) & 0xff;
  nvram[CMOS_CHECKSUM_HI + 1] = sum & 0xff;
}
