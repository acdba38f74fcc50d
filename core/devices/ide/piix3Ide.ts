/**
 * The PIIX3 IDE controller, PCI function 00:01.1 (8086:7010, class 01:01,
 * programming interface 0x80: bus-master capable, both channels fixed in
 * compatibility mode). Its channels sit at the legacy ISA addresses:
 * primary 0x1F0-0x1F7 + 0x3F6 on IRQ 14, secondary 0x170-0x177 + 0x376 on
 * IRQ 15 (edge-triggered ISA lines, not PCI INTx: the interrupt pin register
 * reads 0). BAR4 holds the bus-master registers, 8 bytes per channel.
 *
 * Decoding: a channel answers at its legacy ports while I/O Space is enabled
 * in COMMAND and its IDETIM register (0x40 primary, 0x42 secondary) has the
 * IDE Decode Enable bit 15 set; otherwise the ports float (all ones).
 * Firmware sets both on a PC; this board starts with them set, playing the
 * firmware's part for direct kernel boots as it does for the ACPI tables
 * (Linux's ata_piix checks the decode bits and skips a disabled channel).
 */
import type { AccessSize, MemoryBus } from '../../memory/bus.ts';
import type { IrqLine } from '../device.ts';
import { PCI_COMMAND_IO, PCI_COMMAND_MASTER, PciFunction, type PciFunctionState } from '../pciFunction.ts';
import type { PciIoBarDevice } from '../pciIoWindow.ts';
import type { GuestMemory } from '../virtio/guestMemory.ts';
import { BusMasterChannel, type BusMasterState } from './busMaster.ts';
import { IdeChannel, type IdeChannelState } from './ideChannel.ts';

export const PIIX3_IDE_DEVICE_ID = 0x7010;
export const BMIDE_BAR = 4;
const IDETIM = 0x40;
const IDETIM_DECODE_ENABLE = 0x8000;

/** Legacy port blocks and IRQs of the two channels. */
export const IDE_LEGACY = [
  { commandBlock: 0x1f0, control: 0x3f6, irq: 14 },
  { commandBlock: 0x170, control: 0x376, irq: 15 },
] as const;

interface Piix3IdeState extends PciFunctionState {
  channels?: IdeChannelState[];
  busMasters?: BusMasterState[];
}

export class Piix3Ide extends PciFunction implements PciIoBarDevice {
  readonly fn: PciFunction = this;
  readonly channels: [IdeChannel, IdeChannel];
  readonly busMasters: [BusMasterChannel, BusMasterChannel];

  /** `irqs`: the ISA lines of the primary and secondary channel (the PIC's 14 and 15). */
  constructor(bus: MemoryBus, mem: GuestMemory, irqs: [IrqLine, IrqLine]) {
    super('piix3-ide', { vendorId: 0x8086, deviceId: PIIX3_IDE_DEVICE_ID, classCode: 0x010180 });
    this.defineBar(BMIDE_BAR, { kind: 'io', size: 16 });
    // IDETIM primary/secondary and SIDETIM: timing values are stored (nothing here has timing).
    for (let i = IDETIM; i < IDETIM + 5; i++) this.writable[i] = 0xff;
    this.set16(IDETIM, IDETIM_DECODE_ENABLE);
    this.set16(IDETIM + 2, IDETIM_DECODE_ENABLE);
    this.config[0x04] = PCI_COMMAND_IO;
    this.config[0x07] = 0x02; // DEVSEL medium
    this.capturePowerOnState();

    const mastering = () => (this.command & PCI_COMMAND_MASTER) !== 0;
    this.channels = [new IdeChannel(irqs[0]), new IdeChannel(irqs[1])];
    this.busMasters = [
      new BusMasterChannel(this.channels[0], mem, mastering),
      new BusMasterChannel(this.channels[1], mem, mastering),
    ];
    IDE_LEGACY.forEach((legacy, i) => {
      const channel = this.channels[i];
      bus.addPorts(legacy.commandBlock, 8, {
        portRead: (port, size) => (this.decodes(i) ? channel.readCommandBlock(port - legacy.commandBlock, size) : floating(size)),
        portWrite: (port, size, value) => {
          if (this.decodes(i)) channel.writeCommandBlock(port - legacy.commandBlock, size, value);
        },
      }, `ide${i}`);
      bus.addPorts(legacy.control, 1, {
        portRead: () => (this.decodes(i) ? channel.readAltStatus() : 0xff),
        portWrite: (_port, _size, value) => {
          if (this.decodes(i)) channel.writeDeviceControl(value);
        },
      }, `ide${i}-control`, [1]);
    });
  }

  /** Whether channel `i` answers at its legacy ports. */
  decodes(i: number): boolean {
    return (this.command & PCI_COMMAND_IO) !== 0 && (this.readConfig(IDETIM + 2 * i, 2) & IDETIM_DECODE_ENABLE) !== 0;
  }

  ioBarRead(bar: number, offset: number, size: AccessSize): number {
    if (bar !== BMIDE_BAR) return floating(size);
    return this.busMasters[offset >>> 3].read(offset & 7, size);
  }

  ioBarWrite(bar: number, offset: number, size: AccessSize, value: number): void {
    if (bar === BMIDE_BAR) this.busMasters[offset >>> 3].write(offset & 7, size, value);
  }

  override reset(): void {
    super.reset();
    for (const c of this.channels) c.reset();
    for (const b of this.busMasters) b.reset();
  }

  /** The configuration space and the channels' registers (transfers in flight excepted, see IdeDevice.saveState). */
  override saveState(): Piix3IdeState {
    return {
      ...super.saveState(),
      channels: this.channels.map((c) => c.saveState()),
      busMasters: this.busMasters.map((b) => b.saveState()),
    };
  }

  override loadState(state: unknown): void {
    super.loadState(state);
    const s = state as Piix3IdeState;
    s.channels?.forEach((c, i) => this.channels[i]?.loadState(c));
    s.busMasters?.forEach((b, i) => this.busMasters[i]?.loadState(b));
  }
}

function floating(size: number): number {
  return size === 4 ? 0xffff_ffff : (1 << (8 * size)) - 1;
}
