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
export const pinnedInt32 = (length: number): Int32Array => new Int32Array(new ArrayBuffer(length * 4));
export const pinnedUint32 = (length: number): Uint32Array => new Uint32Array(new ArrayBuffer(length * 4));
export const pinnedUint16 = (length: number): Uint16Array => new Uint16Array(new ArrayBuffer(length * 2));
export const pinnedUint8 = (length: number): Uint8Array => new Uint8Array(new ArrayBuffer(length));
