/**
 * Direct kernel boot: what the board does instead of running firmware when it
 * is given a kernel. Writes the ACPI tables, then loads the kernel with the
 * protocol its image announces (bzImage setup header first, Multiboot v1
 * otherwise) and returns the CPU entry state.
 */
import { installAcpiTables } from '../firmware/acpiTables.ts';
import type { EntryState } from './entryState.ts';
import type { GuestRam } from './guestRam.ts';
import { loadLinuxKernel } from './linuxBoot.ts';
import { checkRamSize } from './memoryLayout.ts';
import { loadMultibootKernel } from './multiboot.ts';
import { hasSetupHeader } from './setupHeader.ts';

export interface KernelBootInput {
  kernel: Uint8Array;
  initrd?: Uint8Array;
  cmdline?: string;
  /** The board has a VGA in mode 3 (a Linux kernel is told so in screen_info). */
  vgaText?: boolean;
}

export interface KernelBootResult {
  protocol: 'linux' | 'multiboot';
  entry: EntryState;
}

export function bootKernel(ram: GuestRam, input: KernelBootInput): KernelBootResult {
  checkRamSize(ram.ramSize);
  const acpi = installAcpiTables(ram);
  if (hasSetupHeader(input.kernel)) {
    const linux = loadLinuxKernel(ram, { ...input, acpiRsdpAddr: acpi.rsdpAddr });
    return { protocol: 'linux', entry: linux.entry };
  }
  return { protocol: 'multiboot', entry: loadMultibootKernel(ram, input).entry };
}
