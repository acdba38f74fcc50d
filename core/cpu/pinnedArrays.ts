/**
 * Small typed arrays whose data stays put.
 *
 * V8 keeps the elements of a typed array created by length (`new
 * Int32Array(8)`) inside its own heap when they take 64 bytes or less, where
 * a garbage collection may move them, so optimized code reloads the data
 * pointer at every access: three loads and a bounds check before the element
 * (seen in TurboFan's code for a region function's `regs[0] = r0`). Over an
 * ArrayBuffer the elements live outside the heap, and TurboFan embeds their
 * address as a constant, as it does for the TLB's big arrays. The CPU's
 * registers, segment caches and the scratch arrays of hot paths are made here.
 */
export function pinned<T>(Type: { new (buffer: ArrayBuffer): T; readonly BYTES_PER_ELEMENT: number }, length: number): T {
  return new Type(new ArrayBuffer(length * Type.BYTES_PER_ELEMENT));
}
