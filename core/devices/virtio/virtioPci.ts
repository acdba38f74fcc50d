/**
 * Virtio over PCI, the modern (virtio 1.x) interface only (virtio 1.2,
 * 4.1): PCI vendor 0x1AF4, device 0x1040 + device ID, and four vendor
 * capabilities pointing into one 16 KiB memory BAR:
 *
 *   BAR0 + 0x0000  common configuration (4.1.4.3)
 *   BAR0 + 0x1000  ISR status (4.1.4.5): read to acknowledge, clears INTx
 *   BAR0 + 0x2000  device-specific configuration
 *   BAR0 + 0x3000  notifications: queue q at 0x3000 + 4 * q (multiplier 4)
 *
 * Interrupts are legacy INTx (INTA#), routed by the PIIX3 PIRQ links of the
 * DSDT: this platform has no APIC, so no MSI-X capability is offered and
 * the MSI-X vector fields read VIRTIO_MSI_NO_VECTOR (0xFFFF).
 *
 * Status and negotiation follow 2.1 and 3.1.1: writing 0 resets the device;
 * FEATURES_OK stays set only if the driver's features are a subset of the
 * offered ones and include VIRTIO_F_VERSION_1; the driver's feature bits are
 * frozen once FEATURES_OK is accepted; queue registers are writable only
 * while the queue is disabled; DRIVER_OK activates the device type.
 *
 * Notifications go through event channels (core/dom0/eventChannel.ts): a
 * write to a queue's notify address sends on that queue's kick port, whose
 * receiving end is the device type's backend; a used-buffer notification
 * the queue asks for is sent on the device's interrupt port, whose
 * receiving end sets the ISR bit and asserts INTx. A malformed ring or
 * chain (VirtqueueError) or a ring outside guest RAM puts the device in
 * DEVICE_NEEDS_RESET with a configuration change interrupt; it then ignores
 * its queues until the driver resets it.
 */
import type { EventChannels } from '../../dom0/eventChannel.ts';
import type { AccessSize } from '../../memory/bus.ts';
import type { PciMemoryBarDevice } from '../pciMemoryWindow.ts';
import { PciFunction } from '../pciFunction.ts';
import { VirtqueueError } from './descriptorChain.ts';
import { GuestMemoryError, type GuestMemory } from './guestMemory.ts';
import { SplitQueue } from './splitQueue.ts';
import {
  F_EVENT_IDX,
  F_INDIRECT_DESC,
  F_VERSION_1,
  STATUS_DEVICE_NEEDS_RESET,
  STATUS_DRIVER_OK,
  STATUS_FEATURES_OK,
} from './virtioConstants.ts';
import { newCounters, type VirtioCounters, type VirtioDeviceContext, type VirtioDeviceType } from './virtioDevice.ts';

export const VIRTIO_PCI_VENDOR = 0x1af4;
export const VIRTIO_PCI_MODERN_DEVICE_BASE = 0x1040;
export const VIRTIO_BAR = 0;
export const VIRTIO_BAR_SIZE = 0x4000;
export const COMMON_OFFSET = 0x0000;
export const ISR_OFFSET = 0x1000;
export const DEVICE_OFFSET = 0x2000;
export const NOTIFY_OFFSET = 0x3000;
export const NOTIFY_MULTIPLIER = 4;
/** Bytes of struct virtio_pci_common_cfg up to queue_reset (virtio 1.2). */
export const COMMON_LENGTH = 0x3c;
const NO_VECTOR = 0xffff;

/** virtio_pci_cap cfg_type values (4.1.4). */
export const CAP_COMMON = 1;
export const CAP_NOTIFY = 2;
export const CAP_ISR = 3;
export const CAP_DEVICE = 4;
export const CAP_PCI_CFG = 5;
const PCI_CAP_VENDOR = 0x09;

/** Feature bits every device of this transport offers besides its own. */
const TRANSPORT_FEATURES = F_VERSION_1 | F_INDIRECT_DESC | F_EVENT_IDX;

export class VirtioPciFunction extends PciFunction implements PciMemoryBarDevice {
  readonly device: VirtioDeviceType;
  readonly counters: VirtioCounters = newCounters();
  readonly queues: SplitQueue[];
  readonly offeredFeatures: bigint;
  /** Why the device last entered DEVICE_NEEDS_RESET (for reports and tests). */
  lastError: string | null = null;
  private readonly mem: GuestMemory;
  private readonly channels: EventChannels;
  private readonly kickPorts: number[];
  private readonly interruptPort: number;
  private status = 0;
  private deviceFeatureSelect = 0;
  private driverFeatureSelect = 0;
  private driverFeatures = 0n;
  private queueSelect = 0;
  private configGeneration = 0;
  private isr = 0;
  /** ISR bits the pending interrupt-port event should set. */
  private isrToRaise = 0;

  get fn(): PciFunction {
    return this;
  }

  constructor(device: VirtioDeviceType, mem: GuestMemory, channels: EventChannels) {
    super(`virtio-${device.name}`, {
      vendorId: VIRTIO_PCI_VENDOR,
      deviceId: VIRTIO_PCI_MODERN_DEVICE_BASE + device.deviceId,
      classCode: device.pciClass,
      revision: 1,
      subsystemVendorId: VIRTIO_PCI_VENDOR,
      subsystemId: 0x40 + device.deviceId,
      interruptPin: 1,
    });
    this.device = device;
    this.mem = mem;
    this.channels = channels;
    this.queues = device.queueSizes.map((n) => new SplitQueue(n));
    this.offeredFeatures = device.features | TRANSPORT_FEATURES;
    if (device.configSize > 0x1000) throw new RangeError('virtio device configuration larger than 4 KiB');
    this.defineBar(VIRTIO_BAR, { kind: 'mem32', size: VIRTIO_BAR_SIZE });
    this.addVirtioCap(CAP_COMMON, COMMON_OFFSET, COMMON_LENGTH);
    this.addVirtioCap(CAP_ISR, ISR_OFFSET, 1);
    if (device.configSize > 0) this.addVirtioCap(CAP_DEVICE, DEVICE_OFFSET, device.configSize);
    const notify = this.addVirtioCap(CAP_NOTIFY, NOTIFY_OFFSET, NOTIFY_MULTIPLIER * this.queues.length, 4);
    this.set32(notify + 16, NOTIFY_MULTIPLIER);
    this.capturePowerOnState();
    this.kickPorts = this.queues.map((_, q) => channels.bind(`${this.name} queue ${q} kick`, () => this.backendKick(q)));
    this.interruptPort = channels.bind(`${this.name} interrupt`, () => this.raiseInterrupt());
  }

  /** A virtio_pci_cap (16 bytes + `extra`) describing [offset, offset + length) of BAR0. */
  private addVirtioCap(type: number, offset: number, length: number, extra = 0): number {
    const at = this.addCapability(PCI_CAP_VENDOR, 16 + extra);
    this.config[at + 2] = 16 + extra; // cap_len
    this.config[at + 3] = type;
    this.config[at + 4] = VIRTIO_BAR;
    this.set32(at + 8, offset);
    this.set32(at + 12, length);
    return at;
  }

  get deviceStatus(): number {
    return this.status;
  }

  get negotiatedFeatures(): bigint {
    return (this.status & STATUS_FEATURES_OK) !== 0 ? this.driverFeatures : 0n;
  }

  override reset(): void {
    super.reset();
    this.resetDevice();
  }

  /** Device reset (2.4): status, features, queues and interrupt state back to their initial values. */
  private resetDevice(): void {
    this.status = 0;
    this.deviceFeatureSelect = this.driverFeatureSelect = 0;
    this.driverFeatures = 0n;
    this.queueSelect = 0;
    this.isr = 0;
    this.isrToRaise = 0;
    this.lastError = null;
    for (const q of this.queues) q.reset();
    this.device.reset();
    this.setIntx(false);
  }

  // ---- BAR accesses ----------------------------------------------------------

  barRead(_bar: number, offset: number, size: AccessSize): number {
    if (offset < COMMON_OFFSET + COMMON_LENGTH) return this.readCommon(offset, size);
    if (offset === ISR_OFFSET) return this.readIsr();
    if (offset >= DEVICE_OFFSET && offset + size <= DEVICE_OFFSET + this.device.configSize) {
      return this.device.readConfig(offset - DEVICE_OFFSET, size as 1 | 2 | 4);
    }
    return 0;
  }

  barWrite(_bar: number, offset: number, size: AccessSize, value: number): void {
    if (offset < COMMON_OFFSET + COMMON_LENGTH) this.writeCommon(offset, size, value);
    else if (offset >= DEVICE_OFFSET && offset + size <= DEVICE_OFFSET + this.device.configSize) {
      this.device.writeConfig(offset - DEVICE_OFFSET, size as 1 | 2 | 4, value);
    } else if (offset >= NOTIFY_OFFSET && offset < NOTIFY_OFFSET + NOTIFY_MULTIPLIER * this.queues.length) {
      this.notify((offset - NOTIFY_OFFSET) / NOTIFY_MULTIPLIER);
    }
  }

  private readIsr(): number {
    const value = this.isr;
    this.isr = 0;
    this.setIntx(false);
    return value;
  }

  // ---- common configuration ------------------------------------------------

  private get selectedQueue(): SplitQueue | null {
    return this.queues[this.queueSelect] ?? null;
  }

  /** The common configuration structure as bytes, for reads of any width at any offset. */
  private readCommon(offset: number, size: number): number {
    const b = new DataView(new ArrayBuffer(COMMON_LENGTH + 4));
    const features = this.deviceFeatureSelect < 2 ? Number((this.offeredFeatures >> BigInt(32 * this.deviceFeatureSelect)) & 0xffff_ffffn) : 0;
    const driver = this.driverFeatureSelect < 2 ? Number((this.driverFeatures >> BigInt(32 * this.driverFeatureSelect)) & 0xffff_ffffn) : 0;
    b.setUint32(0, this.deviceFeatureSelect, true);
    b.setUint32(4, features, true);
    b.setUint32(8, this.driverFeatureSelect, true);
    b.setUint32(12, driver, true);
    b.setUint16(16, NO_VECTOR, true);
    b.setUint16(18, this.queues.length, true);
    b.setUint8(20, this.status);
    b.setUint8(21, this.configGeneration & 0xff);
    b.setUint16(22, this.queueSelect, true);
    const q = this.selectedQueue;
    if (q) {
      b.setUint16(24, q.size, true);
      b.setUint16(26, NO_VECTOR, true);
      b.setUint16(28, q.ready ? 1 : 0, true);
      b.setUint16(30, this.queueSelect, true);
      this.setU64(b, 32, q.desc);
      this.setU64(b, 40, q.avail);
      this.setU64(b, 48, q.used);
      b.setUint16(56, this.queueSelect, true);
    } else {
      b.setUint16(26, NO_VECTOR, true);
    }
    if (offset + size > COMMON_LENGTH) return 0;
    return size === 1 ? b.getUint8(offset) : size === 2 ? b.getUint16(offset, true) : b.getUint32(offset, true);
  }

  private setU64(b: DataView, at: number, value: number): void {
    b.setUint32(at, value % 0x1_0000_0000, true);
    b.setUint32(at + 4, Math.floor(value / 0x1_0000_0000), true);
  }

  private writeCommon(offset: number, size: number, value: number): void {
    const q = this.selectedQueue;
    const queueWritable = q !== null && !q.ready;
    switch (offset) {
      case 0:
        if (size === 4) this.deviceFeatureSelect = value >>> 0;
        return;
      case 8:
        if (size === 4) this.driverFeatureSelect = value >>> 0;
        return;
      case 12:
        // Frozen once FEATURES_OK was accepted (3.1.1); only the two defined 32-bit windows exist.
        if (size === 4 && (this.status & STATUS_FEATURES_OK) === 0 && this.driverFeatureSelect < 2) {
          const shift = BigInt(32 * this.driverFeatureSelect);
          this.driverFeatures = (this.driverFeatures & ~(0xffff_ffffn << shift)) | (BigInt(value >>> 0) << shift);
        }
        return;
      case 20:
        if (size === 1) this.writeStatus(value & 0xff);
        return;
      case 22:
        if (size === 2) this.queueSelect = value & 0xffff;
        return;
      case 24:
        if (size === 2 && queueWritable) q.size = value & 0xffff;
        return;
      case 28:
        if (size === 2 && q && (value & 0xffff) === 1 && !q.ready) this.enableQueue(q);
        return;
      case 32: case 36: case 40: case 44: case 48: case 52:
        if (size === 4 && queueWritable) this.writeQueueAddress(q, offset, value >>> 0);
        return;
      default:
        // MSI-X vectors: no MSI-X capability, so they stay NO_VECTOR; read-only fields ignore writes.
        return;
    }
  }

  private writeQueueAddress(q: SplitQueue, offset: number, value: number): void {
    const field = offset < 40 ? 'desc' : offset < 48 ? 'avail' : 'used';
    const high = (offset & 4) !== 0;
    const old = q[field];
    q[field] = high ? (old % 0x1_0000_0000) + value * 0x1_0000_0000 : Math.floor(old / 0x1_0000_0000) * 0x1_0000_0000 + value;
  }

  private enableQueue(q: SplitQueue): void {
    try {
      q.validate(this.mem);
      q.ready = true;
    } catch (e) {
      if (e instanceof VirtqueueError) this.needsReset(`queue ${this.queues.indexOf(q)}: ${e.message}`);
      else throw e;
    }
  }

  private writeStatus(value: number): void {
    if (value === 0) {
      this.resetDevice();
      return;
    }
    const before = this.status;
    let next = (value & ~STATUS_DEVICE_NEEDS_RESET) | (before & STATUS_DEVICE_NEEDS_RESET);
    if ((next & STATUS_FEATURES_OK) !== 0 && (before & STATUS_FEATURES_OK) === 0) {
      const f = this.driverFeatures;
      const acceptable = (f & ~this.offeredFeatures) === 0n && (f & F_VERSION_1) !== 0n;
      if (acceptable) {
        for (const q of this.queues) {
          q.eventIdx = (f & F_EVENT_IDX) !== 0n;
          q.indirect = (f & F_INDIRECT_DESC) !== 0n;
        }
      } else {
        next &= ~STATUS_FEATURES_OK;
      }
    }
    this.status = next;
    if ((next & STATUS_DRIVER_OK) !== 0 && (before & STATUS_DRIVER_OK) === 0 && (next & STATUS_FEATURES_OK) !== 0) {
      this.device.activate(this.context());
    }
  }

  private context(): VirtioDeviceContext {
    return {
      mem: this.mem,
      queues: this.queues,
      features: this.driverFeatures,
      counters: this.counters,
      usedBuffers: (index) => this.usedBuffers(index),
      configChanged: () => this.configChanged(),
      deviceError: (e) => this.deviceError('device', e),
    };
  }

  // ---- notifications ---------------------------------------------------------

  /** The driver wrote a queue's notify address: an event on that queue's kick port. */
  private notify(index: number): void {
    if (!Number.isInteger(index) || index >= this.queues.length) return;
    this.counters.kicks++;
    this.channels.send(this.kickPorts[index]);
  }

  /** Receiving end of a kick port: the device type processes the queue, unless the device is stopped. */
  private backendKick(index: number): void {
    if ((this.status & STATUS_DRIVER_OK) === 0 || (this.status & STATUS_DEVICE_NEEDS_RESET) !== 0) return;
    if (!this.queues[index].ready) return;
    try {
      this.device.queueNotified(index);
    } catch (e) {
      this.deviceError(`queue ${index}`, e);
    }
  }

  private deviceError(where: string, e: unknown): void {
    if (e instanceof VirtqueueError || e instanceof GuestMemoryError) this.needsReset(`${where}: ${e.message}`);
    else throw e;
  }

  private usedBuffers(index: number): void {
    const q = this.queues[index];
    let wanted: boolean;
    try {
      wanted = q.needsNotification(this.mem);
    } catch (e) {
      if (e instanceof VirtqueueError) {
        this.needsReset(`queue ${index}: ${e.message}`);
        return;
      }
      throw e;
    }
    if (wanted) this.sendInterrupt(1);
  }

  private configChanged(): void {
    this.configGeneration = (this.configGeneration + 1) & 0xff;
    if ((this.status & STATUS_DRIVER_OK) !== 0) this.sendInterrupt(2);
  }

  /** Enters DEVICE_NEEDS_RESET (2.1.2) and tells the driver through a configuration change notification. */
  needsReset(reason: string): void {
    if ((this.status & STATUS_DEVICE_NEEDS_RESET) !== 0) return;
    this.lastError = reason;
    this.counters.resetsNeeded++;
    this.status |= STATUS_DEVICE_NEEDS_RESET;
    if ((this.status & STATUS_DRIVER_OK) !== 0) this.sendInterrupt(2);
  }

  private sendInterrupt(isrBits: number): void {
    this.isrToRaise |= isrBits;
    this.channels.send(this.interruptPort);
  }

  /** Receiving end of the interrupt port: ISR bits and the INTx level. */
  private raiseInterrupt(): void {
    this.isr |= this.isrToRaise;
    this.isrToRaise = 0;
    if (this.isr !== 0) {
      this.counters.interrupts++;
      this.setIntx(true);
    }
  }
}
