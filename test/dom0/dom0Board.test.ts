/**
 * The board's virtio devices with MachineOptions.dom0Thread: dom0's worker
 * holds the disk's image and virtio-rng's entropy source, and a driver on
 * the board's PCI bus (slot 3 the disk, slot 17 the entropy device) gets the
 * image's bytes and the deterministic clock's entropy stream through it.
 * Closing the board ends dom0.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryBus } from '../../core/memory/bus.ts';
import { PhysicalMemory } from '../../core/memory/physicalMemory.ts';
import { Pci } from '../../core/devices/pci.ts';
import { busRamMap } from '../../core/dom0/grantCheck.ts';
import { deterministicEntropy } from '../../core/dom0/entropySource.ts';
import { VirtioBoard } from '../../core/machine/virtioBoard.ts';
import { F_VERSION_1 } from '../../core/devices/virtio/virtioConstants.ts';
import { VirtioPciTestDriver, RAM_BYTES } from '../devices/virtio/virtioTestDriver.ts';

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
    // dom0 answered both: one block read, one entropy request (the deterministic stream would be the same bytes in this thread).
    expect(board.dom0!.backends[0].requests).toBe(1);
    expect(board.dom0!.entropyRequests).toBe(1);
    expect(board.stats().map((s) => [s.name, s.counters.requests, s.counters.bytesRead])).toEqual([
      ['virtio-blk vda', 1, 1024],
      ['virtio-rng', 1, 48],
    ]);
  });
});
