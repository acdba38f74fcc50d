/**
 * A write-only sink on an otherwise unused I/O port whose bytes the driver
 * wants to see (POST codes on 0x190, a debug console on 0xE9, ...). Reads
 * return 0xFF like an undecoded port. Wider writes are split into bytes in
 * ascending port order by the bus, so every byte is reported once.
 */
import type { MemoryBus } from '../memory/bus.ts';

export function attachLogPort(bus: MemoryBus, port: number, onByte: (port: number, byte: number) => void): void {
  bus.addPorts(
    port,
    1,
    {
      portRead: () => 0xff,
      portWrite: (p, _size, value) => onByte(p, value & 0xff),
    },
    `log-port-0x${port.toString(16)}`,
    [1],
  );
}
