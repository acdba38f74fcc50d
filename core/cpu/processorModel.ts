/**
 * The processor part a machine is built with: an Intel part with VMX, or an
 * AMD part with SVM (ARCHITECTURE.md: "an Intel part with VMX or an AMD part
 * with SVM, chosen per machine"). The model decides the CPUID answers, which
 * virtualization extension's MSRs, CR4 bits and instructions exist, and EDX
 * at reset. Everything else is one processor.
 *
 * Both are real 32-bit-era parts whose identification (signature, brand
 * string, caches) CPUID reports as the part does, while the feature bits are
 * only those this processor implements (system.ts, svm/cpuid.ts): a part
 * with more features than Popek has is reported with the missing ones clear,
 * as a BIOS or hypervisor that masks features would.
 */
export interface ProcessorModel {
  readonly vendor: 'GenuineIntel' | 'AuthenticAMD';
  /** CPUID.1:EAX (also EDX after RESET). */
  readonly signature: number;
  /** Which virtualization extension the part has. */
  readonly extension: 'vmx' | 'svm';
}

/**
 * Intel Core Solo T1300 ("Yonah", 65 nm, 2 MiB L2): family 6, model 0Eh,
 * stepping 8 (C0). The first Intel generation with VMX (with the Pentium 4
 * 662/672) and still a 32-bit part (no Intel 64), so nothing this processor
 * lacks has to be hidden but SSE3, MONITOR/MWAIT and the power, thermal,
 * machine-check and debug-store features (cpuidIntel.ts). One core, as a
 * one-processor machine has. The values come from a CPUID dump of its
 * dual-core sibling, the Core Duo T2600 (same die and stepping, signature
 * 000006E8h; VirtualBox's CPU database, Intel_Core_Duo_T2600_2_16GHz.h),
 * with the core count and the brand string of the Core Solo.
 */
export const INTEL_VMX_MODEL: ProcessorModel = { vendor: 'GenuineIntel', signature: 0x0000_06e8, extension: 'vmx' };

/**
 * AMD Athlon 64 3500+ ("Orleans", socket AM2, one core, 512 KiB L2): family
 * 0Fh, extended model 5, model 0Fh, stepping 2 (K8 revision F2, the first AMD
 * generation with SVM), reduced to what this 32-bit processor implements: no
 * long mode, no PAE or NX, no SYSCALL (svm/cpuid.ts). The cache, TLB and SVM
 * leaves are those of a dump of the same revision's dual-core part, the
 * Athlon 64 X2 4200+ (00040FB2h; VirtualBox's CPU database,
 * AMD_Athlon_64_X2_Dual_Core_4200.h), whose cores have the same caches.
 */
export const AMD_SVM_MODEL: ProcessorModel = { vendor: 'AuthenticAMD', signature: 0x0005_0ff2, extension: 'svm' };
