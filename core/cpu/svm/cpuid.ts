/**
 * CPUID of the AMD part (AMD64 APM Vol. 3, Appendix E): the same basic
 * features as the Intel part (system.ts) but PAE, no VMX, and the extended leaves
 * an SVM part reports: 8000_0001h ECX.SVM, 8000_0008h address sizes and
 * 8000_000Ah with the SVM revision, the number of ASIDs and the SVM
 * features this processor really implements (nested paging and next-RIP
 * save; no LBR virtualization, SVM lock, decode assists, pause filter, ...).
 */
import type { Cpu } from '../cpu.ts';
import { EAX, EBX, ECX, EDX } from '../regs.ts';
import { CPUID_EBX_CLFLUSH_LINE, CPUID_EDX, CPUID_EDX_LEAF1_ONLY } from '../system.ts';

/** CPUID.1:EDX.PAE, which this part clears from the Intel part's features: its CR4.PAE is reserved (paeControl.ts). */
export const CPUID_EDX_PAE = 1 << 6;

export const SVM_REVISION = 1;
/** ASIDs 1..NASID-1 are for guests (0 is the host's). */
export const SVM_NASID = 16;
export const SVM_FEATURE_NP = 1 << 0;
export const SVM_FEATURE_NRIPS = 1 << 3;
export const SVM_FEATURES = SVM_FEATURE_NP | SVM_FEATURE_NRIPS;
/** CPUID 8000_0001h ECX bit 2. */
export const CPUID_EXT_ECX_SVM = 1 << 2;

const MAX_BASIC_LEAF = 1;
const MAX_EXTENDED_LEAF = 0x8000_000a;
const BRAND = 'Popek AMD SVM Processor'.padEnd(48, '\0');

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
    r[EAX] = dword(BRAND, o);
    r[EBX] = dword(BRAND, o + 4);
    r[ECX] = dword(BRAND, o + 8);
    r[EDX] = dword(BRAND, o + 12);
  } else if (leaf === 0x8000_0008) {
    r[EAX] = 32 | (32 << 8); // physical and linear address bits
  } else if (leaf === 0x8000_000a) {
    r[EAX] = SVM_REVISION;
    r[EBX] = SVM_NASID;
    r[EDX] = SVM_FEATURES;
  }
  // Other leaves (reserved or beyond the maxima) read as zero on AMD parts.
}
