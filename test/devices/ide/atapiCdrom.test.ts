/**
 * The ATAPI CD-ROM on the secondary channel (0x170-0x177/0x376, IRQ 15),
 * driven as a driver does: PACKET with the command descriptor block through
 * the data port, data phases sized by the byte count limit, check
 * conditions and REQUEST SENSE, media change, and DMA through the bus master.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { AtapiCdrom } from '../../../core/devices/ide/atapiCdrom.ts';
import { AtaDisk } from '../../../core/devices/ide/ataDisk.ts';
import { ataString, BMIDE_BASE, makeIdeBoard, MemoryImage, readWords, word, type IdeTestBoard } from './ideTestBoard.ts';

const BASE = 0x170;
const DATA = BASE;
const ERROR = BASE + 1;
const REASON = BASE + 2;
const LBA_LOW = BASE + 3;
const LBA_MID = BASE + 4;
const LBA_HIGH = BASE + 5;
const DEVICE = BASE + 6;
const STATUS = BASE + 7;
const ALT = 0x376;

const DISC_SECTORS = 300;

interface Result {
  data: Uint8Array;
  /** DRQ blocks and interrupts seen (data blocks plus the final status). */
  blocks: number[];
  status: number;
  error: number;
  reason: number;
}

describe('PIIX3 IDE: ATAPI CD-ROM', () => {
  let disc: MemoryImage;
  let cd: AtapiCdrom;
  let b: IdeTestBoard;

  beforeEach(() => {
    disc = new MemoryImage(DISC_SECTORS * 2048, true).pattern();
    cd = new AtapiCdrom({ serial: 'CD0001', disc });
    b = makeIdeBoard([], [cd]);
  });

  /** Issues PACKET with `cdb` and reads every DRQ block; returns the data and the final registers. */
  function packet(cdb: number[], byteLimit = 0xfffe): Result {
    b.outb(ERROR, 0);
    b.outb(LBA_MID, byteLimit & 0xff);
    b.outb(LBA_HIGH, byteLimit >>> 8);
    b.outb(DEVICE, 0xa0);
    b.outb(STATUS, 0xa0);
    expect(b.inb(ALT)).toBe(0x48);
    expect(b.inb(REASON)).toBe(0x01); // CoD: the device wants the packet
    const padded = [...cdb, ...new Array(12 - cdb.length).fill(0)];
    for (let i = 0; i < 12; i += 2) b.outw(DATA, padded[i] | (padded[i + 1] << 8));
    const chunks: Uint8Array[] = [];
    const blocks: number[] = [];
    for (;;) {
      const status = b.inb(STATUS);
      if ((status & 0x08) === 0) {
        const total = chunks.reduce((n, c) => n + c.length, 0);
        const data = new Uint8Array(total);
        let at = 0;
        for (const c of chunks) {
          data.set(c, at);
          at += c.length;
        }
        return { data, blocks, status, error: b.inb(ERROR), reason: b.inb(REASON) };
      }
      expect(b.inb(REASON)).toBe(0x02); // IO: data to the host
      const n = b.inb(LBA_MID) | (b.inb(LBA_HIGH) << 8);
      blocks.push(n);
      chunks.push(readWords(b, DATA, n / 2));
    }
  }

  function good(cdb: number[], byteLimit?: number): Uint8Array {
    const r = packet(cdb, byteLimit);
    expect([r.status, r.reason]).toEqual([0x40, 0x03]);
    return r.data;
  }

  /** Expects CHECK CONDITION with `key` and returns [key, asc, ascq] from REQUEST SENSE. */
  function checkCondition(cdb: number[]): number[] {
    const r = packet(cdb);
    expect([r.status, r.reason]).toEqual([0x41, 0x03]);
    const sense = good([0x03, 0, 0, 0, 18]);
    expect(sense[0]).toBe(0x70);
    expect(r.error >>> 4).toBe(sense[2]);
    return [sense[2], sense[12], sense[13]];
  }

  const read10 = (lba: number, count: number) => [0x28, 0, lba >>> 24, (lba >>> 16) & 0xff, (lba >>> 8) & 0xff, lba & 0xff, 0, count >>> 8, count & 0xff];
  const sectors = (lba: number, n: number) => disc.data.slice(lba * 2048, (lba + n) * 2048);

  it('has the ATAPI signature after reset, aborts IDENTIFY DEVICE with it, and answers IDENTIFY PACKET DEVICE', () => {
    b.outb(ALT, 0x04);
    b.outb(ALT, 0x00);
    expect([b.inb(REASON), b.inb(LBA_LOW), b.inb(LBA_MID), b.inb(LBA_HIGH)]).toEqual([1, 1, 0x14, 0xeb]);
    expect(b.inb(STATUS)).toBe(0x00);
    expect(b.inb(ERROR)).toBe(0x01);
    b.outb(LBA_MID, 0);
    b.outb(STATUS, 0xec);
    expect(b.irq15.level()).toBe(true);
    expect(b.inb(STATUS)).toBe(0x41);
    expect(b.inb(ERROR)).toBe(0x04);
    expect([b.inb(LBA_MID), b.inb(LBA_HIGH)]).toEqual([0x14, 0xeb]);
    b.outb(STATUS, 0xa1);
    expect(b.inb(STATUS)).toBe(0x48);
    const id = readWords(b, DATA, 256);
    expect(b.inb(STATUS)).toBe(0x40);
    expect(word(id, 0)).toBe(0x85c0);
    expect(ataString(id, 10, 10).trimEnd()).toBe('CD0001');
    expect(ataString(id, 27, 20).trimEnd()).toBe('POPEK CD-ROM');
    expect([word(id, 49), word(id, 63), word(id, 82), word(id, 88)]).toEqual([0x0300, 0x0007, 0x0010, 0x003f]);
    expect(b.irq15.rises()).toBe(2);
    expect(b.irq14.rises()).toBe(0);
  });

  it('reports UNIT ATTENTION (power on) once, then TEST UNIT READY passes; REQUEST SENSE gives the fixed-format sense', () => {
    expect(checkCondition([0x00])).toEqual([0x06, 0x29, 0x00]);
    good([0x00]);
    expect(good([0x03, 0, 0, 0, 18])).toEqual(new Uint8Array([0x70, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
  });

  it('INQUIRY: a removable CD/DVD device, truncated to the allocation length; EVPD is an invalid field', () => {
    const inq = good([0x12, 0, 0, 0, 36]);
    expect(Array.from(inq.subarray(0, 8))).toEqual([0x05, 0x80, 0x05, 0x32, 31, 0, 0, 0]);
    expect(new TextDecoder().decode(inq.subarray(8, 36))).toBe('POPEK   CD-ROM          1.0 ');
    expect(good([0x12, 0, 0, 0, 5])).toEqual(inq.subarray(0, 5));
    packet([0x00]); // the power-on unit attention
    expect(checkCondition([0x12, 1, 0x80, 0, 36])).toEqual([0x05, 0x24, 0x00]);
  });

  describe('with the unit attention cleared', () => {
    beforeEach(() => {
      packet([0x00]);
    });

    it('READ CAPACITY: last LBA and 2048-byte blocks', () => {
      expect(Array.from(good([0x25]))).toEqual([0, 0, (DISC_SECTORS - 1) >>> 8, (DISC_SECTORS - 1) & 0xff, 0, 0, 0x08, 0x00]);
    });

    it('READ(10) and READ(12) in DRQ blocks of whole sectors within the byte count limit, one interrupt each', () => {
      const rises = b.irq15.rises();
      let r = packet(read10(10, 3));
      expect(r.blocks).toEqual([6144]);
      expect(r.data).toEqual(sectors(10, 3));
      expect(b.irq15.rises() - rises).toBe(2);
      r = packet(read10(20, 3), 4096);
      expect(r.blocks).toEqual([4096, 2048]);
      expect(r.data).toEqual(sectors(20, 3));
      expect([r.status, r.reason]).toEqual([0x40, 0x03]);
      r = packet(read10(7, 1), 1000);
      expect(r.blocks).toEqual([1000, 1000, 48]);
      expect(r.data).toEqual(sectors(7, 1));
      r = packet([0xa8, 0, 0, 0, 1, 0x2b, 0, 0, 0, 1]);
      expect(r.data).toEqual(sectors(299, 1));
    });

    it('reads past the end are ILLEGAL REQUEST, LBA out of range; a zero count transfers nothing', () => {
      expect(checkCondition(read10(DISC_SECTORS - 1, 2))).toEqual([0x05, 0x21, 0x00]);
      expect(good(read10(5, 0)).length).toBe(0);
    });

    it('MODE SENSE(10): the capabilities page 2Ah, all pages, changeable values; unknown pages and saved values refused', () => {
      const caps = good([0x5a, 0, 0x2a, 0, 0, 0, 0, 0, 128]);
      expect(Array.from(caps.subarray(0, 8))).toEqual([0, 28, 0x01, 0, 0, 0, 0, 0]);
      expect(Array.from(caps.subarray(8))).toEqual([0x2a, 20, 0, 0, 0, 0, 0x29, 0, 0x02, 0xc2, 0, 0, 0x02, 0x00, 0x02, 0xc2, 0, 0, 0, 0, 0, 0]);
      packet([0x1e, 0, 0, 0, 1]); // lock: shows in byte 6
      expect(good([0x5a, 0, 0x2a, 0, 0, 0, 0, 0, 128])[8 + 6]).toBe(0x2b);
      const all = good([0x5a, 0, 0x3f, 0, 0, 0, 0, 0, 128]);
      expect(all.length).toBe(8 + 8 + 22);
      expect([all[8], all[16]]).toEqual([0x01, 0x2a]);
      const changeable = good([0x5a, 0, 0x6a, 0, 0, 0, 0, 0, 128]);
      expect(Array.from(changeable.subarray(10))).toEqual(new Array(20).fill(0));
      expect(good([0x5a, 0, 0x2a, 0, 0, 0, 0, 0, 4]).length).toBe(4);
      expect(checkCondition([0x5a, 0, 0x05, 0, 0, 0, 0, 0, 128])).toEqual([0x05, 0x24, 0x00]);
      expect(checkCondition([0x5a, 0, 0xea, 0, 0, 0, 0, 0, 128])).toEqual([0x05, 0x39, 0x00]);
    });

    it('READ TOC: format 0 in LBA and MSF, from track 1 or the lead-out; format 1; bad tracks and formats refused', () => {
      expect(Array.from(good([0x43, 0, 0, 0, 0, 0, 0, 0, 100]))).toEqual([
        0, 18, 1, 1,
        0, 0x14, 1, 0, 0, 0, 0, 0,
        0, 0x14, 0xaa, 0, 0, 0, DISC_SECTORS >>> 8, DISC_SECTORS & 0xff,
      ]);
      // MSF: lead-out at 300 + 150 frames = 00:06:00.
      expect(Array.from(good([0x43, 2, 0, 0, 0, 0, 0xaa, 0, 100]))).toEqual([0, 10, 1, 1, 0, 0x14, 0xaa, 0, 0, 0, 6, 0]);
      expect(Array.from(good([0x43, 2, 0, 0, 0, 0, 1, 0, 12]).subarray(8, 12))).toEqual([0, 0, 2, 0]);
      expect(Array.from(good([0x43, 0, 1, 0, 0, 0, 0, 0, 100]))).toEqual([0, 10, 1, 1, 0, 0x14, 1, 0, 0, 0, 0, 0]);
      // The old place of the format (byte 9 bits 7-6).
      expect(good([0x43, 0, 0, 0, 0, 0, 0, 0, 100, 0x40]).length).toBe(12);
      expect(checkCondition([0x43, 0, 0, 0, 0, 0, 2, 0, 100])).toEqual([0x05, 0x24, 0x00]);
      expect(checkCondition([0x43, 0, 2, 0, 0, 0, 0, 0, 100])).toEqual([0x05, 0x24, 0x00]);
    });

    it('GET CONFIGURATION: current profile CD-ROM and the features by request type', () => {
      const all = good([0x46, 0, 0, 0, 0, 0, 0, 0x01, 0x00]);
      expect(Array.from(all.subarray(0, 8))).toEqual([0, 0, 0, all.length - 4, 0, 0, 0, 0x08]);
      expect(Array.from(all.subarray(8, 16))).toEqual([0, 0, 0x03, 4, 0, 0x08, 0x01, 0]);
      const one = good([0x46, 2, 0, 0x10, 0, 0, 0, 0x01, 0x00]);
      expect(Array.from(one)).toEqual([0, 0, 0, 16, 0, 0, 0, 0x08, 0, 0x10, 0x01, 8, 0, 0, 0x08, 0x00, 0, 1, 0, 0]);
      expect(good([0x46, 0, 0, 0, 0, 0, 0, 0, 8]).length).toBe(8);
    });

    it('eject, media events, lock, insertion: NOT READY without a disc, UNIT ATTENTION after a new one', () => {
      // The disc was there at power-on: no event, media present.
      expect(Array.from(good([0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8]))).toEqual([0, 6, 4, 0x10, 0, 0x02, 0, 0]);
      expect(Array.from(good([0x4a, 1, 0, 0, 0x02, 0, 0, 0, 8]))).toEqual([0, 2, 0x80, 0x10]);
      expect(checkCondition([0x4a, 0, 0, 0, 0x10, 0, 0, 0, 8])).toEqual([0x05, 0x24, 0x00]);
      // Locked: the eject is refused.
      good([0x1e, 0, 0, 0, 1]);
      expect(checkCondition([0x1b, 0, 0, 0, 0x02])).toEqual([0x05, 0x53, 0x02]);
      good([0x1e, 0, 0, 0, 0]);
      good([0x1b, 0, 0, 0, 0x02]);
      expect(cd.media).toBe(null);
      expect(Array.from(good([0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8]))).toEqual([0, 6, 4, 0x10, 3, 0x01, 0, 0]);
      expect(checkCondition([0x00])).toEqual([0x02, 0x3a, 0x00]);
      expect(checkCondition([0x25])).toEqual([0x02, 0x3a, 0x00]);
      expect(checkCondition(read10(0, 1))).toEqual([0x02, 0x3a, 0x00]);
      expect(checkCondition([0x43, 0, 0, 0, 0, 0, 0, 0, 100])).toEqual([0x02, 0x3a, 0x00]);
      expect(good([0x46, 0, 0, 0, 0, 0, 0, 0, 8])[7]).toBe(0); // no current profile
      // Close the tray, then a new disc.
      good([0x1b, 0, 0, 0, 0x03]);
      const second = new MemoryImage(50 * 2048, true);
      second.data.fill(0x5a);
      cd.insertMedia(second);
      expect(checkCondition([0x00])).toEqual([0x06, 0x28, 0x00]);
      good([0x00]);
      expect(Array.from(good([0x25]))).toEqual([0, 0, 0, 49, 0, 0, 0x08, 0x00]);
      expect(good(read10(49, 1))).toEqual(new Uint8Array(2048).fill(0x5a));
      // The new disc is a new-media event, reported once.
      expect(Array.from(good([0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8]).subarray(4, 6))).toEqual([2, 0x02]);
      expect(Array.from(good([0x4a, 1, 0, 0, 0x10, 0, 0, 0, 8]).subarray(4, 6))).toEqual([0, 0x02]);
    });

    it('saves and restores the drive\'s sense data and lock with the PCI function\'s state', () => {
      good([0x1e, 0, 0, 0, 1]);
      packet([0xff]);
      const state = JSON.parse(JSON.stringify(b.ide.saveState()));
      cd = new AtapiCdrom({ serial: 'CD0001', disc });
      b = makeIdeBoard([], [cd]);
      b.ide.loadState(state);
      expect(good([0x03, 0, 0, 0, 18])[12]).toBe(0x20); // the sense of the last command, no power-on attention
      expect(good([0x5a, 0, 0x2a, 0, 0, 0, 0, 0, 128])[8 + 6]).toBe(0x2b); // still locked
    });

    it('READ DISC INFORMATION: one complete session with track 1', () => {
      const info = good([0x51, 0, 0, 0, 0, 0, 0, 0, 34]);
      expect(Array.from(info.subarray(0, 9))).toEqual([0, 32, 0x0e, 1, 1, 1, 1, 0, 0]);
      expect(info.length).toBe(34);
      expect(checkCondition([0x51, 1, 0, 0, 0, 0, 0, 0, 34])).toEqual([0x05, 0x24, 0x00]);
    });

    it('unknown packet commands are ILLEGAL REQUEST, invalid operation code; unsupported ATA commands are aborted', () => {
      expect(checkCondition([0xff])).toEqual([0x05, 0x20, 0x00]);
      expect(checkCondition([0x2a, 0, 0, 0, 0, 0, 0, 0, 1])).toEqual([0x05, 0x20, 0x00]); // WRITE(10): a read-only drive
      b.outb(STATUS, 0xc8);
      expect(b.inb(STATUS)).toBe(0x41);
      expect(b.inb(ERROR)).toBe(0x04);
    });

    it('PACKET with DMA: READ(10) and INQUIRY through the secondary channel\'s bus master', () => {
      b.cfgWrite(0x20, 4, BMIDE_BASE);
      b.cfgWrite(0x04, 2, 0x0005);
      const BM = BMIDE_BASE + 8;
      const PRD = 0x10000;
      const BUF = 0x40000;
      b.bus.write32(PRD, BUF);
      b.bus.write32(PRD + 4, 0x8000_0000 | 4096);
      b.outl(BM + 4, PRD);
      b.outb(BM, 0x08);
      b.outb(ERROR, 0x01); // DMA
      b.outb(STATUS, 0xa0);
      const cdb = read10(100, 2);
      const padded = [...cdb, 0, 0, 0];
      for (let i = 0; i < 12; i += 2) b.outw(DATA, padded[i] | (padded[i + 1] << 8));
      expect(b.inb(ALT)).toBe(0x48);
      b.outb(BM, 0x09);
      expect(b.inb(BM + 2)).toBe(0x04);
      expect(b.inb(STATUS)).toBe(0x40);
      expect(b.inb(REASON)).toBe(0x03);
      expect(b.bus.u8.slice(BUF, BUF + 4096)).toEqual(sectors(100, 2));
      expect(b.inb(BMIDE_BASE + 2)).toBe(0x00); // the primary channel's engine saw nothing
    });
  });

  it('without a disc: UNIT ATTENTION, then NOT READY, MEDIUM NOT PRESENT; INQUIRY still answers', () => {
    cd = new AtapiCdrom({ serial: 'EMPTY' });
    b = makeIdeBoard([], [cd]);
    expect(checkCondition([0x00])).toEqual([0x06, 0x29, 0x00]);
    expect(checkCondition([0x00])).toEqual([0x02, 0x3a, 0x00]);
    expect(good([0x12, 0, 0, 0, 36])[0]).toBe(0x05);
    expect(good([0x5a, 0, 0x2a, 0, 0, 0, 0, 0, 128])[2]).toBe(0x70);
  });
});

describe('PIIX3 IDE: a disk and a CD-ROM on one channel', () => {
  it('master and slave show their own signatures and status; commands go to the selected device', () => {
    const image = new MemoryImage(512 * 64).pattern();
    const b = makeIdeBoard([new AtaDisk(image, { serial: 'D' }), new AtapiCdrom({ serial: 'C' })]);
    b.outb(0x3f6, 0x04);
    b.outb(0x3f6, 0x00);
    expect([b.inb(0x1f4), b.inb(0x1f5), b.inb(0x1f7)]).toEqual([0, 0, 0x50]);
    b.outb(0x1f6, 0xb0);
    expect([b.inb(0x1f4), b.inb(0x1f5), b.inb(0x1f7), b.inb(0x1f1)]).toEqual([0x14, 0xeb, 0x00, 0x01]);
    b.outb(0x1f7, 0xa1);
    expect(b.inb(0x1f7)).toBe(0x48);
    expect(word(readWords(b, 0x1f0, 256), 0)).toBe(0x85c0);
    b.outb(0x1f6, 0xa0);
    b.outb(0x1f7, 0xec);
    expect(word(readWords(b, 0x1f0, 256), 0)).toBe(0x0040);
    expect(b.irq14.rises()).toBe(2);
  });
});
