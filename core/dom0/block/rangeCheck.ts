/** Request range validation shared by the backends. */
import { BlockRangeError } from './blockErrors.ts';

/** Throws BlockRangeError unless [offset, offset + length) lies inside a disk of sizeBytes. */
export function checkRange(path: string, sizeBytes: number, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > sizeBytes) {
    throw new BlockRangeError(`${path}: request at offset ${offset}, length ${length} is outside the disk (${sizeBytes} bytes)`);
  }
}
