/**
 * CPUID of the AMD part (processorModel.ts: Athlon 64 3500+, K8 revision F;
 * AMD64 APM Vol. 3, Appendix E, and AMD's BIOS and Kernel Developer's Guide
 * for family 0Fh): the same basic features as the Intel part (system.ts) but
 * PAE, no VMX, and the extended leaves the part reports: 8000_0001h ECX.SVM,
 * the brand string (8000_0002h-8000_0004h), the L1 and L2 caches and TLBs
 * (8000_0005h, 8000_0006h, as the part reports them), 8000_0008h address
 * sizes (32 bits: this part has no long mode and no PAE) with one core, and
 * 8000_000Ah with the SVM revision, the part's number of ASIDs (64) and the
 * SVM features this processor really implements (nested paging and next-RIP
 * save; no LBR virtualization, SVM lock, decode assists, pause filter, ...).
 * The part's highest extended leaf is 8000_0018h; the leaves it does not
 * define, and 8000_0007h (power management: none here), read as zero.
 */
import type { Cpu } from '../cpu.ts';
import { EAX, EBX, ECX, EDX } from '../regs.ts';
import { CPUID_EBX_CLFLUSH_LINE, CPUID_EDX, CPUID_EDX_LEAF1_ONLY } from '../system.ts';

/** CPUID.1:EDX.PAE, which this part clears from the Intel part's features: its CR4.PAE is reserved (paeControl.ts). */
export const CPUID_EDX_PAE = 1 << 6;

export const SVM_REVISION = 1;
/** ASIDs 1..NASID-1 are for guests (0 is the host's). */
export const SVM_NASID = 64;
export const SVM_FEATURE_NP = 1 << 0;
export const SVM_FEATURE_NRIPS = 1 << 3;
export const SVM_FEATURES = SVM_FEATURE_NP | SVM_FEATURE_NRIPS;
/** CPUID 8000_0001h ECX bit 2. */
export const CPUID_EXT_ECX_SVM = 1 << 2;

const MAX_BASIC_LEAF = 1;
const MAX_EXTENDED_LEAF = 0x8000_0018;
export const AMD_BRAND_STRING = 'AMD Athlon(tm) 64 Processor 3500+'.padEnd(48, '\0');
/**
 * 8000_0005h: L1 TLBs for 2/4 MiB pages (EAX: 8 data and 8 instruction
 * entries, fully associative) and 4 KiB pages (EBX: 32 and 32, fully
 * associative); the L1 data and instruction caches (ECX, EDX: 64 KiB,
 * 2-way, 1 line per tag, 64-byte lines).
 */
export const AMD_LEAF_8000_0005 = [0xff08_ff08 | 0, 0xff20_ff20 | 0, 0x4002_0140, 0x4002_0140] as const;
/** 8000_0006h: the L2 TLBs (EBX: 512 4 KiB entries each, 4-way) and the L2 cache (ECX: 512 KiB, 16-way, 64-byte lines). */
export const AMD_LEAF_8000_0006 = [0, 0x4200_4200, 0x0200_8140, 0] as const;

const dword = (s: string, i: number): number =>
  s.charCodeAt(i) | (s.charCodeAt(i + 1) << 8) | (s.charCodeAt(i + 2) << 16) | (s.charCodeAt(i + 3) << 24);

export function svmCpuid(cpu: Cpu): void {
  const r = cpu.regs;
  const leaf = r[EAX] >>> 0;
  const vendor = cpu.model.vendor;
  r[EAX] = r[EBX] = r[ECX] = r[EDX] = 0;
  if (leaf === 0 || leaf === 0x8000_0000) {
    r[EAX] = leaf === 0 ? MAX_BASIC_LEAF : MAX_EXTENDED_LEAF;
    r[EBX] = dword(vendor, 0);
    r[EDX] = dword(vendor, 4);
    r[ECX] = dword(vendor, 8);
  } else if (leaf === 1) {
    r[EAX] = cpu.model.signature;
    r[EBX] = CPUID_EBX_CLFLUSH_LINE;
    r[EDX] = CPUID_EDX & ~CPUID_EDX_PAE;
  } else if (leaf === 0x8000_0001) {
    r[EAX] = cpu.model.signature;
    r[ECX] = CPUID_EXT_ECX_SVM;
    r[EDX] = CPUID_EDX & ~CPUID_EDX_PAE & ~CPUID_EDX_LEAF1_ONLY; // AMD mirrors the leaf-1 EDX features it has here (FXSR included)
  } else if (leaf >= 0x8000_0002 && leaf <= 0x8000_0004) {
    const o = (leaf - 0x8000_0002) * 16;
    r[EAX] = dword(AMD_BRAND_STRING, o);
    r[EBX] = dword(AMD_BRAND_STRING, o + 4);
    r[ECX] = dword(AMD_BRAND_STRING, o + 8);
    r[EDX] = dword(AMD_BRAND_STRING, o + 12);
  } else if (leaf === 0x8000_0005) {
    [r[EAX], r[EBX], r[ECX], r[EDX]] = AMD_LEAF_8000_0005;
  } else if (leaf === 0x8000_0006) {
    [r[EAX], r[EBX], r[ECX], r[EDX]] = AMD_LEAF_8000_0006;
  } else if (leaf === 0x8000_0008) {
    r[EAX] = 32 | (32 << 8); // physical and linear address bits; ECX.NC = 0: one core
  } else if (leaf === 0x8000_000a) {
    r[EAX] = SVM_REVISION;
    r[EBX] = SVM_NASID;
    r[EDX] = SVM_FEATURES;
  }
  // Other leaves (reserved or beyond the maxima) read as zero on AMD parts.
}
