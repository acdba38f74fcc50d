/** virtio-net through the PCI transport: MAC in the config, transmit to the port, receive into posted buffers, drops counted. */
import { beforeEach, describe, expect, it } from 'vitest';
import { parseMac, VirtioNet, VIRTIO_NET_F_MAC } from '../../../core/devices/virtio/virtioNet.ts';
import { F_VERSION_1 } from '../../../core/devices/virtio/virtioConstants.ts';
import { RAM_BYTES, VirtioTestBoard } from './virtioTestDriver.ts';
import type { QueueDriver } from './queueDriver.ts';

describe('virtio-net', () => {
  let net: VirtioNet;
  let board: VirtioTestBoard;
  let rx: QueueDriver;
  let tx: QueueDriver;
  let sent: Uint8Array[];

  beforeEach(() => {
    sent = [];
    net = new VirtioNet(parseMac('52:54:00:12:34:56'));
    net.port = { send: (f) => sent.push(f) };
    board = new VirtioTestBoard(net);
    board.assignResources();
    board.locate();
    [rx, tx] = board.initialize(F_VERSION_1 | VIRTIO_NET_F_MAC);
  });

  it('offers its MAC address in the configuration space', () => {
    expect(board.deviceFeatures() & VIRTIO_NET_F_MAC).toBe(VIRTIO_NET_F_MAC);
    expect([0, 1, 2, 3, 4, 5].map((i) => board.bus.read8(board.deviceCfg + i))).toEqual([0x52, 0x54, 0, 0x12, 0x34, 0x56]);
    expect(board.configRead(0x0a, 2)).toBe(0x0200); // class: Ethernet controller
  });

  it('transmits the frame behind the 12-byte header', () => {
    board.bus.u8.fill(0, 0x20000, 0x2000c);
    for (let i = 0; i < 60; i++) board.bus.write8(0x21000 + i, i);
    tx.post(tx.writeChain([{ address: 0x20000, length: 12 }, { address: 0x21000, length: 60 }]));
    board.kick(1);
    expect(sent.length).toBe(1);
    expect([...sent[0]]).toEqual(Array.from({ length: 60 }, (_, i) => i));
    expect(tx.takeUsed()).toEqual([[0, 0]]);
  });

  it('receives a frame into the next posted buffer with num_buffers = 1', () => {
    rx.post(rx.writeChain([{ address: 0x30000, length: 1526, write: true }]));
    board.kick(0);
    net.receive(new Uint8Array(60).fill(0xab));
    expect(rx.takeUsed()).toEqual([[0, 72]]);
    expect(board.bus.read16(0x30000 + 10)).toBe(1);
    expect(board.bus.read8(0x30000 + 12)).toBe(0xab);
    expect(board.irq).toBe(true);
  });

  it('drops frames when no receive buffer is posted, and returns an unmappable one empty', () => {
    net.receive(new Uint8Array(60));
    expect(net.rxDropped).toBe(1);
    rx.post(rx.writeChain([{ address: RAM_BYTES - 8, length: 1526, write: true }]));
    net.receive(new Uint8Array(60));
    expect(rx.takeUsed()).toEqual([[0, 0]]);
    expect(board.fn.counters.errors).toBe(1);
    expect(board.status).toBe(15);
  });

  it('refuses malformed MAC addresses', () => {
    expect(() => parseMac('52:54:00:12:34')).toThrow("bad MAC address '52:54:00:12:34'");
    expect(() => parseMac('01:00:5e:00:00:01')).toThrow('multicast');
  });
});
