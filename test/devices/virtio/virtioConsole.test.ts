/**
 * virtio-console through the PCI transport, driven the way Linux's
 * virtio_console does: with MULTIPORT, DEVICE_READY -> PORT_ADD per port,
 * PORT_READY -> CONSOLE_PORT + PORT_OPEN, then bytes both ways on each
 * port's own queues; without it, port 0 on queues 0 and 1 only. Every case
 * runs with the device in the machine's thread and with its queues served by
 * dom0's worker thread (the host's bytes relayed to and from dom0:
 * core/dom0/worker/consoleRelay.ts); the ports' state inside the device is
 * looked at only where it is in this thread.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { VirtioConsole } from '../../../core/devices/virtio/virtioConsole.ts';
import { busRamMap } from '../../../core/dom0/grantCheck.ts';
import { Dom0 } from '../../../core/dom0/worker/dom0.ts';
import { ConsoleRelay, newConsoleRings } from '../../../core/dom0/worker/consoleRelay.ts';
import { RemoteVirtioDevice } from '../../../core/dom0/worker/remoteDevice.ts';
import {
  CONSOLE_CONSOLE_PORT,
  CONSOLE_DEVICE_ADD,
  CONSOLE_DEVICE_READY,
  CONSOLE_PORT_OPEN,
  CONSOLE_PORT_READY,
  CONSOLE_RESIZE,
  VIRTIO_CONSOLE_F_MULTIPORT,
} from '../../../core/devices/virtio/virtioConsoleControl.ts';
import { F_VERSION_1 } from '../../../core/devices/virtio/virtioConstants.ts';
import { RAM_BYTES, VirtioTestBoard } from './virtioTestDriver.ts';
import type { QueueDriver } from './queueDriver.ts';

const CONTROL_BUFFERS = 0x40_0000;
const SEND = 0x50_0000;
const DATA = 0x60_0000;

/** A console on the test board: the host's side of it, and the device's own state where the device is in this thread. */
interface ConsoleUnderTest {
  board: VirtioTestBoard;
  /** Bytes the host typed into port `port`. */
  hostInput(bytes: Uint8Array, port: number): void;
  /** The device itself, when it serves its queues in this thread. */
  local: VirtioConsole | null;
}

const placements = [
  {
    name: 'in the machine\'s thread',
    make(ports: number, onOutput: (port: number, bytes: Uint8Array) => void): ConsoleUnderTest {
      const device = new VirtioConsole(ports, onOutput);
      return { board: new VirtioTestBoard(device), hostInput: (bytes, port) => device.hostInput(bytes, port), local: device };
    },
  },
  {
    name: 'served by dom0\'s worker thread',
    make(ports: number, onOutput: (port: number, bytes: Uint8Array) => void): ConsoleUnderTest {
      const rings = newConsoleRings();
      const relay = new ConsoleRelay(rings, onOutput);
      let remote!: RemoteVirtioDevice;
      const board = new VirtioTestBoard((bus) => {
        const ram = busRamMap(bus);
        const dom0 = Dom0.start([], { ram: ram.shared!, devices: [{ kind: 'console', ports, input: rings.input.buffer, output: rings.output.buffer }] });
        started.push(dom0);
        remote = new RemoteVirtioDevice(new VirtioConsole(ports, () => {}), dom0, dom0.devices[0], ram, true, relay);
        return remote;
      });
      return {
        board,
        hostInput: (bytes, port) => {
          relay.input(bytes, port);
          remote.signal(() => relay.inputTaken);
        },
        local: null,
      };
    },
  },
];
/** dom0s started for the dom0 placement's boards, stopped after each test. */
const started: Dom0[] = [];

describe.each(placements)('virtio-console, $name', (placement) => {
  let device: ConsoleUnderTest;
  let board: VirtioTestBoard;
  let output: [number, string][];

  const make = (ports: number) => {
    output = [];
    device = placement.make(ports, (port, bytes) => output.push([port, new TextDecoder().decode(bytes)]));
    board = device.board;
    board.assignResources();
    board.locate();
  };
  /** The device's own view of its ports: asserted where it is in this thread. */
  const expectState = (what: 'portReady' | 'guestOpen', ports: number[], expected: boolean[]) => {
    if (device.local) expect(ports.map((p) => device.local![what](p))).toEqual(expected);
  };

  afterEach(async () => {
    await Promise.all(started.splice(0).map((d) => d.stop()));
  });

  describe('with MULTIPORT and three ports', () => {
    let queues: QueueDriver[];
    let sendAt = SEND;

    /** Posts `count` 64-byte control receive buffers, as the driver keeps the control receiveq filled. */
    const postControlBuffers = (count: number) => {
      const q = queues[2];
      for (let i = 0; i < count; i++) q.post(q.writeChain([{ address: CONTROL_BUFFERS + 64 * ((q.availIdx) % 64), length: 64, write: true }]));
      board.kick(2);
    };
    /** The control messages the device completed since the last call: [id, event, value]. */
    const takeControl = () =>
      queues[2].takeUsed().map(([head, length]) => {
        expect(length).toBe(8);
        const at = board.bus.read32(queues[2].desc + 16 * head);
        return [board.bus.read32(at), board.bus.read16(at + 4), board.bus.read16(at + 6)];
      });
    /** Sends one control message on the control transmitq. */
    const sendControl = (id: number, event: number, value: number) => {
      board.bus.write32(sendAt, id);
      board.bus.write16(sendAt + 4, event);
      board.bus.write16(sendAt + 6, value);
      queues[3].post(queues[3].writeChain([{ address: sendAt, length: 8 }]));
      sendAt += 8;
      board.kick(3);
      expect(queues[3].takeUsed().length).toBe(1);
    };

    beforeEach(() => {
      make(3);
      sendAt = SEND;
      queues = board.initialize(F_VERSION_1 | VIRTIO_CONSOLE_F_MULTIPORT);
    });

    it('offers MULTIPORT, max_nr_ports = 3 and eight queues', () => {
      expect(board.deviceFeatures() & VIRTIO_CONSOLE_F_MULTIPORT).toBe(VIRTIO_CONSOLE_F_MULTIPORT);
      expect(board.bus.read32(board.deviceCfg + 4)).toBe(3);
      expect(queues.length).toBe(8);
    });

    it('adds every port after DEVICE_READY, and makes a ready port a console and opens its host end', () => {
      postControlBuffers(8);
      expect(takeControl()).toEqual([]);
      sendControl(0, CONSOLE_DEVICE_READY, 1);
      expect(takeControl()).toEqual([
        [0, CONSOLE_DEVICE_ADD, 0],
        [1, CONSOLE_DEVICE_ADD, 0],
        [2, CONSOLE_DEVICE_ADD, 0],
      ]);
      sendControl(1, CONSOLE_PORT_READY, 1);
      expect(takeControl()).toEqual([
        [1, CONSOLE_CONSOLE_PORT, 1],
        [1, CONSOLE_PORT_OPEN, 1],
      ]);
      expectState('portReady', [0, 1, 2], [false, true, false]);
      sendControl(1, CONSOLE_PORT_OPEN, 1);
      expectState('guestOpen', [1], [true]);
      sendControl(1, CONSOLE_PORT_OPEN, 0);
      expectState('guestOpen', [1], [false]);
      expect(board.fn.counters.errors).toBe(0);
    });

    it('keeps control messages until the driver posts buffers for them', () => {
      sendControl(0, CONSOLE_DEVICE_READY, 1);
      postControlBuffers(2);
      expect(takeControl()).toEqual([
        [0, CONSOLE_DEVICE_ADD, 0],
        [1, CONSOLE_DEVICE_ADD, 0],
      ]);
      postControlBuffers(1);
      expect(takeControl()).toEqual([[2, CONSOLE_DEVICE_ADD, 0]]);
    });

    it('sends nothing after a failed DEVICE_READY or PORT_READY', () => {
      postControlBuffers(4);
      sendControl(0, CONSOLE_DEVICE_READY, 0);
      sendControl(2, CONSOLE_PORT_READY, 0);
      expect(takeControl()).toEqual([]);
      expectState('portReady', [2], [false]);
    });

    it('counts messages for a port it does not have, events a driver does not send and short messages', () => {
      postControlBuffers(4);
      sendControl(3, CONSOLE_PORT_READY, 1);
      sendControl(0, CONSOLE_RESIZE, 0);
      queues[3].post(queues[3].writeChain([{ address: SEND + 0x100, length: 6 }]));
      board.kick(3);
      queues[3].post(queues[3].writeChain([{ address: RAM_BYTES - 4, length: 8 }]));
      board.kick(3);
      expect(queues[3].takeUsed().map(([, length]) => length)).toEqual([0, 0]);
      expect(takeControl()).toEqual([]);
      expect(board.fn.counters.errors).toBe(4);
      expect(board.status).toBe(15);
    });

    it('loses a control message whose buffer is too small for it, and counts it', () => {
      queues[2].post(queues[2].writeChain([{ address: CONTROL_BUFFERS, length: 4, write: true }]));
      board.kick(2);
      sendControl(0, CONSOLE_DEVICE_READY, 1);
      expect(queues[2].takeUsed()).toEqual([[0, 0]]);
      expect(board.fn.counters.errors).toBe(1);
      postControlBuffers(2);
      expect(takeControl()).toEqual([
        [1, CONSOLE_DEVICE_ADD, 0],
        [2, CONSOLE_DEVICE_ADD, 0],
      ]);
    });

    it('carries each port on its own queues: port 0 on 0/1, port n on 2(n+1) and 2(n+1)+1', () => {
      const text = new TextEncoder();
      board.bus.u8.set(text.encode('from port 0'), DATA);
      board.bus.u8.set(text.encode('from port 2'), DATA + 0x100);
      queues[1].post(queues[1].writeChain([{ address: DATA, length: 11 }]));
      board.kick(1);
      queues[7].post(queues[7].writeChain([{ address: DATA + 0x100, length: 11 }]));
      board.kick(7);
      expect(output).toEqual([
        [0, 'from port 0'],
        [2, 'from port 2'],
      ]);
      device.hostInput(text.encode('to one'), 1);
      device.hostInput(text.encode('to zero'), 0);
      queues[4].post(queues[4].writeChain([{ address: DATA + 0x200, length: 64, write: true }]));
      board.kick(4);
      queues[0].post(queues[0].writeChain([{ address: DATA + 0x300, length: 64, write: true }]));
      board.kick(0);
      expect(queues[4].takeUsed()).toEqual([[0, 6]]);
      expect(queues[0].takeUsed()).toEqual([[0, 7]]);
      expect(new TextDecoder().decode(board.bus.u8.slice(DATA + 0x200, DATA + 0x206))).toBe('to one');
      expect(new TextDecoder().decode(board.bus.u8.slice(DATA + 0x300, DATA + 0x307))).toBe('to zero');
      expect(queues[6].takeUsed()).toEqual([]);
    });

    it('forgets the ports\' state on reset, and announces them again', () => {
      postControlBuffers(8);
      sendControl(0, CONSOLE_DEVICE_READY, 1);
      sendControl(0, CONSOLE_PORT_READY, 1);
      expectState('portReady', [0], [true]);
      queues = board.initialize(F_VERSION_1 | VIRTIO_CONSOLE_F_MULTIPORT);
      sendAt = SEND;
      expectState('portReady', [0], [false]);
      postControlBuffers(4);
      expect(takeControl()).toEqual([]);
      sendControl(0, CONSOLE_DEVICE_READY, 1);
      expect(takeControl().map(([id, event]) => [id, event])).toEqual([
        [0, CONSOLE_DEVICE_ADD],
        [1, CONSOLE_DEVICE_ADD],
        [2, CONSOLE_DEVICE_ADD],
      ]);
    });
  });

  describe('without MULTIPORT', () => {
    it('serves port 0 on queues 0 and 1 and ignores the control queues and the other ports', () => {
      make(2);
      const queues = board.initialize(F_VERSION_1);
      queues[3].post(queues[3].writeChain([{ address: SEND, length: 8 }]));
      board.kick(3);
      expect(queues[3].takeUsed()).toEqual([]);
      device.hostInput(new TextEncoder().encode('one'), 1);
      queues[4].post(queues[4].writeChain([{ address: DATA, length: 64, write: true }]));
      board.kick(4);
      expect(queues[4].takeUsed()).toEqual([]);
      device.hostInput(new TextEncoder().encode('zero'), 0);
      queues[0].post(queues[0].writeChain([{ address: DATA, length: 64, write: true }]));
      board.kick(0);
      expect(queues[0].takeUsed()).toEqual([[0, 4]]);
    });
  });

  it('refuses a port count Linux cannot use as consoles', () => {
    expect(() => new VirtioConsole(0, () => {})).toThrow('virtio-console: 1 to 16 ports, got 0');
    expect(() => new VirtioConsole(17, () => {})).toThrow('virtio-console: 1 to 16 ports, got 17');
  });
});
