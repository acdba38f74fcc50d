/**
 * The PIIX3 IDE function with an ATA disk, driven as a driver does: PCI
 * configuration through 0xCF8/0xCFC, the task file at 0x1F0-0x1F7/0x3F6,
 * PIO through the data port, and bus-master DMA with PRD tables in RAM.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { AtaDisk } from '../../../core/devices/ide/ataDisk.ts';
import { ataString, BMIDE_BASE, makeIdeBoard, MemoryImage, readWords, word, type IdeTestBoard } from './ideTestBoard.ts';

const DATA = 0x1f0;
const ERROR = 0x1f1;
const COUNT = 0x1f2;
const LBA_LOW = 0x1f3;
const LBA_MID = 0x1f4;
const LBA_HIGH = 0x1f5;
const DEVICE = 0x1f6;
const STATUS = 0x1f7;
const ALT = 0x3f6;

const SECTORS = 2048; // a 1 MiB disk

describe('PIIX3 IDE: PCI function', () => {
  it('identifies as 8086:7010, mass storage / IDE in compatibility mode, BAR4 of 16 I/O ports, no INTx pin', () => {
    const b = makeIdeBoard();
    expect(b.cfgRead(0x00, 4)).toBe(0x7010_8086);
    expect(b.cfgRead(0x08, 4)).toBe(0x0101_8000);
    expect(b.cfgRead(0x3d, 1)).toBe(0);
    expect(b.cfgRead(0x40, 2)).toBe(0x8000);
    expect(b.cfgRead(0x42, 2)).toBe(0x8000);
    b.cfgWrite(0x20, 4, 0xffff_ffff);
    expect(b.cfgRead(0x20, 4)).toBe(0xffff_fff1);
    // Function 0 of the slot (the ISA bridge) now says the device is multifunction.
    b.outl(0xcf8, 0x8000_0000 | (1 << 11) | 0x0c);
    expect((b.inl(0xcfc) >>> 16) & 0xff).toBe(0x80);
  });

  it('floats the legacy ports when IDE decode is disabled in IDETIM or I/O space in COMMAND', () => {
    const b = makeIdeBoard([new AtaDisk(new MemoryImage(512 * SECTORS), { serial: 'S' })]);
    expect(b.inb(STATUS)).toBe(0x50);
    b.cfgWrite(0x40, 2, 0x0000);
    expect(b.inb(STATUS)).toBe(0xff);
    b.cfgWrite(0x40, 2, 0x8000);
    b.cfgWrite(0x04, 2, 0x0000);
    expect(b.inb(STATUS)).toBe(0xff);
    expect(b.inb(ALT)).toBe(0xff);
  });
});

describe('PIIX3 IDE: ATA disk', () => {
  let image: MemoryImage;
  let disk: AtaDisk;
  let b: IdeTestBoard;

  beforeEach(() => {
    image = new MemoryImage(512 * SECTORS).pattern();
    disk = new AtaDisk(image, { serial: 'POPEK0001' });
    b = makeIdeBoard([disk]);
  });

  function lba28(command: number, lba: number, count: number): void {
    b.outb(COUNT, count);
    b.outb(LBA_LOW, lba & 0xff);
    b.outb(LBA_MID, (lba >>> 8) & 0xff);
    b.outb(LBA_HIGH, (lba >>> 16) & 0xff);
    b.outb(DEVICE, 0xe0 | ((lba >>> 24) & 0x0f));
    b.outb(STATUS, command);
  }

  function lba48(command: number, lba: number, count: number): void {
    b.outb(COUNT, count >>> 8);
    b.outb(LBA_LOW, Math.floor(lba / 2 ** 24) & 0xff);
    b.outb(LBA_MID, Math.floor(lba / 2 ** 32) & 0xff);
    b.outb(LBA_HIGH, Math.floor(lba / 2 ** 40) & 0xff);
    b.outb(COUNT, count & 0xff);
    b.outb(LBA_LOW, lba & 0xff);
    b.outb(LBA_MID, (lba >>> 8) & 0xff);
    b.outb(LBA_HIGH, (lba >>> 16) & 0xff);
    b.outb(DEVICE, 0x40);
    b.outb(STATUS, command);
  }

  const sector = (lba: number, n = 1) => image.data.slice(lba * 512, (lba + n) * 512);

  it('soft reset: BSY while SRST is set, then the ATA signature; the absent slave reads status 0 and signature FF/FF', () => {
    b.outb(ALT, 0x04);
    expect(b.inb(ALT)).toBe(0x80);
    b.outb(ALT, 0x00);
    expect([b.inb(COUNT), b.inb(LBA_LOW), b.inb(LBA_MID), b.inb(LBA_HIGH), b.inb(DEVICE)]).toEqual([1, 1, 0, 0, 0]);
    expect(b.inb(ERROR)).toBe(0x01);
    expect(b.inb(STATUS)).toBe(0x50);
    b.outb(DEVICE, 0xb0);
    expect(b.inb(STATUS)).toBe(0x00);
    expect(b.inb(ALT)).toBe(0x00);
    expect(b.inb(ERROR)).toBe(0x00);
    expect([b.inb(COUNT), b.inb(LBA_LOW), b.inb(LBA_MID), b.inb(LBA_HIGH)]).toEqual([1, 1, 0xff, 0xff]);
    // The registers of the absent device still latch (a driver's register test passes).
    b.outb(COUNT, 0x55);
    b.outb(LBA_LOW, 0xaa);
    expect([b.inb(COUNT), b.inb(LBA_LOW)]).toEqual([0x55, 0xaa]);
    // A command to the absent device does nothing.
    b.outb(STATUS, 0xec);
    expect(b.irq14.rises()).toBe(0);
    // The empty secondary channel floats.
    expect(b.inb(0x177)).toBe(0xff);
    expect(b.inb(0x376)).toBe(0xff);
    expect(b.inb(0x172)).toBe(0xff);
  });

  it('IDENTIFY DEVICE: strings, geometry, LBA28/LBA48 capacity, modes; IRQ 14 until the status register is read', () => {
    b.outb(DEVICE, 0xa0);
    b.outb(STATUS, 0xec);
    expect(b.irq14.level()).toBe(true);
    expect(b.inb(ALT)).toBe(0x58);
    expect(b.irq14.level()).toBe(true);
    expect(b.inb(STATUS)).toBe(0x58);
    expect(b.irq14.level()).toBe(false);
    const id = readWords(b, DATA, 256);
    expect(b.inb(STATUS)).toBe(0x50);
    expect(ataString(id, 10, 10)).toBe('POPEK0001           ');
    expect(ataString(id, 23, 4)).toBe('1.0     ');
    expect(ataString(id, 27, 20).trimEnd()).toBe('POPEK HARDDISK');
    expect(word(id, 0)).toBe(0x0040);
    expect([word(id, 1), word(id, 3), word(id, 6)]).toEqual([2, 16, 63]);
    expect(word(id, 47)).toBe(0x8010);
    expect(word(id, 49)).toBe(0x0300);
    expect(word(id, 60) | (word(id, 61) << 16)).toBe(SECTORS);
    expect(word(id, 63)).toBe(0x0007);
    expect(word(id, 83)).toBe(0x7400);
    expect(word(id, 88)).toBe(0x003f);
    expect([word(id, 100), word(id, 101), word(id, 102), word(id, 103)]).toEqual([SECTORS, 0, 0, 0]);
    expect(b.irq14.rises()).toBe(1);
  });

  it('nIEN keeps INTRQ low', () => {
    b.outb(ALT, 0x02);
    b.outb(STATUS, 0xec);
    expect(b.irq14.rises()).toBe(0);
    expect(b.inb(ALT)).toBe(0x58);
    readWords(b, DATA, 256);
    expect(b.inb(ALT)).toBe(0x50);
  });

  it('READ SECTORS: one DRQ block and one interrupt per sector, 16- and 32-bit data port accesses', () => {
    lba28(0x20, 100, 3);
    const got = new Uint8Array(3 * 512);
    for (let s = 0; s < 3; s++) {
      expect(b.inb(STATUS)).toBe(0x58);
      if (s === 1) {
        // The second sector through 32-bit reads.
        for (let i = 0; i < 128; i++) new DataView(got.buffer).setUint32(512 + 4 * i, b.inl(DATA), true);
      } else {
        got.set(readWords(b, DATA, 256), s * 512);
      }
    }
    expect(b.inb(STATUS)).toBe(0x50);
    expect(b.irq14.rises()).toBe(3);
    expect(got).toEqual(sector(100, 3));
    // Nothing more to read: the data port gives 0 and status stays idle.
    expect(b.inw(DATA)).toBe(0);
  });

  it('READ SECTORS with a sector count of 0 reads 256 sectors', () => {
    lba28(0x20, 0, 0);
    for (let s = 0; s < 256; s++) {
      expect(b.inb(STATUS)).toBe(0x58);
      expect(readWords(b, DATA, 256)).toEqual(sector(s));
    }
    expect(b.inb(STATUS)).toBe(0x50);
  });

  it('WRITE SECTORS: DRQ without an interrupt for the first block, an interrupt for each following one and at the end', () => {
    lba28(0x30, 7, 2);
    expect(b.irq14.rises()).toBe(0);
    expect(b.inb(ALT)).toBe(0x58);
    for (let i = 0; i < 256; i++) b.outw(DATA, 0x0100 * (i & 0xff) + 0x11);
    expect(b.irq14.rises()).toBe(1);
    expect(b.inb(STATUS)).toBe(0x58);
    for (let i = 0; i < 128; i++) b.outl(DATA, 0xdead_beef);
    expect(b.irq14.rises()).toBe(2);
    expect(b.inb(STATUS)).toBe(0x50);
    expect(word(image.data, 7 * 256 + 5)).toBe(0x0511);
    expect(Array.from(image.data.subarray(8 * 512, 8 * 512 + 4))).toEqual([0xef, 0xbe, 0xad, 0xde]);
  });

  it('SET MULTIPLE MODE then READ/WRITE MULTIPLE move DRQ blocks of that many sectors; without it they are aborted', () => {
    lba28(0xc4, 0, 4);
    expect(b.inb(STATUS)).toBe(0x51);
    expect(b.inb(ERROR)).toBe(0x04);
    b.outb(COUNT, 3); // not a power of two
    b.outb(STATUS, 0xc6);
    expect(b.inb(STATUS)).toBe(0x51);
    b.outb(COUNT, 4);
    b.outb(STATUS, 0xc6);
    expect(b.inb(STATUS)).toBe(0x50);
    const rises = b.irq14.rises();
    lba28(0xc4, 20, 6);
    expect(b.inb(STATUS)).toBe(0x58);
    expect(readWords(b, DATA, 4 * 256)).toEqual(sector(20, 4));
    expect(b.inb(STATUS)).toBe(0x58);
    expect(readWords(b, DATA, 2 * 256)).toEqual(sector(24, 2));
    expect(b.inb(STATUS)).toBe(0x50);
    expect(b.irq14.rises() - rises).toBe(2);
    // WRITE MULTIPLE EXT: 5 sectors = blocks of 4 and 1.
    lba48(0x39, 300, 5);
    const src = new Uint8Array(5 * 512).map((_, i) => (i * 3) & 0xff);
    for (let i = 0; i < 4 * 256; i++) b.outw(DATA, src[2 * i] | (src[2 * i + 1] << 8));
    expect(b.inb(STATUS)).toBe(0x58);
    for (let i = 4 * 256; i < 5 * 256; i++) b.outw(DATA, src[2 * i] | (src[2 * i + 1] << 8));
    expect(b.inb(STATUS)).toBe(0x50);
    expect(sector(300, 5)).toEqual(src);
    // The setting shows in IDENTIFY word 59.
    b.outb(STATUS, 0xec);
    expect(word(readWords(b, DATA, 256), 59)).toBe(0x0104);
  });

  it('READ SECTORS EXT takes a 48-bit address; HOB reads back the high-order bytes', () => {
    lba48(0x24, 1234, 2);
    expect(readWords(b, DATA, 512)).toEqual(sector(1234, 2));
    b.outb(ALT, 0x80);
    expect([b.inb(COUNT), b.inb(LBA_LOW), b.inb(LBA_MID), b.inb(LBA_HIGH)]).toEqual([0, 0, 0, 0]);
    b.outb(ALT, 0x00);
    expect([b.inb(COUNT), b.inb(LBA_LOW), b.inb(LBA_MID)]).toEqual([2, 1234 & 0xff, 1234 >>> 8]);
  });

  it('addresses past the end are IDNF, for PIO, verify and DMA commands alike', () => {
    for (const command of [0x20, 0x30, 0x40, 0xc8]) {
      lba28(command, SECTORS - 1, 2);
      expect(b.inb(STATUS)).toBe(0x51);
      expect(b.inb(ERROR)).toBe(0x10);
    }
    lba48(0x24, 2 ** 40, 1);
    expect(b.inb(STATUS)).toBe(0x51);
    expect(b.inb(ERROR)).toBe(0x10);
    lba28(0x40, SECTORS - 2, 2);
    expect(b.inb(STATUS)).toBe(0x50);
  });

  it('CHS addressing follows INITIALIZE DEVICE PARAMETERS; sector 0 is IDNF', () => {
    b.outb(COUNT, 32);
    b.outb(DEVICE, 0xa0 | 3); // 4 heads, 32 sectors per track
    b.outb(STATUS, 0x91);
    expect(b.inb(STATUS)).toBe(0x50);
    // Cylinder 2, head 1, sector 5 = (2 * 4 + 1) * 32 + 4 = 292.
    b.outb(COUNT, 1);
    b.outb(LBA_LOW, 5);
    b.outb(LBA_MID, 2);
    b.outb(LBA_HIGH, 0);
    b.outb(DEVICE, 0xa0 | 1);
    b.outb(STATUS, 0x20);
    expect(readWords(b, DATA, 256)).toEqual(sector(292));
    b.outb(LBA_LOW, 0);
    b.outb(STATUS, 0x20);
    expect(b.inb(STATUS)).toBe(0x51);
    expect(b.inb(ERROR)).toBe(0x10);
  });

  it('SET FEATURES, FLUSH CACHE (EXT), CHECK POWER MODE, IDLE/STANDBY, and ABRT for anything else', () => {
    b.outb(0x1f1, 0x03);
    b.outb(COUNT, 0x42); // UDMA mode 2
    b.outb(STATUS, 0xef);
    expect(b.inb(STATUS)).toBe(0x50);
    b.outb(STATUS, 0xec);
    let id = readWords(b, DATA, 256);
    expect([word(id, 63), word(id, 88)]).toEqual([0x0007, 0x043f]);
    b.outb(0x1f1, 0x03);
    b.outb(COUNT, 0x22); // multiword DMA mode 2
    b.outb(STATUS, 0xef);
    b.outb(STATUS, 0xec);
    id = readWords(b, DATA, 256);
    expect([word(id, 63), word(id, 88)]).toEqual([0x0407, 0x003f]);
    b.outb(0x1f1, 0x03);
    b.outb(COUNT, 0x50); // no such mode
    b.outb(STATUS, 0xef);
    expect(b.inb(STATUS)).toBe(0x51);
    expect(b.inb(ERROR)).toBe(0x04);
    b.outb(0x1f1, 0x82); // write cache off
    b.outb(STATUS, 0xef);
    expect(b.inb(STATUS)).toBe(0x50);
    b.outb(STATUS, 0xec);
    expect(word(readWords(b, DATA, 256), 85)).toBe(0x0048);
    b.outb(STATUS, 0xe7);
    b.outb(STATUS, 0xea);
    expect(image.flushes).toBe(2);
    expect(b.inb(STATUS)).toBe(0x50);
    b.outb(COUNT, 0);
    b.outb(STATUS, 0xe5);
    expect(b.inb(STATUS)).toBe(0x50);
    expect(b.inb(COUNT)).toBe(0xff);
    for (const command of [0xe0, 0xe1, 0xe2, 0xe3]) {
      b.outb(STATUS, command);
      expect(b.inb(STATUS)).toBe(0x50);
    }
    for (const command of [0x00, 0xa0, 0xa1, 0x08, 0xb0, 0xff]) {
      b.outb(STATUS, command);
      expect(b.inb(STATUS)).toBe(0x51);
      expect(b.inb(ERROR)).toBe(0x04);
    }
  });

  it('EXECUTE DEVICE DIAGNOSTIC shows the signature and code 01h with an interrupt', () => {
    lba28(0x20, 5, 1);
    b.outb(STATUS, 0x90);
    expect(b.inb(STATUS)).toBe(0x50);
    expect([b.inb(ERROR), b.inb(COUNT), b.inb(LBA_LOW), b.inb(LBA_MID), b.inb(LBA_HIGH)]).toEqual([1, 1, 1, 0, 0]);
  });

  it('a write to a read-only image is aborted (ABRT) and the image is unchanged; reads work', () => {
    const ro = new MemoryImage(512 * SECTORS, true).pattern();
    const before = Buffer.from(ro.data);
    b = makeIdeBoard([new AtaDisk(ro, { serial: 'RO' })]);
    image = ro;
    for (const command of [0x30, 0x34, 0xca, 0x35]) {
      if (command === 0x34 || command === 0x35) lba48(command, 3, 1);
      else lba28(command, 3, 1);
      expect(b.inb(STATUS)).toBe(0x51);
      expect(b.inb(ERROR)).toBe(0x04);
      expect(b.inw(DATA)).toBe(0);
    }
    b.outw(DATA, 0x1234);
    expect(Buffer.from(ro.data).equals(before)).toBe(true);
    lba28(0x20, 3, 1);
    expect(readWords(b, DATA, 256)).toEqual(sector(3));
  });

  it('saves and restores registers and settings with the PCI function\'s state (as JSON)', () => {
    b.cfgWrite(0x20, 4, BMIDE_BASE);
    b.cfgWrite(0x04, 2, 0x0005);
    b.outl(BMIDE_BASE + 4, 0x12340);
    b.outb(COUNT, 8);
    b.outb(STATUS, 0xc6); // multiple count 8
    b.outb(0x1f1, 0x03);
    b.outb(COUNT, 0x22); // multiword DMA 2
    b.outb(STATUS, 0xef);
    lba28(0x40, 5, 1);
    b.outb(ALT, 0x02);
    const state = JSON.parse(JSON.stringify(b.ide.saveState()));
    const restored = makeIdeBoard([new AtaDisk(image, { serial: 'POPEK0001' })]);
    restored.ide.loadState(state);
    expect(restored.cfgRead(0x20, 4)).toBe(BMIDE_BASE | 1);
    expect(restored.inl(BMIDE_BASE + 4)).toBe(0x12340);
    expect([restored.inb(COUNT), restored.inb(LBA_LOW), restored.inb(DEVICE), restored.inb(ALT)]).toEqual([1, 5, 0xe0, 0x50]);
    // nIEN came back too: IDENTIFY raises no interrupt.
    restored.outb(STATUS, 0xec);
    expect(restored.irq14.rises()).toBe(0);
    const id = readWords(restored, DATA, 256);
    expect([word(id, 59), word(id, 63)]).toEqual([0x0108, 0x0407]);
  });

  describe('bus-master DMA', () => {
    const PRD = 0x10000;
    const BUF = 0x20000;

    beforeEach(() => {
      b.cfgWrite(0x20, 4, BMIDE_BASE);
      b.cfgWrite(0x04, 2, 0x0005); // I/O space + bus master
    });

    function prd(entries: [address: number, bytes: number, last?: boolean][]): void {
      entries.forEach(([address, bytes, last], i) => {
        b.bus.write32(PRD + 8 * i, address);
        b.bus.write32(PRD + 8 * i + 4, ((bytes & 0xffff) | (last ? 0x8000_0000 : 0)) >>> 0);
      });
      b.outl(BMIDE_BASE + 4, PRD);
    }

    const ram = (address: number, length: number) => b.bus.u8.slice(address, address + length);

    it('READ DMA scatters into the PRD buffers; the engine goes idle with the interrupt bit; IRQ 14', () => {
      prd([[BUF, 1024], [BUF + 0x3000, 512, true]]);
      b.outb(BMIDE_BASE, 0x08); // direction: write to memory
      lba28(0xc8, 40, 3);
      expect(b.inb(ALT)).toBe(0x58);
      expect(b.irq14.rises()).toBe(0);
      b.outb(BMIDE_BASE, 0x09);
      expect(b.inb(BMIDE_BASE + 2)).toBe(0x04);
      expect(b.irq14.level()).toBe(true);
      expect(b.inb(STATUS)).toBe(0x50);
      expect(ram(BUF, 1024)).toEqual(sector(40, 2));
      expect(ram(BUF + 0x3000, 512)).toEqual(sector(42));
      // The driver stops the engine and clears the interrupt bit (write 1).
      b.outb(BMIDE_BASE, 0x08);
      b.outb(BMIDE_BASE + 2, 0x04);
      expect(b.inb(BMIDE_BASE + 2)).toBe(0x00);
      expect(b.inl(BMIDE_BASE + 4)).toBe(PRD);
    });

    it('WRITE DMA EXT gathers from the PRD buffers, with the engine started before the command; a 0 count means 64 KiB', () => {
      const src = new Uint8Array(0x10000 + 512).map((_, i) => (i * 5 + 1) & 0xff);
      b.bus.u8.set(src.subarray(0, 0x10000), BUF);
      b.bus.u8.set(src.subarray(0x10000), BUF + 0x20000);
      prd([[BUF, 0], [BUF + 0x20000, 512, true]]);
      b.outb(BMIDE_BASE, 0x01); // direction: read memory; start
      expect(b.inb(BMIDE_BASE + 2)).toBe(0x01);
      lba48(0x35, 600, 129);
      expect(b.inb(BMIDE_BASE + 2)).toBe(0x04);
      expect(b.inb(STATUS)).toBe(0x50);
      expect(sector(600, 129)).toEqual(src);
    });

    it('a PRD table longer than the transfer leaves the engine active with the interrupt bit', () => {
      prd([[BUF, 4096, true]]);
      b.outb(BMIDE_BASE, 0x08);
      lba28(0xc8, 1, 1);
      b.outb(BMIDE_BASE, 0x09);
      expect(b.inb(BMIDE_BASE + 2)).toBe(0x05);
      expect(b.inb(STATUS)).toBe(0x50);
      expect(ram(BUF, 512)).toEqual(sector(1));
    });

    it('a PRD table shorter than the transfer aborts the command', () => {
      prd([[BUF, 512, true]]);
      b.outb(BMIDE_BASE, 0x08);
      lba28(0xc8, 1, 2);
      b.outb(BMIDE_BASE, 0x09);
      expect(b.inb(BMIDE_BASE + 2)).toBe(0x04);
      expect(b.inb(STATUS)).toBe(0x51);
      expect(b.inb(ERROR)).toBe(0x04);
    });

    it('buffers or tables outside RAM are DMA errors the guest sees, never host accesses; the controller keeps working', () => {
      const bad: [number, number][] = [
        [0xfff0_0000, 512], // the BIOS ROM / MMIO
        [RAM_BYTES_TEST - 256, 512], // runs past the end of RAM
        [0x7fff_0000, 512], // a hole
      ];
      for (const [address, bytes] of bad) {
        prd([[address, bytes, true]]);
        b.outb(BMIDE_BASE, 0x08);
        lba28(0xc8, 1, 1);
        b.outb(BMIDE_BASE, 0x09);
        expect(b.inb(BMIDE_BASE + 2)).toBe(0x06);
        expect(b.inb(STATUS)).toBe(0x51);
        expect(b.inb(ERROR)).toBe(0x04);
        b.outb(BMIDE_BASE, 0x00);
        b.outb(BMIDE_BASE + 2, 0x06);
      }
      // The table itself outside RAM.
      b.outl(BMIDE_BASE + 4, 0xffff_fff0);
      b.outb(BMIDE_BASE, 0x08);
      lba28(0xc8, 1, 1);
      b.outb(BMIDE_BASE, 0x09);
      expect(b.inb(BMIDE_BASE + 2)).toBe(0x06);
      expect(b.inb(STATUS)).toBe(0x51);
      b.outb(BMIDE_BASE, 0x00);
      b.outb(BMIDE_BASE + 2, 0x06);
      // A table with no end-of-table that runs to its 64 KiB boundary.
      for (let i = 0; i < 0x2000; i++) {
        b.bus.write32(0x30000 + 8 * i, BUF);
        b.bus.write32(0x30000 + 8 * i + 4, 2);
      }
      b.outl(BMIDE_BASE + 4, 0x30000);
      b.outb(BMIDE_BASE, 0x08);
      lba28(0xc8, 1, 128);
      b.outb(BMIDE_BASE, 0x09);
      expect(b.inb(BMIDE_BASE + 2)).toBe(0x06);
      expect(b.inb(STATUS)).toBe(0x51);
      b.outb(BMIDE_BASE, 0x00);
      b.outb(BMIDE_BASE + 2, 0x06);
      // Afterwards a good transfer works.
      prd([[BUF, 512, true]]);
      b.outb(BMIDE_BASE, 0x08);
      lba28(0xc8, 9, 1);
      b.outb(BMIDE_BASE, 0x09);
      expect(b.inb(BMIDE_BASE + 2)).toBe(0x04);
      expect(b.inb(STATUS)).toBe(0x50);
      expect(ram(BUF, 512)).toEqual(sector(9));
    });

    it('a direction bit that disagrees with the command is a DMA error', () => {
      prd([[BUF, 512, true]]);
      b.outb(BMIDE_BASE, 0x00);
      lba28(0xc8, 1, 1);
      b.outb(BMIDE_BASE, 0x01);
      expect(b.inb(BMIDE_BASE + 2)).toBe(0x06);
      expect(b.inb(STATUS)).toBe(0x51);
    });

    it('nothing moves until bus mastering is enabled in COMMAND', () => {
      b.cfgWrite(0x04, 2, 0x0001);
      prd([[BUF, 512, true]]);
      b.outb(BMIDE_BASE, 0x08);
      lba28(0xc8, 1, 1);
      b.outb(BMIDE_BASE, 0x09);
      expect(b.inb(BMIDE_BASE + 2)).toBe(0x01);
      expect(b.inb(STATUS)).toBe(0x58);
      // A soft reset ends the waiting command.
      b.outb(ALT, 0x04);
      b.outb(ALT, 0x00);
      expect(b.inb(STATUS)).toBe(0x50);
    });
  });
});

const RAM_BYTES_TEST = 4 << 20;
