/**
 * What the ATA hard disk and the ATAPI CD-ROM share: their task file, the
 * PIO data buffer the data port reads and writes, the INTRQ they raise, and
 * the pending bus-master DMA transfer they hand to the controller.
 *
 * Commands complete synchronously, inside the OUT that issued them (a PIO
 * read has its first block ready, a DMA transfer runs when both the command
 * and the bus master's start bit are there), so the model never has a
 * half-done command in flight and BSY is only seen during a software reset.
 */
import { ER_ABRT, ST_BSY, ST_DRQ, ST_ERR } from './ataRegisters.ts';
import { TaskFile, type TaskFileState } from './taskFile.ts';

/**
 * A transfer waiting for the bus master. `remaining` bytes are moved through
 * `transfer` in the chunks the PRD table describes; then `finish`, or `fail`
 * if the bus master could not complete it (a bad PRD, a short table).
 */
export interface DmaTransfer {
  /** true: device to guest memory (a read). */
  readonly toMemory: boolean;
  remaining: number;
  /**
   * Fills (toMemory) or consumes the chunk. False: the device could not (a
   * backend error) and has already ended the command with an error; the bus
   * master stops.
   */
  transfer(chunk: Uint8Array): boolean;
  finish(): void;
  fail(): void;
}

export interface IdeDeviceState {
  tf: TaskFileState;
  irqPending: boolean;
  /** The command set's own settings (multiple count, transfer modes, sense data, ...). */
  settings?: unknown;
}

export abstract class IdeDevice {
  /** 'ata' or 'atapi': what the signature after reset says. */
  abstract readonly kind: 'ata' | 'atapi';
  readonly tf = new TaskFile();
  irqPending = false;
  /** The PIO buffer the data port moves through: [pioPos, pioEnd) is what is left of the current DRQ block. */
  protected readonly pio: Uint8Array;
  pioPos = 0;
  pioEnd = 0;
  /** Whether the current DRQ block goes to the host (a read) or comes from it. */
  pioIn = true;
  /** Called when the current DRQ block has been moved completely. */
  private pioDone: (() => void) | null = null;
  /** The DMA transfer waiting for the bus master, if any. */
  dma: DmaTransfer | null = null;
  /** Set by the channel: the device raised INTRQ / has a DMA transfer ready. */
  onInterrupt: () => void = () => {};
  onDmaRequest: () => void = () => {};

  constructor(pioBytes: number) {
    this.pio = new Uint8Array(pioBytes);
  }

  /**
   * Status bits of a ready device: DRDY, plus DSC for a disk. On a packet
   * device bit 4 is SERV (a service request of overlapped commands, which
   * this drive does not do), so it stays clear.
   */
  protected abstract readyStatus(): number;

  /** A command was written to the command register while this device is selected. */
  abstract execute(command: number): void;

  /** The signature and status left by a power-on, hardware or software reset. */
  protected abstract resetSignature(): void;

  /** SRST set: the device is busy and forgets whatever it was doing. */
  beginReset(): void {
    this.stopTransfers();
    this.irqPending = false;
    this.tf.status = ST_BSY;
  }

  /** SRST cleared (or power-on): diagnostics passed, signature in the task file. */
  endReset(): void {
    this.tf.error = 0x01; // diagnostic code: passed
    this.tf.sectorCount = 1;
    this.tf.lbaLow = 1;
    this.tf.device = 0;
    this.resetSignature();
  }

  reset(): void {
    this.beginReset();
    this.endReset();
  }

  // ---- the data port -------------------------------------------------------

  /** Reads `size` bytes (1, 2 or 4) from the PIO buffer; 0 when no data is requested. */
  readData(size: number): number {
    if (!this.pioIn || this.pioPos >= this.pioEnd || (this.tf.status & ST_DRQ) === 0) return 0;
    const p = this.pioPos;
    const b = this.pio;
    let value = b[p];
    if (size >= 2) value |= b[p + 1] << 8;
    if (size === 4) value = (value | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
    this.advance(size);
    return value;
  }

  writeData(size: number, value: number): void {
    if (this.pioIn || this.pioPos >= this.pioEnd || (this.tf.status & ST_DRQ) === 0) return;
    const p = this.pioPos;
    const b = this.pio;
    b[p] = value;
    if (size >= 2) b[p + 1] = value >>> 8;
    if (size === 4) {
      b[p + 2] = value >>> 16;
      b[p + 3] = value >>> 24;
    }
    this.advance(size);
  }

  private advance(size: number): void {
    this.pioPos = Math.min(this.pioPos + size, this.pioEnd);
    if (this.pioPos < this.pioEnd) return;
    const done = this.pioDone;
    this.pioDone = null;
    this.tf.status &= ~ST_DRQ;
    done?.();
  }

  // ---- helpers for the command sets ----------------------------------------

  /** Offers `length` bytes of the PIO buffer to the host (filled by the caller), with DRQ and, if asked, an interrupt. */
  protected pioToHost(length: number, done: () => void, interrupt = true): void {
    this.pioIn = true;
    this.startPio(length, done, interrupt);
  }

  /** Asks the host for `length` bytes into the PIO buffer. */
  protected pioFromHost(length: number, done: () => void, interrupt: boolean): void {
    this.pioIn = false;
    this.startPio(length, done, interrupt);
  }

  private startPio(length: number, done: () => void, interrupt: boolean): void {
    this.pioPos = 0;
    this.pioEnd = length;
    this.pioDone = done;
    this.tf.status = this.readyStatus() | ST_DRQ;
    if (interrupt) this.interrupt();
  }

  /** Hands a transfer to the bus master (which runs it once its start bit is set). */
  protected startDma(transfer: DmaTransfer): void {
    this.dma = transfer;
    this.tf.status = this.readyStatus() | ST_DRQ;
    this.onDmaRequest();
  }

  /** The command ended well. */
  protected complete(): void {
    this.stopTransfers();
    this.tf.status = this.readyStatus();
    this.interrupt();
  }

  /** The command ended with ERR and `error` in the error register. */
  protected fail(error = ER_ABRT): void {
    this.stopTransfers();
    this.tf.error = error;
    this.tf.status = this.readyStatus() | ST_ERR;
    this.interrupt();
  }

  /** Raises INTRQ (cleared by a status read or the next command). */
  interrupt(): void {
    this.irqPending = true;
    this.onInterrupt();
  }

  private stopTransfers(): void {
    this.pioPos = this.pioEnd = 0;
    this.pioDone = null;
    this.dma = null;
  }

  /**
   * Registers only: a PIO or DMA transfer in flight is not part of the saved
   * state (the device comes back idle with the saved status).
   */
  saveState(): IdeDeviceState {
    return { tf: this.tf.saveState(), irqPending: this.irqPending };
  }

  loadState(s: IdeDeviceState): void {
    this.stopTransfers();
    this.tf.loadState(s.tf);
    this.tf.status &= ~ST_DRQ;
    this.irqPending = s.irqPending;
  }
}
