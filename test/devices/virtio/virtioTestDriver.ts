/**
 * A test-side virtio-pci driver that does what Linux's virtio_pci_modern
 * does, through the same paths: PCI configuration cycles on 0xCF8/0xCFC,
 * BAR and PIRQ programming like firmware, capability walking, and MMIO
 * accesses to the BAR through the memory bus. Used by the transport and
 * device unit tests and by the hostile-descriptor tests.
 */
import { MemoryBus } from '../../../core/memory/bus.ts';
import { PhysicalMemory } from '../../../core/memory/physicalMemory.ts';
import { Pci } from '../../../core/devices/pci.ts';
import { PciMemoryWindow } from '../../../core/devices/pciMemoryWindow.ts';
import { busRamMap, CheckedGuestMemory } from '../../../core/dom0/grantCheck.ts';
import { EventChannels } from '../../../core/dom0/eventChannel.ts';
import { VirtioPciFunction } from '../../../core/devices/virtio/virtioPci.ts';
import type { VirtioDeviceType } from '../../../core/devices/virtio/virtioDevice.ts';
import type { BlockBackend } from '../../../core/dom0/block/blockBackend.ts';
import { QueueDriver } from './queueDriver.ts';

export const RAM_BYTES = 16 << 20;
export const BAR_ADDRESS = 0xc000_0000;
export const SLOT = 3;
/** PIRQ of slot 3 INTA (swizzle (3 + 0) & 3 = PIRQD), routed to ISA IRQ 11 by the test. */
export const IRQ = 11;

export interface VirtioCap {
  type: number;
  bar: number;
  offset: number;
  length: number;
  multiplier?: number;
}

/**
 * The driver half: everything through port I/O and MMIO on a memory bus,
 * for the function at `slot` of bus 0, so it can drive a device on a test
 * board or on a running machine's bus alike.
 */
export class VirtioPciTestDriver {
  readonly bus: MemoryBus;
  readonly slot: number;
  /** Where BAR0 is (read from the BAR by `locate`). */
  bar = 0;
  common = 0;
  isr = 0;
  deviceCfg = 0;
  notify = 0;
  notifyMultiplier = 0;

  constructor(bus: MemoryBus, slot: number) {
    this.bus = bus;
    this.slot = slot;
  }

  // ---- PCI configuration cycles, as the CPU issues them ----
  configRead(offset: number, size: 1 | 2 | 4, slot = this.slot): number {
    this.bus.portWrite(0xcf8, 4, (0x8000_0000 | (slot << 11) | (offset & 0xfc)) >>> 0);
    return this.bus.portRead(0xcfc + (offset & 3), size);
  }
  configWrite(offset: number, size: 1 | 2 | 4, value: number, slot = this.slot): void {
    this.bus.portWrite(0xcf8, 4, (0x8000_0000 | (slot << 11) | (offset & 0xfc)) >>> 0);
    this.bus.portWrite(0xcfc + (offset & 3), size, value);
  }

  /** Walks the capability list for virtio_pci_cap structures (vendor-specific, ID 0x09). */
  capabilities(): VirtioCap[] {
    const caps: VirtioCap[] = [];
    let at = this.configRead(0x34, 1);
    for (let guard = 0; at !== 0 && guard < 48; guard++) {
      if (this.configRead(at, 1) === 0x09) {
        const cap: VirtioCap = {
          type: this.configRead(at + 3, 1),
          bar: this.configRead(at + 4, 1),
          offset: this.configRead(at + 8, 4),
          length: this.configRead(at + 12, 4),
        };
        if (cap.type === 2) cap.multiplier = this.configRead(at + 16, 4);
        caps.push(cap);
      }
      at = this.configRead(at + 1, 1);
    }
    return caps;
  }

  /** Finds the structures the way virtio_pci_modern does (first cap of each type), in BAR0 as programmed. */
  locate(): void {
    this.bar = (this.configRead(0x10, 4) & ~0xf) >>> 0;
    const caps = this.capabilities();
    const of = (type: number) => {
      const cap = caps.find((c) => c.type === type);
      if (!cap) throw new Error(`no virtio cap of type ${type}`);
      return cap;
    };
    this.common = this.bar + of(1).offset;
    this.notify = this.bar + of(2).offset;
    this.notifyMultiplier = of(2).multiplier!;
    this.isr = this.bar + of(3).offset;
    const device = caps.find((c) => c.type === 4);
    this.deviceCfg = device ? this.bar + device.offset : 0;
  }

  // ---- common configuration ----
  get status(): number {
    return this.bus.read8(this.common + 20);
  }
  set status(value: number) {
    this.bus.write8(this.common + 20, value);
  }
  deviceFeatures(): bigint {
    this.bus.write32(this.common + 0, 0);
    const lo = this.bus.read32(this.common + 4);
    this.bus.write32(this.common + 0, 1);
    const hi = this.bus.read32(this.common + 4);
    return (BigInt(hi) << 32n) | BigInt(lo);
  }
  writeDriverFeatures(features: bigint): void {
    this.bus.write32(this.common + 8, 0);
    this.bus.write32(this.common + 12, Number(features & 0xffff_ffffn));
    this.bus.write32(this.common + 8, 1);
    this.bus.write32(this.common + 12, Number(features >> 32n));
  }
  readIsr(): number {
    return this.bus.read8(this.isr);
  }

  /**
   * The driver's initialization sequence (3.1.1): reset, ACKNOWLEDGE, DRIVER,
   * features, FEATURES_OK (checked), queues at `ringBase` + 64 KiB * q, DRIVER_OK.
   */
  initialize(features: bigint, ringBase = 0x10_0000): QueueDriver[] {
    this.status = 0;
    this.status = 1;
    this.status = 1 | 2;
    this.writeDriverFeatures(features);
    this.status = 1 | 2 | 8;
    if ((this.status & 8) === 0) throw new Error('FEATURES_OK not accepted');
    const queues: QueueDriver[] = [];
    const count = this.bus.read16(this.common + 18);
    for (let q = 0; q < count; q++) {
      this.bus.write16(this.common + 22, q);
      const size = this.bus.read16(this.common + 24);
      const driver = new QueueDriver(this.bus, ringBase + q * 0x10000, size);
      this.bus.write32(this.common + 32, driver.desc);
      this.bus.write32(this.common + 36, 0);
      this.bus.write32(this.common + 40, driver.avail);
      this.bus.write32(this.common + 44, 0);
      this.bus.write32(this.common + 48, driver.used);
      this.bus.write32(this.common + 52, 0);
      this.bus.write16(this.common + 28, 1);
      queues.push(driver);
    }
    this.status = 1 | 2 | 8 | 4;
    return queues;
  }

  kick(queue: number): void {
    this.bus.write16(this.common + 22, queue);
    const off = this.bus.read16(this.common + 30);
    this.bus.write16(this.notify + off * this.notifyMultiplier, queue);
  }
}

/** A bare board (RAM, PCI, the memory window) with one virtio function at slot 3 and the driver for it. */
export class VirtioTestBoard extends VirtioPciTestDriver {
  readonly pci: Pci;
  readonly mem: CheckedGuestMemory;
  readonly channels = new EventChannels();
  readonly fn: VirtioPciFunction;
  readonly irqLevels: boolean[] = [];
  irq = false;

  /** @param device the device type, or a maker of it given the board's bus (a device served by dom0 needs the bus's shared RAM and page map) */
  constructor(device: VirtioDeviceType | ((bus: MemoryBus) => VirtioDeviceType)) {
    super(new MemoryBus(new PhysicalMemory(RAM_BYTES)), SLOT);
    if (typeof device === 'function') device = device(this.bus);
    this.pci = new Pci(this.bus, {
      setIsaIrq: (irq, level) => {
        if (irq !== IRQ) throw new Error(`unexpected IRQ ${irq}`);
        this.irq = level;
        this.irqLevels.push(level);
      },
    });
    const window = new PciMemoryWindow(this.bus);
    this.mem = new CheckedGuestMemory(busRamMap(this.bus));
    this.fn = new VirtioPciFunction(device, this.mem, this.channels);
    this.pci.bus.attach(this.fn, SLOT);
    window.add(this.fn);
  }

  /** What firmware does: BAR0, Memory Space + Bus Master, PIRQD -> IRQ 11. */
  assignResources(): void {
    this.configWrite(0x10, 4, BAR_ADDRESS);
    this.configWrite(0x04, 2, 0x0006);
    this.configWrite(0x63, 1, IRQ, 1);
  }
}

/** A disk in host memory, behind the BlockBackend interface of core/dom0/block. */
export class MemoryDisk implements BlockBackend {
  readonly format = 'raw' as const;
  readonly data: Uint8Array;
  readonly readOnly: boolean;
  flushes = 0;
  discards: [number, number][] = [];
  constructor(sizeBytes: number, readOnly = false) {
    this.data = new Uint8Array(sizeBytes);
    this.readOnly = readOnly;
  }
  get sizeBytes(): number {
    return this.data.length;
  }
  read(offset: number, dest: Uint8Array): void {
    dest.set(this.data.subarray(offset, offset + dest.length));
  }
  write(offset: number, src: Uint8Array): void {
    if (this.readOnly) throw new Error('read-only');
    this.data.set(src, offset);
  }
  flush(): void {
    this.flushes++;
  }
  discard(offset: number, length: number): void {
    this.discards.push([offset, length]);
    this.data.fill(0, offset, offset + length);
  }
  close(): void {}
}
