/** Ethernet frames for the switch tests: destination, source, a tag byte after the header to tell frames apart. */
export const BROADCAST = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];

export function frame(dst: number[], src: number[], tag: number, length = 60): Uint8Array {
  const f = new Uint8Array(length);
  f.set(dst, 0);
  f.set(src, 6);
  f[14] = tag;
  return f;
}
