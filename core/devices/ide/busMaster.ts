/**
 * The bus-master IDE engine of one channel (PIIX3 datasheet, "Bus Master IDE
 * registers", 8 bytes per channel in BAR4): command (start, direction),
 * status (active, error, interrupt, drive DMA capable) and the physical
 * address of the descriptor table (PRD table).
 *
 * A PRD entry is two dwords: a buffer address (bit 0 ignored) and a byte
 * count in bits 15:1 (0 meaning 64 KiB) with end-of-table in bit 31. A
 * transfer runs when the device has one waiting and the start bit is set,
 * in whichever order the driver does the two; it completes inside that port
 * write.
 *
 * Everything the table says is guest input: entries are read and buffers
 * mapped only through GuestMemory (dom0's checked access), so a table or a
 * buffer outside RAM is a DMA error the guest sees (status error bit,
 * command aborted with ABRT), never a host access. What the model does
 * where the datasheet leaves the outcome to the hardware:
 *  - a table shorter than the transfer: active cleared, the command aborted;
 *  - a direction bit that disagrees with the command: error bit, aborted;
 *  - a table running past its 64 KiB page without end-of-table (the PIIX's
 *    limit on table placement): error bit, aborted.
 */
import { GuestMemoryError, type GuestMemory } from '../virtio/guestMemory.ts';
import type { ChannelDmaEngine, IdeChannel } from './ideChannel.ts';

export const BM_CMD_START = 0x01;
/** 1: the bus master writes memory (a device read). */
export const BM_CMD_WRITE = 0x08;
export const BM_ST_ACTIVE = 0x01;
export const BM_ST_ERROR = 0x02;
export const BM_ST_INTERRUPT = 0x04;
export const BM_ST_DRIVE0_DMA = 0x20;
export const BM_ST_DRIVE1_DMA = 0x40;

const PRD_EOT = 0x8000_0000;

export interface BusMasterState {
  command: number;
  status: number;
  prdTable: number;
}

export class BusMasterChannel implements ChannelDmaEngine {
  command = 0;
  status = 0;
  prdTable = 0;
  private readonly mem: GuestMemory;
  private readonly channel: IdeChannel;
  /** Whether the function may master the bus (PCI COMMAND bit 2). */
  private readonly mastering: () => boolean;

  constructor(channel: IdeChannel, mem: GuestMemory, mastering: () => boolean) {
    this.channel = channel;
    this.mem = mem;
    this.mastering = mastering;
    channel.dmaEngine = this;
  }

  reset(): void {
    this.command = 0;
    this.status = 0;
    this.prdTable = 0;
  }

  /** Register access at `offset` (0-7) of this channel's 8 bytes. */
  read(offset: number, size: number): number {
    let value = 0;
    for (let i = 0; i < size; i++) value |= this.readByte(offset + i) << (8 * i);
    return value >>> 0;
  }

  write(offset: number, size: number, value: number): void {
    if (offset === 4 && size === 4) {
      this.prdTable = value & 0xffff_fffc;
      return;
    }
    for (let i = 0; i < size; i++) this.writeByte(offset + i, (value >>> (8 * i)) & 0xff);
  }

  private readByte(offset: number): number {
    switch (offset) {
      case 0: return this.command;
      case 2: return this.status;
      case 4: case 5: case 6: case 7: return (this.prdTable >>> (8 * (offset - 4))) & 0xff;
      default: return 0;
    }
  }

  private writeByte(offset: number, value: number): void {
    switch (offset) {
      case 0: {
        const starting = (value & BM_CMD_START) !== 0 && (this.command & BM_CMD_START) === 0;
        this.command = value & (BM_CMD_START | BM_CMD_WRITE);
        if ((value & BM_CMD_START) === 0) {
          // Stop: whatever the device still wanted stays waiting (the driver resets or times out).
          this.status &= ~BM_ST_ACTIVE;
        } else if (starting) {
          this.status |= BM_ST_ACTIVE;
          this.dmaRequested();
        }
        return;
      }
      case 2:
        this.status = (this.status & ~(BM_ST_DRIVE0_DMA | BM_ST_DRIVE1_DMA) & ~(value & (BM_ST_ERROR | BM_ST_INTERRUPT)))
          | (value & (BM_ST_DRIVE0_DMA | BM_ST_DRIVE1_DMA));
        return;
      case 4: case 5: case 6: case 7: {
        const shift = 8 * (offset - 4);
        this.prdTable = ((this.prdTable & ~(0xff << shift)) | (value << shift)) & 0xffff_fffc;
        this.prdTable >>>= 0;
        return;
      }
    }
  }

  deviceInterrupt(): void {
    this.status |= BM_ST_INTERRUPT;
  }

  /** Runs the selected device's waiting transfer if the engine is started and may master the bus. */
  dmaRequested(): void {
    if ((this.status & BM_ST_ACTIVE) === 0 || (this.command & BM_CMD_START) === 0 || !this.mastering()) return;
    const device = this.channel.selectedDevice;
    const transfer = device?.dma;
    if (!device || !transfer) return;
    device.dma = null;
    if (transfer.toMemory !== ((this.command & BM_CMD_WRITE) !== 0)) return this.error(transfer);
    let entry = this.prdTable;
    try {
      for (;;) {
        const address = this.mem.read32(entry) & ~1;
        const control = this.mem.read32(entry + 4);
        const count = (control & 0xfffe) || 0x1_0000;
        const n = Math.min(count, transfer.remaining);
        const buffer = this.mem.view(address, n, transfer.toMemory);
        const ok = transfer.transfer(buffer);
        if (transfer.toMemory) this.mem.written(address, n);
        if (!ok) {
          // The device ended the command with its own error (and interrupted).
          this.status &= ~BM_ST_ACTIVE;
          return;
        }
        transfer.remaining -= n;
        const last = (control & PRD_EOT) !== 0;
        if (transfer.remaining === 0) {
          // A table longer than the transfer leaves the engine active; the driver stops it.
          if (last && n === count) this.status &= ~BM_ST_ACTIVE;
          transfer.finish();
          return;
        }
        if (last) {
          this.status &= ~BM_ST_ACTIVE;
          transfer.fail();
          return;
        }
        entry += 8;
        if ((entry & 0xffff) === 0) return this.error(transfer);
      }
    } catch (e) {
      if (!(e instanceof GuestMemoryError)) throw e;
      this.error(transfer);
    }
  }

  /** A DMA error the guest sees: error bit, engine inactive, the command aborted. */
  private error(transfer: { fail(): void }): void {
    this.status = (this.status | BM_ST_ERROR) & ~BM_ST_ACTIVE;
    transfer.fail();
  }

  saveState(): BusMasterState {
    return { command: this.command, status: this.status, prdTable: this.prdTable };
  }

  loadState(s: BusMasterState): void {
    this.command = s.command & (BM_CMD_START | BM_CMD_WRITE);
    this.status = s.status & 0x67;
    this.prdTable = (s.prdTable & 0xffff_fffc) >>> 0;
  }
}
