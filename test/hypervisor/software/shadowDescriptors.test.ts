/**
 * Shadow descriptors under ring compression: DPL 0 -> 1, limits truncated below the monitor (0xFFD00000) in the
 * kernel view; the user view keeps DPL-3 descriptors as the guest wrote them. And the monitor's space: both views'
 * tables mapped supervisor-only, clear of the translation cache.
 */
import { describe, expect, it } from 'vitest';
import { TC_OFFSET, TC_SIZE } from '../../../core/hypervisor/software/bt/monitorTranslator.ts';
import { MachineMemory } from '../../../core/hypervisor/memory/machineMemory.ts';
import { GDT_OFFSET, GDT_PAGES, IDT_OFFSET, LDT_OFFSET, LDT_PAGES, MonitorSpace, TSS_OFFSET, USER_GDT_OFFSET, USER_LDT_OFFSET } from '../../../core/hypervisor/software/monitorSpace.ts';
import { shadowDescriptor, userShadowDescriptor } from '../../../core/hypervisor/software/shadowDescriptors.ts';

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

function userShadow(d: [number, number]): [number, number] {
  const out = new Int32Array(2);
  userShadowDescriptor(d[0], d[1], out);
  return [out[0], out[1]];
}

describe('userShadowDescriptor', () => {
  it('keeps a DPL-3 code or data segment as the guest wrote it (accessed set): 4 GiB, expand-down, based high', () => {
    expect(userShadow(desc(0, 0xfffff, 0xf2, 0xc))).toEqual(desc(0, 0xfffff, 0xf3, 0xc));
    expect(userShadow(desc(0, 0xfffff, 0xfa, 0xc))).toEqual(desc(0, 0xfffff, 0xfb, 0xc));
    expect(userShadow(desc(0x7_0810, 0xfffff, 0xf2, 0xc))).toEqual(desc(0x7_0810, 0xfffff, 0xf3, 0xc));
    expect(userShadow(desc(0, 0xff, 0xf6, 0x4))).toEqual(desc(0, 0xff, 0xf7, 0x4));
    expect(userShadow(desc(0xffd0_1000, 0xff, 0xf2, 0x4))).toEqual(desc(0xffd0_1000, 0xff, 0xf3, 0x4));
  });

  it('gives anything else what the kernel view gives: DPL 0-2 truncated, a not-present segment and system descriptors as there', () => {
    for (const d of [desc(0, 0xfffff, 0x9a, 0xc), desc(0, 0xfffff, 0xb2, 0xc), desc(0, 0xfffff, 0x72, 0xc), desc(0x1000, 0x67, 0xe9, 0), desc(0, 0xff, 0x96, 0x4)]) {
      expect(userShadow(d)).toEqual(shadow(d));
    }
  });
});

describe('MonitorSpace', () => {
  it('maps both views of the GDT and LDT, the IDT page and the TSS supervisor-only, clear of the translation cache', () => {
    const machine = MachineMemory.create(16 * 1024 * 1024, 16 * 1024 * 1024);
    const space = new MonitorSpace(machine);
    const pages = [
      ...Array.from({ length: GDT_PAGES }, (_, k) => [GDT_OFFSET + k * 4096, USER_GDT_OFFSET + k * 4096]).flat(),
      ...Array.from({ length: LDT_PAGES }, (_, k) => [LDT_OFFSET + k * 4096, USER_LDT_OFFSET + k * 4096]).flat(),
      IDT_OFFSET, TSS_OFFSET,
    ];
    for (const offset of pages) {
      expect(space.supervisorOnly(offset)).toBe(true);
      expect(offset < TC_OFFSET || offset >= TC_OFFSET + TC_SIZE).toBe(true);
    }
    // Distinct frames for the two views: a write to one is not seen in the other.
    space.write32(GDT_OFFSET + 8, 0x1234);
    expect(space.read32(USER_GDT_OFFSET + 8)).toBe(0);
    space.release();
  });
});
