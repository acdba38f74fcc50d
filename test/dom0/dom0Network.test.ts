/**
 * Two machines' boards on one internal network exchange Ethernet frames
 * through their virtio-net adapters (PCI slot 20), with the NICs and the
 * switch in the machines' thread (MachineOptions.dom0Thread false) and, by
 * default, the NICs' virtqueues served by each machine's dom0 thread
 * (core/dom0/worker/netBackend.ts) and the switch in dom0's network thread
 * (core/dom0/worker/netService.ts). The same driver steps and the same frames
 * in both placements; with dom0's threads a frame reaches the other NIC's
 * receive buffers when its dom0 has written them, and the guest sees them at
 * that machine's run-loop check (VirtioBoard.poll, which the chipset calls
 * at each device check), so the test checks until the frame is there.
 * A board's uplink (the frames that leave the process, MachineHooks.onNetworkFrame)
 * and networkInput (the frames that come in) work in both placements.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryBus } from '../../core/memory/bus.ts';
import { PhysicalMemory } from '../../core/memory/physicalMemory.ts';
import { Pci } from '../../core/devices/pci.ts';
import { busRamMap } from '../../core/dom0/grantCheck.ts';
import { VirtioBoard } from '../../core/machine/virtioBoard.ts';
import { F_VERSION_1 } from '../../core/devices/virtio/virtioConstants.ts';
import { VIRTIO_NET_F_MAC } from '../../core/devices/virtio/virtioNet.ts';
import { VirtioPciTestDriver, RAM_BYTES } from '../devices/virtio/virtioTestDriver.ts';
import type { QueueDriver } from '../devices/virtio/queueDriver.ts';

const NIC_SLOT = 20;
const MAC_A = [0x52, 0x54, 0, 0, 0, 0x0a];
const MAC_B = [0x52, 0x54, 0, 0, 0, 0x0b];
const MAC_C = [0x52, 0x54, 0, 0, 0, 0x0c];
const BROADCAST = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
const RX_BUFFER = 0x30000;
const TX_BUFFER = 0x40000;

function frame(dst: number[], src: number[], tag: number, length = 60): Uint8Array {
  const f = new Uint8Array(length);
  f.set(dst, 0);
  f.set(src, 6);
  f[12] = 0x88; // a local experimental EtherType (IEEE 802 88B5)
  f[13] = 0xb5;
  for (let i = 14; i < length; i++) f[i] = (tag + i) & 0xff;
  return f;
}

/** One machine: its bus, board and the guest driver's receive and transmit queues. */
class Machine {
  readonly bus = new MemoryBus(new PhysicalMemory(RAM_BYTES));
  readonly board: VirtioBoard;
  readonly uplinked: Uint8Array[] = [];
  private readonly rx: QueueDriver;
  private readonly tx: QueueDriver;

  /**
   * @param rxAddress where the receive buffers are (0x800 apart)
   * @param rxBuffers how many the driver posts at its start (a real driver fills the queue: eight here)
   */
  constructor(network: string, mac: number[], dom0Thread: boolean | undefined, withUplink = false, rxAddress = RX_BUFFER, rxBuffers = 8) {
    const pci = new Pci(this.bus, { setIsaIrq: () => {} });
    const macText = mac.map((b) => b.toString(16).padStart(2, '0')).join(':');
    this.board = new VirtioBoard(this.bus, pci, { memoryMiB: 16, clock: 'deterministic', dom0Thread, nics: [{ network, mac: macText }] }, busRamMap(this.bus), () => {},
      withUplink ? (net, f) => this.uplinked.push(f.slice()) : undefined);
    const d = new VirtioPciTestDriver(this.bus, NIC_SLOT);
    d.configWrite(0x10, 4, 0xc000_0000);
    d.configWrite(0x04, 2, 0x0006);
    d.locate();
    [this.rx, this.tx] = d.initialize(F_VERSION_1 | VIRTIO_NET_F_MAC);
    // Receive buffers, as a driver keeps its receive queue filled.
    for (let i = 0; i < rxBuffers; i++) this.rx.post(this.rx.writeChain([{ address: rxAddress + i * 0x800, length: 1526, write: true }]));
    d.kick(0);
    this.driver = d;
  }
  private readonly driver: VirtioPciTestDriver;
  private received = 0;

  /** The guest transmits `f` behind a zeroed 12-byte header. */
  send(f: Uint8Array): void {
    this.bus.u8.fill(0, TX_BUFFER, TX_BUFFER + 12);
    this.bus.u8.set(f, TX_BUFFER + 12);
    this.tx.post(this.tx.writeChain([{ address: TX_BUFFER, length: 12 + f.length }]));
    this.driver.kick(1);
    this.tx.takeUsed();
  }

  /** The guest posts one receive buffer and kicks the receive queue. */
  postReceive(address: number, length: number): void {
    this.rx.post(this.rx.writeChain([{ address, length, write: true }]));
    this.driver.kick(0);
  }

  /** The frames the NIC dropped, as the machine's statistics give them (MachineStats.virtio). */
  get dropped(): number | undefined {
    return this.board.stats()[0].dropped;
  }

  /** The guest transmits from a buffer of its choosing (`length` bytes with the header); returns the transmit queue's used elements. */
  sendFrom(address: number, length: number): [number, number][] {
    this.tx.post(this.tx.writeChain([{ address, length }]));
    this.driver.kick(1);
    return this.tx.takeUsed();
  }

  /** The receive queue's used elements (id, length) as the guest sees them now, without a device check. */
  usedNow(): [number, number][] {
    return this.rx.takeUsed();
  }

  /** The run loop's device check, then the receive queue's used elements (id, length). */
  checkUsed(): [number, number][] {
    this.board.poll();
    return this.rx.takeUsed();
  }

  /** The run loop's device check, then the frames the device has put in the receive buffers since the last call. */
  check(): Uint8Array[] {
    this.board.poll();
    return this.rx.takeUsed().map(([id, len]) => {
      const at = RX_BUFFER + (this.received++ % 8) * 0x800;
      expect(id).toBe((this.received - 1) % 8);
      return this.bus.u8.slice(at + 12, at + len);
    });
  }
}

/** Checks the machines until `done` says what arrived is enough (bounded: a lost frame fails, never hangs). */
async function until(machines: Machine[], got: Map<Machine, Uint8Array[]>, done: () => boolean): Promise<void> {
  const deadline = performance.now() + 20_000;
  for (;;) {
    for (const m of machines) got.get(m)!.push(...m.check());
    if (done()) return;
    if (performance.now() > deadline) throw new Error('a frame did not arrive within 20 s');
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

describe.each([
  ['in the machines\' thread', false],
  ['in dom0\'s threads (the default)', undefined],
])('two machines on one internal network, the switch %s', (_, dom0Thread) => {
  const network = `dom0-net-${dom0Thread === false ? 'local' : 'thread'}`;
  const a = new Machine(network, MAC_A, dom0Thread, true);
  const b = new Machine(network, MAC_B, dom0Thread);
  const c = new Machine(`${network}-other`, MAC_C, dom0Thread);
  const got = new Map([[a, [] as Uint8Array[]], [b, []], [c, []]]);

  afterAll(() => {
    for (const m of [a, b, c]) m.board.close();
  });

  it('holds the NICs and the switch where MachineOptions.dom0Thread says', () => {
    const inDom0 = dom0Thread !== false;
    expect(a.board.net !== null).toBe(inDom0);
    // dom0 serves the NIC's virtqueues (its only device here).
    expect(a.board.dom0?.devices.length ?? 0).toBe(inDom0 ? 1 : 0);
  });

  it('floods a broadcast to the other NIC and the uplink, learns the sender, answers unicast', async () => {
    const hello = frame(BROADCAST, MAC_A, 1);
    a.send(hello);
    await until([a, b, c], got, () => got.get(b)!.length === 1);
    expect([...got.get(b)!.shift()!]).toEqual([...hello]);
    expect(a.uplinked.map((f) => [...f])).toEqual([[...hello]]);
    const reply = frame(MAC_A, MAC_B, 2, 98);
    b.send(reply);
    await until([a, b, c], got, () => got.get(a)!.length === 1);
    expect([...got.get(a)!.shift()!]).toEqual([...reply]);
    // Learned unicast: the reply went to A's NIC only, not to A's uplink.
    expect(a.uplinked.length).toBe(1);
  });

  it('brings a frame from another process (networkInput) to the NIC it is for, and sends unicast to it through the uplink', async () => {
    const remote = [0x52, 0x54, 0, 0, 1, 0x01];
    const incoming = frame(MAC_B, remote, 3, 1514);
    a.board.networkInput(network, incoming);
    await until([a, b, c], got, () => got.get(b)!.length === 1);
    expect([...got.get(b)!.shift()!]).toEqual([...incoming]);
    const back = frame(remote, MAC_B, 4);
    b.send(back);
    await until([a, b, c], got, () => a.uplinked.length === 2);
    expect([...a.uplinked[1]]).toEqual([...back]);
  });

  it('keeps the other network apart, drops malformed frames from the host, and counts what each adapter moved', async () => {
    // A runt and an oversized frame from another process: dropped (the switch's rule, or the ring's), never thrown.
    a.board.networkInput(network, new Uint8Array(13).fill(0xff));
    a.board.networkInput(network, new Uint8Array(1519).fill(0xff));
    // A last broadcast on the network, awaited on B: everything sent before it has been switched by then.
    a.send(frame(BROADCAST, MAC_A, 5));
    await until([a, b, c], got, () => got.get(b)!.length === 1);
    expect(got.get(c)!.length + got.get(a)!.length).toBe(0);
    const counters = (m: Machine) => m.board.stats().map((s) => [s.name, s.counters.requests, s.counters.bytesWritten, s.counters.bytesRead, s.counters.errors]);
    expect(counters(a)).toEqual([['virtio-net eth0', 2, 120, 98, 0]]);
    expect(counters(b)).toEqual([['virtio-net eth0', 2, 158, 60 + 1514 + 60, 0]]);
    expect(counters(c)).toEqual([['virtio-net eth0', 0, 0, 0, 0]]);
  });
  it('counts the frames a NIC drops with no receive buffer posted, or too small a one, exactly', async () => {
    const MAC_D = [0x52, 0x54, 0, 0, 0, 0x1d];
    const MAC_E = [0x52, 0x54, 0, 0, 0, 0x1e];
    // D's driver is up (DRIVER_OK) but has posted no receive buffer.
    const d = new Machine(`${network}-drops`, MAC_D, dom0Thread, false, RX_BUFFER, 0);
    const e = new Machine(`${network}-drops`, MAC_E, dom0Thread);
    try {
      expect(d.dropped).toBe(0);
      for (let i = 0; i < 5; i++) e.send(frame(BROADCAST, MAC_E, 10 + i));
      const deadline = performance.now() + 20_000;
      while (d.dropped! < 5) {
        d.board.poll();
        if (performance.now() > deadline) throw new Error(`D counted ${d.dropped} drops in 20 s, not 5`);
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      // A 64-byte buffer: a 98-byte frame and its 12-byte header do not fit; the chain comes back empty.
      d.postReceive(RX_BUFFER, 64);
      e.send(frame(BROADCAST, MAC_E, 20, 98));
      // Then a full-size one: the next frame lands there, so everything before it has been dealt with.
      d.postReceive(RX_BUFFER + 0x800, 1526);
      const last = frame(BROADCAST, MAC_E, 21);
      e.send(last);
      const used: [number, number][] = [];
      while (used.length < 2) {
        used.push(...d.checkUsed());
        if (performance.now() > deadline) throw new Error('the last frame did not reach D within 20 s');
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      expect(used).toEqual([[0, 0], [1, 12 + 60]]);
      expect([...d.bus.u8.slice(RX_BUFFER + 0x800 + 12, RX_BUFFER + 0x800 + 72)]).toEqual([...last]);
      expect(d.dropped).toBe(6);
      // The sender dropped nothing; a frame dropped is not an error.
      expect(e.dropped).toBe(0);
      expect(d.board.stats()[0].counters.errors).toBe(0);
    } finally {
      d.board.close();
      e.board.close();
    }
  });

  it('ends a halted guest\'s idle wait when dom0 has written a frame for its adapter: woken, not timed out', () => {
    const MAC_F = [0x52, 0x54, 0, 0, 0, 0x1f];
    const MAC_G = [0x52, 0x54, 0, 0, 0, 0x20];
    const f = new Machine(`${network}-wake`, MAC_F, dom0Thread);
    const g = new Machine(`${network}-wake`, MAC_G, dom0Thread);
    try {
      f.board.poll();
      expect(f.usedNow()).toEqual([]);
      const hello = frame(BROADCAST, MAC_G, 30);
      g.send(hello);
      const used: [number, number][] = [];
      if (dom0Thread === false) {
        // The switch in this thread delivered it during send: nothing comes from another thread, the driver sleeps as before.
        expect(f.board.awaitWake(5_000)).toBe('nothing-can-wake');
        used.push(...f.checkUsed());
      } else {
        // In dom0's threads the frame is still on its way (G's dom0, the network thread, F's dom0) when send returns.
        // The idle wait (MachineApi.waitIdle) ends when a dom0 of this thread raises a done port: G's for the transmit
        // (or the set-up's receive kick, if its done came late), then F's for the frame. Without dom0's wake word every
        // wait runs to its timeout.
        for (let waits = 0; waits < 3 && used.length === 0; waits++) {
          expect(f.board.awaitWake(5_000)).toBe('woken');
          used.push(...f.checkUsed());
        }
      }
      expect(used).toEqual([[0, 12 + 60]]);
      expect([...f.bus.u8.slice(RX_BUFFER + 12, RX_BUFFER + 72)]).toEqual([...hello]);
    } finally {
      f.board.close();
      g.board.close();
    }
  }, 30_000);

  it('ends a halted guest\'s idle wait when the network thread puts a frame on its uplink', async () => {
    const MAC_U = [0x52, 0x54, 0, 0, 0, 0x21];
    const MAC_V = [0x52, 0x54, 0, 0, 0, 0x22];
    const REMOTE = [0x52, 0x54, 0, 0, 2, 0x01];
    const u = new Machine(`${network}-uplink-wake`, MAC_U, dom0Thread, true);
    const v = new Machine(`${network}-uplink-wake`, MAC_V, dom0Thread);
    try {
      // A frame from another process, for V: the switch learns REMOTE behind U's uplink.
      u.board.networkInput(`${network}-uplink-wake`, frame(MAC_V, REMOTE, 40));
      const got = new Map([[v, [] as Uint8Array[]]]);
      await until([v], got, () => got.get(v)!.length === 1);
      u.board.poll();
      expect(u.uplinked).toEqual([]);
      // V's unicast to REMOTE goes to U's uplink only (not to U's adapter, so U's dom0 does nothing).
      const out = frame(REMOTE, MAC_V, 41);
      v.send(out);
      if (dom0Thread === false) expect(u.board.awaitWake(5_000)).toBe('nothing-can-wake');
      else {
        // V's dom0 raises the wake word for the transmit; the network thread raises it for the uplink's frame.
        for (let waits = 0; waits < 4 && u.uplinked.length === 0; waits++) {
          expect(u.board.awaitWake(5_000)).toBe('woken');
          u.board.poll();
        }
      }
      expect(u.uplinked.map((f) => [...f])).toEqual([[...out]]);
    } finally {
      u.board.close();
      v.board.close();
    }
  }, 30_000);

  it('returns a receive buffer outside guest RAM empty and drops a transmit from one, counting both as errors', async () => {
    // H's receive buffers start 8 bytes before the end of RAM: each frame for it fails the grant check.
    const h = new Machine(`${network}-hostile`, [0x52, 0x54, 0, 0, 0, 0x0d], dom0Thread, false, RAM_BYTES - 8);
    const s = new Machine(`${network}-hostile`, [0x52, 0x54, 0, 0, 0, 0x0e], dom0Thread);
    try {
      s.send(frame(BROADCAST, [0x52, 0x54, 0, 0, 0, 0x0e], 6));
      const used: [number, number][] = [];
      const deadline = performance.now() + 20_000;
      while (used.length === 0) {
        used.push(...h.checkUsed());
        if (performance.now() > deadline) throw new Error('the frame did not reach H within 20 s');
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      expect(used).toEqual([[0, 0]]);
      // A transmit whose frame lies past RAM: completed with nothing sent.
      expect(h.sendFrom(RAM_BYTES - 4, 72)).toEqual([[0, 0]]);
      // Then a good one: the first frame S gets is this one.
      h.send(frame(BROADCAST, [0x52, 0x54, 0, 0, 0, 0x0d], 7));
      const gotS = new Map([[s, [] as Uint8Array[]]]);
      await until([s], gotS, () => gotS.get(s)!.length === 1);
      expect([...gotS.get(s)![0]]).toEqual([...frame(BROADCAST, [0x52, 0x54, 0, 0, 0, 0x0d], 7)]);
      const [stats] = h.board.stats();
      expect([stats.counters.requests, stats.counters.bytesWritten, stats.counters.bytesRead, stats.counters.errors]).toEqual([2, 60, 0, 2]);
    } finally {
      h.board.close();
      s.board.close();
    }
  });
});
