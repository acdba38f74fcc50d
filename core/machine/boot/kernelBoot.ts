/**
 * Direct kernel boot: what the board does instead of running firmware when it
 * is given a kernel. Writes the ACPI tables, then loads the kernel with the
 * protocol its image announces (bzImage setup header first, Multiboot v1
 * otherwise) and returns the CPU entry state.
 */
import { installAcpiTables } from '../firmware/acpiTables.ts';
import { buildMpTables } from '../firmware/mpTable.ts';
import { writeBytes } from './guestRam.ts';
import type { EntryState } from './entryState.ts';
import type { GuestRam } from './guestRam.ts';
import { loadLinuxKernel } from './linuxBoot.ts';
import { MP_FLOATING_ADDR, checkRamSize } from './memoryLayout.ts';
import { loadMultibootKernel } from './multiboot.ts';
import { hasSetupHeader } from './setupHeader.ts';

export interface KernelBootInput {
  kernel: Uint8Array;
  initrd?: Uint8Array;
  cmdline?: string;
  /** The board has a VGA in mode 3 (a Linux kernel is told so in screen_info). */
  vgaText?: boolean;
  /** The board has the local APIC and I/O APIC: the MADT and the MP table describe them (the processor entry gets this CPUID signature and EDX). */
  apic?: { cpuSignature: number; cpuFeatures: number };
}

export interface KernelBootResult {
  protocol: 'linux' | 'multiboot';
  entry: EntryState;
}

export function bootKernel(ram: GuestRam, input: KernelBootInput): KernelBootResult {
  checkRamSize(ram.ramSize);
  const acpi = installAcpiTables(ram, { apic: input.apic !== undefined });
  if (input.apic) {
    const mp = buildMpTables(MP_FLOATING_ADDR, input.apic.cpuSignature, input.apic.cpuFeatures);
    writeBytes(ram, mp.floatingAddr, mp.floating, 'MP floating pointer');
    writeBytes(ram, mp.configAddr, mp.config, 'MP configuration table');
  }
  if (hasSetupHeader(input.kernel)) {
    const linux = loadLinuxKernel(ram, { ...input, acpiRsdpAddr: acpi.rsdpAddr });
    return { protocol: 'linux', entry: linux.entry };
  }
  return { protocol: 'multiboot', entry: loadMultibootKernel(ram, input).entry };
}
