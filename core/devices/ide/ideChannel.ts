/**
 * One IDE channel (cable): the command block (8 ports: data, error/features,
 * sector count, LBA low/mid/high, device/head, status/command), the control
 * block (alternate status / device control), up to two devices (master and
 * slave) and the channel's INTRQ line.
 *
 * Register writes reach both devices' task files; reads, the data port and
 * commands go to the device the DEV bit of the device/head register selects.
 * INTRQ is the selected device's pending interrupt unless nIEN is set;
 * reading the status register (not the alternate status) or writing a
 * command clears it.
 *
 * Absent devices behave as on a real cable: with no device at all the bus
 * floats (every read is all ones, which drivers take as "nothing here"); with
 * only device 0 present, device 1 reads status and error as 0 and its task
 * file latches writes, so a driver's register test passes but the signature
 * (0xFF/0xFF) and the status say there is no device.
 */
import type { IrqLine } from '../device.ts';
import { CMD, DC_HOB, DC_NIEN, DC_SRST, DH_DEV, ST_BSY } from './ataRegisters.ts';
import type { IdeDevice, IdeDeviceState } from './ideDevice.ts';
import { TaskFile, type TaskFileState } from './taskFile.ts';

/** What the channel tells its bus-master engine. */
export interface ChannelDmaEngine {
  /** The selected device raised INTRQ (sets the bus master's interrupt status bit). */
  deviceInterrupt(): void;
  /** A device has a DMA transfer waiting (runs it if the engine is started). */
  dmaRequested(): void;
}

export interface IdeChannelState {
  selected: number;
  control: number;
  absent: TaskFileState[];
  devices: (IdeDeviceState | null)[];
}

export class IdeChannel {
  readonly devices: [IdeDevice | null, IdeDevice | null] = [null, null];
  /** Task files of empty slots (they still latch writes). */
  private readonly absent = [new TaskFile(), new TaskFile()];
  private selected = 0;
  private control = 0;
  private irqLevel = false;
  private readonly irq: IrqLine;
  dmaEngine: ChannelDmaEngine | null = null;

  constructor(irq: IrqLine) {
    this.irq = irq;
    this.resetAbsent();
  }

  /** Puts a device in slot 0 (master) or 1 (slave). */
  attach(slot: 0 | 1, device: IdeDevice): void {
    if (this.devices[slot]) throw new Error(`IDE slot ${slot} is already taken`);
    this.devices[slot] = device;
    device.onInterrupt = () => {
      if ((this.control & DC_NIEN) === 0) this.dmaEngine?.deviceInterrupt();
      this.updateIrq();
    };
    device.onDmaRequest = () => this.dmaEngine?.dmaRequested();
  }

  /** The selected device, or null if its slot is empty. */
  get selectedDevice(): IdeDevice | null {
    return this.devices[this.selected];
  }

  private taskFile(slot: number): TaskFile {
    return this.devices[slot]?.tf ?? this.absent[slot];
  }

  private get empty(): boolean {
    return !this.devices[0] && !this.devices[1];
  }

  reset(): void {
    this.control = 0;
    this.selected = 0;
    for (const d of this.devices) d?.reset();
    this.resetAbsent();
    this.updateIrq();
  }

  private resetAbsent(): void {
    for (const tf of this.absent) {
      Object.assign(tf, new TaskFile());
      tf.sectorCount = 1;
      tf.lbaLow = 1;
      tf.lbaMid = 0xff;
      tf.lbaHigh = 0xff;
    }
  }

  // ---- command block (offset 0-7) ---------------------------------------------

  readCommandBlock(offset: number, size: number): number {
    if (this.empty) return size === 4 ? 0xffff_ffff : (1 << (8 * size)) - 1;
    const device = this.selectedDevice;
    if (offset === 0) return device ? device.readData(size) : 0;
    const tf = this.taskFile(this.selected);
    const hob = (this.control & DC_HOB) !== 0;
    switch (offset) {
      case 1: return device ? (hob ? tf.hobFeature : tf.error) : 0;
      case 2: return hob ? tf.hobSectorCount : tf.sectorCount;
      case 3: return hob ? tf.hobLbaLow : tf.lbaLow;
      case 4: return hob ? tf.hobLbaMid : tf.lbaMid;
      case 5: return hob ? tf.hobLbaHigh : tf.lbaHigh;
      case 6: return tf.device;
      default: {
        if (!device) return 0;
        device.irqPending = false;
        this.updateIrq();
        return tf.status;
      }
    }
  }

  writeCommandBlock(offset: number, size: number, value: number): void {
    if (offset === 0) {
      this.selectedDevice?.writeData(size, value);
      return;
    }
    value &= 0xff;
    // Any command block write clears HOB (ATA/ATAPI-6 7.9).
    this.control &= ~DC_HOB;
    if (offset <= 5) {
      for (let slot = 0; slot < 2; slot++) {
        const tf = this.taskFile(slot);
        if ((tf.status & ST_BSY) === 0) tf.write(offset, value);
      }
      return;
    }
    if (offset === 6) {
      for (let slot = 0; slot < 2; slot++) this.taskFile(slot).device = value;
      this.selected = (value & DH_DEV) !== 0 ? 1 : 0;
      this.updateIrq();
      return;
    }
    this.command(value);
  }

  private command(command: number): void {
    const device = this.selectedDevice;
    if (!device || (device.tf.status & ST_BSY) !== 0) return;
    device.irqPending = false;
    this.updateIrq();
    if (command === CMD.EXECUTE_DEVICE_DIAGNOSTIC) {
      // Both devices run their diagnostics and show their signatures; device 0 reports for both.
      for (const d of this.devices) d?.endReset();
      this.selected = 0;
      (this.devices[0] ?? device).interrupt();
      return;
    }
    device.execute(command);
  }

  // ---- control block ----------------------------------------------------------

  readAltStatus(): number {
    if (this.empty) return 0xff;
    return this.selectedDevice?.tf.status ?? 0;
  }

  writeDeviceControl(value: number): void {
    const was = this.control;
    this.control = value & (DC_HOB | DC_SRST | DC_NIEN);
    if ((value & DC_SRST) !== 0 && (was & DC_SRST) === 0) {
      for (const d of this.devices) d?.beginReset();
    } else if ((value & DC_SRST) === 0 && (was & DC_SRST) !== 0) {
      for (const d of this.devices) d?.endReset();
      this.resetAbsent();
      this.selected = 0;
    }
    this.updateIrq();
  }

  private updateIrq(): void {
    const level = (this.control & DC_NIEN) === 0 && (this.selectedDevice?.irqPending ?? false);
    if (level === this.irqLevel) return;
    this.irqLevel = level;
    this.irq(level);
  }

  saveState(): IdeChannelState {
    return {
      selected: this.selected,
      control: this.control,
      absent: this.absent.map((tf) => tf.saveState()),
      devices: this.devices.map((d) => d?.saveState() ?? null),
    };
  }

  loadState(s: IdeChannelState): void {
    this.selected = s.selected & 1;
    this.control = s.control & (DC_HOB | DC_SRST | DC_NIEN);
    s.absent.forEach((tf, i) => this.absent[i].loadState(tf));
    s.devices.forEach((d, i) => {
      const device = this.devices[i];
      if (device && d) device.loadState(d);
    });
    this.irqLevel = false;
    this.irq(false);
    this.updateIrq();
  }
}
