/**
 * The architectural checks on a guest's MOV to CR0/CR4 that a hypervisor
 * emulating the write must make itself (SDM Vol. 3A 2.5, APM Vol. 2 3.1):
 * the processor would raise #GP for these values.
 */
import { CR4_IMPLEMENTED } from '../../cpu/regs.ts';

const CR0_PE = 1 << 0;
const CR0_NW = 1 << 29;
const CR0_CD = 1 << 30;
const CR0_PG = 1 << 31;

/** CR0 with PG and not PE, or NW and not CD: #GP(0). */
export function cr0WriteFaults(value: number): boolean {
  return ((value & CR0_PG) !== 0 && (value & CR0_PE) === 0) || ((value & CR0_NW) !== 0 && (value & CR0_CD) === 0);
}

/** CR4 with a bit this processor does not implement (beyond `alsoAllowed`): #GP(0). */
export function cr4WriteFaults(value: number, alsoAllowed = 0): boolean {
  return (value & ~(CR4_IMPLEMENTED | alsoAllowed)) !== 0;
}
