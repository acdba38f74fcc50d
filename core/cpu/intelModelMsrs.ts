/**
 * Model-specific MSRs of the Intel part (processorModel.ts) that software
 * reads on any family-6 part from model 0Dh on (Linux: IA32_MISC_ENABLE in
 * early_init_intel; IA32_PLATFORM_ID in the microcode loader, both without
 * a #GP guard, so a part with that signature must have them):
 * - IA32_PLATFORM_ID (17h), read-only: the value a Core Duo T2600 reads
 *   (VirtualBox's CPU database): platform ID 5 (bits 52:50), a mobile part.
 * - IA32_MISC_ENABLE (1A0h): fast strings enabled (bit 0: REP MOVS/STOS are
 *   allowed to move whole lines, which changes nothing visible here); branch
 *   trace storage and PEBS unavailable (bits 11, 12: no debug store); no
 *   thermal control, no performance monitoring (bit 7 clear), no Enhanced
 *   SpeedStep, and "limit CPUID maxval" (bit 22) clear. Writes that keep the
 *   value are accepted (software writes back what it read); none of its
 *   controls can change here, so any other value is refused (#GP), as a
 *   reserved or unsupported bit would be.
 */
export const MSR_IA32_PLATFORM_ID = 0x17;
export const MSR_IA32_MISC_ENABLE = 0x1a0;

export const PLATFORM_ID_VALUE = { lo: 0xd804_86ac | 0, hi: 0x0014_0000 } as const;
export const MISC_ENABLE_FAST_STRINGS = 1 << 0;
export const MISC_ENABLE_BTS_UNAVAILABLE = 1 << 11;
export const MISC_ENABLE_PEBS_UNAVAILABLE = 1 << 12;
export const MISC_ENABLE_VALUE = MISC_ENABLE_FAST_STRINGS | MISC_ENABLE_BTS_UNAVAILABLE | MISC_ENABLE_PEBS_UNAVAILABLE;

/** The [low, high] value of one of these MSRs, or null if `msr` is none of them. */
export function readIntelModelMsr(msr: number): [number, number] | null {
  if (msr === MSR_IA32_PLATFORM_ID) return [PLATFORM_ID_VALUE.lo, PLATFORM_ID_VALUE.hi];
  if (msr === MSR_IA32_MISC_ENABLE) return [MISC_ENABLE_VALUE, 0];
  return null;
}

/** A WRMSR to one of these MSRs: true if accepted, false for #GP; null if `msr` is none of them. */
export function writeIntelModelMsr(msr: number, lo: number, hi: number): boolean | null {
  if (msr === MSR_IA32_PLATFORM_ID) return false;
  if (msr === MSR_IA32_MISC_ENABLE) return lo === MISC_ENABLE_VALUE && hi === 0;
  return null;
}
