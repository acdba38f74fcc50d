/**
 * The extended CPUID leaves of the Intel part (processorModel.ts; SDM Vol. 2A,
 * CPUID; values as a Core Duo T2600 reports them, with the Core Solo's name):
 * - 8000_0000h: the highest extended leaf, 8000_0008h.
 * - 8000_0001h: EDX the execute-disable bit (NX, bit 20); no SYSCALL, no
 *   Intel 64, no LAHF in 32-bit mode: the part has none of them.
 * - 8000_0002h-8000_0004h: the brand string, "Genuine Intel(R) CPU", the
 *   processor number and the frequency, right-aligned as Yonah parts pad it.
 * - 8000_0006h: ECX the L2 cache: 2048 KiB, 8-way (encoding 6), 64-byte lines.
 * - 8000_0008h: the address sizes: 32 physical bits (the MAXPHYADDR that
 *   decides the reserved bits of PAE entries, paePaging.ts) and 32 linear bits.
 * - 8000_0005h and 8000_0007h: reserved on Intel parts, zeros.
 */
import type { Cpu } from './cpu.ts';
import { EAX, EBX, ECX, EDX } from './regs.ts';
import { CPUID_EXT_EDX_NX } from './paeControl.ts';

export const INTEL_MAX_EXTENDED_LEAF = 0x8000_0008;
/** MAXPHYADDR and the linear-address width. */
export const PHYSICAL_ADDRESS_BITS = 32;
export const LINEAR_ADDRESS_BITS = 32;
/** 48 characters with the terminating NUL: 8000_0002h EAX..EDX, then 8000_0003h, 8000_0004h. */
export const INTEL_BRAND_STRING = 'Genuine Intel(R) CPU           T1300  @ 1.66GHz';
/** 8000_0006h ECX: L2 size in KiB (31:16), associativity (15:12, 6 = 8-way), line size (7:0). */
export const INTEL_L2_DESCRIPTOR = (2048 << 16) | (6 << 12) | 64;

const brandDword = (i: number): number => {
  let v = 0;
  for (let k = 3; k >= 0; k--) v = (v << 8) | (INTEL_BRAND_STRING.charCodeAt(i + k) || 0);
  return v;
};

export function intelExtendedCpuid(cpu: Cpu, leaf: number): void {
  const r = cpu.regs;
  r[EAX] = r[EBX] = r[ECX] = r[EDX] = 0;
  if (leaf === 0x8000_0000) r[EAX] = INTEL_MAX_EXTENDED_LEAF;
  else if (leaf === 0x8000_0001) r[EDX] = CPUID_EXT_EDX_NX;
  else if (leaf >= 0x8000_0002 && leaf <= 0x8000_0004) {
    const o = (leaf - 0x8000_0002) * 16;
    r[EAX] = brandDword(o);
    r[EBX] = brandDword(o + 4);
    r[ECX] = brandDword(o + 8);
    r[EDX] = brandDword(o + 12);
  } else if (leaf === 0x8000_0006) r[ECX] = INTEL_L2_DESCRIPTOR;
  else if (leaf === 0x8000_0008) r[EAX] = PHYSICAL_ADDRESS_BITS | (LINEAR_ADDRESS_BITS << 8);
}
