import { describe, expect, it } from 'vitest';
import { Pci, PciFunction } from '../../core/devices/pci.ts';
import { ResetControl } from '../../core/devices/resetControl.ts';
import { makeTestBoard } from './testBoard.ts';

function cfgAddr(dev: number, fn: number, reg: number, bus = 0): number {
  return (0x8000_0000 | (bus << 16) | (dev << 11) | (fn << 8) | (reg & 0xfc)) >>> 0;
}

function setup() {
  const b = makeTestBoard();
  const irqs: [number, boolean][] = [];
  const resets: string[] = [];
  const rc = new ResetControl({ onReset: (c) => resets.push(c) });
  const pci = new Pci(b.bus, { setIsaIrq: (irq, level) => irqs.push([irq, level]), cf9: rc });
  const read32 = (dev: number, fn: number, reg: number) => {
    b.outl(0xcf8, cfgAddr(dev, fn, reg));
    return b.inl(0xcfc);
  };
  const write32 = (dev: number, fn: number, reg: number, v: number) => {
    b.outl(0xcf8, cfgAddr(dev, fn, reg));
    b.outl(0xcfc, v);
  };
  return { ...b, pci, irqs, resets, read32, write32 };
}

class TestDevice extends PciFunction {
  written: [number, number][] = [];
  constructor() {
    super('test', { vendorId: 0x1af4, deviceId: 0x1000, classCode: 0x020000, revision: 1, subsystemVendorId: 0x1af4, subsystemId: 1, interruptPin: 1 });
    this.defineBar(0, { kind: 'io', size: 32 });
    this.defineBar(1, { kind: 'mem32', size: 4096 });
    this.defineBar(2, { kind: 'mem64', size: 0x4000, prefetchable: true });
  }
  protected override configWritten(offset: number, size: number): void {
    this.written.push([offset, size]);
  }
}

describe('PCI configuration mechanism #1 and bus 0', () => {
  it('finds the 440FX host bridge and the multifunction PIIX3 ISA bridge; empty slots read all ones', () => {
    const { read32 } = setup();
    expect(read32(0, 0, 0x00)).toBe(0x1237_8086);
    expect(read32(0, 0, 0x08)).toBe(0x0600_0002);
    expect(read32(1, 0, 0x00)).toBe(0x7000_8086);
    expect(read32(1, 0, 0x08) >>> 8).toBe(0x060100);
    expect((read32(1, 0, 0x0c) >>> 16) & 0xff).toBe(0x80);
    expect((read32(0, 0, 0x0c) >>> 16) & 0xff).toBe(0x00);
    expect(read32(2, 0, 0x00)).toBe(0xffff_ffff);
    expect(read32(1, 5, 0x00)).toBe(0xffff_ffff);
  });

  it('CONFIG_ADDRESS: dword only, reserved bits read 0; enable bit gates data accesses', () => {
    const { outl, inl, outb, inb, outw, inw } = setup();
    outl(0xcf8, 0xffff_ffff);
    expect(inl(0xcf8)).toBe(0x80ff_fffc);
    outl(0xcf8, 0x0000_0000);
    expect(inl(0xcfc)).toBe(0xffff_ffff);
    outw(0xcf8, 0x1234); // not a dword: does not change CONFIG_ADDRESS
    outb(0xcfa, 0x12);
    expect(inl(0xcf8)).toBe(0);
    expect(inw(0xcfc)).toBe(0xffff);
    expect(inb(0xcfb)).toBe(0xff);
    outl(0xcf8, 0x0001_0000 | 0x8000_0000); // bus 1: nothing there
    expect(inl(0xcfc)).toBe(0xffff_ffff);
  });

  it('data port byte/word/dword accesses at any offset', () => {
    const { outl, inb, inw, inl } = setup();
    outl(0xcf8, cfgAddr(0, 0, 0x00));
    expect(inb(0xcfc)).toBe(0x86);
    expect(inb(0xcfd)).toBe(0x80);
    expect(inb(0xcfe)).toBe(0x37);
    expect(inb(0xcff)).toBe(0x12);
    expect(inw(0xcfe)).toBe(0x1237);
    expect(inw(0xcfd)).toBe(0x3780);
    expect(inl(0xcfc)).toBe(0x1237_8086);
  });

  it('BAR sizing: all-ones writes read back the size mask with type bits', () => {
    const { pci, read32, write32 } = setup();
    const dev = new TestDevice();
    pci.bus.attach(dev, 3);
    write32(3, 0, 0x10, 0xffff_ffff);
    expect(read32(3, 0, 0x10)).toBe(0xffff_ffe1);
    write32(3, 0, 0x14, 0xffff_ffff);
    expect(read32(3, 0, 0x14)).toBe(0xffff_f000);
    write32(3, 0, 0x18, 0xffff_ffff);
    write32(3, 0, 0x1c, 0xffff_ffff);
    expect(read32(3, 0, 0x18)).toBe(0xffff_c00c);
    expect(read32(3, 0, 0x1c)).toBe(0xffff_ffff);
    write32(3, 0, 0x20, 0xffff_ffff); // undeclared BAR4
    expect(read32(3, 0, 0x20)).toBe(0);
    write32(3, 0, 0x10, 0xc040);
    write32(3, 0, 0x14, 0xfebf_1000);
    write32(3, 0, 0x18, 0xfe00_0000);
    write32(3, 0, 0x1c, 0x1);
    expect(dev.barAddress(0)).toBe(0xc040);
    expect(dev.barAddress(1)).toBe(0xfebf_1000);
    expect(dev.barAddress(2)).toBe(0x1_fe00_0000);
    expect(read32(3, 0, 0x30)).toBe(0); // no expansion ROM
  });

  it('identity fields are read-only; command RW bits, status W1C bits, interrupt line/pin', () => {
    const { pci, read32, write32, outl, outw, outb, inw } = setup();
    const dev = new TestDevice();
    pci.bus.attach(dev, 3);
    write32(3, 0, 0x00, 0);
    expect(read32(3, 0, 0x00)).toBe(0x1000_1af4);
    expect(read32(3, 0, 0x2c)).toBe(0x0001_1af4);
    write32(3, 0, 0x04, 0xffff_ffff);
    expect(read32(3, 0, 0x04) & 0xffff).toBe(0x0547);
    dev.config[0x07] = 0xf9; // device latched every error bit
    outl(0xcf8, cfgAddr(3, 0, 0x04));
    outw(0xcfe, 0x2000); // clear "received master abort" only
    expect(inw(0xcfe)).toBe(0xd900);
    outl(0xcf8, cfgAddr(3, 0, 0x3c));
    outb(0xcfc, 0x0b);
    outb(0xcfd, 0x04);
    expect(read32(3, 0, 0x3c) & 0xffff).toBe(0x010b);
    expect(dev.written.length).toBeGreaterThan(0);
  });

  it('attaching function 1 sets the multifunction bit of function 0', () => {
    const { pci, read32 } = setup();
    const f0 = new TestDevice();
    const f1 = new TestDevice();
    pci.bus.attach(f0, 4, 0);
    expect((read32(4, 0, 0x0c) >>> 16) & 0x80).toBe(0);
    pci.bus.attach(f1, 4, 1);
    expect((read32(4, 0, 0x0c) >>> 16) & 0x80).toBe(0x80);
    expect(read32(4, 1, 0x00)).toBe(0x1000_1af4);
    expect(() => pci.bus.attach(new TestDevice(), 4, 1)).toThrow();
  });

  it('routes INTx through the PIIX3 PIRQ registers, honouring INTx Disable', () => {
    const { pci, irqs, write32, read32 } = setup();
    const dev = new TestDevice(); // INTA# at device 3 -> PIRQ (3 + 1 - 1) & 3 = D
    pci.bus.attach(dev, 3);
    expect(read32(1, 0, 0x60)).toBe(0x8080_8080);
    dev.setIntx(true);
    expect(irqs).toEqual([]); // PIRQD not routed
    expect(read32(3, 0, 0x04) >>> 16 & 0x08).toBe(0x08); // interrupt status
    write32(1, 0, 0x60, 0x0b80_8080); // PIRQD -> IRQ 11
    expect(irqs).toEqual([[11, true]]);
    write32(3, 0, 0x04, 0x0400); // INTx disable
    expect(irqs).toEqual([[11, true], [11, false]]);
    write32(3, 0, 0x04, 0x0000);
    dev.setIntx(false);
    expect(irqs).toEqual([[11, true], [11, false], [11, true], [11, false]]);
    write32(1, 0, 0x60, 0x0280_8080); // IRQ 2 is not routable
    dev.setIntx(true);
    expect(irqs.length).toBe(4);
  });

  it('byte accesses to 0xCF9 reach the reset control register', () => {
    const { outb, inb, resets, outl, inl } = setup();
    outl(0xcf8, 0x8000_0000);
    outb(0xcf9, 0x02);
    expect(inb(0xcf9)).toBe(0x02);
    expect(inl(0xcf8)).toBe(0x8000_0000);
    outb(0xcf9, 0x06);
    expect(resets).toEqual(['cf9-hard']);
    expect(inb(0xcf9)).toBe(0x00);
    outb(0xcf9, 0x04);
    expect(resets).toEqual(['cf9-hard', 'cf9-soft']);
  });

  it('reset restores power-on configuration; state round-trips through JSON', () => {
    const { pci, write32, read32 } = setup();
    const dev = new TestDevice();
    pci.bus.attach(dev, 3);
    write32(3, 0, 0x10, 0xc000);
    write32(0, 0, 0x58, 0x3300_0000);
    const saved = JSON.parse(JSON.stringify(pci.saveState()));
    pci.reset();
    expect(read32(3, 0, 0x10)).toBe(0x1);
    expect(read32(0, 0, 0x58)).toBe(0);
    expect(read32(1, 0, 0x60)).toBe(0x8080_8080);
    pci.loadState(saved);
    expect(read32(3, 0, 0x10)).toBe(0xc001);
    expect(read32(0, 0, 0x58)).toBe(0x3300_0000);
  });
});
