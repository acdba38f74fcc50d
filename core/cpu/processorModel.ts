/**
 * The processor part a machine is built with: today's Intel P6-class part
 * with VMX, or an AMD part with SVM (ARCHITECTURE.md: "an Intel part with
 * VMX or an AMD part with SVM, chosen per machine"). The model decides the
 * CPUID answers, which virtualization extension's MSRs, CR4 bits and
 * instructions exist, and EDX at reset. Everything else is one processor.
 */
export interface ProcessorModel {
  readonly vendor: 'GenuineIntel' | 'AuthenticAMD';
  /** CPUID.1:EAX (also EDX after RESET). */
  readonly signature: number;
  /** Which virtualization extension the part has. */
  readonly extension: 'vmx' | 'svm';
}

/** Family 6, model 1, stepping 9 (Pentium Pro class) with VMX: the default. */
export const INTEL_VMX_MODEL: ProcessorModel = { vendor: 'GenuineIntel', signature: 0x0000_0619, extension: 'vmx' };

/**
 * Family 0Fh, extended model 4, model 8, stepping 2 (a K8 "revision F",
 * the first AMD generation with SVM), reduced to what this 32-bit processor
 * implements: no long mode, no NX, no SYSCALL (svm/cpuid.ts).
 */
export const AMD_SVM_MODEL: ProcessorModel = { vendor: 'AuthenticAMD', signature: 0x0004_0f82, extension: 'svm' };
