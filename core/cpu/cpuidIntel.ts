/**
 * The basic CPUID leaves of the Intel part (processorModel.ts: Core Solo
 * T1300, "Yonah"), as the part reports them (Intel SDM Vol. 2A, CPUID; the
 * values from a dump of the Core Duo T2600, the same die, with one core):
 * - 0: the highest basic leaf, 0Ah, and "GenuineIntel".
 * - 1: signature 000006E8h; EBX: CLFLUSH line size 8 (x 8 = 64 bytes),
 *   brand index 0, one logical processor; ECX and EDX: the features this
 *   processor implements (system.ts), a subset of the part's.
 * - 2: the part's cache and TLB descriptors (SDM Vol. 2A, Table 3-12).
 * - 4: the deterministic cache parameters, one subleaf per cache (L1 data,
 *   L1 instruction, L2), then a null subleaf; one core, no sharing.
 * - 3, 5-0Ah: zeros. The part's leaf 5 (MONITOR/MWAIT), 6 (digital thermal
 *   sensor) and 0Ah (architectural performance monitoring, version 2) describe
 *   features this processor does not have; version 0 in leaf 0Ah is "no
 *   architectural performance monitoring" (SDM Vol. 3B, 20.2).
 * Leaves above 0Ah answer as the highest basic leaf (Intel's rule).
 */
import type { Cpu } from './cpu.ts';
import { EAX, EBX, ECX, EDX } from './regs.ts';

export const INTEL_MAX_BASIC_LEAF = 0x0a;

/**
 * Leaf 2: AL = 01h (one CPUID 2 call). Descriptors B0h (ITLB, 4 KiB pages,
 * 4-way, 128 entries), B3h (DTLB, 4 KiB, 4-way, 128), 02h (ITLB, 4 MiB,
 * fully associative, 2), F0h (64-byte prefetching), 7Dh (L2, 2 MiB, 8-way,
 * 64-byte lines), 30h (L1 instruction, 32 KiB, 8-way, 64), 04h (DTLB, 4 MiB,
 * 4-way, 8), 2Ch (L1 data, 32 KiB, 8-way, 64).
 */
export const INTEL_LEAF2 = [0x02b3_b001, 0x0000_00f0, 0, 0x2c04_307d] as const;

/**
 * Leaf 4 subleaves [EAX, EBX, ECX, EDX]. EAX: type (1 data, 2 instruction,
 * 3 unified), level, self-initializing (bit 8), threads sharing - 1 (25:14)
 * and cores per package - 1 (31:26), both 0 on the one-core part; EBX: ways
 * - 1 (31:22), partitions - 1, line size - 1 (64 bytes); ECX: sets - 1; EDX
 * bit 0: WBINVD/INVD also act on the lower levels' sharers. L1: 8 ways x 64
 * sets x 64 bytes = 32 KiB each; L2: 8 x 4096 x 64 = 2 MiB.
 */
export const INTEL_LEAF4: readonly (readonly [number, number, number, number])[] = [
  [0x0000_0121, 0x01c0_003f, 0x0000_003f, 0x0000_0001],
  [0x0000_0122, 0x01c0_003f, 0x0000_003f, 0x0000_0001],
  [0x0000_0143, 0x01c0_003f, 0x0000_0fff, 0x0000_0001],
];

const VENDOR = 'GenuineIntel';
const vendorDword = (i: number): number =>
  VENDOR.charCodeAt(i) | (VENDOR.charCodeAt(i + 1) << 8) | (VENDOR.charCodeAt(i + 2) << 16) | (VENDOR.charCodeAt(i + 3) << 24);

/** Answers basic leaf `leaf` (EAX on entry, ECX the subleaf); leaf 1 comes from `leaf1` (system.ts owns the feature bits). */
export function intelBasicCpuid(cpu: Cpu, leaf: number, leaf1: (cpu: Cpu) => void): void {
  const r = cpu.regs;
  if (leaf > INTEL_MAX_BASIC_LEAF) leaf = INTEL_MAX_BASIC_LEAF;
  const subleaf = r[ECX] >>> 0;
  r[EAX] = r[EBX] = r[ECX] = r[EDX] = 0;
  if (leaf === 0) {
    r[EAX] = INTEL_MAX_BASIC_LEAF;
    r[EBX] = vendorDword(0);
    r[EDX] = vendorDword(4);
    r[ECX] = vendorDword(8);
  } else if (leaf === 1) {
    leaf1(cpu);
  } else if (leaf === 2) {
    [r[EAX], r[EBX], r[ECX], r[EDX]] = INTEL_LEAF2;
  } else if (leaf === 4 && subleaf < INTEL_LEAF4.length) {
    [r[EAX], r[EBX], r[ECX], r[EDX]] = INTEL_LEAF4[subleaf]!;
  }
}
