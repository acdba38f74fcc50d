/**
 * Scatter-gather helpers over a chain's descriptors: every buffer is mapped
 * through the checked GuestMemory (one GuestMemoryError for anything that
 * is not guest RAM), and reads are bounded so a guest cannot make the
 * device copy more than it expects.
 */
import type { Descriptor } from './descriptorChain.ts';
import type { GuestMemory } from './guestMemory.ts';

export function totalLength(descriptors: readonly Descriptor[]): number {
  let n = 0;
  for (const d of descriptors) n += d.length;
  return n;
}

/** Copies the first `length` bytes of the descriptors' buffers (fewer if they hold less). */
export function gather(mem: GuestMemory, descriptors: readonly Descriptor[], length: number): Uint8Array {
  const out = new Uint8Array(Math.min(length, totalLength(descriptors)));
  let at = 0;
  for (const d of descriptors) {
    if (at >= out.length) break;
    const n = Math.min(d.length, out.length - at);
    out.set(mem.view(d.address, n, false), at);
    at += n;
  }
  return out;
}

/** Copies `data` into the descriptors' buffers in order; returns the bytes written. */
export function scatter(mem: GuestMemory, descriptors: readonly Descriptor[], data: Uint8Array): number {
  let at = 0;
  for (const d of descriptors) {
    if (at >= data.length) break;
    const n = Math.min(d.length, data.length - at);
    mem.view(d.address, n, true).set(data.subarray(at, at + n));
    mem.written(d.address, n);
    at += n;
  }
  return at;
}

/**
 * Splits `descriptors` into the part before byte `offset` and the part from
 * it on (a descriptor that straddles it is cut in two), so a device can
 * peel a header or a trailing status byte off a chain that frames them
 * differently from what Linux does.
 */
export function splitAt(descriptors: readonly Descriptor[], offset: number): [Descriptor[], Descriptor[]] {
  const head: Descriptor[] = [];
  const tail: Descriptor[] = [];
  let at = 0;
  for (const d of descriptors) {
    if (at + d.length <= offset) head.push(d);
    else if (at >= offset) tail.push(d);
    else {
      const cut = offset - at;
      head.push({ address: d.address, length: cut, writable: d.writable });
      tail.push({ address: d.address + cut, length: d.length - cut, writable: d.writable });
    }
    at += d.length;
  }
  return [head, tail];
}
