/**
 * The MSRs a guest may read and write under the hypervisor (every RDMSR and
 * WRMSR exits). The guest gets the processor's architectural MSRs that make
 * sense for it, emulated against its own state, and #GP for everything else,
 * as a processor without that MSR would do:
 * - IA32_TIME_STAMP_COUNTER: the guest's TSC is the processor's plus the
 *   vCPU's TSC offset; a write moves the offset.
 * - IA32_BIOS_SIGN_ID: reads 0 (no microcode update), writes ignored.
 * - IA32_FEATURE_CONTROL and the VMX capability MSRs: #GP, since VMX is
 *   hidden from the guest (CPUID.1:ECX.VMX = 0).
 * - IA32_PLATFORM_ID and IA32_MISC_ENABLE: the Intel part's values
 *   (cpu/intelModelMsrs.ts), which Linux reads unguarded on a family-6
 *   model-0Eh part. They are answered for either vendor's guest: an AMD
 *   guest (family 0Fh) has no reason to read them.
 * - MSR_K8_INT_PENDING_MSG (C001_0055h), the AMD part's (K8 rev F): reads 0,
 *   i.e. the firmware has enabled no SMI or I/O message on a halt of all
 *   cores (C1E), writes ignored. Linux reads it unguarded on this part
 *   (erratum 400, arch_post_acpi_subsys_init) and takes an unchecked-MSR
 *   WARNING when it faults; KVM answers it the same way.
 * The SYSENTER MSRs are not offered: the processor does not advertise SEP.
 */
import { readIntelModelMsr, writeIntelModelMsr } from '../../cpu/intelModelMsrs.ts';

import type { BoardMsrs } from '../../cpu/cpu.ts';

export const MSR_TSC = 0x10;
export const MSR_BIOS_SIGN_ID = 0x8b;
export const MSR_K8_INT_PENDING_MSG = 0xc001_0055;

/** The guest side of the MSRs: its TSC offset against the processor's TSC. */
export interface GuestMsrState {
  /** The processor's TSC now (without any offset). */
  hostTsc(): number;
  tscOffset: number;
  /** The domain's device MSRs: IA32_APIC_BASE of its virtual local APIC, when it has one (core/machine/hypervisorProcessor.ts sets it). */
  board?: BoardMsrs;
}

/** The 64-bit value of a guest MSR as [low, high], or null for #GP. */
export function readGuestMsr(msr: number, s: GuestMsrState): [number, number] | null {
  switch (msr >>> 0) {
    case MSR_TSC: {
      const t = Math.max(0, s.hostTsc() + s.tscOffset);
      return [t % 0x1_0000_0000 | 0, Math.floor(t / 0x1_0000_0000) | 0];
    }
    case MSR_BIOS_SIGN_ID:
    case MSR_K8_INT_PENDING_MSG:
      return [0, 0];
    default:
      if (s.board?.readMsr(msr >>> 0)) return s.board.readMsr(msr >>> 0);
      return readIntelModelMsr(msr >>> 0);
  }
}

/** Applies a guest WRMSR; false for #GP. */
export function writeGuestMsr(msr: number, lo: number, hi: number, s: GuestMsrState): boolean {
  switch (msr >>> 0) {
    case MSR_TSC:
      s.tscOffset = (hi >>> 0) * 0x1_0000_0000 + (lo >>> 0) - s.hostTsc();
      return true;
    case MSR_BIOS_SIGN_ID:
    case MSR_K8_INT_PENDING_MSG:
      return true;
    default:
      if (s.board?.readMsr(msr >>> 0)) return s.board.writeMsr(msr >>> 0, lo, hi);
      return writeIntelModelMsr(msr >>> 0, lo, hi) ?? false;
  }
}
