/**
 * A board for the IDE tests: RAM, the platform bus, PCI bus 0 with the
 * PIIX3 IDE function at 00:01.1 behind configuration mechanism #1, the PCI
 * I/O window for its bus-master BAR, dom0's checked guest-memory access for
 * DMA, and recorders on IRQ 14 and 15. The tests talk to it only through
 * port I/O, as a driver does.
 */
import { Pci } from '../../../core/devices/pci.ts';
import { PciIoWindow } from '../../../core/devices/pciIoWindow.ts';
import { Piix3Ide } from '../../../core/devices/ide/piix3Ide.ts';
import type { IdeDevice } from '../../../core/devices/ide/ideDevice.ts';
import { CheckedGuestMemory, busRamMap } from '../../../core/dom0/grantCheck.ts';
import type { BlockBackend } from '../../../core/dom0/block/blockBackend.ts';
import { BlockRangeError, BlockReadOnlyError } from '../../../core/dom0/block/blockErrors.ts';
import { irqRecorder, makeTestBoard, type TestBoard } from '../testBoard.ts';

export const RAM_BYTES = 4 << 20;
/** Where the tests put the bus-master BAR. */
export const BMIDE_BASE = 0xc000;
const IDE_FN = (1 << 11) | (1 << 8);

export interface IdeTestBoard extends TestBoard {
  ide: Piix3Ide;
  mem: CheckedGuestMemory;
  irq14: ReturnType<typeof irqRecorder>;
  irq15: ReturnType<typeof irqRecorder>;
  cfgRead(offset: number, size: 1 | 2 | 4): number;
  cfgWrite(offset: number, size: 1 | 2 | 4, value: number): void;
}

export function makeIdeBoard(primary: (IdeDevice | null)[] = [], secondary: (IdeDevice | null)[] = []): IdeTestBoard {
  const board = makeTestBoard(RAM_BYTES);
  const pci = new Pci(board.bus);
  const mem = new CheckedGuestMemory(busRamMap(board.bus));
  const irq14 = irqRecorder();
  const irq15 = irqRecorder();
  const ide = new Piix3Ide(board.bus, mem, [irq14.line, irq15.line]);
  pci.bus.attach(ide, 1, 1);
  new PciIoWindow(board.bus).add(ide);
  [primary, secondary].forEach((devices, c) => devices.forEach((d, slot) => d && ide.channels[c].attach(slot as 0 | 1, d)));
  const select = (offset: number) => board.outl(0xcf8, 0x8000_0000 | IDE_FN | (offset & 0xfc));
  return {
    ...board,
    ide,
    mem,
    irq14,
    irq15,
    cfgRead: (offset, size) => {
      select(offset);
      return board.bus.portRead(0xcfc + (offset & 3), size);
    },
    cfgWrite: (offset, size, value) => {
      select(offset);
      board.bus.portWrite(0xcfc + (offset & 3), size, value);
    },
  };
}

/** An in-memory image with the backends' error behaviour. */
export class MemoryImage implements BlockBackend {
  readonly format = 'raw' as const;
  readonly data: Uint8Array;
  readonly readOnly: boolean;
  flushes = 0;
  constructor(sizeBytes: number, readOnly = false) {
    this.data = new Uint8Array(sizeBytes);
    this.readOnly = readOnly;
  }
  get sizeBytes(): number {
    return this.data.length;
  }
  read(offset: number, dest: Uint8Array): void {
    if (offset < 0 || offset + dest.length > this.data.length) throw new BlockRangeError('outside');
    dest.set(this.data.subarray(offset, offset + dest.length));
  }
  write(offset: number, src: Uint8Array): void {
    if (this.readOnly) throw new BlockReadOnlyError('read-only');
    if (offset < 0 || offset + src.length > this.data.length) throw new BlockRangeError('outside');
    this.data.set(src, offset);
  }
  flush(): void {
    this.flushes++;
  }
  discard(): void {}
  close(): void {}
  /** Fills the image with a pattern that differs per sector and per byte. */
  pattern(): this {
    for (let i = 0; i < this.data.length; i++) this.data[i] = (i * 7 + (i >>> 9) * 13) & 0xff;
    return this;
  }
}

/** Reads `words` 16-bit words from the data port into bytes. */
export function readWords(b: TestBoard, port: number, words: number): Uint8Array {
  const out = new Uint8Array(words * 2);
  for (let i = 0; i < words; i++) {
    const w = b.inw(port);
    out[2 * i] = w & 0xff;
    out[2 * i + 1] = w >>> 8;
  }
  return out;
}

/** An ATA string from IDENTIFY words [first, first + count). */
export function ataString(data: Uint8Array, first: number, count: number): string {
  let s = '';
  for (let i = first; i < first + count; i++) s += String.fromCharCode(data[2 * i + 1], data[2 * i]);
  return s;
}

export function word(data: Uint8Array, i: number): number {
  return data[2 * i] | (data[2 * i + 1] << 8);
}
