/**
 * The platform bus: dispatches physical memory accesses to RAM, ROM or MMIO
 * regions, and the 64 KiB I/O port space to port handlers.
 *
 * Physical memory is described per 4 KiB page in `pageMap`, so the CPU's TLB
 * can cache "this page is plain RAM at buffer offset X" and touch the buffer
 * directly; everything else (ROM writes, MMIO, holes) takes the slow path here.
 *
 * Accesses that straddle a page or region boundary, or that are wider than a
 * handler accepts, are split into byte accesses in ascending address order,
 * which is what the chipset does for a misaligned or narrow-device cycle.
 */
import { PAGE_MASK, PAGE_SHIFT, PAGE_SIZE, PhysicalMemory } from './physicalMemory.ts';

export type AccessSize = 1 | 2 | 4;

/** A memory-mapped device region. Offsets are relative to the region base. */
export interface MmioHandler {
  read(offset: number, size: AccessSize): number;
  write(offset: number, size: AccessSize, value: number): void;
}

/** A port-mapped device. Ports are absolute. */
export interface PortHandler {
  portRead(port: number, size: AccessSize): number;
  portWrite(port: number, size: AccessSize, value: number): void;
}

/** pageMap entry bits (the rest of the entry is the page's offset in the memory buffer). */
export const PAGE_ROM = 1; // readable directly, writes ignored
export const PAGE_IO = 2; // MMIO or unmapped: always the slow path

const PAGE_COUNT = 1 << (32 - PAGE_SHIFT);

interface MmioRegion {
  base: number;
  end: number; // exclusive
  handler: MmioHandler;
  name: string;
}

interface PortRegion {
  first: number;
  count: number;
  handler: PortHandler;
  sizes: number; // bitmask of accepted AccessSize values
  name: string;
}

export class MemoryBus {
  readonly memory: PhysicalMemory;
  readonly u8: Uint8Array;
  /** Per physical page: buffer offset | PAGE_ROM | PAGE_IO. */
  readonly pageMap = new Int32Array(new SharedArrayBuffer(PAGE_COUNT * 4)); // shared: dom0's worker reads it for its grant check
  /** Per physical page: non-zero while the CPU holds decoded code from it. */
  readonly codePages = new Uint8Array(PAGE_COUNT);
  /** Called with the physical page number when a write lands on a code page outside the CPU's own check. */
  onCodeWrite: (pfn: number) => void = () => {};
  /** Called when the A20 gate changes, so address translation caches can be flushed. */
  onA20Change: (enabled: boolean) => void = () => {};

  private a20 = true;
  private readonly mmio: MmioRegion[] = [];
  private readonly romRanges: { base: number; end: number }[] = [];
  private readonly portOwner = new Int16Array(0x10000).fill(-1);
  private readonly ports: PortRegion[] = [];

  constructor(memory: PhysicalMemory) {
    this.memory = memory;
    this.u8 = memory.u8;
    const ramPages = memory.ramSize >>> PAGE_SHIFT;
    for (let pfn = 0; pfn < PAGE_COUNT; pfn++) {
      this.pageMap[pfn] = pfn < ramPages ? pfn << PAGE_SHIFT : PAGE_IO;
    }
  }

  get a20Enabled(): boolean {
    return this.a20;
  }

  setA20(enabled: boolean): void {
    if (enabled === this.a20) return;
    this.a20 = enabled;
    this.onA20Change(enabled);
  }

  /**
   * Maps a ROM image at `base` (page aligned). Several mappings may share one
   * image (the BIOS is visible below 4 GiB and below 1 MiB).
   */
  mapRom(base: number, bufferOffset: number, size: number): void {
    this.checkPageRange(base, size, 'ROM');
    this.claimMemory(base, size, 'ROM');
    for (let i = 0; i < size; i += PAGE_SIZE) {
      this.pageMap[(base + i) >>> PAGE_SHIFT] = (bufferOffset + i) | PAGE_ROM;
    }
    this.romRanges.push({ base, end: base + size });
  }

  /** Registers an MMIO region; it shadows RAM underneath it. */
  addMmio(base: number, size: number, handler: MmioHandler, name: string): void {
    if (size <= 0 || base < 0 || base + size > 0x1_0000_0000) throw new RangeError(`MMIO region ${name} out of range`);
    this.claimMemory(base, size, name);
    this.mmio.push({ base, end: base + size, handler, name });
    const first = base >>> PAGE_SHIFT;
    const last = (base + size - 1) >>> PAGE_SHIFT;
    for (let pfn = first; pfn <= last; pfn++) this.pageMap[pfn] = PAGE_IO;
  }

  /** Registers ports [first, first + count). `sizes` lists the widths the device decodes itself. */
  addPorts(first: number, count: number, handler: PortHandler, name: string, sizes: AccessSize[] = [1, 2, 4]): void {
    if (first < 0 || count <= 0 || first + count > 0x10000) throw new RangeError(`port range of ${name} out of range`);
    for (let p = first; p < first + count; p++) {
      const owner = this.portOwner[p];
      if (owner >= 0) throw new Error(`port 0x${p.toString(16)} of ${name} already belongs to ${this.ports[owner].name}`);
    }
    const index = this.ports.length;
    this.ports.push({ first, count, handler, sizes: sizes.reduce((m, s) => m | s, 0), name });
    for (let p = first; p < first + count; p++) this.portOwner[p] = index;
  }

  // ---- physical memory -------------------------------------------------

  read8(pa: number): number {
    const e = this.pageMap[pa >>> PAGE_SHIFT];
    if ((e & PAGE_IO) === 0) return this.u8[(e & ~PAGE_MASK) + (pa & PAGE_MASK)];
    return this.mmioRead(pa >>> 0, 1);
  }

  read16(pa: number): number {
    const e = this.pageMap[pa >>> PAGE_SHIFT];
    const off = pa & PAGE_MASK;
    if ((e & PAGE_IO) === 0 && off <= PAGE_SIZE - 2) {
      const i = (e & ~PAGE_MASK) + off;
      return this.u8[i] | (this.u8[i + 1] << 8);
    }
    return this.slowRead(pa >>> 0, 2);
  }

  read32(pa: number): number {
    const e = this.pageMap[pa >>> PAGE_SHIFT];
    const off = pa & PAGE_MASK;
    if ((e & PAGE_IO) === 0 && off <= PAGE_SIZE - 4) {
      const i = (e & ~PAGE_MASK) + off;
      const u8 = this.u8;
      return u8[i] | (u8[i + 1] << 8) | (u8[i + 2] << 16) | (u8[i + 3] << 24);
    }
    return this.slowRead(pa >>> 0, 4);
  }

  write8(pa: number, value: number): void {
    const pfn = pa >>> PAGE_SHIFT;
    const e = this.pageMap[pfn];
    if ((e & (PAGE_IO | PAGE_ROM)) === 0) {
      this.u8[(e & ~PAGE_MASK) + (pa & PAGE_MASK)] = value;
      if (this.codePages[pfn] !== 0) this.onCodeWrite(pfn);
      return;
    }
    if (e & PAGE_IO) this.mmioWrite(pa >>> 0, 1, value & 0xff);
  }

  write16(pa: number, value: number): void {
    const off = pa & PAGE_MASK;
    const pfn = pa >>> PAGE_SHIFT;
    const e = this.pageMap[pfn];
    if ((e & (PAGE_IO | PAGE_ROM)) === 0 && off <= PAGE_SIZE - 2) {
      const i = (e & ~PAGE_MASK) + off;
      this.u8[i] = value;
      this.u8[i + 1] = value >>> 8;
      if (this.codePages[pfn] !== 0) this.onCodeWrite(pfn);
      return;
    }
    this.slowWrite(pa >>> 0, 2, value & 0xffff);
  }

  write32(pa: number, value: number): void {
    const off = pa & PAGE_MASK;
    const pfn = pa >>> PAGE_SHIFT;
    const e = this.pageMap[pfn];
    if ((e & (PAGE_IO | PAGE_ROM)) === 0 && off <= PAGE_SIZE - 4) {
      const i = (e & ~PAGE_MASK) + off;
      const u8 = this.u8;
      u8[i] = value;
      u8[i + 1] = value >>> 8;
      u8[i + 2] = value >>> 16;
      u8[i + 3] = value >>> 24;
      if (this.codePages[pfn] !== 0) this.onCodeWrite(pfn);
      return;
    }
    this.slowWrite(pa >>> 0, 4, value);
  }

  /**
   * Tells the bus that something other than the CPU (device DMA) wrote
   * [pa, pa + length) directly into the memory buffer.
   */
  notifyDmaWrite(pa: number, length: number): void {
    if (length <= 0) return;
    const first = pa >>> PAGE_SHIFT;
    const last = (pa + length - 1) >>> PAGE_SHIFT;
    for (let pfn = first; pfn <= last; pfn++) if (this.codePages[pfn] !== 0) this.onCodeWrite(pfn);
  }

  /** True when [pa, pa + length) is entirely guest RAM (the only memory DMA may target). */
  isRam(pa: number, length: number): boolean {
    return pa >= 0 && length >= 0 && pa + length <= this.memory.ramSize;
  }

  // ---- I/O ports ---------------------------------------------------------

  portRead(port: number, size: AccessSize): number {
    port &= 0xffff;
    const owner = this.portOwner[port];
    if (owner >= 0) {
      const r = this.ports[owner];
      if ((r.sizes & size) !== 0 && port + size <= r.first + r.count) return r.handler.portRead(port, size) >>> 0;
    } else if (size === 1) {
      return 0xff;
    }
    if (size === 1) return this.ports[owner].handler.portRead(port, 1) & 0xff;
    let value = 0;
    for (let i = 0; i < size; i++) value |= this.portRead((port + i) & 0xffff, 1) << (8 * i);
    return value >>> 0;
  }

  portWrite(port: number, size: AccessSize, value: number): void {
    port &= 0xffff;
    const owner = this.portOwner[port];
    if (owner >= 0) {
      const r = this.ports[owner];
      if ((r.sizes & size) !== 0 && port + size <= r.first + r.count) {
        r.handler.portWrite(port, size, size === 4 ? value >>> 0 : value & ((1 << (8 * size)) - 1));
        return;
      }
      if (size === 1) {
        r.handler.portWrite(port, 1, value & 0xff);
        return;
      }
    } else if (size === 1) {
      return;
    }
    for (let i = 0; i < size; i++) this.portWrite((port + i) & 0xffff, 1, (value >>> (8 * i)) & 0xff);
  }

  // ---- slow paths ----------------------------------------------------------

  private slowRead(pa: number, size: AccessSize): number {
    const region = this.findMmio(pa);
    if (region && pa + size <= region.end && ((pa ^ (pa + size - 1)) >>> PAGE_SHIFT) === 0) {
      return region.handler.read(pa - region.base, size) >>> 0;
    }
    let value = 0;
    for (let i = 0; i < size; i++) value |= this.read8((pa + i) >>> 0) << (8 * i);
    return size === 4 ? value >>> 0 : value;
  }

  private slowWrite(pa: number, size: AccessSize, value: number): void {
    const region = this.findMmio(pa);
    if (region && pa + size <= region.end && ((pa ^ (pa + size - 1)) >>> PAGE_SHIFT) === 0) {
      region.handler.write(pa - region.base, size, value);
      return;
    }
    for (let i = 0; i < size; i++) this.write8((pa + i) >>> 0, (value >>> (8 * i)) & 0xff);
  }

  private mmioRead(pa: number, size: AccessSize): number {
    const region = this.findMmio(pa);
    if (!region) return size === 4 ? 0xffff_ffff : (1 << (8 * size)) - 1; // open bus
    return region.handler.read(pa - region.base, size) >>> 0;
  }

  private mmioWrite(pa: number, size: AccessSize, value: number): void {
    const region = this.findMmio(pa);
    if (region) region.handler.write(pa - region.base, size, value);
  }

  private findMmio(pa: number): MmioRegion | undefined {
    const list = this.mmio;
    for (let i = 0; i < list.length; i++) {
      const r = list[i];
      if (pa >= r.base && pa < r.end) return r;
    }
    return undefined;
  }

  private checkPageRange(base: number, size: number, what: string): void {
    if ((base & PAGE_MASK) !== 0 || (size & PAGE_MASK) !== 0 || size <= 0 || base + size > 0x1_0000_0000) {
      throw new RangeError(`${what} mapping at 0x${base.toString(16)} (+0x${size.toString(16)}) must be page aligned and below 4 GiB`);
    }
  }

  private claimMemory(base: number, size: number, name: string): void {
    const end = base + size;
    for (const r of this.mmio) {
      if (base < r.end && r.base < end) throw new Error(`${name} at 0x${base.toString(16)} overlaps ${r.name}`);
    }
    for (const r of this.romRanges) {
      if (base < r.end && r.base < end) throw new Error(`${name} at 0x${base.toString(16)} overlaps a ROM mapping`);
    }
  }
}
