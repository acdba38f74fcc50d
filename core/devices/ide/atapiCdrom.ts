/**
 * An ATAPI CD-ROM drive (SFF-8020i / ATA/ATAPI-6 PACKET feature set, MMC-3
 * commands) reading 2048-byte sectors from an ISO image (any BlockBackend,
 * used read-only).
 *
 * ATA side: IDENTIFY PACKET DEVICE, PACKET (PIO or, with features bit 0,
 * DMA), DEVICE RESET, SET FEATURES, CHECK POWER MODE, IDLE/STANDBY
 * IMMEDIATE; IDENTIFY DEVICE is aborted with the ATAPI signature in the
 * task file, which is how hosts tell a packet device from a disk.
 *
 * Packet commands: TEST UNIT READY, REQUEST SENSE, INQUIRY, READ CAPACITY,
 * READ(10), READ(12), MODE SENSE(10) (pages 01h, 2Ah, 3Fh), READ TOC
 * (formats 0 and 1, LBA or MSF), GET CONFIGURATION, GET EVENT STATUS
 * NOTIFICATION (media class), START STOP UNIT (eject/load), PREVENT ALLOW
 * MEDIUM REMOVAL, READ DISC INFORMATION. Others: ILLEGAL REQUEST, invalid
 * command operation code.
 *
 * Check conditions end the command with ERR and the sense key in the error
 * register's high nibble; the details wait for REQUEST SENSE. After power-on
 * or reset, and after a disc is inserted, the next command (except INQUIRY,
 * REQUEST SENSE, GET CONFIGURATION and GET EVENT STATUS NOTIFICATION, which
 * MMC exempts) fails once with UNIT ATTENTION; without a disc the media
 * commands fail with NOT READY, MEDIUM NOT PRESENT.
 *
 * PIO data phases: each DRQ block is at most the host's byte count limit
 * (cylinder registers, even, at most 0xFFFE), whole sectors when the limit
 * allows; its length goes back in the cylinder registers and the
 * interrupt reason (sector count: CoD bit 0, IO bit 1) says what the host
 * is to do next.
 */
import type { BlockBackend } from '../../dom0/block/blockBackend.ts';
import { CMD, ER_ABRT, SETF_TRANSFER_MODE, ST_DRDY } from './ataRegisters.ts';
import { IdeDevice, type IdeDeviceState } from './ideDevice.ts';
import { IdentifyBlock } from './identifyData.ts';
import {
  ASC, capacityData, CD_SECTOR_BYTES, configurationData, discInformationData, eventStatusData, inquiryData,
  MEDIA_EVENT, modeSenseData, SENSE, senseData, tocData, type Sense,
} from './mmcResponses.ts';

/** Interrupt reason (sector count register) bits. */
const IR_COD = 0x01;
const IR_IO = 0x02;
const MAX_BYTE_COUNT = 0xfffe;

const OP = {
  TEST_UNIT_READY: 0x00,
  REQUEST_SENSE: 0x03,
  INQUIRY: 0x12,
  START_STOP_UNIT: 0x1b,
  PREVENT_ALLOW_MEDIUM_REMOVAL: 0x1e,
  READ_CAPACITY: 0x25,
  READ_10: 0x28,
  READ_TOC: 0x43,
  GET_CONFIGURATION: 0x46,
  GET_EVENT_STATUS_NOTIFICATION: 0x4a,
  READ_DISC_INFORMATION: 0x51,
  MODE_SENSE_10: 0x5a,
  READ_12: 0xa8,
} as const;

/** Commands that do not report a pending UNIT ATTENTION (MMC-3 4.1.6.1). */
const UA_EXEMPT = new Set<number>([OP.INQUIRY, OP.REQUEST_SENSE, OP.GET_CONFIGURATION, OP.GET_EVENT_STATUS_NOTIFICATION]);

/** Where data-in comes from: a prepared buffer or the disc. */
interface DataSource {
  readonly length: number;
  /** Whole sectors per DRQ block when the byte count limit allows. */
  readonly unit: number;
  read(offset: number, dest: Uint8Array): void;
}

interface AtapiSettings {
  sense: Sense;
  unitAttention: Sense | null;
  mediaEvent: number;
  locked: boolean;
  trayOpen: boolean;
  mwdma: number;
  udma: number;
}

export interface AtapiCdromOptions {
  serial: string;
  model?: string;
  /** A disc in the drive at power-on (no media event; the power-on UNIT ATTENTION covers it). */
  disc?: BlockBackend;
}

export class AtapiCdrom extends IdeDevice {
  readonly kind = 'atapi' as const;
  private disc: BlockBackend | null = null;
  private readonly serial: string;
  private readonly model: string;
  private sense: Sense = { key: SENSE.NO_SENSE, asc: 0, ascq: 0 };
  /** A UNIT ATTENTION the next command reports (power-on/reset, or a new disc). */
  private unitAttention: Sense | null = null;
  private mediaEvent: number = MEDIA_EVENT.NONE;
  private locked = false;
  private trayOpen = false;
  private mwdma = -1;
  private udma = -1;

  constructor(options: AtapiCdromOptions) {
    super(MAX_BYTE_COUNT + 2);
    this.serial = options.serial;
    this.model = options.model ?? 'POPEK CD-ROM';
    this.disc = options.disc ?? null;
    this.reset();
  }

  /** The disc in the drive, if any. */
  get media(): BlockBackend | null {
    return this.disc;
  }

  /** Puts a disc in (closing the tray); the guest sees UNIT ATTENTION and a new-media event. Throws if one is there. */
  insertMedia(disc: BlockBackend): void {
    if (this.disc) throw new Error('the CD-ROM drive already holds a disc');
    this.disc = disc;
    this.trayOpen = false;
    this.unitAttention = { key: SENSE.UNIT_ATTENTION, asc: ASC.MEDIUM_MAY_HAVE_CHANGED, ascq: 0 };
    this.mediaEvent = MEDIA_EVENT.NEW_MEDIA;
  }

  /** Takes the disc out (the host's eject, which a guest lock does not stop); returns it for closing. */
  removeMedia(): BlockBackend | null {
    const disc = this.disc;
    this.disc = null;
    if (disc) this.mediaEvent = MEDIA_EVENT.MEDIA_REMOVAL;
    return disc;
  }

  private get sectors(): number {
    return this.disc ? Math.floor(this.disc.sizeBytes / CD_SECTOR_BYTES) : 0;
  }

  protected readyStatus(): number {
    return ST_DRDY;
  }

  /** Registers and the drive's state; the disc itself is the host's configuration, not saved. */
  override saveState(): IdeDeviceState {
    const settings: AtapiSettings = {
      sense: { ...this.sense }, unitAttention: this.unitAttention && { ...this.unitAttention }, mediaEvent: this.mediaEvent,
      locked: this.locked, trayOpen: this.trayOpen, mwdma: this.mwdma, udma: this.udma,
    };
    return { ...super.saveState(), settings };
  }

  override loadState(s: IdeDeviceState): void {
    super.loadState(s);
    const t = s.settings as AtapiSettings | undefined;
    if (!t) return;
    this.sense = { ...t.sense };
    this.unitAttention = t.unitAttention && { ...t.unitAttention };
    this.mediaEvent = t.mediaEvent;
    this.locked = t.locked;
    this.trayOpen = t.trayOpen;
    this.mwdma = t.mwdma;
    this.udma = t.udma;
  }

  protected resetSignature(): void {
    this.tf.lbaMid = 0x14;
    this.tf.lbaHigh = 0xeb;
    this.tf.status = 0;
  }

  override reset(): void {
    this.locked = false;
    this.mwdma = -1;
    this.udma = -1;
    this.sense = { key: SENSE.NO_SENSE, asc: 0, ascq: 0 };
    this.unitAttention = { key: SENSE.UNIT_ATTENTION, asc: ASC.POWER_ON_RESET, ascq: 0 };
    super.reset();
  }

  execute(command: number): void {
    switch (command) {
      case CMD.IDENTIFY_PACKET_DEVICE:
        this.identify().bytes(this.pio);
        this.pioToHost(512, () => { this.tf.status = ST_DRDY; });
        return;
      case CMD.IDENTIFY_DEVICE:
        this.fail(ER_ABRT);
        this.tf.sectorCount = 1;
        this.tf.lbaLow = 1;
        this.tf.lbaMid = 0x14;
        this.tf.lbaHigh = 0xeb;
        return;
      case CMD.PACKET:
        this.tf.sectorCount = IR_COD;
        this.pioFromHost(12, () => this.packet(), false);
        return;
      case CMD.DEVICE_RESET:
        // No interrupt: the host waits for BSY to clear.
        this.endReset();
        return;
      case CMD.SET_FEATURES:
        return this.setFeatures();
      case CMD.CHECK_POWER_MODE:
        this.tf.sectorCount = 0xff;
        return this.complete();
      case CMD.IDLE_IMMEDIATE:
      case CMD.STANDBY_IMMEDIATE:
        return this.complete();
      default:
        return this.fail(ER_ABRT);
    }
  }

  private setFeatures(): void {
    if (this.tf.feature !== SETF_TRANSFER_MODE) return this.fail(ER_ABRT);
    const mode = this.tf.sectorCount;
    if (mode <= 0x01 || (mode >= 0x08 && mode <= 0x0c)) {
      this.mwdma = this.udma = -1;
    } else if (mode >= 0x20 && mode <= 0x22) {
      this.mwdma = mode & 7;
      this.udma = -1;
    } else if (mode >= 0x40 && mode <= 0x45) {
      this.udma = mode & 7;
      this.mwdma = -1;
    } else {
      return this.fail(ER_ABRT);
    }
    this.complete();
  }

  // ---- packet commands ----------------------------------------------------------

  private packet(): void {
    const cdb = this.pio.slice(0, 12);
    const op = cdb[0];
    if (this.unitAttention && !UA_EXEMPT.has(op)) {
      const ua = this.unitAttention;
      this.unitAttention = null;
      return this.checkCondition(ua.key, ua.asc, ua.ascq);
    }
    const be16 = (at: number) => (cdb[at] << 8) | cdb[at + 1];
    const be32 = (at: number) => ((cdb[at] << 24) | (cdb[at + 1] << 16) | (cdb[at + 2] << 8) | cdb[at + 3]) >>> 0;
    switch (op) {
      case OP.TEST_UNIT_READY:
        return this.needDisc() ? this.good() : undefined;
      case OP.REQUEST_SENSE: {
        // A pending UNIT ATTENTION is reported (and consumed) here rather than the last error.
        const s = this.unitAttention ?? this.sense;
        this.unitAttention = null;
        this.sense = { key: SENSE.NO_SENSE, asc: 0, ascq: 0 };
        return this.sendBuffer(senseData(s), cdb[4]);
      }
      case OP.INQUIRY:
        if ((cdb[1] & 0x01) !== 0 || cdb[2] !== 0) return this.invalidField();
        return this.sendBuffer(inquiryData(), be16(3));
      case OP.READ_CAPACITY:
        return this.needDisc() ? this.sendBuffer(capacityData(this.sectors), 8) : undefined;
      case OP.READ_10:
        return this.read(be32(2), be16(7));
      case OP.READ_12:
        return this.read(be32(2), be32(6));
      case OP.MODE_SENSE_10: {
        const control = cdb[2] >>> 6;
        if (control === 3) return this.checkCondition(SENSE.ILLEGAL_REQUEST, ASC.SAVING_NOT_SUPPORTED, 0);
        const data = modeSenseData(cdb[2] & 0x3f, control, this.disc !== null, this.locked);
        return data ? this.sendBuffer(data, be16(7)) : this.invalidField();
      }
      case OP.READ_TOC: {
        if (!this.needDisc()) return;
        // The format is in byte 2; old hosts put it in the top bits of byte 9.
        const format = (cdb[2] & 0x0f) || (cdb[9] >>> 6);
        const data = tocData(format, this.sectors, (cdb[1] & 0x02) !== 0, cdb[6]);
        return data ? this.sendBuffer(data, be16(7)) : this.invalidField();
      }
      case OP.GET_CONFIGURATION: {
        const rt = cdb[1] & 0x03;
        if (rt === 3) return this.invalidField();
        return this.sendBuffer(configurationData(rt, be16(2), this.disc !== null, this.locked), be16(7));
      }
      case OP.GET_EVENT_STATUS_NOTIFICATION: {
        // Only polled operation exists on ATAPI without overlap.
        if ((cdb[1] & 0x01) === 0) return this.invalidField();
        const data = eventStatusData(cdb[4], this.mediaEvent, this.disc !== null, this.trayOpen);
        if ((cdb[4] & 0x10) !== 0) this.mediaEvent = MEDIA_EVENT.NONE;
        return this.sendBuffer(data, be16(7));
      }
      case OP.START_STOP_UNIT:
        return this.startStop(cdb[4]);
      case OP.PREVENT_ALLOW_MEDIUM_REMOVAL:
        this.locked = (cdb[4] & 0x01) !== 0;
        return this.good();
      case OP.READ_DISC_INFORMATION:
        if ((cdb[1] & 0x07) !== 0) return this.invalidField();
        return this.needDisc() ? this.sendBuffer(discInformationData(), be16(7)) : undefined;
      default:
        return this.checkCondition(SENSE.ILLEGAL_REQUEST, ASC.INVALID_OPCODE, 0);
    }
  }

  /** START STOP UNIT: LoEj with Start clear ejects (unless locked), with Start set closes the tray. */
  private startStop(flags: number): void {
    const loadEject = (flags & 0x02) !== 0;
    const start = (flags & 0x01) !== 0;
    if (loadEject && !start) {
      if (this.locked) return this.checkCondition(SENSE.ILLEGAL_REQUEST, ASC.MEDIUM_REMOVAL_PREVENTED, 0x02);
      // The guest's eject: the image is closed; the host inserts a new one.
      this.removeMedia()?.close();
      this.trayOpen = true;
    } else if (loadEject && start) {
      this.trayOpen = false;
    }
    this.good();
  }

  private read(lba: number, count: number): void {
    if (!this.needDisc()) return;
    if (lba + count > this.sectors) return this.checkCondition(SENSE.ILLEGAL_REQUEST, ASC.LBA_OUT_OF_RANGE, 0);
    if (count === 0) return this.good();
    const disc = this.disc!;
    const base = lba * CD_SECTOR_BYTES;
    this.sendData({ length: count * CD_SECTOR_BYTES, unit: CD_SECTOR_BYTES, read: (offset, dest) => disc.read(base + offset, dest) });
  }

  /** False (and NOT READY, MEDIUM NOT PRESENT) without a disc. */
  private needDisc(): boolean {
    if (this.disc) return true;
    this.checkCondition(SENSE.NOT_READY, ASC.MEDIUM_NOT_PRESENT, 0);
    return false;
  }

  private invalidField(): void {
    this.checkCondition(SENSE.ILLEGAL_REQUEST, ASC.INVALID_FIELD_IN_CDB, 0);
  }

  private sendBuffer(data: Uint8Array, allocationLength: number): void {
    const length = Math.min(data.length, allocationLength);
    this.sendData({ length, unit: 1, read: (offset, dest) => dest.set(data.subarray(offset, offset + dest.length)) });
  }

  /** The data-in phase of a packet command, by DMA if the host asked for it in the features register. */
  private sendData(source: DataSource): void {
    if (source.length === 0) return this.good();
    if ((this.tf.feature & 0x01) !== 0) {
      let offset = 0;
      this.startDma({
        toMemory: true,
        remaining: source.length,
        transfer: (chunk) => {
          try {
            source.read(offset, chunk);
          } catch {
            this.checkCondition(0x3 /* MEDIUM ERROR */, 0x11 /* unrecovered read error */, 0);
            return false;
          }
          offset += chunk.length;
          return true;
        },
        finish: () => this.good(),
        fail: () => this.fail(ER_ABRT),
      });
      return;
    }
    let limit = (this.tf.lbaMid | (this.tf.lbaHigh << 8)) & ~1;
    if (limit === 0 || limit > MAX_BYTE_COUNT) limit = MAX_BYTE_COUNT;
    if (limit >= source.unit) limit -= limit % source.unit;
    let offset = 0;
    const block = (): void => {
      const n = Math.min(limit, source.length - offset);
      try {
        source.read(offset, this.pio.subarray(0, n));
      } catch {
        return this.checkCondition(0x3, 0x11, 0);
      }
      offset += n;
      this.tf.lbaMid = n & 0xff;
      this.tf.lbaHigh = n >>> 8;
      this.tf.sectorCount = IR_IO;
      this.pioToHost(n, offset < source.length ? block : () => this.good());
    };
    block();
  }

  /** Command completed: status ready, interrupt reason "status" (IO and CoD). */
  private good(): void {
    this.tf.sectorCount = IR_IO | IR_COD;
    this.complete();
  }

  /** CHECK CONDITION: the sense is kept for REQUEST SENSE; ERR with the sense key in the error register. */
  private checkCondition(key: number, asc: number, ascq: number): void {
    this.sense = { key, asc, ascq };
    this.fail(key << 4);
    this.tf.sectorCount = IR_IO | IR_COD;
  }

  /** IDENTIFY PACKET DEVICE (ATA/ATAPI-6 table 30). */
  identify(): IdentifyBlock {
    const id = new IdentifyBlock();
    // ATAPI, CD-ROM device, removable, DRQ within 50 us of PACKET, 12-byte packets.
    id.set(0, 0x85c0);
    id.setString(10, 10, this.serial);
    id.setString(23, 4, '1.0');
    id.setString(27, 20, this.model);
    id.set(49, 0x0300); // LBA and DMA supported
    id.set(53, 0x0006); // words 64-70 and 88 are valid
    id.set(63, 0x0007 | (this.mwdma >= 0 ? 0x100 << this.mwdma : 0));
    id.set(64, 0x0003);
    id.set(65, 120);
    id.set(66, 120);
    id.set(67, 120);
    id.set(68, 120);
    id.set(80, 0x007e);
    id.set(82, 0x0010); // PACKET feature set
    id.set(83, 0x4000);
    id.set(84, 0x4000);
    id.set(85, 0x0010);
    id.set(87, 0x4000);
    id.set(88, 0x003f | (this.udma >= 0 ? 0x100 << this.udma : 0));
    return id;
  }
}
