/**
 * The board's virtio devices with MachineOptions.dom0Thread: dom0's worker
 * holds the disk's image and virtio-rng's entropy source and serves both
 * devices' virtqueues over the board's shared RAM and page map; a driver on
 * the board's PCI bus (slot 3 the disk, slot 17 the entropy device) gets the
 * image's bytes and the deterministic clock's entropy stream through it. A
 * page the map stops calling RAM is refused by dom0's grant check at the
 * next request; pages dom0 wrote drop the processor's decoded code there;
 * on the realtime clock a kick returns at once and the completion arrives
 * at the board's poll. Closing the board ends dom0.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryBus, PAGE_IO } from '../../core/memory/bus.ts';
import { PhysicalMemory } from '../../core/memory/physicalMemory.ts';
import { Pci } from '../../core/devices/pci.ts';
import { busRamMap } from '../../core/dom0/grantCheck.ts';
import { deterministicEntropy } from '../../core/dom0/entropySource.ts';
import { VirtioBoard } from '../../core/machine/virtioBoard.ts';
import { F_VERSION_1 } from '../../core/devices/virtio/virtioConstants.ts';
import { VirtioPciTestDriver, RAM_BYTES } from '../devices/virtio/virtioTestDriver.ts';
import { usedFromDom0 } from './dom0Completions.ts';

const dir = mkdtempSync(join(tmpdir(), 'popek-dom0-board-'));
const image = Uint8Array.from({ length: 64 * 1024 }, (_, i) => (i * 11 + (i >> 9)) & 0xff);

/** What firmware does for a function: BAR0 at `bar`, memory space and bus master on. */
function driver(bus: MemoryBus, slot: number, bar: number): VirtioPciTestDriver {
  const d = new VirtioPciTestDriver(bus, slot);
  d.configWrite(0x10, 4, bar);
  d.configWrite(0x04, 2, 0x0006);
  d.locate();
  return d;
}

describe('the board\'s disk and entropy device with dom0 in its worker thread', () => {
  const path = join(dir, 'vda.raw');
  writeFileSync(path, image);
  const bus = new MemoryBus(new PhysicalMemory(RAM_BYTES));
  const pci = new Pci(bus, { setIsaIrq: () => {} });
  const board = new VirtioBoard(bus, pci, { memoryMiB: 16, clock: 'deterministic', dom0Thread: true, virtioRng: true, disks: [{ path }] }, busRamMap(bus), () => {});

  afterAll(() => {
    board.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads the image held by dom0 into guest memory', () => {
    const blk = driver(bus, 3, 0xc000_0000);
    const [q] = blk.initialize(F_VERSION_1);
    bus.write32(0x20000, 0); // IN
    bus.write32(0x20004, 0);
    bus.write32(0x20008, 8); // sector 8
    bus.write32(0x2000c, 0);
    q.post(q.writeChain([{ address: 0x20000, length: 16 }, { address: 0x21000, length: 1024, write: true }, { address: 0x30000, length: 1, write: true }]));
    blk.kick(0);
    expect(q.takeUsed()).toEqual([[0, 1025]]);
    expect(bus.read8(0x30000)).toBe(0);
    expect(Buffer.compare(bus.u8.subarray(0x21000, 0x21400), image.subarray(4096, 5120))).toBe(0);
  });

  it('fills an entropy request from dom0\'s source: the deterministic stream', () => {
    const rng = driver(bus, 17, 0xc001_0000);
    const [q] = rng.initialize(F_VERSION_1, 0x40_0000);
    q.post(q.writeChain([{ address: 0x50000, length: 48, write: true }]));
    rng.kick(0);
    expect(q.takeUsed()).toEqual([[0, 48]]);
    const expected = new Uint8Array(48);
    deterministicEntropy()(expected);
    expect([...bus.u8.subarray(0x50000, 0x50030)]).toEqual([...expected]);
    // Each device's port carried three events to dom0: the driver's reset (status 0), DRIVER_OK's activation, one kick.
    expect(board.dom0!.devices.map((d) => board.dom0!.channels.sent[d.port])).toEqual([3, 3]);
    expect(board.stats().map((s) => [s.name, s.counters.requests, s.counters.bytesRead])).toEqual([
      ['virtio-blk vda', 1, 1024],
      ['virtio-rng', 1, 48],
    ]);
  });
});

describe('the board\'s disk served by dom0 on the realtime clock', () => {
  const path = join(dir, 'vdb.raw');
  writeFileSync(path, image);
  const bus = new MemoryBus(new PhysicalMemory(RAM_BYTES));
  const irqs: boolean[] = [];
  const pci = new Pci(bus, { setIsaIrq: (_irq, level) => irqs.push(level) });
  const board = new VirtioBoard(bus, pci, { memoryMiB: 16, clock: 'realtime', dom0Thread: true, disks: [{ path }] }, busRamMap(bus), () => {});
  const blk = driver(bus, 3, 0xc000_0000);
  blk.configWrite(0x63, 1, 11, 1); // slot 3 INTA -> PIRQD -> IRQ 11, as firmware routes it
  const [q] = blk.initialize(F_VERSION_1);

  afterAll(() => board.close());

  /** Posts a read of `bytes` at sector 8 into `data`, kicks, and waits (on dom0's done port, not on time) for its completion. */
  function read(data: number, bytes: number): [number, number][] {
    bus.write32(0x20000, 0);
    bus.write32(0x20004, 0);
    bus.write32(0x20008, 8);
    bus.write32(0x2000c, 0);
    bus.write8(0x30000, 0xff);
    q.post(q.writeChain([{ address: 0x20000, length: 16 }, { address: data, length: bytes, write: true }, { address: 0x30000, length: 1, write: true }]));
    blk.kick(0);
    // The kick returned without waiting for dom0; its completion is taken at the board's poll (the run loop's interrupt-check point).
    return usedFromDom0(board, q);
  }

  it('completes a read asynchronously: used buffer, status and INTx raised in the machine\'s thread', () => {
    expect(read(0x21000, 512)).toEqual([[0, 513]]);
    expect(bus.read8(0x30000)).toBe(0);
    expect(Buffer.compare(bus.u8.subarray(0x21000, 0x21200), image.subarray(4096, 4608))).toBe(0);
    expect(irqs.at(-1)).toBe(true);
    expect(blk.readIsr()).toBe(1);
  });

  it('drops the processor\'s decoded code from the pages dom0 wrote, before the guest sees the completion', () => {
    const written: number[] = [];
    bus.onCodeWrite = (pfn: number) => written.push(pfn);
    bus.codePages[0x40] = 1; // code was decoded from guest page 0x40
    bus.codePages[0x42] = 1; // and from 0x42, which the read does not touch
    expect(read(0x40000, 1024)).toEqual([[3, 1025]]);
    expect(written).toEqual([0x40]);
  });

  it('refuses a buffer in a page the shared map stopped calling RAM, at the next request, and serves it again once it is RAM', () => {
    const pfn = 0x50;
    const entry = bus.pageMap[pfn];
    bus.pageMap[pfn] = PAGE_IO; // as a page the balloon gave back: not RAM any more
    expect(read(pfn * 4096, 512)).toEqual([[6, 1]]);
    expect(bus.read8(0x30000)).toBe(1); // VIRTIO_BLK_S_IOERR
    bus.pageMap[pfn] = entry;
    expect(read(pfn * 4096, 512)).toEqual([[9, 513]]);
    expect(bus.read8(0x30000)).toBe(0);
    expect(board.stats()[0].counters.errors).toBe(1);
  });
});
