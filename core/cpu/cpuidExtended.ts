/**
 * The extended CPUID leaves of the Intel part (SDM Vol. 2A, CPUID): 8000_0000h
 * gives the highest extended leaf, 8000_0001h EDX the execute-disable bit
 * (NX, bit 20; no SYSCALL, no long mode, no LAHF in 32-bit mode), 8000_0008h
 * the address sizes (32 physical bits, as the Core Solo/Duo report: the
 * MAXPHYADDR that decides the reserved bits of PAE entries, paePaging.ts,
 * and 32 linear bits). There is no brand string (8000_0002h-8000_0004h read
 * as zero, which software takes as "no brand string"); the other leaves up
 * to the maximum are reserved and read as zero.
 */
import type { Cpu } from './cpu.ts';
import { EAX, EBX, ECX, EDX } from './regs.ts';
import { CPUID_EXT_EDX_NX } from './paeControl.ts';

export const INTEL_MAX_EXTENDED_LEAF = 0x8000_0008;
/** MAXPHYADDR and the linear-address width. */
export const PHYSICAL_ADDRESS_BITS = 32;
export const LINEAR_ADDRESS_BITS = 32;

export function intelExtendedCpuid(cpu: Cpu, leaf: number): void {
  const r = cpu.regs;
  r[EAX] = r[EBX] = r[ECX] = r[EDX] = 0;
  if (leaf === 0x8000_0000) r[EAX] = INTEL_MAX_EXTENDED_LEAF;
  else if (leaf === 0x8000_0001) r[EDX] = CPUID_EXT_EDX_NX;
  else if (leaf === 0x8000_0008) r[EAX] = PHYSICAL_ADDRESS_BITS | (LINEAR_ADDRESS_BITS << 8);
}
