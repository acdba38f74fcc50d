/**
 * The contents a QEMU-compatible fw_cfg device hands to firmware: numbered
 * items (the legacy keys below 0x20) and named files, which get keys from
 * 0x20 on and are listed in the file directory item (0x19).
 *
 * Layout follows QEMU's docs/specs/fw_cfg.rst, which SeaBIOS, OVMF and
 * Linux's fw_cfg driver read:
 *   - the directory is a big-endian u32 count followed by one 64-byte entry
 *     per file: u32 size (BE), u16 select key (BE), u16 reserved, 56 bytes of
 *     NUL-padded name;
 *   - files are numbered in ascending name order, as QEMU does, so the same
 *     configuration always gives the same keys;
 *   - the legacy items are little-endian (ID, RAM size, CPU counts, boot menu).
 *
 * This is plain data built once per machine; the device (fwCfg.ts) only reads it.
 */

/** Selector keys (fw_cfg.rst, "Selector Register"). */
export const FW_CFG_KEY = {
  SIGNATURE: 0x0000,
  ID: 0x0001,
  UUID: 0x0002,
  RAM_SIZE: 0x0003,
  NOGRAPHIC: 0x0004,
  NB_CPUS: 0x0005,
  BOOT_MENU: 0x000e,
  MAX_CPUS: 0x000f,
  FILE_DIR: 0x0019,
  FILE_FIRST: 0x0020,
} as const;

/** ID item bits: the traditional port interface, and the DMA interface. */
export const FW_CFG_ID_TRADITIONAL = 1 << 0;
export const FW_CFG_ID_DMA = 1 << 1;

/** Longest file name the directory holds (56 bytes with the terminating NUL). */
export const FW_CFG_MAX_NAME = 55;
const DIR_ENTRY_BYTES = 64;
/** Keys 0x20-0x3FFF are files; the write channel bit (0x4000) and the arch bit (0x8000) are above. */
const FILE_KEY_LIMIT = 0x4000;

export interface FwCfgFile {
  name: string;
  data: Uint8Array;
}

export class FwCfgItems {
  /** Item bytes by selector key (the directory and the files included). */
  private readonly items = new Map<number, Uint8Array>();
  private readonly files: { name: string; key: number; size: number }[] = [];

  /**
   * @param legacy numbered items below 0x20 other than SIGNATURE, ID and FILE_DIR (those are the device's own)
   * @param files named files; names must be unique and at most 55 bytes of ASCII
   */
  constructor(legacy: Map<number, Uint8Array>, files: FwCfgFile[], dma: boolean) {
    this.items.set(FW_CFG_KEY.SIGNATURE, ascii('QEMU'));
    this.items.set(FW_CFG_KEY.ID, le(FW_CFG_ID_TRADITIONAL | (dma ? FW_CFG_ID_DMA : 0), 4));
    for (const [key, data] of legacy) {
      if (!Number.isInteger(key) || key < 0 || key >= FW_CFG_KEY.FILE_FIRST) throw new RangeError(`fw_cfg legacy key 0x${key.toString(16)} is not below 0x20`);
      if (key === FW_CFG_KEY.SIGNATURE || key === FW_CFG_KEY.ID || key === FW_CFG_KEY.FILE_DIR) throw new RangeError(`fw_cfg key 0x${key.toString(16)} belongs to the device`);
      this.items.set(key, data);
    }
    const sorted = [...files].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    if (FW_CFG_KEY.FILE_FIRST + sorted.length > FILE_KEY_LIMIT) throw new RangeError('too many fw_cfg files');
    sorted.forEach((file, i) => {
      if (!/^[\x21-\x7e]+$/.test(file.name) || file.name.length > FW_CFG_MAX_NAME) {
        throw new RangeError(`fw_cfg file name '${file.name}' must be 1-${FW_CFG_MAX_NAME} printable ASCII characters`);
      }
      if (i > 0 && sorted[i - 1].name === file.name) throw new RangeError(`fw_cfg file '${file.name}' is given twice`);
      const key = FW_CFG_KEY.FILE_FIRST + i;
      this.items.set(key, file.data);
      this.files.push({ name: file.name, key, size: file.data.length });
    });
    this.items.set(FW_CFG_KEY.FILE_DIR, this.directory());
  }

  /** The bytes of item `key`; an unknown key is an empty item (reads give zeros). */
  item(key: number): Uint8Array {
    return this.items.get(key) ?? EMPTY;
  }

  /** The file directory as (name, key, size), in key order. */
  listFiles(): { name: string; key: number; size: number }[] {
    return this.files.map((f) => ({ ...f }));
  }

  private directory(): Uint8Array {
    const out = new Uint8Array(4 + this.files.length * DIR_ENTRY_BYTES);
    const v = new DataView(out.buffer);
    v.setUint32(0, this.files.length, false);
    this.files.forEach((f, i) => {
      const at = 4 + i * DIR_ENTRY_BYTES;
      v.setUint32(at, f.size, false);
      v.setUint16(at + 4, f.key, false);
      out.set(ascii(f.name), at + 8);
    });
    return out;
  }
}

const EMPTY = new Uint8Array(0);

/** `value` as `bytes` little-endian bytes (up to 2^53). */
export function le(value: number, bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let v = value;
  for (let i = 0; i < bytes; i++) {
    out[i] = v % 256;
    v = Math.floor(v / 256);
  }
  return out;
}

export function ascii(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i) & 0x7f;
  return out;
}
