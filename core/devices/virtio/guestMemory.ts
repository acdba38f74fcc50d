/**
 * How a virtio device model reaches guest memory: only through this
 * interface, whose implementation (core/dom0/grantCheck.ts) checks every
 * address and length against the domain's RAM before it hands out a view.
 * A device never indexes the memory buffer itself, so a guest-supplied
 * descriptor cannot make the host touch anything but that guest's RAM.
 *
 * Every method throws GuestMemoryError for a range that is not entirely
 * guest RAM (past the end of RAM, into MMIO or the firmware ROM, wrapping
 * past 4 GiB, or longer than MAX_BUFFER_BYTES).
 */

/** Longest single buffer a device maps at once (a 4 GiB descriptor length is refused, not allocated). */
export const MAX_BUFFER_BYTES = 64 * 1024 * 1024;

export class GuestMemoryError extends Error {
  override readonly name = 'GuestMemoryError';
  constructor(
    message: string,
    readonly address: number,
    readonly length: number,
  ) {
    super(message);
  }
}

export interface GuestMemory {
  /** Little-endian loads from guest-physical addresses. */
  read16(address: number): number;
  read32(address: number): number;
  /** A 64-bit guest address as a number (exact below 2^53; anything above is out of range anyway). */
  read64(address: number): number;
  write16(address: number, value: number): void;
  write32(address: number, value: number): void;
  /**
   * A view of [address, address + length) in guest RAM. `forWrite` says the
   * device will write it (the implementation tells the CPU about the DMA
   * write through `written` afterwards, so decoded code from those pages is
   * dropped).
   */
  view(address: number, length: number, forWrite: boolean): Uint8Array;
  /** The device wrote [address, address + length) through a view. */
  written(address: number, length: number): void;
}
