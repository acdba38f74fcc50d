import { describe, expect, it } from 'vitest';
import { FW_CFG_DMA_CTL, FwCfg } from '../../core/devices/fwCfg.ts';
import { FW_CFG_KEY, FwCfgItems } from '../../core/devices/fwCfgItems.ts';
import { GuestMemoryError, type GuestMemory } from '../../core/devices/virtio/guestMemory.ts';
import { makeTestBoard } from './testBoard.ts';

const RAM = 64 * 1024;

/** Guest RAM [0, RAM) of the test board's buffer; anything else is refused, as dom0's grant check does. */
function ramOf(u8: Uint8Array): GuestMemory & { writes: [number, number][] } {
  const check = (a: number, n: number) => {
    if (a < 0 || n < 0 || a + n > RAM) throw new GuestMemoryError(`0x${a.toString(16)}+${n} is not RAM`, a, n);
  };
  const writes: [number, number][] = [];
  return {
    writes,
    read16: (a) => (check(a, 2), u8[a] | (u8[a + 1] << 8)),
    read32: (a) => (check(a, 4), (u8[a] | (u8[a + 1] << 8) | (u8[a + 2] << 16) | (u8[a + 3] << 24)) >>> 0),
    read64: () => { throw new Error('unused'); },
    write16: () => { throw new Error('unused'); },
    write32: () => { throw new Error('unused'); },
    view: (a, n) => (check(a, n), u8.subarray(a, a + n)),
    written: (a, n) => { writes.push([a, n]); },
  };
}

function setup(dma = true) {
  const board = makeTestBoard(RAM);
  const items = new FwCfgItems(
    new Map([[FW_CFG_KEY.NB_CPUS, Uint8Array.of(1, 0)]]),
    [
      { name: 'etc/zeta', data: Uint8Array.of(9, 8, 7) },
      { name: 'bootorder', data: new TextEncoder().encode('/pci@i0cf8/scsi@3/disk@0,0\n') },
      { name: 'etc/sercon-port', data: Uint8Array.of(0xf8, 0x03) },
    ],
    dma,
  );
  const mem = ramOf(board.bus.u8);
  const dev = new FwCfg(board.bus, items, dma ? mem : null);
  const readItem = (key: number, n: number) => {
    board.outw(0x510, key);
    return Array.from({ length: n }, () => board.inb(0x511));
  };
  /** Writes a DMA control block at `at` and starts it the way SeaBIOS does (one big-endian 32-bit write at 0x518). */
  const dmaRequest = (at: number, control: number, length: number, address: number) => {
    const v = new DataView(board.bus.u8.buffer, at, 16);
    v.setUint32(0, control, false);
    v.setUint32(4, length, false);
    v.setUint32(8, 0, false);
    v.setUint32(12, address, false);
    const be = ((at & 0xff) << 24) | ((at & 0xff00) << 8) | ((at >>> 8) & 0xff00) | (at >>> 24);
    board.outl(0x518, be >>> 0);
    return v.getUint32(0, false);
  };
  return { board, dev, items, mem, readItem, dmaRequest };
}

describe('fw_cfg traditional interface', () => {
  it('reads the signature and the ID, then zeros past an item\'s end', () => {
    const { readItem } = setup();
    expect(String.fromCharCode(...readItem(FW_CFG_KEY.SIGNATURE, 4))).toBe('QEMU');
    expect(readItem(FW_CFG_KEY.SIGNATURE, 6).slice(4)).toEqual([0, 0]);
    expect(readItem(FW_CFG_KEY.ID, 4)).toEqual([3, 0, 0, 0]);
    expect(setup(false).readItem(FW_CFG_KEY.ID, 4)).toEqual([1, 0, 0, 0]);
    expect(readItem(FW_CFG_KEY.NB_CPUS, 2)).toEqual([1, 0]);
    expect(readItem(0x1234, 3)).toEqual([0, 0, 0]);
  });

  it('lists files in name order with keys from 0x20 and reads them by key', () => {
    const { readItem, items } = setup();
    const dir = readItem(FW_CFG_KEY.FILE_DIR, 4 + 3 * 64);
    expect(dir.slice(0, 4)).toEqual([0, 0, 0, 3]);
    const entry = (i: number) => {
      const e = dir.slice(4 + i * 64, 4 + (i + 1) * 64);
      const name = String.fromCharCode(...e.slice(8)).replace(/\0+$/, '');
      return { size: (e[0] << 24) | (e[1] << 16) | (e[2] << 8) | e[3], key: (e[4] << 8) | e[5], reserved: (e[6] << 8) | e[7], name };
    };
    expect([0, 1, 2].map(entry)).toEqual([
      { size: 27, key: 0x20, reserved: 0, name: 'bootorder' },
      { size: 2, key: 0x21, reserved: 0, name: 'etc/sercon-port' },
      { size: 3, key: 0x22, reserved: 0, name: 'etc/zeta' },
    ]);
    expect(items.listFiles().map((f) => f.name)).toEqual(['bootorder', 'etc/sercon-port', 'etc/zeta']);
    expect(readItem(0x21, 3)).toEqual([0xf8, 0x03, 0]);
    expect(readItem(0x22, 3)).toEqual([9, 8, 7]);
  });

  it('rewinds on select, ignores data-port writes and byte writes to the selector', () => {
    const { board, readItem } = setup();
    expect(readItem(0x22, 1)).toEqual([9]);
    board.outb(0x511, 0x55);
    board.outb(0x510, 0x20);
    expect(board.inb(0x511)).toBe(8);
    expect(readItem(0x22, 1)).toEqual([9]);
  });

  it('refuses bad contents when built', () => {
    expect(() => new FwCfgItems(new Map(), [{ name: 'a', data: new Uint8Array(1) }, { name: 'a', data: new Uint8Array(1) }], true)).toThrow("fw_cfg file 'a' is given twice");
    expect(() => new FwCfgItems(new Map(), [{ name: 'x'.repeat(56), data: new Uint8Array(1) }], true)).toThrow(/1-55 printable ASCII/);
    expect(() => new FwCfgItems(new Map([[FW_CFG_KEY.FILE_DIR, new Uint8Array(4)]]), [], true)).toThrow(/belongs to the device/);
    expect(() => new FwCfgItems(new Map([[0x20, new Uint8Array(4)]]), [], true)).toThrow(/not below 0x20/);
  });

  it('saves and restores the selection and read position', () => {
    const { dev, board, readItem } = setup();
    readItem(0x22, 1);
    const saved = JSON.parse(JSON.stringify(dev.saveState()));
    expect(saved).toEqual({ selector: 0x22, offset: 1, dmaHigh: 0 });
    board.outw(0x510, 0);
    dev.loadState(saved);
    expect(board.inb(0x511)).toBe(8);
    dev.reset();
    expect(board.inb(0x511)).toBe('Q'.charCodeAt(0));
  });
});

describe('fw_cfg DMA interface', () => {
  it('reads "QEMU CFG" at 0x514-0x51B', () => {
    const { board } = setup();
    const bytes = Array.from({ length: 8 }, (_, i) => board.inb(0x514 + i));
    expect(String.fromCharCode(...bytes)).toBe('QEMU CFG');
    expect(board.inl(0x514)).toBe(0x554d4551); // "QEMU" in port order
  });

  it('selects and reads an item into RAM, zero-filling past its end, and clears the control word', () => {
    const { board, dmaRequest, dev, mem } = setup();
    board.bus.u8.fill(0xaa, 0x2000, 0x2010);
    expect(dmaRequest(0x1000, (0x22 << 16) | FW_CFG_DMA_CTL.SELECT | FW_CFG_DMA_CTL.READ, 5, 0x2000)).toBe(0);
    expect(Array.from(board.bus.u8.subarray(0x2000, 0x2007))).toEqual([9, 8, 7, 0, 0, 0xaa, 0xaa]);
    expect(mem.writes).toEqual([[0x2000, 5], [0x1000, 4]]);
    expect(dev.dmaTransfers).toBe(1);
  });

  it('skips, then reads on from the current position; the port interface sees the same position', () => {
    const { board, dmaRequest } = setup();
    board.outw(0x510, 0x20);
    expect(dmaRequest(0x1000, FW_CFG_DMA_CTL.SKIP, 5, 0)).toBe(0);
    expect(dmaRequest(0x1000, FW_CFG_DMA_CTL.READ, 4, 0x3000)).toBe(0);
    expect(new TextDecoder().decode(board.bus.u8.subarray(0x3000, 0x3004))).toBe('i0cf');
    expect(String.fromCharCode(board.inb(0x511))).toBe('8');
  });

  it('reports an error for a write, and for a buffer outside RAM, without touching anything else', () => {
    const { dmaRequest, dev } = setup();
    expect(dmaRequest(0x1000, (0x20 << 16) | FW_CFG_DMA_CTL.SELECT | FW_CFG_DMA_CTL.WRITE, 4, 0x2000)).toBe(FW_CFG_DMA_CTL.ERROR);
    expect(dmaRequest(0x1000, (0x20 << 16) | FW_CFG_DMA_CTL.SELECT | FW_CFG_DMA_CTL.READ, 16, RAM - 8)).toBe(FW_CFG_DMA_CTL.ERROR);
    expect(dmaRequest(0x1000, FW_CFG_DMA_CTL.READ, 0xffff_ffff, 0)).toBe(FW_CFG_DMA_CTL.ERROR);
    expect(dev.dmaErrors).toBe(3);
  });

  it('ignores a control block outside RAM, and honours the high address half', () => {
    const { board, dev } = setup();
    board.outl(0x514, 0x01000000); // high half = 1 (big-endian): the block is above 4 GiB
    board.outl(0x518, 0);
    expect(dev.dmaErrors).toBe(1);
    expect(dev.dmaTransfers).toBe(0);
    board.outl(0x518, 0x00000100); // low half only (big-endian 0x00010000): past RAM
    expect(dev.dmaErrors).toBe(2);
  });

  it('is absent without guest memory', () => {
    const { board } = setup(false);
    expect(board.inb(0x514)).toBe(0xff);
  });
});
