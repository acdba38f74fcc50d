/**
 * A write-only sink on an otherwise unused I/O port whose bytes the driver
 * wants to see (POST codes on 0x190, a debug console on 0xE9 or 0x402, ...).
 * Reads return 0xE9, the answer of Bochs' port-E9 console and QEMU's
 * debugcon: firmware reads the port before it writes its log there (SeaBIOS
 * looks for 0xE9 at 0x402), so `--port-log 0x402=FILE` gets SeaBIOS's debug
 * log. Wider writes are split into bytes in ascending port order by the bus,
 * so every byte is reported once.
 */
import type { MemoryBus } from '../memory/bus.ts';

/** What a read of a logged port returns (a debug console's presence signature). */
export const DEBUG_CONSOLE_READBACK = 0xe9;

export function attachLogPort(bus: MemoryBus, port: number, onByte: (port: number, byte: number) => void): void {
  bus.addPorts(
    port,
    1,
    {
      portRead: () => DEBUG_CONSOLE_READBACK,
      portWrite: (p, _size, value) => onByte(p, value & 0xff),
    },
    `log-port-0x${port.toString(16)}`,
    [1],
  );
}
