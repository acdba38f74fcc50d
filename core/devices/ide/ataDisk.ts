/**
 * An ATA hard disk over a BlockBackend: the ATA/ATAPI-6 general feature set
 * with 48-bit addressing, PIO (single-sector and multiple) and DMA transfers.
 *
 * Commands: IDENTIFY DEVICE, READ/WRITE SECTORS (+EXT), READ/WRITE MULTIPLE
 * (+EXT), READ/WRITE DMA (+EXT), READ VERIFY (+EXT), SET FEATURES (transfer
 * mode, write cache, look-ahead, reverting), SET MULTIPLE MODE, FLUSH CACHE
 * (+EXT), INITIALIZE DEVICE PARAMETERS, CHECK POWER MODE, IDLE/STANDBY
 * (immediate, and the old 0x94-0x98 codes), RECALIBRATE and SEEK (nothing
 * to move). Anything else is aborted (ABRT), which includes NOP as the
 * standard asks. EXECUTE DEVICE DIAGNOSTIC is the channel's (ideChannel.ts):
 * it involves both devices.
 *
 * Errors: an address past the end (or CHS sector 0) is IDNF; a read the
 * image cannot satisfy is UNC; a write to a read-only image is aborted
 * (ABRT), which is what a drive with write-protected media reports: libata
 * turns it into a failed write, not a retry loop.
 */
import type { BlockBackend } from '../../dom0/block/blockBackend.ts';
import {
  CMD, DH_LBA, ER_ABRT, ER_IDNF, ER_UNC, MAX_MULTIPLE_SECTORS, SECTOR_BYTES,
  SETF_DISABLE_READ_LOOKAHEAD, SETF_DISABLE_REVERTING, SETF_DISABLE_WRITE_CACHE, SETF_ENABLE_READ_LOOKAHEAD,
  SETF_ENABLE_REVERTING, SETF_ENABLE_WRITE_CACHE, SETF_TRANSFER_MODE, ST_DRDY, ST_DSC,
} from './ataRegisters.ts';
import { IdeDevice, type IdeDeviceState } from './ideDevice.ts';
import { IdentifyBlock } from './identifyData.ts';

const MAX_LBA28_SECTORS = 0x0fff_ffff;

export interface AtaDiskOptions {
  /** Up to 20 characters (IDENTIFY words 10-19). */
  serial: string;
  /** Up to 40 characters (words 27-46). */
  model?: string;
}

interface AtaDiskSettings {
  multiple: number;
  heads: number;
  sectors: number;
  mwdma: number;
  udma: number;
  writeCache: boolean;
  lookAhead: boolean;
}

export class AtaDisk extends IdeDevice {
  readonly kind = 'ata' as const;
  readonly sectors: number;
  private readonly backend: BlockBackend;
  private readonly serial: string;
  private readonly model: string;
  /** Default geometry (IDENTIFY words 1, 3, 6) and the current translation INITIALIZE DEVICE PARAMETERS sets. */
  private readonly cylinders: number;
  private chs = { heads: 16, sectors: 63 };
  /** DRQ block size of READ/WRITE MULTIPLE; 0 = multiple mode off. */
  private multiple = 0;
  /** Selected transfer modes (-1 none): what SET FEATURES chose, reported in words 63 and 88. */
  private mwdma = -1;
  private udma = -1;
  private writeCache = true;
  private lookAhead = true;

  constructor(backend: BlockBackend, options: AtaDiskOptions) {
    super(MAX_MULTIPLE_SECTORS * SECTOR_BYTES);
    this.backend = backend;
    this.sectors = Math.floor(backend.sizeBytes / SECTOR_BYTES);
    this.serial = options.serial;
    this.model = options.model ?? 'POPEK HARDDISK';
    this.cylinders = Math.max(1, Math.min(16383, Math.floor(this.sectors / (16 * 63))));
    this.endReset();
  }

  protected resetSignature(): void {
    this.tf.lbaMid = 0;
    this.tf.lbaHigh = 0;
    this.tf.status = ST_DRDY | ST_DSC;
  }

  override reset(): void {
    this.multiple = 0;
    this.chs = { heads: 16, sectors: 63 };
    this.mwdma = -1;
    this.udma = -1;
    this.writeCache = true;
    this.lookAhead = true;
    super.reset();
  }

  execute(command: number): void {
    const tf = this.tf;
    switch (command) {
      case CMD.IDENTIFY_DEVICE:
        this.identify().bytes(this.pio);
        this.pioToHost(512, () => this.idle());
        return;
      case CMD.READ_SECTORS:
      case CMD.READ_SECTORS_NORETRY:
        return this.read28(1);
      case CMD.READ_SECTORS_EXT:
        return this.pioRead(tf.lba48(), tf.count48(), 1);
      case CMD.READ_MULTIPLE:
        return this.multiple ? this.read28(this.multiple) : this.fail();
      case CMD.READ_MULTIPLE_EXT:
        return this.multiple ? this.pioRead(tf.lba48(), tf.count48(), this.multiple) : this.fail();
      case CMD.WRITE_SECTORS:
      case CMD.WRITE_SECTORS_NORETRY:
        return this.pioWrite(tf.lba28(this.chs), tf.count28(), 1);
      case CMD.WRITE_SECTORS_EXT:
        return this.pioWrite(tf.lba48(), tf.count48(), 1);
      case CMD.WRITE_MULTIPLE:
        return this.multiple ? this.pioWrite(tf.lba28(this.chs), tf.count28(), this.multiple) : this.fail();
      case CMD.WRITE_MULTIPLE_EXT:
        return this.multiple ? this.pioWrite(tf.lba48(), tf.count48(), this.multiple) : this.fail();
      case CMD.READ_DMA:
      case CMD.READ_DMA_NORETRY:
        return this.dmaTransfer(tf.lba28(this.chs), tf.count28(), true);
      case CMD.READ_DMA_EXT:
        return this.dmaTransfer(tf.lba48(), tf.count48(), true);
      case CMD.WRITE_DMA:
      case CMD.WRITE_DMA_NORETRY:
        return this.dmaTransfer(tf.lba28(this.chs), tf.count28(), false);
      case CMD.WRITE_DMA_EXT:
        return this.dmaTransfer(tf.lba48(), tf.count48(), false);
      case CMD.READ_VERIFY:
      case CMD.READ_VERIFY_NORETRY:
        return this.inRange(tf.lba28(this.chs), tf.count28()) ? this.done() : undefined;
      case CMD.READ_VERIFY_EXT:
        return this.inRange(tf.lba48(), tf.count48()) ? this.done() : undefined;
      case CMD.SET_FEATURES:
        return this.setFeatures();
      case CMD.SET_MULTIPLE_MODE: {
        const n = tf.sectorCount;
        if (n > MAX_MULTIPLE_SECTORS || (n & (n - 1)) !== 0) return this.fail();
        this.multiple = n;
        return this.done();
      }
      case CMD.INITIALIZE_DEVICE_PARAMETERS:
        if (tf.sectorCount === 0) return this.fail();
        this.chs = { heads: (tf.device & 0x0f) + 1, sectors: tf.sectorCount };
        return this.done();
      case CMD.FLUSH_CACHE:
      case CMD.FLUSH_CACHE_EXT:
        try {
          this.backend.flush();
        } catch {
          return this.fail();
        }
        return this.done();
      case CMD.CHECK_POWER_MODE:
      case CMD.CHECK_POWER_MODE_OLD:
        tf.sectorCount = 0xff; // active or idle: the disk never spins down
        return this.done();
      case CMD.IDLE:
      case CMD.IDLE_IMMEDIATE:
      case CMD.STANDBY:
      case CMD.STANDBY_IMMEDIATE:
      case CMD.IDLE_OLD:
      case CMD.IDLE_IMMEDIATE_OLD:
      case CMD.STANDBY_OLD:
      case CMD.STANDBY_IMMEDIATE_OLD:
        return this.done();
      default:
        // RECALIBRATE (1xh) and SEEK (7xh) have nothing to move.
        if ((command & 0xf0) === CMD.RECALIBRATE || (command & 0xf0) === CMD.SEEK) return this.done();
        return this.fail();
    }
  }

  protected readyStatus(): number {
    return ST_DRDY | ST_DSC;
  }

  override saveState(): IdeDeviceState {
    const settings: AtaDiskSettings = {
      multiple: this.multiple, heads: this.chs.heads, sectors: this.chs.sectors,
      mwdma: this.mwdma, udma: this.udma, writeCache: this.writeCache, lookAhead: this.lookAhead,
    };
    return { ...super.saveState(), settings };
  }

  override loadState(s: IdeDeviceState): void {
    super.loadState(s);
    const t = s.settings as AtaDiskSettings | undefined;
    if (!t) return;
    this.multiple = t.multiple;
    this.chs = { heads: t.heads, sectors: t.sectors };
    this.mwdma = t.mwdma;
    this.udma = t.udma;
    this.writeCache = t.writeCache;
    this.lookAhead = t.lookAhead;
  }

  private done(): void {
    this.complete();
  }

  /** The host has read the last data of a command: ready, without another interrupt. */
  private idle(): void {
    this.tf.status = ST_DRDY | ST_DSC;
  }

  /** READ SECTORS/MULTIPLE with a 28-bit (or CHS) address. */
  private read28(blockSectors: number): void {
    this.pioRead(this.tf.lba28(this.chs), this.tf.count28(), blockSectors);
  }

  /** False (and the command ended with IDNF) when [lba, lba + count) is not on the disk. */
  private inRange(lba: number, count: number): boolean {
    if (lba >= 0 && lba + count <= this.sectors) return true;
    this.fail(ER_IDNF);
    return false;
  }

  private pioRead(lba: number, count: number, blockSectors: number): void {
    if (!this.inRange(lba, count)) return;
    let next = lba;
    let left = count;
    const block = (): void => {
      const n = Math.min(blockSectors, left);
      try {
        this.backend.read(next * SECTOR_BYTES, this.pio.subarray(0, n * SECTOR_BYTES));
      } catch {
        return this.fail(ER_UNC);
      }
      next += n;
      left -= n;
      // The interrupt comes with each block; after the last one the device just goes idle.
      this.pioToHost(n * SECTOR_BYTES, left > 0 ? block : () => this.idle());
    };
    block();
  }

  private pioWrite(lba: number, count: number, blockSectors: number): void {
    if (this.backend.readOnly) return this.fail(ER_ABRT);
    if (!this.inRange(lba, count)) return;
    let next = lba;
    let left = count;
    const block = (first: boolean): void => {
      const n = Math.min(blockSectors, left);
      // The first block is requested without an interrupt (the host polls for DRQ), later ones with one.
      this.pioFromHost(n * SECTOR_BYTES, () => {
        try {
          this.backend.write(next * SECTOR_BYTES, this.pio.subarray(0, n * SECTOR_BYTES));
        } catch {
          return this.fail(ER_ABRT);
        }
        next += n;
        left -= n;
        if (left > 0) block(false);
        else this.done();
      }, !first);
    };
    block(true);
  }

  private dmaTransfer(lba: number, count: number, toMemory: boolean): void {
    if (!toMemory && this.backend.readOnly) return this.fail(ER_ABRT);
    if (!this.inRange(lba, count)) return;
    let offset = lba * SECTOR_BYTES;
    const backend = this.backend;
    this.startDma({
      toMemory,
      remaining: count * SECTOR_BYTES,
      transfer: (chunk) => {
        try {
          if (toMemory) backend.read(offset, chunk);
          else backend.write(offset, chunk);
        } catch {
          this.fail(toMemory ? ER_UNC : ER_ABRT);
          return false;
        }
        offset += chunk.length;
        return true;
      },
      finish: () => this.done(),
      fail: () => this.fail(ER_ABRT),
    });
  }

  private setFeatures(): void {
    const tf = this.tf;
    switch (tf.feature) {
      case SETF_TRANSFER_MODE: {
        const mode = tf.sectorCount;
        if (mode <= 0x01 || (mode >= 0x08 && mode <= 0x0c)) {
          // PIO default / PIO flow-control modes: no DMA mode stays selected.
          this.mwdma = -1;
          this.udma = -1;
        } else if (mode >= 0x20 && mode <= 0x22) {
          this.mwdma = mode & 7;
          this.udma = -1;
        } else if (mode >= 0x40 && mode <= 0x45) {
          this.udma = mode & 7;
          this.mwdma = -1;
        } else {
          return this.fail();
        }
        return this.done();
      }
      case SETF_ENABLE_WRITE_CACHE:
      case SETF_DISABLE_WRITE_CACHE:
        this.writeCache = tf.feature === SETF_ENABLE_WRITE_CACHE;
        return this.done();
      case SETF_ENABLE_READ_LOOKAHEAD:
      case SETF_DISABLE_READ_LOOKAHEAD:
        this.lookAhead = tf.feature === SETF_ENABLE_READ_LOOKAHEAD;
        return this.done();
      case SETF_ENABLE_REVERTING:
      case SETF_DISABLE_REVERTING:
        return this.done();
      default:
        return this.fail();
    }
  }

  /** IDENTIFY DEVICE (ATA/ATAPI-6 table 27). */
  identify(): IdentifyBlock {
    const id = new IdentifyBlock();
    const lba28 = Math.min(this.sectors, MAX_LBA28_SECTORS);
    id.set(0, 0x0040); // fixed device, not removable
    id.set(1, this.cylinders);
    id.set(3, 16);
    id.set(6, 63);
    id.setString(10, 10, this.serial);
    id.setString(23, 4, '1.0');
    id.setString(27, 20, this.model);
    id.set(47, 0x8000 | MAX_MULTIPLE_SECTORS);
    id.set(49, 0x0300); // LBA and DMA supported
    id.set(50, 0x4000);
    id.set(51, 0x0200); // PIO mode 2 timing (obsolete field)
    id.set(53, 0x0007); // words 54-58, 64-70 and 88 are valid
    const curCyl = Math.max(1, Math.min(65535, Math.floor(Math.min(this.sectors, 16383 * 16 * 63) / (this.chs.heads * this.chs.sectors))));
    id.set(54, curCyl);
    id.set(55, this.chs.heads);
    id.set(56, this.chs.sectors);
    id.set32(57, curCyl * this.chs.heads * this.chs.sectors);
    id.set(59, this.multiple ? 0x0100 | this.multiple : 0);
    id.set32(60, lba28);
    id.set(63, 0x0007 | (this.mwdma >= 0 ? 0x100 << this.mwdma : 0)); // multiword DMA 0-2
    id.set(64, 0x0003); // PIO modes 3 and 4
    id.set(65, 120);
    id.set(66, 120);
    id.set(67, 120);
    id.set(68, 120);
    id.set(80, 0x007e); // ATA-1 to ATA-6
    // Command sets: power management (bit 3), write cache (5), look-ahead (6); 48-bit, FLUSH CACHE (EXT).
    id.set(82, 0x0068);
    id.set(83, 0x7400);
    id.set(84, 0x4000);
    id.set(85, 0x0008 | (this.writeCache ? 0x20 : 0) | (this.lookAhead ? 0x40 : 0));
    id.set(86, 0x3400);
    id.set(87, 0x4000);
    id.set(88, 0x003f | (this.udma >= 0 ? 0x100 << this.udma : 0)); // Ultra DMA 0-5
    id.set64(100, this.sectors);
    return id;
  }
}
