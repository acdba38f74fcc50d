/** Shadow descriptors under ring compression: DPL 0 -> 1, limits truncated below the monitor (0xFFD00000). */
import { describe, expect, it } from 'vitest';
import { shadowDescriptor } from '../../../core/hypervisor/software/shadowDescriptors.ts';

function desc(base: number, limit: number, access: number, flags: number): [number, number] {
  const lo = ((base & 0xffff) << 16) | (limit & 0xffff);
  const hi = (base & 0xff00_0000) | ((flags & 0xf) << 20) | (limit & 0xf_0000) | ((access & 0xff) << 8) | ((base >>> 16) & 0xff);
  return [lo | 0, hi | 0];
}

function shadow(d: [number, number]): [number, number] {
  const out = new Int32Array(2);
  shadowDescriptor(d[0], d[1], out);
  return [out[0], out[1]];
}

describe('shadowDescriptor', () => {
  it('gives a flat ring-0 code segment DPL 1, the accessed bit and a page-granular limit ending at 0xFFCFFFFF', () => {
    expect(shadow(desc(0, 0xfffff, 0x9a, 0xc))).toEqual(desc(0, 0xffcff, 0xbb, 0xc));
  });

  it('keeps a user data segment DPL 3, truncating only its limit', () => {
    expect(shadow(desc(0, 0xfffff, 0xf2, 0xc))).toEqual(desc(0, 0xffcff, 0xf3, 0xc));
  });

  it('truncates a segment based high to a byte-granular limit when it fits in 20 bits', () => {
    expect(shadow(desc(0xffc0_0000, 0xfffff, 0x92, 0xc))).toEqual(desc(0xffc0_0000, 0xfffff, 0xb3, 0x4));
  });

  it('keeps a segment that ends below the monitor as it is (but accessed, DPL 1)', () => {
    expect(shadow(desc(0x5000, 0xfff, 0x92, 0x4))).toEqual(desc(0x5000, 0xfff, 0xb3, 0x4));
  });

  it('makes a segment based inside the monitor area, and any expand-down segment, not present', () => {
    expect(shadow(desc(0xffd0_1000, 0xff, 0x92, 0x4))).toEqual(desc(0xffd0_1000, 0xff, 0x33, 0x4));
    expect(shadow(desc(0, 0xff, 0x96, 0x4))).toEqual(desc(0, 0xff, 0x37, 0x4));
  });

  it('empties system descriptors (LDT, TSS, gates): the guest never loads them on the processor', () => {
    expect(shadow(desc(0x1000, 0x67, 0x89, 0))).toEqual([0, 0]);
    expect(shadow(desc(0x1000, 0x17, 0x82, 0))).toEqual([0, 0]);
  });
});
