/**
 * QEMU's firmware configuration interface (fw_cfg) on the x86 I/O ports, so
 * unmodified SeaBIOS (and anything else written for QEMU's PC) learns the
 * board's memory map, boot order, console port and ACPI tables.
 *
 *   0x510  selector (16-bit write): selects an item and rewinds it to offset 0
 *   0x511  data (8-bit read): the selected item's next byte; 0 past its end.
 *          Writes are ignored (QEMU dropped data-port writes in 2.4).
 *   0x514  DMA address, big-endian: a 32-bit write at 0x514 sets the high half,
 *          a 32-bit write at 0x518 the low half and starts the transfer (a
 *          64-bit write does not exist on IA-32). Reading the eight bytes gives
 *          "QEMU CFG".
 *
 * A DMA transfer reads a 16-byte control block at the written guest-physical
 * address (all big-endian: u32 control, u32 length, u64 address). Control
 * bits: 0x01 error, 0x02 read, 0x04 skip, 0x08 select (key in bits 16-31),
 * 0x10 write. The device selects, then reads (bytes past the item's end are
 * zeros, as in QEMU), skips or refuses the write (no item here is writable),
 * and stores the control word back as 0, or with only the error bit when the
 * request failed. Transfers finish before the port write returns, so a
 * guest's poll of the control word sees the result at once.
 *
 * Guest memory is reached only through the GuestMemory grant check: a
 * control block or buffer outside guest RAM is the guest's error (the error
 * bit, or nothing when the control block itself cannot be read), never a host
 * access.
 */
import type { AccessSize, MemoryBus } from '../memory/bus.ts';
import type { Device } from './device.ts';
import { GuestMemoryError, type GuestMemory } from './virtio/guestMemory.ts';
import type { FwCfgItems } from './fwCfgItems.ts';

export const FW_CFG_PORT_SELECTOR = 0x510;
export const FW_CFG_PORT_DATA = 0x511;
export const FW_CFG_PORT_DMA = 0x514;

export const FW_CFG_DMA_CTL = { ERROR: 0x01, READ: 0x02, SKIP: 0x04, SELECT: 0x08, WRITE: 0x10 } as const;
const DMA_SIGNATURE = 'QEMU CFG';
/** Largest piece of a transfer handled in one step (a guest may ask for up to 4 GiB of zeros). */
const DMA_CHUNK = 1 << 20;
const FOUR_GIB = 0x1_0000_0000;

export interface FwCfgState {
  selector: number;
  offset: number;
  dmaHigh: number;
}

export class FwCfg implements Device {
  readonly name = 'fw-cfg';
  private readonly items: FwCfgItems;
  private readonly memory: GuestMemory | null;
  private selector = 0;
  /** Read position in the selected item. */
  private offset = 0;
  /** High half of the DMA address, kept until the low half is written. */
  private dmaHigh = 0;
  /** Transfers done and failed (tests, diagnostics). */
  dmaTransfers = 0;
  dmaErrors = 0;

  /**
   * @param memory guest RAM for the DMA interface; null leaves DMA out (the ID
   *   item must then not advertise it, see FwCfgItems' `dma` flag)
   */
  constructor(bus: MemoryBus, items: FwCfgItems, memory: GuestMemory | null) {
    this.items = items;
    this.memory = memory;
    bus.addPorts(FW_CFG_PORT_SELECTOR, 2, {
      portRead: (port, size) => this.readCtl(port, size),
      portWrite: (port, size, value) => this.writeCtl(port, size, value),
    }, 'fw-cfg', [1, 2]);
    if (memory) {
      bus.addPorts(FW_CFG_PORT_DMA, 8, {
        portRead: (port, size) => this.readDma(port, size),
        portWrite: (port, size, value) => this.writeDma(port, size, value),
      }, 'fw-cfg-dma', [1, 4]);
    }
  }

  reset(): void {
    this.selector = 0;
    this.offset = 0;
    this.dmaHigh = 0;
  }

  saveState(): FwCfgState {
    return { selector: this.selector, offset: this.offset, dmaHigh: this.dmaHigh };
  }

  loadState(state: unknown): void {
    const s = state as FwCfgState;
    this.selector = s.selector & 0xffff;
    this.offset = Math.max(0, Math.floor(s.offset));
    this.dmaHigh = s.dmaHigh >>> 0;
  }

  // ---- traditional interface ----------------------------------------------

  private readCtl(port: number, size: AccessSize): number {
    if (port === FW_CFG_PORT_DATA && size === 1) return this.nextByte();
    return 0; // the selector reads as 0 (QEMU's x86 selector is write-only)
  }

  private writeCtl(port: number, size: AccessSize, value: number): void {
    if (port === FW_CFG_PORT_SELECTOR && size === 2) this.select(value);
  }

  private select(key: number): void {
    this.selector = key & 0xffff;
    this.offset = 0;
  }

  private nextByte(): number {
    const data = this.items.item(this.selector);
    return this.offset < data.length ? data[this.offset++] : 0;
  }

  // ---- DMA interface -------------------------------------------------------

  private readDma(port: number, size: AccessSize): number {
    let value = 0;
    for (let i = size - 1; i >= 0; i--) value = (value << 8) | DMA_SIGNATURE.charCodeAt(port - FW_CFG_PORT_DMA + i);
    return value >>> 0;
  }

  private writeDma(port: number, size: AccessSize, value: number): void {
    if (size !== 4) return; // QEMU decodes only 32- and 64-bit writes
    const bigEndian = bswap32(value);
    if (port === FW_CFG_PORT_DMA) this.dmaHigh = bigEndian;
    else if (port === FW_CFG_PORT_DMA + 4) {
      const address = this.dmaHigh * FOUR_GIB + bigEndian;
      this.dmaHigh = 0;
      this.transfer(address);
    }
  }

  /** Runs the DMA request whose control block is at guest-physical `address`. */
  private transfer(address: number): void {
    const mem = this.memory!;
    let control: number;
    let length: number;
    let target: number;
    try {
      const block = mem.view(address, 16, false);
      const v = new DataView(block.buffer, block.byteOffset, 16);
      control = v.getUint32(0, false);
      length = v.getUint32(4, false);
      target = v.getUint32(8, false) * FOUR_GIB + v.getUint32(12, false);
    } catch (e) {
      if (!(e instanceof GuestMemoryError)) throw e;
      this.dmaErrors++; // no control block to report the error in
      return;
    }
    this.dmaTransfers++;
    let ok = true;
    if (control & FW_CFG_DMA_CTL.SELECT) this.select(control >>> 16);
    try {
      if (control & FW_CFG_DMA_CTL.READ) this.dmaRead(target, length);
      else if (control & FW_CFG_DMA_CTL.WRITE) ok = false; // no writable items
      else if (control & FW_CFG_DMA_CTL.SKIP) this.offset = Math.min(this.offset + length, Number.MAX_SAFE_INTEGER);
    } catch (e) {
      if (!(e instanceof GuestMemoryError)) throw e;
      ok = false;
    }
    if (!ok) this.dmaErrors++;
    try {
      const out = mem.view(address, 4, true);
      new DataView(out.buffer, out.byteOffset, 4).setUint32(0, ok ? 0 : FW_CFG_DMA_CTL.ERROR, false);
      mem.written(address, 4);
    } catch (e) {
      if (!(e instanceof GuestMemoryError)) throw e;
      this.dmaErrors++;
    }
  }

  /** Copies `length` bytes of the selected item to guest RAM at `target`, zeros past the item's end. */
  private dmaRead(target: number, length: number): void {
    const data = this.items.item(this.selector);
    let done = 0;
    while (done < length) {
      const n = Math.min(DMA_CHUNK, length - done);
      const view = this.memory!.view(target + done, n, true);
      const available = Math.max(0, Math.min(n, data.length - this.offset));
      if (available > 0) view.set(data.subarray(this.offset, this.offset + available));
      if (available < n) view.fill(0, available);
      this.memory!.written(target + done, n);
      this.offset += available;
      done += n;
    }
  }
}

function bswap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | ((v >>> 24) & 0xff)) >>> 0;
}
