import { describe, expect, it } from 'vitest';
import { writeCmosBootOrder, writeStandardCmos } from '../../core/devices/cmosLayout.ts';
import { Rtc } from '../../core/devices/rtc.ts';
import { makeTestBoard } from './testBoard.ts';

describe('CMOS bytes for the firmware', () => {
  it('reads back through ports 0x70/0x71 as SeaBIOS reads them (NMI-disable bit set in the index)', () => {
    const board = makeTestBoard();
    new Rtc(board.bus, board.clock, () => {}, { ramBytes: 128 * 1024 * 1024, epochMs: 0 });
    const read = (i: number) => (board.outb(0x70, 0x80 | i), board.inb(0x71));
    // SeaBIOS: RamSize = ((0x35 << 8 | 0x34) << 16) + 16 MiB
    expect(((read(0x35) << 24) | (read(0x34) << 16)) + 16 * 1024 * 1024).toBe(128 * 1024 * 1024);
    expect([0x5b, 0x5c, 0x5d, 0x5f].map(read)).toEqual([0, 0, 0, 0]);
    expect([0x3d, 0x38].map(read)).toEqual([0x32, 0x01]); // hard disk, then CD-ROM; no floppy signature check
  });

  it('writes up to three boot devices in QEMU\'s codes', () => {
    const nvram = new Uint8Array(128);
    writeCmosBootOrder(nvram, ['cdrom', 'disk', 'network']);
    expect([nvram[0x3d], nvram[0x38]]).toEqual([0x23, 0x41]);
    writeCmosBootOrder(nvram, ['floppy']);
    expect([nvram[0x3d], nvram[0x38]]).toEqual([0x01, 0x01]);
  });

  it('keeps the AT checksum over 0x10-0x2D, which the boot-order bytes are outside of', () => {
    const a = new Uint8Array(128);
    const b = new Uint8Array(128);
    writeStandardCmos(a, 64 * 1024 * 1024, ['disk']);
    writeStandardCmos(b, 64 * 1024 * 1024, ['cdrom', 'disk']);
    expect([a[0x2e], a[0x2f]]).toEqual([b[0x2e], b[0x2f]]);
    let sum = 0;
    for (let i = 0x10; i <= 0x2d; i++) sum += a[i];
    expect((a[0x2e] << 8) | a[0x2f]).toBe(sum);
  });
});
