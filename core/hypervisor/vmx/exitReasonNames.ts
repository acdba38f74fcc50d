/**
 * The SDM names of VT-x's basic exit reasons (Vol. 3D Appendix C), from the
 * EXIT_REASON_* constants of the processor's VMX: what reports, `--stats`
 * and the app's Hypervisor panel call each exit.
 */
import * as F from '../../cpu/vmx/vmcsFields.ts';

export const EXIT_REASON_NAMES: Readonly<Record<number, string>> = Object.fromEntries(
  Object.entries(F)
    .filter(([name, value]) => name.startsWith('EXIT_REASON_') && typeof value === 'number' && value < 0x10000)
    .map(([name, value]) => [value as number, name.slice('EXIT_REASON_'.length)]),
);

export function exitReasonName(reason: number): string {
  return EXIT_REASON_NAMES[reason] ?? `reason ${reason}`;
}
