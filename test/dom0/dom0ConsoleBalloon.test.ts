/**
 * The board's virtio-console and virtio-balloon served by dom0's worker
 * thread on the realtime clock (the default placement), with the relays
 * between dom0 and the machine's thread (core/dom0/worker/consoleRelay.ts,
 * balloonRelay.ts): the guest's output reaches the host's sink at the board's
 * poll, whole and in order even when it is more than the relay's ring holds
 * (dom0 waits for the machine's thread to take it); the host's input reaches
 * the guest's receive buffer; the balloon's PFNs, read by dom0, are acted on
 * by the machine's thread (the bare PC holds the page, dom0 zeroed it) before
 * the guest sees the inflate used. Also the machine's half alone: input past
 * what the ring holds is dropped and counted.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryBus } from '../../core/memory/bus.ts';
import { PhysicalMemory } from '../../core/memory/physicalMemory.ts';
import { Pci } from '../../core/devices/pci.ts';
import { busRamMap } from '../../core/dom0/grantCheck.ts';
import { VirtioBoard } from '../../core/machine/virtioBoard.ts';
import { ConsoleRelay, newConsoleRings } from '../../core/dom0/worker/consoleRelay.ts';
import { F_VERSION_1 } from '../../core/devices/virtio/virtioConstants.ts';
import { VIRTIO_BALLOON_F_MUST_TELL_HOST } from '../../core/devices/virtio/virtioBalloon.ts';
import { VirtioPciTestDriver, RAM_BYTES } from '../devices/virtio/virtioTestDriver.ts';
import type { QueueDriver } from '../devices/virtio/queueDriver.ts';
import { usedFromDom0 } from './dom0Completions.ts';

/** What firmware does for a function: BAR0 at `bar`, memory space and bus master on. */
function driver(bus: MemoryBus, slot: number, bar: number): VirtioPciTestDriver {
  const d = new VirtioPciTestDriver(bus, slot);
  d.configWrite(0x10, 4, bar);
  d.configWrite(0x04, 2, 0x0006);
  d.locate();
  return d;
}

describe('the board\'s console and balloon served by dom0 on the realtime clock', () => {
  const bus = new MemoryBus(new PhysicalMemory(RAM_BYTES));
  const pci = new Pci(bus, { setIsaIrq: () => {} });
  const output: [number, Uint8Array][] = [];
  const board = new VirtioBoard(
    bus,
    pci,
    { memoryMiB: 16, clock: 'realtime', virtioConsole: true, virtioConsolePorts: 2, virtioBalloon: true },
    busRamMap(bus),
    (port, bytes) => output.push([port, bytes]),
  );
  const console = driver(bus, 16, 0xc000_0000);
  const consoleQueues = console.initialize(F_VERSION_1, 0x10_0000);
  const balloon = driver(bus, 18, 0xc001_0000);
  const [inflate] = balloon.initialize(F_VERSION_1 | VIRTIO_BALLOON_F_MUST_TELL_HOST, 0x80_0000);

  afterAll(() => board.close());

  /** Waits (on dom0's done port, not on time) until `q` has used buffers, taking completions at the board's poll. */
  const used = (q: QueueDriver) => usedFromDom0(board, q);

  it('is served by dom0: the console and the balloon are its two devices', () => {
    expect(board.dom0).not.toBeNull();
    expect(board.dom0!.devices.length).toBe(2);
    expect(board.stats().map((s) => s.name)).toEqual(['virtio-console hvc0-hvc1', 'virtio-balloon']);
  });

  it('carries 200 KiB the guest transmits, more than the relay holds, whole and in order to the host', () => {
    const data = Uint8Array.from({ length: 200 * 1024 }, (_, i) => (i * 13 + (i >> 10)) & 0xff);
    bus.u8.set(data, 0x20_0000);
    const tx = consoleQueues[1];
    tx.post(tx.writeChain([{ address: 0x20_0000, length: data.length }]));
    console.kick(1);
    expect(used(tx)).toEqual([[0, 0]]);
    board.poll();
    expect(output.every(([port]) => port === 0)).toBe(true);
    expect(Buffer.concat(output.map(([, b]) => b)).equals(data)).toBe(true);
    expect(board.stats()[0].counters.bytesWritten).toBe(data.length);
  });

  it('carries the host\'s input into the guest\'s receive buffer', () => {
    const rx = consoleQueues[0];
    rx.post(rx.writeChain([{ address: 0x30_0000, length: 64, write: true }]));
    console.kick(0);
    board.consoleInput(new TextEncoder().encode('typed'), 0);
    expect(used(rx)).toEqual([[0, 5]]);
    expect(new TextDecoder().decode(bus.u8.slice(0x30_0000, 0x30_0005))).toBe('typed');
  });

  it('has the machine\'s thread hold the pages dom0 read from the inflate queue, zeroed by dom0, before the guest sees them used', () => {
    bus.u8.fill(0x55, 0x40_0000, 0x40_2000);
    bus.write32(0x50_0000, 0x400);
    bus.write32(0x50_0004, 0x401);
    bus.write32(0x50_0008, RAM_BYTES / 4096); // not guest RAM: refused by dom0's grant check
    inflate.post(inflate.writeChain([{ address: 0x50_0000, length: 12 }]));
    balloon.kick(0);
    expect(used(inflate)).toEqual([[0, 0]]);
    expect(board.balloonStats()).toEqual({ targetPages: 0, actualPages: 0, reclaimedPages: 2 });
    expect(bus.u8.subarray(0x40_0000, 0x40_2000).every((b) => b === 0)).toBe(true);
    expect(board.stats()[1].counters.errors).toBe(1);
  });
});

describe('the console served by dom0 on the deterministic clock, after the board closed', () => {
  it('drops the host\'s input instead of waiting for a dom0 that has ended', () => {
    const bus = new MemoryBus(new PhysicalMemory(RAM_BYTES));
    const pci = new Pci(bus, { setIsaIrq: () => {} });
    const board = new VirtioBoard(bus, pci, { memoryMiB: 16, clock: 'deterministic', virtioConsole: true }, busRamMap(bus), () => {});
    expect(board.dom0!.running).toBe(true);
    board.close();
    expect(() => board.consoleInput(new TextEncoder().encode('late'), 0)).not.toThrow();
  });
});

describe('the console relay\'s machine half', () => {
  it('drops and counts the host\'s input the ring has no room for, and says dom0 has not acted on the rest', () => {
    const relay = new ConsoleRelay(newConsoleRings(), () => {});
    expect(relay.inputTaken).toBe(true);
    // 64 KiB ring, 16 KiB records of 16 KiB + 4 bytes: three fit, the fourth and fifth do not.
    relay.input(new Uint8Array(80 * 1024), 1);
    expect(relay.droppedInput).toBe(32 * 1024);
    expect(relay.inputTaken).toBe(false);
    expect(relay.awaiting).toBe(true);
  });
});
