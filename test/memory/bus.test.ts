import { describe, expect, it } from 'vitest';
import { MemoryBus, PAGE_IO, PAGE_ROM, type AccessSize, type MmioHandler, type PortHandler } from '../../core/memory/bus.ts';
import { PhysicalMemory } from '../../core/memory/physicalMemory.ts';

function board(ramMiB = 1, romSpace = 0x10000) {
  const memory = new PhysicalMemory(ramMiB << 20, romSpace);
  return { memory, bus: new MemoryBus(memory) };
}

/** An MMIO region that logs every access and answers reads with offset-derived bytes. */
function recordingMmio() {
  const log: string[] = [];
  const handler: MmioHandler = {
    read(offset, size) {
      log.push(`r${size}@${offset}`);
      let v = 0;
      for (let i = 0; i < size; i++) v |= ((0x10 + offset + i) & 0xff) << (8 * i);
      return v >>> 0;
    },
    write(offset, size, value) {
      log.push(`w${size}@${offset}=${(value >>> 0).toString(16)}`);
    },
  };
  return { handler, log };
}

describe('PhysicalMemory', () => {
  it('shares one SharedArrayBuffer between its views', () => {
    const m = new PhysicalMemory(0x2000);
    expect(m.buffer).toBeInstanceOf(SharedArrayBuffer);
    m.i32[0] = 0x44332211;
    expect([m.u8[0], m.u8[3], m.u16[1]]).toEqual([0x11, 0x44, 0x4433]);
  });

  it('rejects RAM sizes that are not whole pages', () => {
    expect(() => new PhysicalMemory(1000)).toThrow(/multiple of 4 KiB/);
    expect(() => new PhysicalMemory(0)).toThrow(RangeError);
  });
});

describe('MemoryBus: RAM', () => {
  it('reads and writes little-endian 8/16/32-bit values, also unaligned and across pages', () => {
    const { bus, memory } = board();
    bus.write32(0x1ffe, 0xa1b2c3d4);
    expect(memory.u8.slice(0x1ffe, 0x2002)).toEqual(new Uint8Array([0xd4, 0xc3, 0xb2, 0xa1]));
    expect(bus.read32(0x1ffe) >>> 0).toBe(0xa1b2c3d4);
    expect(bus.read16(0x1fff)).toBe(0xb2c3);
    expect(bus.read8(0x2001)).toBe(0xa1);
    bus.write16(0x3001, 0xbeef);
    expect(bus.read16(0x3001)).toBe(0xbeef);
  });

  it('reads all ones from unmapped physical addresses and ignores writes there', () => {
    const { bus } = board(1);
    expect(bus.read8(0x200000)).toBe(0xff);
    expect(bus.read16(0x200000)).toBe(0xffff);
    expect(bus.read32(0x200000) >>> 0).toBe(0xffffffff);
    bus.write32(0x200000, 0);
    expect(bus.read32(0x200000) >>> 0).toBe(0xffffffff);
  });

  it('reports writes to pages that hold decoded code', () => {
    const { bus } = board();
    const hits: number[] = [];
    bus.onCodeWrite = (pfn) => hits.push(pfn);
    bus.codePages[5] = 1;
    bus.write8(0x4fff, 1);
    bus.write32(0x5ffc, 1);
    bus.notifyDmaWrite(0x4800, 0x1000);
    expect(hits).toEqual([5, 5]);
  });
});

describe('MemoryBus: ROM', () => {
  it('maps one image at two addresses and ignores writes to it', () => {
    const { bus, memory } = board();
    const image = new Uint8Array(0x2000).map((_, i) => i & 0xff);
    const offset = memory.allocateRom(image);
    bus.mapRom(0xfffe0000, offset, 0x2000);
    bus.mapRom(0xe0000, offset, 0x2000);
    expect(bus.read8(0xfffe0005)).toBe(5);
    expect(bus.read32(0xe0ffc) >>> 0).toBe(0xfffefdfc);
    bus.write32(0xe0000, 0x12345678);
    expect(bus.read32(0xe0000)).toBe(0x03020100);
    expect(bus.pageMap[0xe0] & PAGE_ROM).toBe(PAGE_ROM);
  });

  it('rejects unaligned or overlapping mappings', () => {
    const { bus, memory } = board();
    const offset = memory.allocateRom(new Uint8Array(0x1000));
    expect(() => bus.mapRom(0xe0800, offset, 0x1000)).toThrow(/page aligned/);
    bus.mapRom(0xe0000, offset, 0x1000);
    expect(() => bus.mapRom(0xe0000, offset, 0x1000)).toThrow(/overlaps/);
  });
});

describe('MemoryBus: MMIO', () => {
  it('dispatches accesses inside a region with region-relative offsets and sizes', () => {
    const { bus } = board();
    const dev = recordingMmio();
    bus.addMmio(0xd0000000, 0x200, dev.handler, 'dev');
    expect(bus.pageMap[0xd0000] & PAGE_IO).toBe(PAGE_IO);
    expect(bus.read32(0xd0000004) >>> 0).toBe(0x17161514);
    bus.write16(0xd0000010, 0xabcd);
    bus.write8(0xd0000011, 0x7);
    expect(dev.log).toEqual(['r4@4', 'w2@16=abcd', 'w1@17=7']);
  });

  it('splits an access that straddles the end of a region into bytes, in ascending order', () => {
    const { bus } = board();
    const dev = recordingMmio();
    bus.addMmio(0xd0000000, 0x10, dev.handler, 'dev');
    const v = bus.read32(0xd000000e) >>> 0;
    expect(dev.log).toEqual(['r1@14', 'r1@15']);
    expect(v).toBe(0xffff1f1e); // the two bytes past the region read as open bus
    bus.write32(0xd000000e, 0x11223344);
    expect(dev.log.slice(2)).toEqual(['w1@14=44', 'w1@15=33']);
  });

  it('rejects overlapping regions', () => {
    const { bus } = board();
    bus.addMmio(0xd0000000, 0x100, recordingMmio().handler, 'a');
    expect(() => bus.addMmio(0xd00000f0, 0x100, recordingMmio().handler, 'b')).toThrow(/overlaps a/);
  });
});

describe('MemoryBus: I/O ports', () => {
  function byteDevice(base: number) {
    const regs = new Uint8Array(4);
    const log: string[] = [];
    const handler: PortHandler = {
      portRead(port, size) {
        log.push(`in${size}@${port.toString(16)}`);
        return regs[port - base];
      },
      portWrite(port, size, value) {
        log.push(`out${size}@${port.toString(16)}=${value.toString(16)}`);
        regs[port - base] = value;
      },
    };
    return { handler, log, regs };
  }

  it('splits wide accesses to a byte-wide device into byte cycles, low byte first', () => {
    const { bus } = board();
    const dev = byteDevice(0x60);
    bus.addPorts(0x60, 4, dev.handler, 'dev', [1]);
    bus.portWrite(0x60, 2, 0xbbaa);
    expect(dev.log).toEqual(['out1@60=aa', 'out1@61=bb']);
    expect(bus.portRead(0x60, 4) >>> 0).toBe(0x0000bbaa);
  });

  it('passes accesses of a width the device decodes straight through', () => {
    const { bus } = board();
    const seen: [number, AccessSize, number][] = [];
    bus.addPorts(0xcfc, 4, { portRead: () => 0x12345678, portWrite: (p, s, v) => { seen.push([p, s, v]); } }, 'pci', [1, 2, 4]);
    expect(bus.portRead(0xcfc, 4) >>> 0).toBe(0x12345678);
    bus.portWrite(0xcfe, 2, 0x1ffff);
    expect(seen).toEqual([[0xcfe, 2, 0xffff]]);
  });

  it('reads all ones from unclaimed ports, also when half of a wide access is unclaimed', () => {
    const { bus } = board();
    expect(bus.portRead(0x1234, 1)).toBe(0xff);
    expect(bus.portRead(0x1234, 4) >>> 0).toBe(0xffffffff);
    const dev = byteDevice(0x80);
    dev.regs[0] = 0x42;
    bus.addPorts(0x80, 1, dev.handler, 'post', [1]);
    expect(bus.portRead(0x80, 2)).toBe(0xff42);
  });

  it('rejects a port range that overlaps another', () => {
    const { bus } = board();
    bus.addPorts(0x3f8, 8, byteDevice(0x3f8).handler, 'com1');
    expect(() => bus.addPorts(0x3fc, 8, byteDevice(0x3fc).handler, 'other')).toThrow(/already belongs to com1/);
  });
});

describe('MemoryBus: A20', () => {
  it('reports gate changes once per change', () => {
    const { bus } = board();
    const seen: boolean[] = [];
    bus.onA20Change = (on) => seen.push(on);
    bus.setA20(false);
    bus.setA20(false);
    bus.setA20(true);
    expect(seen).toEqual([false, true]);
    expect(bus.a20Enabled).toBe(true);
  });
});
