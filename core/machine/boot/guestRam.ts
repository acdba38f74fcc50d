/**
 * Bounds-checked writes into guest RAM for the boot loaders. The loaders run
 * before the CPU, so they write the memory buffer directly (RAM occupies the
 * buffer's first `ramSize` bytes at guest-physical address = buffer offset).
 * Every address here comes from an untrusted image, so every write is checked
 * and a bad one becomes a BootError, never a host exception.
 */
import { BootError } from './bootError.ts';

/** What the loaders need of the machine's memory (PhysicalMemory satisfies it). */
export interface GuestRam {
  readonly u8: Uint8Array;
  readonly ramSize: number;
}

function check(ram: GuestRam, pa: number, length: number, what: string): void {
  if (!Number.isInteger(pa) || !Number.isInteger(length) || pa < 0 || length < 0 || pa + length > ram.ramSize) {
    throw new BootError(
      `${what} does not fit in guest RAM (0x${pa.toString(16)}..0x${(pa + length).toString(16)}, RAM ends at 0x${ram.ramSize.toString(16)})`,
    );
  }
}

export function writeBytes(ram: GuestRam, pa: number, bytes: Uint8Array, what: string): void {
  check(ram, pa, bytes.length, what);
  ram.u8.set(bytes, pa);
}

export function zeroBytes(ram: GuestRam, pa: number, length: number, what: string): void {
  check(ram, pa, length, what);
  ram.u8.fill(0, pa, pa + length);
}

export function write8(ram: GuestRam, pa: number, value: number): void {
  check(ram, pa, 1, 'byte');
  ram.u8[pa] = value;
}

export function write16(ram: GuestRam, pa: number, value: number): void {
  check(ram, pa, 2, 'word');
  ram.u8[pa] = value;
  ram.u8[pa + 1] = value >>> 8;
}

export function write32(ram: GuestRam, pa: number, value: number): void {
  check(ram, pa, 4, 'dword');
  for (let i = 0; i < 4; i++) ram.u8[pa + i] = value >>> (8 * i);
}

/** Writes a 64-bit little-endian value given as a JS number (exact below 2^53). */
export function write64(ram: GuestRam, pa: number, value: number): void {
  write32(ram, pa, value % 0x1_0000_0000);
  write32(ram, pa + 4, Math.floor(value / 0x1_0000_0000));
}
